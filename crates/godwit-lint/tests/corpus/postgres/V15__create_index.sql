-- expect: index-not-concurrent
CREATE INDEX orders_created_idx ON orders (created_at);
