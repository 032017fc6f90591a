-- expect-not: data-not-rerunnable
INSERT OR IGNORE INTO settings (key, value) VALUES ('theme', 'dark');
