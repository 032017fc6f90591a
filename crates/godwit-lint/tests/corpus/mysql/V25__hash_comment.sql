-- expect-not: drop-column
# ALTER TABLE users DROP COLUMN name; comes in the contract release
ALTER TABLE users ADD COLUMN display_name VARCHAR(100), ALGORITHM=INSTANT;
