-- expect: data-not-rerunnable
INSERT INTO settings VALUES ('theme', 'dark');
