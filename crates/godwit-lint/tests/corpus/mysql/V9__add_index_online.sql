-- expect-not: mysql-online-ddl
-- expect-not: constraint-added
ALTER TABLE orders ADD INDEX idx_created (created_at), ALGORITHM=INPLACE, LOCK=NONE;
