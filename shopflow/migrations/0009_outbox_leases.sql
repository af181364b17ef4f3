-- A long outbox job (image processing) is claimed for a while instead of being locked
-- inside a transaction that would stay open while it works: see platform/outbox.py.
ALTER TABLE job_outbox ADD COLUMN leased_until timestamptz;
