DROP VIEW IF EXISTS notes_view;
CREATE VIEW notes_view AS SELECT id, title FROM notes;
