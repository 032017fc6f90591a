-- expect-not: not-null-added
-- expect-not: table-rewrite
ALTER TABLE users ADD COLUMN status text NOT NULL DEFAULT 'active';
