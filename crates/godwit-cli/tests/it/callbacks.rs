//! Callbacks (`beforeMigrate`, `beforeEachMigrate`, `afterEachMigrate`, `afterMigrate`,
//! `afterMigrateError`, each optionally `<event>__<description>.sql`): run at their event, in
//! name order, never recorded in the history; on every database.

use godwit_test_support::on_every_database;
use godwit_test_support::{Kind, Project};

on_every_database!(
    callbacks_run_at_their_events_in_name_order,
    callbacks_run_when_nothing_is_pending,
    after_migrate_error_runs_when_a_migration_fails,
);

/// Appends `name` to `cb_log`, creating the table first when needed (`beforeMigrate` runs before
/// any migration, so it cannot rely on one to create it).
fn log_entry(name: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS cb_log (n INT, name VARCHAR(50));\nINSERT INTO cb_log (n, name) SELECT COUNT(*) + 1, '{name}' FROM cb_log;\n"
    )
}

fn log(p: &Project) -> Vec<String> {
    p.db.query("SELECT name FROM cb_log ORDER BY n")
        .into_iter()
        .flatten()
        .collect()
}

/// Every event, two files for `beforeMigrate` and three for `afterMigrate`, whose names sort
/// differently from their descriptions (`_` reads as a space, and ` ` < `1` < `_`).
fn with_callbacks(p: &Project) {
    for name in [
        "beforeMigrate",
        "beforeMigrate__b",
        "beforeEachMigrate",
        "afterEachMigrate",
        "afterMigrate",
        "afterMigrate__1_grants",
        "afterMigrate__10_stats",
    ] {
        p.migration(&format!("{name}.sql"), &log_entry(name));
    }
}

fn callbacks_run_at_their_events_in_name_order(kind: Kind) {
    let p = Project::new(kind);
    with_callbacks(&p);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n")
        .migration(
            "V2__b.sql",
            &format!(
                "CREATE TABLE b (id INT);\n{}",
                "INSERT INTO cb_log (n, name) SELECT COUNT(*) + 1, 'V2' FROM cb_log;\n"
            ),
        )
        .migration(
            "R__r.sql",
            "INSERT INTO cb_log (n, name) SELECT COUNT(*) + 1, 'R__r' FROM cb_log;\n",
        )
        .migration(
            "D1__d.sql",
            "INSERT INTO cb_log (n, name) SELECT COUNT(*) + 1, 'D1' FROM cb_log;\n",
        );
    p.godwit(&["migrate"])
        .success()
        .stderr_has("Ran beforeMigrate")
        .stderr_has("Ran afterMigrate")
        .stderr_has("Successfully applied 3 migrations, database now at version 2");
    assert_eq!(
        log(&p),
        [
            "beforeMigrate",
            "beforeMigrate__b",
            "beforeEachMigrate",
            "afterEachMigrate",
            "beforeEachMigrate",
            "V2",
            "afterEachMigrate",
            "beforeEachMigrate",
            "R__r",
            "afterEachMigrate",
            "D1",
            "afterMigrate",
            "afterMigrate__10_stats",
            "afterMigrate__1_grants",
        ]
    );
    // Not in the history, and not in `info` as migrations.
    assert_eq!(
        p.db.history("godwit_schema_history"),
        ["1|a|SQL|true", "2|b|SQL|true", "|r|SQL|true"]
    );
    let info = p.godwit(&["info", "--json"]).success().json();
    let scripts: Vec<&str> = info["migrations"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["script"].as_str().expect("script"))
        .collect();
    assert_eq!(scripts, ["V1__a.sql", "V2__b.sql", "R__r.sql", "D1__d.sql"]);
    p.godwit(&["validate"]).success();
}

fn callbacks_run_when_nothing_is_pending(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n");
    p.godwit(&["migrate"]).success();
    with_callbacks(&p);
    p.godwit(&["migrate"])
        .success()
        .stderr_has("Ran beforeMigrate")
        .stderr_has("Database is up to date at version 1");
    assert_eq!(
        log(&p),
        [
            "beforeMigrate",
            "beforeMigrate__b",
            "afterMigrate",
            "afterMigrate__10_stats",
            "afterMigrate__1_grants",
        ]
    );
    p.godwit(&["migrate"]).success();
    assert_eq!(log(&p).len(), 10);
    assert_eq!(p.db.history("godwit_schema_history"), ["1|a|SQL|true"]);
}

fn after_migrate_error_runs_when_a_migration_fails(kind: Kind) {
    let p = Project::new(kind);
    p.migration(
        "V1__errors.sql",
        "CREATE TABLE errors (note VARCHAR(100));\n",
    )
    .migration(
        "V2__broken.sql",
        "INSERT INTO errors (note) VALUES ('from V2');\nINSERT INTO no_such_table VALUES (1);\n",
    )
    .migration(
        "afterMigrateError.sql",
        "INSERT INTO errors (note) VALUES ('afterMigrateError ran');\n",
    )
    .migration(
        "afterMigrate.sql",
        "INSERT INTO errors (note) VALUES ('afterMigrate ran');\n",
    );
    let run = p.godwit(&["migrate"]);
    run.code(1)
        .stderr_has("migration V2 failed")
        .stderr_has("migrations/V2__broken.sql:2")
        .stderr_has("no_such_table");
    // The failed migration's own rows are gone where its transaction rolled back, but the
    // callback ran after that, in a transaction of its own, and its row stays.
    let notes: Vec<String> =
        p.db.query("SELECT note FROM errors ORDER BY note")
            .into_iter()
            .flatten()
            .collect();
    assert_eq!(notes, ["afterMigrateError ran"], "{run}");
    match kind {
        Kind::MySql => {
            // Without transactional DDL the failure is recorded, and must be repaired first.
            assert_eq!(
                p.db.history("godwit_schema_history"),
                ["1|errors|SQL|true", "2|broken|SQL|false"]
            );
            p.godwit(&["repair"]).success();
        }
        _ => assert_eq!(p.db.history("godwit_schema_history"), ["1|errors|SQL|true"]),
    }
    // A successful run does not call it.
    p.migration(
        "V2__broken.sql",
        "INSERT INTO errors (note) VALUES ('from V2');\n",
    );
    p.godwit(&["migrate"]).success();
    let notes: Vec<String> =
        p.db.query("SELECT note FROM errors ORDER BY note")
            .into_iter()
            .flatten()
            .collect();
    assert_eq!(
        notes,
        ["afterMigrate ran", "afterMigrateError ran", "from V2"]
    );
}
