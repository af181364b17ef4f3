-- The catalog's: a product's pictures, in order, each a media row shown with its own alt text.
-- A media row a product shows cannot be deleted (RESTRICT).
CREATE TABLE product_images (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    product_id  uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    media_id    uuid NOT NULL REFERENCES media (id) ON DELETE RESTRICT,
    alt         text NOT NULL DEFAULT '' CHECK (length(alt) <= 500),
    position    int NOT NULL CHECK (position >= 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX product_images_in_order ON product_images (product_id, position, id);
CREATE INDEX product_images_media ON product_images (media_id);
