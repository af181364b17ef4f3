-- A guest order is reached by a secret sent to its buyer, never by its id alone: the
-- SHA-256 of that secret. Orders of signed-in buyers have none (their owner signs in).
ALTER TABLE orders ADD COLUMN access_hash bytea;
