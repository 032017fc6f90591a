//! `migrate`, `info`, `validate` and `current` on every database.

use godwit_test_support::on_every_database;
use godwit_test_support::{Kind, Project};

on_every_database!(
    applies_pending_in_version_order_then_repeatables,
    second_migrate_finds_nothing_pending,
    failed_statement_names_file_line_and_database_message,
    target_stops_at_the_named_version,
    older_pending_version_needs_out_of_order,
    repeatable_runs_again_when_its_text_changes,
    edited_applied_migration_fails_validation,
    versions_newer_than_every_file_are_future_not_errors,
    current_prints_the_version_alone,
    json_output_is_machine_readable,
    unmanaged_database_is_refused_unless_baseline_on_migrate,
);

fn applies_pending_in_version_order_then_repeatables(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__create_a.sql", "CREATE TABLE a (id INT);\n")
        .migration("V1.10__create_c.sql", "CREATE TABLE c (id INT);\n")
        .migration("sub/V1.9__create_b.sql", "CREATE TABLE b (id INT);\n")
        .migration("R__view.sql", "CREATE VIEW v AS SELECT id FROM a;\n");
    p.godwit(&["migrate"])
        .success()
        .stderr_has("Applied V1 create a")
        .stderr_has("Applied V1.9 create b")
        .stderr_has("Applied V1.10 create c")
        .stderr_has("Applied R__view")
        .stderr_has("Successfully applied 4 migrations, database now at version 1.10");
    let stderr = p.godwit(&["migrate"]).stderr;
    assert!(!stderr.contains("Applied"), "{stderr}");
    assert_eq!(
        p.db.history("godwit_schema_history"),
        [
            "1|create a|SQL|true",
            "1.9|create b|SQL|true",
            "1.10|create c|SQL|true",
            "|view|SQL|true"
        ]
    );
    let order = p.godwit(&["migrate"]).stderr;
    assert!(order.contains("up to date"), "{order}");
    let scripts =
        p.db.query("SELECT script FROM godwit_schema_history ORDER BY installed_rank");
    assert_eq!(scripts[1].as_deref(), Some("sub/V1.9__create_b.sql"));
}

fn second_migrate_finds_nothing_pending(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);");
    p.godwit(&["migrate"]).success();
    p.godwit(&["migrate"])
        .success()
        .stderr_has("Database is up to date at version 1");
    assert_eq!(p.db.history("godwit_schema_history").len(), 1);
}

fn failed_statement_names_file_line_and_database_message(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__ok.sql", "CREATE TABLE ok_table (id INT);\n");
    p.migration(
        "V2__broken.sql",
        "-- a comment\nCREATE TABLE half (id INT);\n\nINSERT INTO no_such_table\nVALUES (1);\n",
    );
    p.migration("V3__after.sql", "CREATE TABLE after_table (id INT);\n");
    let run = p.godwit(&["migrate"]);
    run.code(1)
        .stderr_has("migration V2 failed")
        .stderr_has("migrations/V2__broken.sql:4")
        .stderr_has("INSERT INTO no_such_table")
        .stderr_has("no_such_table");
    let tables = p.db.tables();
    assert!(tables.contains(&"ok_table".to_string()), "{tables:?}");
    assert!(!tables.contains(&"after_table".to_string()), "{tables:?}");
    match kind {
        Kind::Sqlite | Kind::Postgres => {
            // Transactional DDL: the failed migration left no trace at all.
            assert!(!tables.contains(&"half".to_string()), "{tables:?}");
            assert_eq!(p.db.history("godwit_schema_history"), ["1|ok|SQL|true"]);
            run.stderr_has("rolled back");
            // Fixing the file lets the next run finish the job.
            p.migration("V2__broken.sql", "CREATE TABLE half (id INT);\n");
            p.godwit(&["migrate"]).success();
            assert_eq!(p.db.history("godwit_schema_history").len(), 3);
        }
        Kind::MySql => {
            // MySQL committed the CREATE TABLE: the failure is recorded and blocks later runs.
            assert!(tables.contains(&"half".to_string()), "{tables:?}");
            assert_eq!(
                p.db.history("godwit_schema_history"),
                ["1|ok|SQL|true", "2|broken|SQL|false"]
            );
            run.stderr_has("godwit repair");
            p.godwit(&["migrate"])
                .code(1)
                .stderr_has("failed")
                .stderr_has("godwit repair");
            p.godwit(&["validate"]).code(1).stderr_has("V2");
        }
    }
}

fn target_stops_at_the_named_version(kind: Kind) {
    let p = Project::new(kind);
    for v in 1..=4 {
        p.migration(
            &format!("V{v}__t{v}.sql"),
            &format!("CREATE TABLE t{v} (id INT);"),
        );
    }
    p.godwit(&["migrate", "--target", "2"])
        .success()
        .stderr_has("database now at version 2");
    p.godwit(&["current"]).success().stdout_has("2");
    let info = p.godwit(&["info"]);
    info.success().stdout_has("Pending");
    p.godwit_env(&["migrate"], &[("GODWIT_TARGET", "3")])
        .success()
        .stderr_has("now at version 3");
    p.godwit(&["migrate", "--target", "9"])
        .code(2)
        .stderr_has("target 9 names no known version")
        .stderr_has("1, 2, 3, 4");
    p.godwit(&["migrate", "--target", "banana"])
        .code(2)
        .stderr_has("invalid target");
    p.godwit(&["migrate"])
        .success()
        .stderr_has("now at version 4");
}

