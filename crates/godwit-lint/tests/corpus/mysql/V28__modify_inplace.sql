-- expect: column-type-change
-- expect-not: table-rewrite
-- expect-not: mysql-online-ddl
-- The server refuses instead of copying the table if it cannot do this in place.
ALTER TABLE orders MODIFY COLUMN note VARCHAR(500), ALGORITHM=INPLACE, LOCK=NONE;
