-- expect-not: data-ddl-mysql
-- expect-not: data-not-rerunnable
CREATE TABLE IF NOT EXISTS import_log (id bigint PRIMARY KEY);
INSERT INTO import_log (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM import_log WHERE id = 1);
