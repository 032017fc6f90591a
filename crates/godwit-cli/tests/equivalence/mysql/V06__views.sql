-- Views keep the session's character set and collation.
CREATE TABLE base (id INT PRIMARY KEY, name VARCHAR(20), note VARCHAR(20));
INSERT INTO base VALUES (1, 'a', 'x;y'), (2, 'ü', NULL);
CREATE VIEW `odd view` AS
    SELECT id, CONCAT(name, ';', COALESCE(note, '')) AS joined FROM base WHERE name <> 'it''s';
CREATE VIEW nested AS SELECT COUNT(*) AS n FROM `odd view`;
