-- expect-not: mysql-online-ddl
-- expect-not: not-null-added
CREATE TABLE invoices (id BIGINT PRIMARY KEY);
ALTER TABLE invoices ADD COLUMN total DECIMAL(12,2) NOT NULL;
CREATE INDEX idx_total ON invoices (total);
