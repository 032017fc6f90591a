-- expect: column-type-change
-- expect: table-rewrite
ALTER TABLE users ALTER COLUMN id SET DATA TYPE bigint;
