-- expect: data-not-rerunnable
INSERT INTO settings (key, value) VALUES ('theme', 'dark');
