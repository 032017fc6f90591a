-- corpus: no-undo
-- godwit:lint-allow missing-undo a new lookup table: going back leaves it unused, which is harmless
-- expect-not: missing-undo
CREATE TABLE countries (code TEXT PRIMARY KEY);
