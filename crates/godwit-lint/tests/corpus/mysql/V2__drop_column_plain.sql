-- expect: drop-column
-- expect: mysql-online-ddl
ALTER TABLE users DROP COLUMN nickname;
