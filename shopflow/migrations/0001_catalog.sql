-- The catalog: a category tree, products, their variants and stock per SKU.

CREATE TABLE categories (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    parent_id   uuid REFERENCES categories (id) ON DELETE RESTRICT,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    position    integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (parent_id IS DISTINCT FROM id)
);
CREATE INDEX categories_parent_idx ON categories (parent_id, position);

CREATE TABLE products (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug         text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 200),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description  text NOT NULL DEFAULT '',
    category_id  uuid REFERENCES categories (id) ON DELETE SET NULL,
    attributes   jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attributes) = 'object'),
    status       text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'archived')),
    currency     char(3) NOT NULL,
    -- The cheapest and dearest variant, kept by the catalog service in the same transaction
    -- as every variant write; NULL while the product has no variant.
    price_min    bigint CHECK (price_min >= 0),
    price_max    bigint CHECK (price_max >= price_min),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    search       tsvector GENERATED ALWAYS AS (
                     setweight(to_tsvector('english', name), 'A')
                     || setweight(to_tsvector('english', description), 'B')) STORED
);
-- Shoppers only ever list active products with a price, so the indexes cover just those.
CREATE INDEX products_search_idx ON products USING gin (search)
    WHERE status = 'active' AND price_min IS NOT NULL;
CREATE INDEX products_newest_idx ON products (created_at DESC, id DESC)
    WHERE status = 'active' AND price_min IS NOT NULL;
CREATE INDEX products_price_idx ON products (price_min, id)
    WHERE status = 'active' AND price_min IS NOT NULL;
CREATE INDEX products_category_newest_idx ON products (category_id, created_at DESC, id DESC)
    WHERE status = 'active' AND price_min IS NOT NULL;
CREATE INDEX products_category_price_idx ON products (category_id, price_min, id)
    WHERE status = 'active' AND price_min IS NOT NULL;

CREATE TABLE variants (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    product_id    uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    sku           text NOT NULL UNIQUE CHECK (sku ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    options       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(options) = 'object'),
    price_amount  bigint NOT NULL CHECK (price_amount >= 0),
    currency      char(3) NOT NULL,
    position      integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX variants_product_idx ON variants (product_id, position);

CREATE TABLE stock (
    sku         text PRIMARY KEY REFERENCES variants (sku) ON DELETE CASCADE,
    on_hand     integer NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    reserved    integer NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (reserved <= on_hand)
);
