-- corpus: no-undo
-- expect: missing-undo
CREATE TABLE tags (id bigint PRIMARY KEY, name text NOT NULL);
