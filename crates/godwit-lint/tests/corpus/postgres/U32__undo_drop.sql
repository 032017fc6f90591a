-- expect-not: drop-column
ALTER TABLE users DROP COLUMN tenant_id;
