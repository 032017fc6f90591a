-- expect-not: index-not-concurrent
DROP INDEX CONCURRENTLY IF EXISTS orders_old_idx;
