-- expect: column-type-change
-- expect: not-null-added
-- expect: table-rewrite
-- expect-not: rename-column
ALTER TABLE users CHANGE COLUMN email email VARCHAR(320) NOT NULL;
