-- expect-not: data-ddl-mysql
CREATE TABLE IF NOT EXISTS import_log (id INTEGER PRIMARY KEY);
INSERT INTO settings (key, value) SELECT 'theme', 'dark'
    WHERE NOT EXISTS (SELECT 1 FROM settings WHERE key = 'theme');
