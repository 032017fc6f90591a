CREATE TABLE person_audit (
    person_id INTEGER NOT NULL,
    changed_at TEXT NOT NULL DEFAULT (datetime('now'))
);

-- A trigger body holds semicolons; godwit's splitter keeps it whole.
CREATE TRIGGER person_changed AFTER UPDATE ON person
BEGIN
    INSERT INTO person_audit (person_id) VALUES (NEW.id);
END;
