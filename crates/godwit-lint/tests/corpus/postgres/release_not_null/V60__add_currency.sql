-- expect-not: contract-with-expand
ALTER TABLE orders ADD COLUMN currency varchar(3);
