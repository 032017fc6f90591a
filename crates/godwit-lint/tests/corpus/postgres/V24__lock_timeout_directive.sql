-- godwit:statement-lock-timeout=5s
-- corpus: no-lock-timeout
-- expect-not: lock-timeout-missing
ALTER TABLE users ADD COLUMN bio text;
