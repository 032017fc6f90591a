-- expect: not-null-added
ALTER TABLE users ADD COLUMN region TEXT NOT NULL;
