-- Foreign keys are enforced only where the connection turned them on: the sqlite3 shell
-- does not, so ON DELETE CASCADE does nothing there and orphans are accepted.
CREATE TABLE parent (id INTEGER PRIMARY KEY);
CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent (id) ON DELETE CASCADE);
INSERT INTO parent VALUES (1), (2);
INSERT INTO child VALUES (10, 1), (20, 2);
DELETE FROM parent WHERE id = 1;
