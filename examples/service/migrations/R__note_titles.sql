-- A view for reports; re-created whenever this file changes.
DROP VIEW IF EXISTS note_titles;
CREATE VIEW note_titles AS SELECT id, title, slug FROM notes;
