-- Runs on every migrate once the database is at version 2: gives every note without a title the
-- start of its body. Idempotent: only rows still without a title change.
UPDATE notes SET title = SUBSTR(body, 1, 40) WHERE title IS NULL;
