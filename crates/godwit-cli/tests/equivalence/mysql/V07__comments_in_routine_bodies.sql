-- Comments inside a routine body: the mariadb client strips them before sending (its default
-- --skip-comments), so the stored body has none.
DELIMITER $$
CREATE FUNCTION answer() RETURNS INT DETERMINISTIC
BEGIN
    -- a line comment; with a semicolon
    # a hash comment
    RETURN 42; /* a block comment */
END$$
DELIMITER ;
