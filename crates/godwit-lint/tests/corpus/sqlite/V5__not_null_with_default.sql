-- expect-not: not-null-added
ALTER TABLE users ADD COLUMN tenant_id INTEGER NOT NULL DEFAULT 0;
