//! Statements that cannot run in a transaction, and the file-level directive.

use crate::Dialect::{self, MySql, Postgres, Sqlite};
use crate::{has_no_transaction_directive, is_non_transactional};

#[track_caller]
fn check(cases: &[(Dialect, &str, bool)]) {
    for &(dialect, sql, expected) in cases {
        assert_eq!(
            is_non_transactional(dialect, sql),
            expected,
            "{dialect:?}: {sql:?}"
        );
    }
}

#[test]
fn postgres_concurrent_index_operations() {
    check(&[
        (Postgres, "CREATE INDEX CONCURRENTLY idx ON t (x)", true),
        (
            Postgres,
            "create unique index concurrently idx on t (x)",
            true,
        ),
        (
            Postgres,
            "CREATE\n\tINDEX /* why */ CONCURRENTLY IF NOT EXISTS idx ON t (x)",
            true,
        ),
        (Postgres, "CREATE INDEX CONCURRENTLY ON t (x)", true),
        (Postgres, "DROP INDEX CONCURRENTLY idx", true),
        (Postgres, "drop index concurrently if exists idx", true),
        (Postgres, "CREATE INDEX idx ON t (concurrently)", false),
        (Postgres, "CREATE INDEX idx ON t (x)", false),
        (Postgres, "CREATE UNIQUE INDEX idx ON t (x)", false),
        (Postgres, "DROP INDEX idx", false),
        (Postgres, "DROP UNIQUE INDEX CONCURRENTLY idx", false),
        (Postgres, "CREATE TABLE concurrently (x int)", false),
    ]);
}

#[test]
fn postgres_reindex() {
    check(&[
        (Postgres, "REINDEX INDEX CONCURRENTLY idx", true),
        (Postgres, "REINDEX TABLE CONCURRENTLY t", true),
        (Postgres, "REINDEX (VERBOSE) TABLE CONCURRENTLY t", true),
        (
            Postgres,
            "reindex ( verbose, tablespace fast ) index concurrently i",
            true,
        ),
        (Postgres, "REINDEX SCHEMA public", true),
        (Postgres, "REINDEX DATABASE app", true),
        (Postgres, "REINDEX SYSTEM", true),
        (Postgres, "REINDEX TABLE t", false),
        (Postgres, "REINDEX (VERBOSE) INDEX i", false),
        (Postgres, "REINDEX", false),
    ]);
}

#[test]
fn postgres_vacuum_cluster_and_system() {
    check(&[
        (Postgres, "VACUUM", true),
        (Postgres, "vacuum full analyze t", true),
        (Postgres, "VACUUM (VERBOSE, ANALYZE) t", true),
        (Postgres, "ALTER SYSTEM SET work_mem = '64MB'", true),
        (Postgres, "CLUSTER", true),
        (Postgres, "CLUSTER;", true),
        (Postgres, "CLUSTER VERBOSE", true),
        (Postgres, "CLUSTER (VERBOSE)", true),
        (Postgres, "CLUSTER t USING idx", false),
        (Postgres, "CLUSTER VERBOSE t", false),
        (Postgres, "CLUSTER (VERBOSE) t USING idx", false),
        (Postgres, "ANALYZE t", false),
    ]);
}

#[test]
fn postgres_databases_tablespaces_and_subscriptions() {
    check(&[
        (Postgres, "CREATE DATABASE app", true),
        (Postgres, "DROP DATABASE IF EXISTS app", true),
        (Postgres, "ALTER DATABASE app SET TABLESPACE fast", true),
        (
            Postgres,
            "ALTER DATABASE \"my app\" SET TABLESPACE fast",
            true,
        ),
        (Postgres, "ALTER DATABASE app SET search_path = a, b", false),
        (Postgres, "ALTER DATABASE app RENAME TO app2", false),
        (Postgres, "CREATE TABLESPACE fast LOCATION '/ssd'", true),
        (Postgres, "DROP TABLESPACE fast", true),
        (Postgres, "ALTER TABLESPACE fast RENAME TO quick", false),
        (
            Postgres,
            "CREATE SUBSCRIPTION s CONNECTION 'dbname=x' PUBLICATION p",
            true,
        ),
        (Postgres, "DROP SUBSCRIPTION s", true),
        (Postgres, "ALTER SUBSCRIPTION s DISABLE", false),
        (Postgres, "CREATE TABLE database (x int)", false),
        (Postgres, "DROP TABLE tablespace", false),
    ]);
}

