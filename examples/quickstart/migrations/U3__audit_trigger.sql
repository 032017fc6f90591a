DROP TRIGGER person_changed;
DROP TABLE person_audit;
