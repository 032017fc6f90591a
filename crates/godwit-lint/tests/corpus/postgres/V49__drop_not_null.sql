-- expect-not: not-null-added
-- Relaxing a constraint is compatible in both directions.
ALTER TABLE users ALTER COLUMN phone DROP NOT NULL;
