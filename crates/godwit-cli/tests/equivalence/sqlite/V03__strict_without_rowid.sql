-- A table with options after its columns.
CREATE TABLE kv (k TEXT PRIMARY KEY, v ANY) STRICT, WITHOUT ROWID;
INSERT INTO kv VALUES ('a', 1), ('b', 'two'), ('c', x'00ff'), ('d', 2.5), ('e', NULL);
INSERT INTO kv VALUES ('a', 10) ON CONFLICT (k) DO UPDATE SET v = excluded.v + 1;
