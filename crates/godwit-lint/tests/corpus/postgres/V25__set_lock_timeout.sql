-- corpus: no-lock-timeout
-- expect-not: lock-timeout-missing
SET LOCAL lock_timeout = '5s';
ALTER TABLE users ADD COLUMN bio text;
