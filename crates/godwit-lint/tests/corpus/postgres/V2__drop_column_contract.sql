-- godwit:contract
-- expect-not: drop-column
-- The release before this one stopped reading the column.
ALTER TABLE users DROP COLUMN nickname;
