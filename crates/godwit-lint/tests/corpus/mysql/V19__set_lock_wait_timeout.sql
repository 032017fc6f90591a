-- corpus: no-lock-timeout
-- expect-not: lock-timeout-missing
SET SESSION lock_wait_timeout = 5;
ALTER TABLE users ADD COLUMN x INT, ALGORITHM=INSTANT;
