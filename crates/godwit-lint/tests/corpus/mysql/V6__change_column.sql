-- expect: column-type-change
-- expect: rename-column
-- expect: table-rewrite
ALTER TABLE users CHANGE COLUMN name full_name VARCHAR(200);
