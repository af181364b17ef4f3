-- Erasing a customer (users/privacy.py) finds what names them by index, not by reading
-- whole tables: the event rows of their orders, and the mail sent to their addresses.
CREATE INDEX order_events_order_idx ON order_events (order_id);
CREATE INDEX mail_outbox_to_idx ON mail_outbox (lower(to_address));
