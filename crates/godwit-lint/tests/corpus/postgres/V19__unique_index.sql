-- expect: constraint-added
-- expect-not: index-not-concurrent
CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);
