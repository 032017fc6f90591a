-- expect-not: drop-table
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
DROP TABLE IF EXISTS scratch;
