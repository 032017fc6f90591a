-- expect-not: drop-column
-- Not now: ALTER TABLE users DROP COLUMN name; waits for the contract release.
ALTER TABLE users ADD COLUMN display_name text;
