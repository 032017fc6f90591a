-- expect-not: contract-with-expand
ALTER TABLE users ADD COLUMN full_name text;
