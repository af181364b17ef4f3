-- The catalog's: a product's pictures, in order, each a media row shown with its own alt text.
-- A media row a product shows cannot be deleted (RESTRICT). A product's positions are
-- 0..n-1: the catalog moves them under the product's row lock, and the unique constraint,
-- checked at the end of each statement (so one UPDATE may shift a run of them), backs it.
CREATE TABLE product_images (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    product_id  uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    media_id    uuid NOT NULL REFERENCES media (id) ON DELETE RESTRICT,
    alt         text NOT NULL DEFAULT '' CHECK (length(alt) <= 500),
    position    int NOT NULL CHECK (position >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT product_images_in_order UNIQUE (product_id, position) DEFERRABLE INITIALLY IMMEDIATE
);
CREATE INDEX product_images_media ON product_images (media_id);
