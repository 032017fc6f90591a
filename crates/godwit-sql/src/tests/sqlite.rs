//! SQLite: three kinds of quoted identifiers, no backslash escapes, trigger bodies.

use super::{check, check_err};
use crate::Dialect::Sqlite;

#[test]
fn all_three_identifier_quotes() {
    check(
        Sqlite,
        "CREATE TABLE [odd;name] (\"a;b\" INT, `c;d` INT, \"e\"\"f;\" INT, `g``h;` INT);\nSELECT 2;",
        &[
            (1, "CREATE TABLE [odd;name] (\"a;b\" INT, `c;d` INT, \"e\"\"f;\" INT, `g``h;` INT)"),
            (2, "SELECT 2"),
        ],
    );
}

#[test]
fn brackets_do_not_escape_by_doubling() {
    check(
        Sqlite,
        "SELECT [a]]; SELECT 2;",
        &[(1, "SELECT [a]]"), (1, "SELECT 2")],
    );
}

#[test]
fn backslash_does_not_escape() {
    check(
        Sqlite,
        r"SELECT 'a\'; SELECT 2;",
        &[(1, r"SELECT 'a\'"), (1, "SELECT 2")],
    );
}

#[test]
fn block_comments_do_not_nest() {
    check(
        Sqlite,
        "SELECT /* a /* b */ 1; SELECT 2;",
        &[(1, "SELECT /* a /* b */ 1"), (1, "SELECT 2")],
    );
}

#[test]
fn dollar_and_hash_are_not_special() {
    check(
        Sqlite,
        "SELECT $$; SELECT $a$, :b, @c, #d; SELECT 3;",
        &[
            (1, "SELECT $$"),
            (1, "SELECT $a$, :b, @c, #d"),
            (1, "SELECT 3"),
        ],
    );
}

#[test]
fn trigger_bodies_do_not_split() {
    let input = "\
CREATE TRIGGER t_audit AFTER UPDATE ON t
BEGIN
  INSERT INTO audit VALUES (old.id, 'update;');
  UPDATE t SET n = CASE WHEN new.n > 0 THEN new.n ELSE 0 END WHERE id = new.id;
END;
SELECT 1;";
    check(
        Sqlite,
        input,
        &[
            (
                1,
                "CREATE TRIGGER t_audit AFTER UPDATE ON t\nBEGIN\n  INSERT INTO audit VALUES (old.id, 'update;');\n  UPDATE t SET n = CASE WHEN new.n > 0 THEN new.n ELSE 0 END WHERE id = new.id;\nEND",
            ),
            (6, "SELECT 1"),
        ],
    );
}

#[test]
fn temporary_triggers_and_when_clauses() {
    let input = "\
create temp trigger if not exists a after insert on t begin select 1; end;
CREATE TEMPORARY TRIGGER b BEFORE INSERT ON t
WHEN CASE WHEN new.x IS NULL THEN 1 ELSE 0 END
BEGIN
  SELECT RAISE(ABORT, 'x must be set;');
  SELECT CASE new.y WHEN 1 THEN 'one' END;
END;
SELECT 3;";
    check(
        Sqlite,
        input,
        &[
            (1, "create temp trigger if not exists a after insert on t begin select 1; end"),
            (
                2,
                "CREATE TEMPORARY TRIGGER b BEFORE INSERT ON t\nWHEN CASE WHEN new.x IS NULL THEN 1 ELSE 0 END\nBEGIN\n  SELECT RAISE(ABORT, 'x must be set;');\n  SELECT CASE new.y WHEN 1 THEN 'one' END;\nEND",
            ),
            (8, "SELECT 3"),
        ],
    );
}

#[test]
fn qualified_names_are_not_keywords_in_triggers() {
    check(
        Sqlite,
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET end_date = new.end, b = new.begin; END;\nSELECT 1;",
        &[
            (1, "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET end_date = new.end, b = new.begin; END"),
            (2, "SELECT 1"),
        ],
    );
}

#[test]
fn transaction_control_statements_are_ordinary() {
    check(
        Sqlite,
        "BEGIN;\nCREATE TABLE a (x);\nCOMMIT;\nBEGIN TRANSACTION;\nEND TRANSACTION;\nBEGIN IMMEDIATE; END;",
        &[
            (1, "BEGIN"),
            (2, "CREATE TABLE a (x)"),
            (3, "COMMIT"),
            (4, "BEGIN TRANSACTION"),
            (5, "END TRANSACTION"),
            (6, "BEGIN IMMEDIATE"),
            (6, "END"),
        ],
    );
}

#[test]
fn case_outside_triggers_is_ordinary() {
    check(
        Sqlite,
        "SELECT CASE WHEN 1 THEN 'a' END; SELECT 2;",
        &[(1, "SELECT CASE WHEN 1 THEN 'a' END"), (1, "SELECT 2")],
    );
    check(
        Sqlite,
        "CREATE TABLE trigger_log (begin TEXT, end TEXT); SELECT 2;",
        &[
            (1, "CREATE TABLE trigger_log (begin TEXT, end TEXT)"),
            (1, "SELECT 2"),
        ],
    );
}

#[test]
fn create_view_and_index_are_not_triggers() {
    check(
        Sqlite,
        "CREATE VIEW v AS SELECT 1 AS \"begin\"; CREATE INDEX i ON t (x); SELECT 3;",
        &[
            (1, "CREATE VIEW v AS SELECT 1 AS \"begin\""),
            (1, "CREATE INDEX i ON t (x)"),
            (1, "SELECT 3"),
        ],
    );
}

#[test]
fn unterminated_constructs() {
    check_err(
        Sqlite,
        "CREATE TRIGGER tr AFTER INSERT ON t\nBEGIN\n  SELECT 1;\n",
        "the BEGIN ... END block that starts at line 2 is never closed",
    );
    check_err(
        Sqlite,
        "SELECT [abc",
        "the quoted identifier that starts at line 1 is never closed",
    );
    check_err(
        Sqlite,
        "SELECT `abc",
        "the quoted identifier that starts at line 1 is never closed",
    );
    check_err(
        Sqlite,
        "SELECT \"abc",
        "the quoted identifier that starts at line 1 is never closed",
    );
}
