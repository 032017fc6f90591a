-- A one-statement trigger needs no DELIMITER.
CREATE TABLE t (a VARCHAR(20));
CREATE TRIGGER t_upper BEFORE INSERT ON t FOR EACH ROW SET NEW.a = UPPER(NEW.a);
INSERT INTO t VALUES ('abc'), ('ünï');
