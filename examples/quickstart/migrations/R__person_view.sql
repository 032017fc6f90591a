-- A repeatable migration: re-applied whenever this file changes.
DROP VIEW IF EXISTS person_names;
CREATE VIEW person_names AS
SELECT id, name FROM person ORDER BY name;
