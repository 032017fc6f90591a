-- expect-not: drop-table
DELIMITER //
CREATE PROCEDURE purge_scratch()
BEGIN
    DROP TABLE IF EXISTS scratch;
END //
DELIMITER ;
