-- expect: mysql-online-ddl
ALTER TABLE users ADD COLUMN bio TEXT;
