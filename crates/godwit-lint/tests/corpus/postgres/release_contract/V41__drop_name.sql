-- godwit:contract
-- expect: contract-with-expand
ALTER TABLE users DROP COLUMN name;
