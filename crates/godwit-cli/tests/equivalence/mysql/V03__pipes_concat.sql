-- `||` is OR under the server's default sql_mode, as the mariadb client runs it.
CREATE TABLE pipes (a INT, b INT, c VARCHAR(20));
INSERT INTO pipes (a, b) VALUES (1, 0), (0, 0);
UPDATE pipes SET c = (a || b);
