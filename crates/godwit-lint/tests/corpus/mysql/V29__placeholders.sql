-- expect: drop-table
-- expect-not: mysql-online-ddl
DROP TABLE ${schema}.legacy_sessions;
ALTER TABLE ${schema}.users ADD COLUMN bio TEXT, ALGORITHM=INSTANT;
