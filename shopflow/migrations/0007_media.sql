-- Product media. An upload's original is kept once under its SHA-256 (several rows may name
-- the same bytes); the worker makes the variants of the ladder whose digest it records, and
-- lists them in `variants` ([{width, height, format, key, bytes}]).

CREATE TABLE media (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    sha256        text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content_type  text NOT NULL,  -- from the upload's magic bytes, never from the client
    bytes         bigint NOT NULL CHECK (bytes > 0),
    alt           text NOT NULL DEFAULT '' CHECK (length(alt) <= 500),
    status        text NOT NULL DEFAULT 'processing' CHECK (status IN ('processing', 'ready', 'failed')),
    error_code    text,
    error_detail  text,
    width         int CHECK (width > 0),
    height        int CHECK (height > 0),
    placeholder   text,  -- a ThumbHash, base64
    ladder        text,  -- the digest of the ladder the variants were made with
    variants      jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(variants) = 'array'),
    created_by    uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'failed') = (error_code IS NOT NULL)),
    CHECK (status <> 'ready' OR (width IS NOT NULL AND height IS NOT NULL AND ladder IS NOT NULL))
);
CREATE INDEX media_newest ON media (created_at DESC, id DESC);
CREATE INDEX media_sha256 ON media (sha256);
