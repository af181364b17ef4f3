-- A summary row per customer and currency, so the account dashboard never aggregates over
-- orders at read time: kept by a trigger on orders, in the transaction of every change that
-- moves it, whichever code path makes the change (placing, paying, a late payment on an
-- expired order, cancelling, expiring, refunding, shipping, a guest order adopted by an
-- account, an order losing its account).

-- What "open" means, in one place: the customer still waits for something to happen.
CREATE FUNCTION order_is_open(status text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN status IN ('pending_payment', 'paid', 'fulfilled');

-- What an order has cost its buyer so far: the money taken less what went back.
CREATE FUNCTION order_spend(payment_status text, total bigint, refunded bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN payment_status IN ('paid', 'partially_refunded', 'refunded')
                THEN total - refunded ELSE 0 END;

CREATE TABLE customer_summaries (
    user_id            uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    currency           char(3) NOT NULL,  -- a shop sells in one; a row per currency all the same
    orders_count       integer NOT NULL CHECK (orders_count > 0),
    open_orders_count  integer NOT NULL CHECK (open_orders_count BETWEEN 0 AND orders_count),
    lifetime_spend     bigint NOT NULL CHECK (lifetime_spend >= 0),  -- minor units
    last_order_at      timestamptz NOT NULL,
    PRIMARY KEY (user_id, currency)
);

CREATE FUNCTION customer_summaries_follow() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    open_change integer;
    spend_change bigint;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.user_id IS NOT DISTINCT FROM OLD.user_id AND NEW.currency = OLD.currency THEN
        -- the same customer's order changed: one UPDATE, and none when nothing counted moved
        IF NEW.user_id IS NULL THEN
            RETURN NULL;
        END IF;
        open_change := order_is_open(NEW.status)::integer - order_is_open(OLD.status)::integer;
        spend_change := order_spend(NEW.payment_status, NEW.total, NEW.refunded)
                        - order_spend(OLD.payment_status, OLD.total, OLD.refunded);
        IF open_change <> 0 OR spend_change <> 0 THEN
            UPDATE customer_summaries
               SET open_orders_count = open_orders_count + open_change,
                   lifetime_spend = lifetime_spend + spend_change
             WHERE user_id = NEW.user_id AND currency = NEW.currency;
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.user_id IS NOT NULL THEN
        -- the order leaves its customer (never an INSERT here: the account may be going too)
        UPDATE customer_summaries
           SET orders_count = orders_count - 1,
               open_orders_count = open_orders_count - order_is_open(OLD.status)::integer,
               lifetime_spend = lifetime_spend - order_spend(OLD.payment_status, OLD.total, OLD.refunded),
               last_order_at = CASE WHEN last_order_at > OLD.created_at THEN last_order_at ELSE coalesce(
                   (SELECT max(created_at) FROM orders WHERE user_id = OLD.user_id AND currency = OLD.currency),
                   last_order_at) END
         WHERE user_id = OLD.user_id AND currency = OLD.currency AND orders_count > 1;
        IF NOT FOUND THEN  -- its last order: the row goes
            DELETE FROM customer_summaries WHERE user_id = OLD.user_id AND currency = OLD.currency;
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.user_id IS NOT NULL THEN
        INSERT INTO customer_summaries AS s
               (user_id, currency, orders_count, open_orders_count, lifetime_spend, last_order_at)
        VALUES (NEW.user_id, NEW.currency, 1, order_is_open(NEW.status)::integer,
                order_spend(NEW.payment_status, NEW.total, NEW.refunded), NEW.created_at)
        ON CONFLICT (user_id, currency) DO UPDATE
           SET orders_count = s.orders_count + 1,
               open_orders_count = s.open_orders_count + EXCLUDED.open_orders_count,
               lifetime_spend = s.lifetime_spend + EXCLUDED.lifetime_spend,
               last_order_at = greatest(s.last_order_at, EXCLUDED.last_order_at);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER customer_summaries_follow
    AFTER INSERT OR DELETE OR UPDATE OF user_id, currency, status, payment_status, total, refunded
    ON orders FOR EACH ROW EXECUTE FUNCTION customer_summaries_follow();

INSERT INTO customer_summaries (user_id, currency, orders_count, open_orders_count, lifetime_spend, last_order_at)
SELECT user_id, currency, count(*), count(*) FILTER (WHERE order_is_open(status)),
       sum(order_spend(payment_status, total, refunded)), max(created_at)
  FROM orders WHERE user_id IS NOT NULL GROUP BY user_id, currency;

-- Guest orders waiting for an account with their email to be verified.
CREATE INDEX orders_guest_email_idx ON orders (lower(email)) WHERE user_id IS NULL;
