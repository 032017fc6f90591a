-- corpus: server-version 10.5
-- expect: table-rewrite
-- Before PostgreSQL 11 any default rewrites the table.
ALTER TABLE users ADD COLUMN active boolean DEFAULT false;
