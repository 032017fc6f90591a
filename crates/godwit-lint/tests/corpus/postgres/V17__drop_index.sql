-- expect: index-not-concurrent
DROP INDEX orders_old_idx;
