-- corpus: server-version 10.2.40-MariaDB
-- expect: mysql-online-ddl
ALTER TABLE users ADD COLUMN y INT;
