-- expect-not: data-not-rerunnable
INSERT INTO settings (k, v) VALUES ('theme', 'dark') ON DUPLICATE KEY UPDATE v = v;
UPDATE users SET full_name = name WHERE full_name IS NULL;
