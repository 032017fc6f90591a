//! Statements that cannot run in a transaction, and the file-level directive.

use crate::Dialect::{self, MySql, Postgres, Sqlite};
use crate::{
    has_no_transaction_directive, is_non_transactional, is_transaction_control, split_str,
};

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

#[track_caller]
fn check_control(dialect: Dialect, cases: &[(&str, bool)]) {
    for &(sql, expected) in cases {
        assert_eq!(
            is_transaction_control(dialect, sql),
            expected,
            "{dialect:?}: {sql:?}"
        );
    }
}

#[test]
fn postgres_transaction_control() {
    check_control(
        Postgres,
        &[
            ("BEGIN", true),
            ("begin transaction isolation level serializable", true),
            ("BEGIN WORK", true),
            ("START TRANSACTION", true),
            ("start transaction read only", true),
            ("COMMIT", true),
            ("COMMIT WORK", true),
            ("COMMIT AND CHAIN", true),
            ("END", true),
            ("end transaction", true),
            ("ROLLBACK", true),
            ("ROLLBACK TO SAVEPOINT a", true),
            ("rollback to a", true),
            ("ABORT", true),
            ("SAVEPOINT a", true),
            ("RELEASE SAVEPOINT a", true),
            ("RELEASE a", true),
            ("PREPARE TRANSACTION 'x'", true),
            ("COMMIT PREPARED 'x'", true),
            ("ROLLBACK PREPARED 'x'", true),
            ("-- why\n/* now */ COMMIT", true),
        ],
    );
}

#[test]
fn postgres_statements_that_only_mention_transactions() {
    check_control(
        Postgres,
        &[
            ("DO $$ BEGIN PERFORM 1; COMMIT; END $$", false),
            (
                "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$",
                false,
            ),
            (
                "CREATE PROCEDURE p() BEGIN ATOMIC INSERT INTO t VALUES (1); END",
                false,
            ),
            ("CALL commit_batches()", false),
            ("PREPARE transaction AS SELECT 1", false),
            ("PREPARE transaction (int) AS SELECT $1", false),
            ("PREPARE q AS SELECT 1", false),
            ("START", false),
            ("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", false),
            ("SELECT 'COMMIT'", false),
            ("SELECT \"end\" FROM t", false),
            ("-- COMMIT\nSELECT 1", false),
            ("/* BEGIN */ SELECT 1 FOR UPDATE", false),
            ("CREATE TABLE savepoint (x int)", false),
            ("\"commit\"", false),
            ("", false),
        ],
    );
}

#[test]
fn sqlite_transaction_control() {
    check_control(
        Sqlite,
        &[
            ("BEGIN", true),
            ("BEGIN IMMEDIATE TRANSACTION", true),
            ("begin exclusive", true),
            ("COMMIT", true),
            ("COMMIT TRANSACTION", true),
            ("END", true),
            ("END TRANSACTION", true),
            ("ROLLBACK", true),
            ("ROLLBACK TO SAVEPOINT a", true),
            ("SAVEPOINT a", true),
            ("RELEASE a", true),
            ("RELEASE SAVEPOINT a", true),
            (
                "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END",
                false,
            ),
            (
                "CREATE TABLE t (\"end\" INT, [begin] INT, `commit` INT)",
                false,
            ),
            ("SELECT 1 AS end", false),
            ("START TRANSACTION", false),
            ("INSERT INTO t VALUES ('ROLLBACK')", false),
            ("VACUUM", false),
        ],
    );
}

