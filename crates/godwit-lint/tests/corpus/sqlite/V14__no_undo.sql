-- corpus: no-undo
-- expect: missing-undo
CREATE TABLE tags (id INTEGER PRIMARY KEY);
