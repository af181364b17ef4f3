-- Carts, orders, stock reservations, payments and the jobs they start.

CREATE TABLE carts (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),  -- random: a guest cart's id is its key
    user_id     uuid REFERENCES users (id) ON DELETE CASCADE,
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'checked_out', 'merged')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
-- A signed-in user has one open cart.
CREATE UNIQUE INDEX carts_open_user_key ON carts (user_id) WHERE status = 'open';
CREATE INDEX carts_expires_idx ON carts (expires_at) WHERE status = 'open';

CREATE TABLE cart_items (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    cart_id     uuid NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    variant_id  uuid NOT NULL REFERENCES variants (id) ON DELETE CASCADE,
    quantity    integer NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (cart_id, variant_id)
);

CREATE TABLE orders (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    number            text NOT NULL UNIQUE,
    user_id           uuid REFERENCES users (id) ON DELETE SET NULL,
    cart_id           uuid UNIQUE REFERENCES carts (id) ON DELETE SET NULL,  -- a cart checks out once
    email             text NOT NULL,
    status            text NOT NULL DEFAULT 'pending_payment' CHECK (status IN (
                          'pending_payment', 'paid', 'fulfilled', 'delivered',
                          'cancelled', 'refunded', 'partially_refunded')),
    currency          char(3) NOT NULL,
    subtotal          bigint NOT NULL CHECK (subtotal >= 0),
    shipping          bigint NOT NULL CHECK (shipping >= 0),
    tax               bigint NOT NULL CHECK (tax >= 0),
    total             bigint NOT NULL CHECK (total = subtotal + shipping + tax),
    refunded          bigint NOT NULL DEFAULT 0 CHECK (refunded BETWEEN 0 AND total),
    shipping_address  jsonb NOT NULL,
    billing_address   jsonb NOT NULL,
    payment_provider  text NOT NULL CHECK (payment_provider IN ('manual', 'stripe', 'paypal')),
    payment_status    text NOT NULL DEFAULT 'pending' CHECK (payment_status IN (
                          'pending', 'paid', 'failed', 'cancelled', 'refunded', 'partially_refunded')),
    payment_ref       text,  -- the provider's id: a PaymentIntent, a PayPal order
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_user_idx ON orders (user_id, created_at DESC, id DESC) WHERE user_id IS NOT NULL;
CREATE INDEX orders_status_idx ON orders (status, created_at DESC, id DESC);
CREATE INDEX orders_created_idx ON orders (created_at DESC, id DESC);
CREATE UNIQUE INDEX orders_payment_ref_key ON orders (payment_provider, payment_ref)
    WHERE payment_ref IS NOT NULL;

CREATE TABLE order_lines (
    order_id    uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line_no     integer NOT NULL,
    variant_id  uuid REFERENCES variants (id) ON DELETE SET NULL,
    sku         text NOT NULL,
    name        text NOT NULL,
    unit_price  bigint NOT NULL CHECK (unit_price >= 0),
    quantity    integer NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    line_total  bigint NOT NULL CHECK (line_total = unit_price * quantity),
    PRIMARY KEY (order_id, line_no)
);

-- Stock held for an unpaid order, per SKU: `held` adds to stock.reserved; paying commits it
-- (on_hand and reserved both drop), cancelling or expiry releases it. Each move is one
-- conditional UPDATE on the state, so doing it twice changes nothing.
CREATE TABLE reservations (
    order_id    uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    sku         text NOT NULL REFERENCES stock (sku),
    quantity    integer NOT NULL CHECK (quantity > 0),
    state       text NOT NULL DEFAULT 'held' CHECK (state IN ('held', 'committed', 'released')),
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (order_id, sku)
);
CREATE INDEX reservations_expiry_idx ON reservations (expires_at) WHERE state = 'held';

CREATE TABLE order_history (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id  uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    status    text NOT NULL,
    note      text NOT NULL DEFAULT '',
    at        timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX order_history_order_idx ON order_history (order_id, id);

CREATE TABLE shipments (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id         uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    carrier          text NOT NULL,
    tracking_number  text NOT NULL,
    at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX shipments_order_idx ON shipments (order_id, at);

CREATE TABLE refunds (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id    uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    amount      bigint NOT NULL CHECK (amount > 0),
    reason      text NOT NULL DEFAULT '',
    provider_ref text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refunds_order_idx ON refunds (order_id, created_at);

-- What happened to orders, in order, for other systems to read (GET /api/v1/events): a row
-- per status change, written in the transaction of the change.
CREATE TABLE order_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type        text NOT NULL,
    order_id    uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    note        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_events_created_idx ON order_events (created_at);

-- Webhook events already applied: recorded in the transaction of their effect.
CREATE TABLE payment_events (
    provider     text NOT NULL,
    event_id     text NOT NULL,
    type         text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, event_id)
);

-- Idempotency-Key: the first response to a key, replayed for the same request.
CREATE TABLE idempotency_keys (
    scope         text NOT NULL,  -- the endpoint and the caller
    key           text NOT NULL,
    request_hash  bytea NOT NULL,
    status        integer,        -- NULL while the first request runs
    body          bytea,
    locked_at     timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- Jobs written in the transaction that calls for them; a relay enqueues what is left.
CREATE TABLE job_outbox (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    function    text NOT NULL,
    args        jsonb NOT NULL DEFAULT '[]',
    created_at  timestamptz NOT NULL DEFAULT now(),
    done_at     timestamptz
);
CREATE INDEX job_outbox_pending_idx ON job_outbox (created_at) WHERE done_at IS NULL;
