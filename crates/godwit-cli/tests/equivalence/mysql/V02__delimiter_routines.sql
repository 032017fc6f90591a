-- Stored routines and triggers written with DELIMITER, as the mariadb client reads them.
CREATE TABLE counter (name VARCHAR(20) PRIMARY KEY, n INT NOT NULL DEFAULT 0, updated VARCHAR(50));

DELIMITER $$
CREATE PROCEDURE bump(IN who VARCHAR(20), IN times INT)
BEGIN
    DECLARE i INT DEFAULT 0;
    label1: WHILE i < times DO
        BEGIN
            INSERT INTO counter (name, n) VALUES (who, 1)
                ON DUPLICATE KEY UPDATE n = n + 1;
        END;
        SET i = i + 1;
    END WHILE label1;
    IF times > 2 THEN
        UPDATE counter SET updated = 'many; times' WHERE name = who;
    ELSEIF times = 0 THEN
        UPDATE counter SET updated = 'never' WHERE name = who;
    END IF;
    CASE times
        WHEN 1 THEN UPDATE counter SET updated = 'once' WHERE name = who;
        ELSE BEGIN END;
    END CASE;
END$$

CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC
BEGIN
    RETURN x * 2;
END $$
DELIMITER ;

DELIMITER //
CREATE TRIGGER counter_name BEFORE INSERT ON counter FOR EACH ROW
BEGIN
    SET NEW.name = UPPER(NEW.name);
    IF NEW.name = '' THEN
        SET NEW.name = 'EMPTY';
    END IF;
END//
DELIMITER ;

CALL bump('a', 3);
CALL bump('b', 1);
INSERT INTO counter (name, n) VALUES ('x', twice(21));
