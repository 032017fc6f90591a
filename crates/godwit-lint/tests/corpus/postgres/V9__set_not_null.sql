-- expect: not-null-added
ALTER TABLE users ALTER COLUMN email SET NOT NULL;