#[test]
fn mysql_transaction_control() {
    check_control(
        MySql,
        &[
            ("BEGIN", true),
            ("BEGIN WORK", true),
            ("START TRANSACTION", true),
            (
                "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
                true,
            ),
            ("COMMIT", true),
            ("COMMIT WORK AND NO CHAIN RELEASE", true),
            ("ROLLBACK", true),
            ("ROLLBACK WORK TO SAVEPOINT a", true),
            ("SAVEPOINT a", true),
            ("RELEASE SAVEPOINT a", true),
            ("XA START 'x'", true),
            ("xa commit 'x'", true),
            ("SET autocommit = 0", true),
            ("SET AUTOCOMMIT=1", true),
            ("set autocommit := 0", true),
            ("SET SESSION autocommit = 0", true),
            ("SET LOCAL autocommit = OFF", true),
            ("SET GLOBAL autocommit = 0", true),
            ("SET @@autocommit = 0", true),
            ("SET @@session.autocommit = 0", true),
            ("SET @@SESSION . autocommit = 0", true),
            ("SET names utf8mb4, autocommit = 0", true),
            ("SET sql_mode = '', @@autocommit = 0", true),
            ("/*!40101 SET autocommit = 0 */", true),
            ("/*M!100101 COMMIT */", true),
            ("# why\nCOMMIT", true),
        ],
    );
}

#[test]
fn mysql_statements_that_only_mention_transactions() {
    check_control(
        MySql,
        &[
            ("BEGIN NOT ATOMIC SELECT 1; END", false),
            ("begin not atomic\n  DECLARE x INT DEFAULT 1;\nEND", false),
            (
                "CREATE PROCEDURE p() BEGIN START TRANSACTION; COMMIT; END",
                false,
            ),
            (
                "CREATE DEFINER = root@localhost TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.x = 1; END",
                false,
            ),
            ("CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO COMMIT", false),
            ("SET @autocommit = 0", false),
            ("SET @a = 1, @autocommit = 0", false),
            ("SET sql_mode = 'autocommit'", false),
            ("SET @a = (SELECT autocommit FROM t)", false),
            ("SET TRANSACTION ISOLATION LEVEL READ COMMITTED", false),
            ("SELECT @@autocommit", false),
            ("SELECT * FROM t FOR UPDATE", false),
            ("START SLAVE", false),
            ("INSERT INTO t (`commit`, `end`) VALUES ('BEGIN', 'ROLLBACK')", false),
            ("/* COMMIT */ SELECT 1", false),
            ("/*+ COMMIT */ SELECT 1", false),
            ("/*!40101 SET NAMES utf8 */", false),
            ("END", false),
        ],
    );
}

/// What the splitter yields as one statement is what the classifier sees: bodies stay whole,
/// so only top-level statements are transaction control.
#[test]
fn only_top_level_statements_of_a_split_file_are_transaction_control() {
    let cases: &[(Dialect, &str, &[bool])] = &[
        (
            Postgres,
            "CREATE TABLE b (i int);\nCOMMIT;\nCREATE TABLE c (i int);\nSELECT 1/0;\n",
            &[false, true, false, false],
        ),
        (
            Postgres,
            "DO $$\nBEGIN\n  CREATE TABLE t (x int);\nEND\n$$;\nCREATE FUNCTION f() RETURNS void LANGUAGE sql BEGIN ATOMIC\n  SELECT 1;\nEND;\nEND;\n",
            &[false, false, true],
        ),
        (
            MySql,
            "CREATE PROCEDURE p()\nBEGIN\n  START TRANSACTION;\n  COMMIT;\nEND;\nBEGIN NOT ATOMIC\n  SELECT 1;\nEND;\nBEGIN;\n",
            &[false, false, true],
        ),
        (
            MySql,
            "DELIMITER //\nCREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN\n  SET NEW.x = 1;\nEND//\nDELIMITER ;\nSET autocommit = 0;\n",
            &[false, true],
        ),
        (
            Sqlite,
            "CREATE TRIGGER tr AFTER INSERT ON t\nBEGIN\n  DELETE FROM u;\nEND;\nSAVEPOINT s;\nROLLBACK TO s;\n",
            &[false, true, true],
        ),
    ];
    for &(dialect, script, expected) in cases {
        let flags: Vec<bool> = split_str(script, dialect)
            .unwrap()
            .iter()
            .map(|s| is_transaction_control(dialect, &s.sql))
            .collect();
        assert_eq!(flags, expected, "{dialect:?}: {script}");
    }
}
