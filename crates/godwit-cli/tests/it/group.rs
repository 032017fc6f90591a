//! Flyway's `group` (issue 14, docs/design.md §5.8.8): every pending migration of a run in one
//! transaction, history rows included, committed once at the end; a failure or an interrupt
//! rolls the whole group back. PostgreSQL and SQLite only: MySQL/MariaDB commit DDL by
//! themselves, so `group = true` is refused there, and so is a file that must run outside a
//! transaction.

use godwit_test_support::on_every_database;
use godwit_test_support::{Kind, Project, Running};

on_every_database!(
    a_group_applies_every_pending_migration,
    a_failure_rolls_the_whole_group_back,
    a_file_outside_a_transaction_is_refused_in_a_group,
    godwit_flyway_takes_group,
    going_down_is_one_group_too,
);

const GROUP: &[(&str, &str)] = &[("GODWIT_GROUP", "true")];

/// MySQL/MariaDB: refused before anything runs, with what to do; nothing written.
fn refused_on_mysql(p: &Project, args: &[&str]) {
    p.godwit_env(args, GROUP)
        .code(2)
        .stderr_has("`group = true` cannot be kept on MySQL/MariaDB")
        .stderr_has("remove the setting");
    assert!(p.db.tables().is_empty(), "{:?}", p.db.tables());
}

/// Versioned, repeatable and callbacks, all applied and recorded; "Applied" only once the
/// group committed.
fn a_group_applies_every_pending_migration(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n")
        .migration(
            "V2__fill.sql",
            "INSERT INTO a VALUES (1);\nINSERT INTO a VALUES (2);\n",
        )
        .migration(
            "R__view.sql",
            "DROP VIEW IF EXISTS va;\nCREATE VIEW va AS SELECT id FROM a;\n",
        )
        .migration(
            "beforeEachMigrate.sql",
            "CREATE TABLE IF NOT EXISTS cb (id INT);\nINSERT INTO cb VALUES (1);\n",
        );
    if kind == Kind::MySql {
        return refused_on_mysql(&p, &["migrate"]);
    }
    p.godwit_env(&["migrate"], GROUP)
        .success()
        .stderr_has("Applied V1")
        .stderr_has("Applied V2")
        .stderr_has("Successfully applied 3 migrations");
    assert_eq!(
        p.db.history("godwit_schema_history"),
        ["1|a|SQL|true", "2|fill|SQL|true", "|view|SQL|true"]
    );
    assert_eq!(p.db.query("SELECT COUNT(*) FROM va"), [Some("2".into())]);
    // beforeEachMigrate ran once per migration, inside the group.
    assert_eq!(p.db.query("SELECT COUNT(*) FROM cb"), [Some("3".into())]);
    // Nothing pending: nothing to do.
    p.godwit_env(&["migrate"], GROUP).success();
}

/// A failing migration: nothing of the run remains (not the migrations before it, not their
/// history rows, not what the callbacks did); what an earlier run applied stays.
fn a_failure_rolls_the_whole_group_back(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n");
    if kind == Kind::MySql {
        return refused_on_mysql(&p, &["migrate"]);
    }
    p.godwit(&["migrate"]).success();
    p.migration(
        "V2__b.sql",
        "CREATE TABLE b (id INT);\nINSERT INTO a VALUES (1);\n",
    )
    .migration("V3__c.sql", "CREATE TABLE c (id INT);\n")
    .migration(
        "V4__bad.sql",
        "CREATE TABLE d (id INT);\nINSERT INTO no_such_table VALUES (1);\n",
    )
    .migration(
        "beforeEachMigrate.sql",
        "CREATE TABLE IF NOT EXISTS cb (id INT);\n",
    );
    let run = p.godwit_env(&["migrate"], GROUP);
    run.code(1)
        .stderr_has("migration V4 failed")
        .stderr_has("V4__bad.sql:2")
        .stderr_has("the group (`group = true`) was rolled back as a whole")
        .stderr_has("beforeEachMigrate, V2, beforeEachMigrate, V3, beforeEachMigrate");
    assert!(!run.stderr.contains("Applied V2"), "{}", run.stderr);
    let mut tables = p.db.tables();
    tables.sort();
    assert_eq!(tables, ["a", "godwit_schema_history"], "{tables:?}");
    assert_eq!(p.db.query("SELECT COUNT(*) FROM a"), [Some("0".into())]);
    assert_eq!(p.db.history("godwit_schema_history"), ["1|a|SQL|true"]);
    // Fixed, the whole group goes in.
    p.migration("V4__bad.sql", "CREATE TABLE d (id INT);\n");
    p.godwit_env(&["migrate"], GROUP).success();
    assert_eq!(p.db.history("godwit_schema_history").len(), 4);
}

