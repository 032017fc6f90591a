-- Session settings changed by the file apply to the rest of the file.
CREATE SCHEMA app;
SET search_path TO app, public;
SET TimeZone = 'America/New_York';
SET DateStyle = 'SQL, DMY';
SET client_min_messages = warning;
CREATE TABLE settings (name text, value text);
INSERT INTO settings VALUES
    ('search_path', current_setting('search_path')),
    ('TimeZone', current_setting('TimeZone')),
    ('DateStyle', current_setting('DateStyle')),
    ('date', '01/02/2024'::date::text),
    ('local time', ('2024-06-01 12:00:00+00'::timestamptz)::text);
SET LOCAL statement_timeout = '5min';
RESET DateStyle;
INSERT INTO settings VALUES ('DateStyle after reset', current_setting('DateStyle'));
