-- expect: column-type-change
-- expect: not-null-added
-- expect: table-rewrite
-- expect-not: mysql-online-ddl
ALTER TABLE orders MODIFY COLUMN amount DECIMAL(12,2) NOT NULL;
