-- godwit:contract
-- expect-not: contract-with-expand
-- The expand step for orders shipped in an earlier release.
ALTER TABLE orders DROP COLUMN legacy_code;
