-- Upserts, a recursive view, a table made from a query.
CREATE TABLE kv (k TEXT PRIMARY KEY, v ANY);
INSERT INTO kv VALUES ('a', 1), ('b', 'two'), ('c', x'00ff'), ('d', 2.5), ('e', NULL);
INSERT INTO kv VALUES ('a', 10) ON CONFLICT (k) DO UPDATE SET v = excluded.v + 1;
CREATE VIEW numbers AS
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5)
    SELECT i FROM n;
CREATE TABLE copied AS SELECT i, i * i AS square FROM numbers;
