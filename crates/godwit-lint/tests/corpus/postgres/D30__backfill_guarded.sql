-- expect-not: data-not-rerunnable
INSERT INTO settings (key, value) VALUES ('theme', 'dark') ON CONFLICT (key) DO NOTHING;
UPDATE users SET full_name = name WHERE full_name IS NULL;
DELETE FROM sessions WHERE expires_at < now();
