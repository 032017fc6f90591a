-- expect: drop-table
DROP TABLE IF EXISTS legacy_sessions;
