-- expect-not: drop-default
-- expect-not: table-rewrite
ALTER TABLE users ALTER COLUMN status SET DEFAULT 'active';
