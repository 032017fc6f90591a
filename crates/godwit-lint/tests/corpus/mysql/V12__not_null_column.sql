-- expect: not-null-added
ALTER TABLE users ADD COLUMN tenant_id BIGINT NOT NULL, ALGORITHM=INSTANT;
