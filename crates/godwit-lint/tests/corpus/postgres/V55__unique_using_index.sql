-- expect: constraint-added
-- expect-not: index-not-concurrent
-- The index was built CONCURRENTLY by the previous migration.
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_idx;
