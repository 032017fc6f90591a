-- The session the file runs in, and settings it changes itself.
CREATE TABLE settings (name VARCHAR(40), value TEXT);
INSERT INTO settings VALUES ('sql_mode', @@SESSION.sql_mode), ('time_zone', @@SESSION.time_zone);
SET @greeting = 'hello; world';
SET SESSION time_zone = '+02:00';
SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',PAD_CHAR_TO_FULL_LENGTH');
INSERT INTO settings VALUES ('variable', @greeting), ('time_zone set', @@SESSION.time_zone),
    ('converted', CONVERT_TZ('2024-06-01 12:00:00', '+00:00', @@SESSION.time_zone));
SET NAMES utf8mb4;
