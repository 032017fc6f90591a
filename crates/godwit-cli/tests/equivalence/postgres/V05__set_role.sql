-- A migration that ends with another role in force: psql runs it, and so must godwit, whose
-- history write must not depend on the role the migration left behind.
CREATE TABLE readable (id int);
INSERT INTO readable VALUES (1);
SET ROLE pg_read_all_data;
SELECT count(*) FROM readable;
