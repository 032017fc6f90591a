-- expect-not: transaction-control
CREATE TRIGGER users_touch AFTER UPDATE ON users
BEGIN
    UPDATE users SET updated_at = CURRENT_TIMESTAMP WHERE id = new.id;
END;
