-- expect: drop-column
-- expect-not: mysql-online-ddl
ALTER TABLE users DROP COLUMN nickname, ALGORITHM=INSTANT;
