-- expect: mysql-online-ddl
-- expect-not: index-not-concurrent
CREATE INDEX idx_email ON users (email);
