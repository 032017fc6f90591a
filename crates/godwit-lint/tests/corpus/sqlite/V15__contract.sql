-- godwit:contract
-- expect-not: drop-column
ALTER TABLE users DROP COLUMN legacy;
