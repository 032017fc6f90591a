-- godwit:contract
-- expect: contract-with-expand
ALTER TABLE users RENAME COLUMN name TO name_unused;