#[test]
fn postgres_detach_partition_concurrently() {
    check(&[
        (
            Postgres,
            "ALTER TABLE m DETACH PARTITION p CONCURRENTLY",
            true,
        ),
        (
            Postgres,
            "ALTER TABLE IF EXISTS s.m DETACH PARTITION s.\"p 1\" CONCURRENTLY",
            true,
        ),
        (Postgres, "ALTER TABLE m DETACH PARTITION p", false),
        (
            Postgres,
            "ALTER TABLE m DETACH PARTITION concurrently",
            false,
        ),
        (Postgres, "ALTER TABLE m DETACH PARTITION p FINALIZE", false),
        (Postgres, "ALTER TABLE m ADD COLUMN detach int", false),
    ]);
}

#[test]
fn postgres_statements_allowed_in_transactions() {
    check(&[
        (Postgres, "ALTER TYPE mood ADD VALUE 'meh'", false),
        (Postgres, "SELECT 'VACUUM'", false),
        (
            Postgres,
            "INSERT INTO t VALUES ('CREATE DATABASE x')",
            false,
        ),
        (Postgres, "REFRESH MATERIALIZED VIEW CONCURRENTLY v", false),
        (Postgres, "CREATE TABLE vacuum (x int)", false),
        (Postgres, "", false),
        (Postgres, "   ", false),
        (Postgres, "-- only a comment", false),
        (Postgres, ";", false),
    ]);
}

#[test]
fn leading_comments_are_skipped() {
    check(&[
        (
            Postgres,
            "-- build it online\n/* really /* nested */ */\nCREATE INDEX CONCURRENTLY i ON t (x)",
            true,
        ),
        (Postgres, "/*+ hint */ VACUUM", true),
        (Postgres, "-- VACUUM\nSELECT 1", false),
        (Postgres, "/* CREATE INDEX CONCURRENTLY */ SELECT 1", false),
        (Postgres, "/* unterminated VACUUM", false),
        (Sqlite, "-- compact\n/* it */ VACUUM", true),
    ]);
}

#[test]
fn sqlite_vacuum_only() {
    check(&[
        (Sqlite, "VACUUM", true),
        (Sqlite, "vacuum main", true),
        (Sqlite, "VACUUM INTO '/tmp/backup.db'", true),
        (Sqlite, "SELECT 1", false),
        (Sqlite, "CREATE INDEX CONCURRENTLY i ON t (x)", false),
        (Sqlite, "CREATE DATABASE x", false),
        (Sqlite, "PRAGMA foreign_keys = OFF", false),
    ]);
}

#[test]
fn mysql_never() {
    check(&[
        (MySql, "VACUUM", false),
        (MySql, "CREATE DATABASE app", false),
        (MySql, "CREATE INDEX CONCURRENTLY i ON t (x)", false),
        (MySql, "ALTER SYSTEM SET x = 1", false),
    ]);
}

#[test]
fn no_transaction_directive() {
    for (line, expected) in [
        ("-- godwit:no-transaction", true),
        ("--godwit:no-transaction", true),
        ("  --   GODWIT:No-Transaction  \r\n", true),
        ("\u{feff}-- godwit:no-transaction\n", true),
        ("\t-- godwit:no-transaction", true),
        ("-- godwit:no-transactions", false),
        ("-- godwit:no-transaction please", false),
        ("-- godwit: no-transaction", false),
        ("# godwit:no-transaction", false),
        ("/* godwit:no-transaction */", false),
        ("SELECT 1; -- godwit:no-transaction", false),
        ("-- flyway:no-transaction", false),
        ("", false),
    ] {
        assert_eq!(has_no_transaction_directive(line), expected, "{line:?}");
    }
}
