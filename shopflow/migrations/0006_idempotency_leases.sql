-- An Idempotency-Key is held by a lease that its process renews every second or so
-- (locked_at); a key whose lease ran out is taken over by the next request with it.
-- `claim` names the request holding the key, so one that lost it can write nothing more;
-- `resource_id` names what the request created (an order), written in the transaction that
-- creates it, so a retry after a crash finds it instead of making another.
ALTER TABLE idempotency_keys ADD COLUMN claim uuid, ADD COLUMN resource_id uuid;
