-- corpus: no-lock-timeout
-- expect-not: lock-timeout-missing
ALTER TABLE users ADD COLUMN bio TEXT;
