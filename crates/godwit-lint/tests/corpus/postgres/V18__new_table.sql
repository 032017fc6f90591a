-- expect-not: index-not-concurrent
-- expect-not: not-null-added
-- A table created in the same file is empty and unseen by the previous release.
CREATE TABLE invoices (id bigint PRIMARY KEY, order_id bigint);
CREATE INDEX invoices_order_idx ON invoices (order_id);
ALTER TABLE invoices ADD COLUMN total numeric NOT NULL;