fn older_pending_version_needs_out_of_order(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);")
        .migration("V3__c.sql", "CREATE TABLE c (id INT);");
    p.godwit(&["migrate"]).success();
    p.migration("V2__b.sql", "CREATE TABLE b (id INT);");
    p.godwit(&["migrate"])
        .code(1)
        .stderr_has("V2 has not been applied, but it is older than the newest applied version 3")
        .stderr_has("--out-of-order")
        .stderr_has("migrations/V2__b.sql");
    assert!(!p.db.tables().contains(&"b".to_string()));
    p.godwit(&["validate"]).code(1).stderr_has("V2");
    p.godwit(&["info"]).success().stdout_has("Ignored");
    p.godwit(&["migrate", "--out-of-order"])
        .success()
        .stderr_has("Applied V2 b");
    p.godwit(&["validate"]).success();
    p.godwit(&["info"]).success().stdout_has("Out of Order");
}

fn repeatable_runs_again_when_its_text_changes(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__t.sql", "CREATE TABLE t (id INT);")
        .migration("R__v.sql", "CREATE VIEW v AS SELECT id FROM t;");
    p.godwit(&["migrate"]).success().stderr_has("Applied R__v");
    p.godwit(&["migrate"]).success();
    p.migration(
        "R__v.sql",
        "DROP VIEW v;\nCREATE VIEW v AS SELECT id, id AS id2 FROM t;",
    );
    p.godwit(&["info"]).success().stdout_has("Outdated");
    p.godwit(&["validate"]).success();
    p.godwit(&["migrate"]).success().stderr_has("Applied R__v");
    assert_eq!(p.db.history("godwit_schema_history").len(), 3);
}

fn edited_applied_migration_fails_validation(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n")
        .migration("V2__b.sql", "CREATE TABLE b (id INT);\n");
    p.godwit(&["migrate"]).success();
    // Line endings and a final newline do not count as changes (Flyway's checksum).
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);");
    p.migration("V2__b.sql", "CREATE TABLE b (id INT);\r\n");
    p.godwit(&["validate"]).success();
    p.migration("V1__a.sql", "CREATE TABLE a (id BIGINT);\n");
    p.remove("migrations/V2__b.sql");
    p.migration("V2.1__c.sql", "CREATE TABLE c (id INT);\n");
    let run = p.godwit(&["validate"]);
    run.code(1)
        .stderr_has("validation failed: 2 problems")
        .stderr_has("migrations/V1__a.sql: V1 was changed after it was applied")
        .stderr_has("V2 (V2__b.sql) was applied but its file is not in any location")
        .stderr_has("godwit repair");
    p.godwit(&["migrate"])
        .code(1)
        .stderr_has("nothing was migrated");
    assert!(!p.db.tables().contains(&"c".to_string()));
}

fn versions_newer_than_every_file_are_future_not_errors(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);")
        .migration("V2__b.sql", "CREATE TABLE b (id INT);");
    p.godwit(&["migrate"]).success();
    // An older release of the application restarts against the newer database.
    p.remove("migrations/V2__b.sql");
    p.godwit(&["validate"]).success();
    p.godwit(&["migrate"])
        .success()
        .stderr_has("up to date at version 2");
    p.godwit(&["info"]).success().stdout_has("Future");
    p.godwit(&["current"]).success().stdout_has("2");
}

fn current_prints_the_version_alone(kind: Kind) {
    let p = Project::new(kind);
    let run = p.godwit(&["current"]);
    run.success();
    assert_eq!(run.stdout, "none\n");
    p.migration("V1_2__a.sql", "CREATE TABLE a (id INT);");
    p.godwit(&["migrate"]).success();
    let run = p.godwit(&["current"]);
    assert_eq!(run.stdout, "1.2\n", "{run}");
    // A broken file elsewhere does not stop a rollback script from reading the version.
    p.migration("V3_broken.sql", "");
    assert_eq!(p.godwit(&["current"]).stdout, "1.2\n");
}

fn json_output_is_machine_readable(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);")
        .migration("V2__b.sql", "CREATE TABLE b (id INT);");
    let report = p
        .godwit(&["migrate", "--json", "--target", "1"])
        .success()
        .json();
    assert_eq!(report["migrations"], 1);
    assert_eq!(report["final_version"], "1");
    assert_eq!(report["steps"][0]["migration"], "V1");
    let info = p.godwit(&["info", "--json"]).success().json();
    assert_eq!(info["current_version"], "1");
    let rows = info["migrations"].as_array().expect("rows");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["state"], "Success");
    assert_eq!(rows[1]["state"], "Pending");
    let current = p.godwit(&["current", "--json"]).success().json();
    assert_eq!(current["current_version"], "1");
    let valid = p.godwit(&["validate", "--json"]).success().json();
    assert_eq!(valid["valid"], true);
}

fn unmanaged_database_is_refused_unless_baseline_on_migrate(kind: Kind) {
    let p = Project::new(kind);
    p.db.exec("CREATE TABLE legacy (id INT)");
    p.migration("V1__legacy.sql", "CREATE TABLE legacy (id INT);")
        .migration("V2__more.sql", "CREATE TABLE more_stuff (id INT);");
    p.godwit(&["migrate"])
        .code(1)
        .stderr_has("already holds tables but has no history table")
        .stderr_has("godwit baseline");
    assert!(!p.db.tables().contains(&"godwit_schema_history".to_string()));
    p.godwit_env(&["migrate"], &[("GODWIT_BASELINE_ON_MIGRATE", "true")])
        .success()
        .stderr_has("Applied V2 more");
    assert_eq!(
        p.db.history("godwit_schema_history"),
        ["1|<< Baseline >>|BASELINE|true", "2|more|SQL|true"]
    );
    p.godwit(&["info"]).success().stdout_has("Baseline");
}
