-- godwit:lint-allow mysql-online-ddl the table has 40 rows
-- expect-not: mysql-online-ddl
ALTER TABLE countries ADD COLUMN iso3 CHAR(3);
