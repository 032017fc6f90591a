-- expect-not: contract-with-expand
ALTER TABLE users ADD COLUMN avatar_url text;
