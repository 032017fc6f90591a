-- godwit:contract
-- expect: contract-with-expand
-- expect-not: not-null-added
-- Old nodes still insert orders without a currency while this release rolls out.
ALTER TABLE orders ALTER COLUMN currency SET NOT NULL;
