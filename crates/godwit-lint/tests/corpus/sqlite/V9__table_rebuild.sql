-- expect: drop-table
-- expect-not: rename-table
-- SQLite's way to change a column: rebuild the table. The old release loses its table.
CREATE TABLE users_new (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
INSERT INTO users_new (id, email) SELECT id, email FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
