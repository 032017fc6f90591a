-- corpus: no-lock-timeout
-- expect: lock-timeout-missing
ALTER TABLE users ADD COLUMN bio text;
