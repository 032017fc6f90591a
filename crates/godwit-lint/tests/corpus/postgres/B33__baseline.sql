-- expect-not: index-not-concurrent
-- A baseline runs on an empty database only.
CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);
CREATE INDEX orders_user_idx ON orders (user_id);
