-- expect: drop-default
ALTER TABLE users ALTER COLUMN status DROP DEFAULT;
