-- expect-not: drop-table
DROP VIEW IF EXISTS active_users;
CREATE VIEW active_users AS SELECT id, email FROM users WHERE deleted_at IS NULL;
