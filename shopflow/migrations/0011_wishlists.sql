-- Wishlists: a customer's default and named lists, guests' lists (kept like a guest cart,
-- until it expires or its holder signs in), and the notices an item asks for.

CREATE TABLE wishlists (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id           uuid REFERENCES users (id) ON DELETE CASCADE,  -- NULL: a guest's list
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    is_default        boolean NOT NULL DEFAULT false,
    share_token_hash  bytea UNIQUE,  -- SHA-256 of the share link's token; NULL: not shared
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    expires_at        timestamptz,  -- guests' lists only
    CHECK ((user_id IS NULL) = (expires_at IS NOT NULL)),
    CHECK (user_id IS NOT NULL OR (NOT is_default AND share_token_hash IS NULL))
);
-- One default list per customer: the one first use makes, whatever requests race.
CREATE UNIQUE INDEX wishlists_one_default_idx ON wishlists (user_id) WHERE is_default;
CREATE INDEX wishlists_user_idx ON wishlists (user_id, created_at, id) WHERE user_id IS NOT NULL;
CREATE INDEX wishlists_expiry_idx ON wishlists (expires_at) WHERE user_id IS NULL;

CREATE TABLE wishlist_items (
    wishlist_id          uuid NOT NULL REFERENCES wishlists (id) ON DELETE CASCADE,
    product_id           uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    added_at             timestamptz NOT NULL DEFAULT now(),
    notify_back_in_stock boolean NOT NULL DEFAULT false,
    notify_price_drop    boolean NOT NULL DEFAULT false,
    watch_price          bigint CHECK (watch_price >= 0),  -- the lowest price the customer saw when asking, or was last told
    PRIMARY KEY (wishlist_id, product_id)
);
-- A page of a list, newest first.
CREATE INDEX wishlist_items_page_idx ON wishlist_items (wishlist_id, added_at DESC, product_id DESC);
-- Who asked to hear about a product: what a notice job reads.
CREATE INDEX wishlist_items_watch_idx ON wishlist_items (product_id)
    WHERE notify_back_in_stock OR notify_price_drop;
