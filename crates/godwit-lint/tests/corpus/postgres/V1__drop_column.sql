-- expect: drop-column
-- expect-not: rename-column
ALTER TABLE users DROP COLUMN nickname;
