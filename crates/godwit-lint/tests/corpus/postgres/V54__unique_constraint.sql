-- expect: constraint-added
-- expect: index-not-concurrent
-- expect-not: constraint-not-valid
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);