/// A file that must run outside a transaction cannot be in the group: refused with its file
/// and line before anything runs.
fn a_file_outside_a_transaction_is_refused_in_a_group(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n")
        .migration(
            "V2__b.sql",
            "-- godwit:no-transaction\nCREATE TABLE b (id INT);\n",
        );
    if kind == Kind::MySql {
        return refused_on_mysql(&p, &["migrate"]);
    }
    p.godwit_env(&["migrate"], GROUP)
        .code(2)
        .stderr_has("V2__b.sql:1")
        .stderr_has("`group = true` runs every migration of the run in one transaction")
        .stderr_has("remove `group = true`");
    assert!(p.db.tables().is_empty(), "{:?}", p.db.tables());
    // `executeInTransaction=false` in the file's `.conf` is refused the same way.
    p.file("migrations/V2__b.sql", "CREATE TABLE b (id INT);\n")
        .migration("V2__b.sql.conf", "executeInTransaction=false\n");
    p.godwit_env(&["migrate"], GROUP)
        .code(2)
        .stderr_has("executeInTransaction=false");
    assert!(p.db.tables().is_empty(), "{:?}", p.db.tables());
    // Without the group, it runs.
    p.godwit(&["migrate"]).success();
}

/// `godwit flyway -group=true migrate`, as a Flyway deploy script writes it.
fn godwit_flyway_takes_group(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n")
        .migration("V2__bad.sql", "INSERT INTO no_such_table VALUES (1);\n");
    if kind == Kind::MySql {
        p.godwit(&[
            "flyway",
            "-locations=filesystem:migrations",
            "-group=true",
            "migrate",
        ])
        .stderr_has("`group = true` cannot be kept on MySQL/MariaDB");
        assert!(p.db.tables().is_empty(), "{:?}", p.db.tables());
        return;
    }
    p.godwit(&[
        "flyway",
        "-locations=filesystem:migrations",
        "-group=true",
        "migrate",
    ])
    .stderr_has("rolled back as a whole");
    assert!(
        !p.db.tables().contains(&"a".to_string()),
        "{:?}",
        p.db.tables()
    );
    p.migration("V2__bad.sql", "INSERT INTO a VALUES (1);\n");
    p.godwit(&[
        "flyway",
        "-locations=filesystem:migrations",
        "-group=true",
        "migrate",
    ])
    .success();
    assert_eq!(p.db.query("SELECT COUNT(*) FROM a"), [Some("1".into())]);
}

/// SIGINT while the group's second migration sleeps on PostgreSQL: the statement is cancelled,
/// the whole group (the first migration included) rolled back, exit 130, the lock free.
#[test]
fn sigint_rolls_the_whole_group_back_on_postgres() {
    let p = Project::new(Kind::Postgres);
    p.migration("V1__a.sql", "CREATE TABLE a (i INT);\n")
        .migration(
            "V2__slow.sql",
            "INSERT INTO a VALUES (1);\nSELECT pg_sleep(60);\n",
        );
    let mut cmd = p.command(&["migrate"]);
    cmd.env("GODWIT_GROUP", "true");
    let mut child = Running::start(cmd);
    p.db.wait_for_statement("SELECT pg_sleep(60)");
    child.signal("INT");
    let run = child.finish();
    run.code(130)
        .stderr_has("Interrupted (SIGINT)")
        .stderr_has("rolled back as a whole")
        .stderr_has("nothing of them remains: V1");
    assert!(!run.stderr.contains("Applied V1"), "{}", run.stderr);
    assert_eq!(p.db.tables(), ["godwit_schema_history"]);
    assert!(p.db.history("godwit_schema_history").is_empty());
    let next = p.godwit_env(
        &["migrate", "--dry-run"],
        &[("GODWIT_LOCK_TIMEOUT", "5s"), ("GODWIT_GROUP", "true")],
    );
    next.success();
}

/// Going down (`migrate --target`): the undo scripts are one group as well; a failing one
/// leaves every version applied, the undo of the newer one rolled back with it.
fn going_down_is_one_group_too(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n")
        .migration("V2__b.sql", "CREATE TABLE b (id INT);\n")
        .migration("U2__b.sql", "INSERT INTO no_such_table VALUES (1);\n")
        .migration("V3__c.sql", "CREATE TABLE c (id INT);\n")
        .migration("U3__c.sql", "DROP TABLE c;\n");
    p.godwit(&["migrate"]).success();
    if kind == Kind::MySql {
        p.godwit_env(&["migrate", "--target", "1"], GROUP)
            .code(2)
            .stderr_has("`group = true` cannot be kept on MySQL/MariaDB");
        assert_eq!(p.godwit(&["current"]).stdout, "3\n");
        return;
    }
    p.godwit_env(&["migrate", "--target", "1"], GROUP)
        .code(1)
        .stderr_has("U2__b.sql:1")
        .stderr_has("nothing of them remains: U3");
    assert!(
        p.db.tables().contains(&"c".to_string()),
        "{:?}",
        p.db.tables()
    );
    assert_eq!(p.godwit(&["current"]).stdout, "3\n");
    // Fixed, both go in one transaction.
    p.migration("U2__b.sql", "DROP TABLE b;\n");
    p.godwit_env(&["migrate", "--target", "1"], GROUP).success();
    assert_eq!(p.godwit(&["current"]).stdout, "1\n");
}
