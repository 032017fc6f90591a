-- expect: constraint-added
-- expect-not: index-not-concurrent
-- expect-not: transaction-control
-- godwit runs this file outside a transaction: CREATE INDEX CONCURRENTLY cannot run in one.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS orders_ref_key ON orders (ref);
CREATE INDEX CONCURRENTLY orders_user_idx ON orders (user_id);
