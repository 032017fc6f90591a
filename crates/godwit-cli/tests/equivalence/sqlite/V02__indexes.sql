-- Indexes of every kind.
CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL);
CREATE INDEX t_name ON t (name);
CREATE UNIQUE INDEX "t odd;index" ON t (lower(name)) WHERE score > 0;
CREATE INDEX t_score
    ON t (score DESC, name COLLATE NOCASE);
INSERT INTO t (name, score) VALUES ('a', 1.5), ('B', -1), ('c', NULL);
