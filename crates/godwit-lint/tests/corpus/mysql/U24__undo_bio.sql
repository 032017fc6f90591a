-- expect: mysql-online-ddl
-- expect-not: drop-column
ALTER TABLE users DROP COLUMN bio;
