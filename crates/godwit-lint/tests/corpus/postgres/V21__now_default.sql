-- expect-not: table-rewrite
ALTER TABLE users ADD COLUMN created_at timestamptz DEFAULT now();
