//! Data migrations (`D<version>__…`): run after the schema migrations by every `migrate`, once the
//! database has reached their version, never recorded in the history; on every database.

use godwit_test_support::on_every_database;
use godwit_test_support::{Kind, Project};

on_every_database!(
    data_migrations_run_after_schema_migrations_and_are_not_recorded,
    data_migrations_run_on_every_migrate_even_with_nothing_pending,
    data_migration_above_the_database_version_waits,
    failing_data_migration_fails_migrate_and_keeps_the_schema_migrations,
    info_lists_data_migrations_with_their_kind,
);

/// A statement that appends `name` to the `log` table, numbering the entries 1, 2, 3 …
fn log_entry(name: &str) -> String {
    format!("INSERT INTO log (n, name) SELECT COUNT(*) + 1, '{name}' FROM log;\n")
}

fn log(p: &Project) -> Vec<String> {
    p.db.query("SELECT name FROM log ORDER BY n")
        .into_iter()
        .flatten()
        .collect()
}

/// V1 creates the log, V2 creates `items` with two rows; D1 only logs, D2 labels the items.
fn two_releases(p: &Project) {
    p.migration(
        "V1__log.sql",
        "CREATE TABLE log (n INT, name VARCHAR(50));\n",
    )
    .migration(
        "V2__items.sql",
        "CREATE TABLE items (id INT, label VARCHAR(20));\nINSERT INTO items (id) VALUES (1);\nINSERT INTO items (id) VALUES (2);\n",
    )
    .migration("D1__count.sql", &log_entry("D1"))
    .migration(
        "D2__label_items.sql",
        &format!(
            "UPDATE items SET label = 'filled' WHERE label IS NULL;\n{}",
            log_entry("D2")
        ),
    );
}

fn data_migrations_run_after_schema_migrations_and_are_not_recorded(kind: Kind) {
    let p = Project::new(kind);
    two_releases(&p);
    // Version 1.1 sorts before V2, but needs the table V2 creates: data migrations only start
    // once every schema migration of the run is applied.
    p.migration(
        "D1.1__needs_items.sql",
        &format!("SELECT COUNT(*) FROM items;\n{}", log_entry("D1.1")),
    );
    let run = p.godwit(&["migrate"]);
    run.success()
        .stderr_has("Applied V1 log")
        .stderr_has("Applied V2 items")
        .stderr_has("Ran D1 count")
        .stderr_has("Ran D1.1 needs items")
        .stderr_has("Ran D2 label items")
        .stderr_has("Successfully applied 2 migrations, database now at version 2");
    let v2 = run.stderr.find("Applied V2").expect("V2 applied");
    let d1 = run.stderr.find("Ran D1").expect("D1 ran");
    assert!(v2 < d1, "data migrations run after the schema ones\n{run}");
    assert_eq!(log(&p), ["D1", "D1.1", "D2"]);
    assert_eq!(
        p.db.query("SELECT label FROM items ORDER BY id"),
        [Some("filled".to_string()), Some("filled".to_string())]
    );
    assert_eq!(
        p.db.history("godwit_schema_history"),
        ["1|log|SQL|true", "2|items|SQL|true"]
    );
    p.godwit(&["validate"]).success();
    // The JSON report lists them as steps, but not as schema migrations.
    let report = p.godwit(&["migrate", "--json"]).success().json();
    assert_eq!(report["migrations"], 0);
    let kinds: Vec<(&str, &str)> = report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["migration"].as_str().expect("migration"),
                s["kind"].as_str().expect("kind"),
            )
        })
        .collect();
    assert_eq!(kinds, [("D1", "Data"), ("D1.1", "Data"), ("D2", "Data")]);
}

fn data_migrations_run_on_every_migrate_even_with_nothing_pending(kind: Kind) {
    let p = Project::new(kind);
    two_releases(&p);
    p.godwit(&["migrate"]).success();
    // Rows written the old way after the first run are brought up to date by the next one.
    p.db.exec("INSERT INTO items (id) VALUES (3)");
    p.godwit(&["migrate"])
        .success()
        .stderr_has("Ran D1 count")
        .stderr_has("Ran D2 label items")
        .stderr_has("Database is up to date at version 2");
    assert_eq!(log(&p), ["D1", "D2", "D1", "D2"]);
    assert_eq!(
        p.db.query("SELECT COUNT(*) FROM items WHERE label = 'filled'"),
        [Some("3".to_string())]
    );
    assert_eq!(p.db.history("godwit_schema_history").len(), 2);
    // `--target current` applies no schema migration, but data migrations still run.
    p.migration("V3__more.sql", "CREATE TABLE more_items (id INT);\n");
    p.godwit(&["migrate", "--target", "current"])
        .success()
        .stderr_has("Ran D2 label items");
    assert_eq!(log(&p).len(), 6);
    assert!(!p.db.tables().contains(&"more_items".to_string()));
}

fn data_migration_above_the_database_version_waits(kind: Kind) {
    let p = Project::new(kind);
    two_releases(&p);
    // D2 would fail before V2 created `items`; it must not run at version 1.
    let run = p.godwit(&["migrate", "--target", "1"]);
    run.success()
        .stderr_has("Ran D1 count")
        .stderr_has("database now at version 1");
    assert!(!run.stderr.contains("Ran D2"), "{run}");
    assert_eq!(log(&p), ["D1"]);
    // `info` shows what a migrate with the same target would do: D2 waits at target 1, and
    // recurs (it would run) once the target lets the database reach version 2.
    let d2_state = |target: &str| {
        let info = p
            .godwit_env(&["info", "--json"], &[("GODWIT_TARGET", target)])
            .success()
            .json();
        info["migrations"]
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| r["script"] == "D2__label_items.sql")
            .map(|r| r["state"].as_str().unwrap_or_default().to_string())
            .expect("D2 listed")
    };
    assert_eq!(d2_state("1"), "Waiting");
    assert_eq!(d2_state("latest"), "Recurring");
    // Once the database reaches version 2, both run, in version order.
    p.godwit(&["migrate"])
        .success()
        .stderr_has("Ran D1")
        .stderr_has("Ran D2");
    assert_eq!(log(&p), ["D1", "D1", "D2"]);
    // An old release whose files stop at version 1 meets a database at version 2: D1 runs, and
    // the data migration of the newer release is simply not among its files.
    p.remove("migrations/V2__items.sql");
    p.remove("migrations/D2__label_items.sql");
    p.godwit(&["migrate"])
        .success()
        .stderr_has("Ran D1")
        .stderr_has("up to date at version 2");
    assert_eq!(log(&p), ["D1", "D1", "D2", "D1"]);
}

fn failing_data_migration_fails_migrate_and_keeps_the_schema_migrations(kind: Kind) {
    let p = Project::new(kind);
    p.migration(
        "V1__log.sql",
        "CREATE TABLE log (n INT, name VARCHAR(50));\n",
    )
    .migration("V2__items.sql", "CREATE TABLE items (id INT);\n")
    .migration(
        "D1__broken.sql",
        &format!(
            "-- fill the log, then fail\n{}\nUPDATE no_such_table\nSET id = 1;\n",
            log_entry("D1")
        ),
    )
    .migration("D2__later.sql", &log_entry("D2"));
    let run = p.godwit(&["migrate"]);
    run.code(1)
        .stderr_has("Applied V1 log")
        .stderr_has("Applied V2 items")
        .stderr_has("migration D1 failed")
        .stderr_has("migrations/D1__broken.sql:4")
        .stderr_has("UPDATE no_such_table")
        .stderr_has("no_such_table");
    assert!(
        !run.stderr.contains("godwit repair"),
        "a data migration leaves no history row to repair\n{run}"
    );
    // The schema migrations of the same run stay applied; the data migration's own changes are
    // rolled back (its transaction only holds row changes), and no history row names it.
    assert_eq!(
        p.db.history("godwit_schema_history"),
        ["1|log|SQL|true", "2|items|SQL|true"]
    );
    assert_eq!(p.godwit(&["current"]).stdout, "2\n");
    assert!(log(&p).is_empty(), "{:?}", log(&p));
    p.godwit(&["validate"]).success();
    // Fixing the file lets the next run go through.
    p.migration("D1__broken.sql", &log_entry("D1"));
    p.godwit(&["migrate"])
        .success()
        .stderr_has("Ran D1 broken")
        .stderr_has("Ran D2 later");
    assert_eq!(log(&p), ["D1", "D2"]);
}

fn info_lists_data_migrations_with_their_kind(kind: Kind) {
    let p = Project::new(kind);
    two_releases(&p);
    p.godwit(&["migrate"]).success();
    let info = p.godwit(&["info"]);
    info.success();
    let line = info
        .stdout
        .lines()
        .find(|l| l.contains("label items"))
        .expect("D2 listed");
    assert!(line.contains("| Data "), "{line}");
    assert!(line.contains("Recurring"), "{line}");
    let json = p.godwit(&["info", "--json"]).success().json();
    let rows: Vec<(String, String, String)> = json["migrations"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap_or_default().to_string(),
                r["version"].as_str().unwrap_or_default().to_string(),
                r["state"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let rows: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|(k, v, s)| (k.as_str(), v.as_str(), s.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            ("Versioned", "1", "Success"),
            ("Versioned", "2", "Success"),
            ("Data", "1", "Recurring"),
            ("Data", "2", "Recurring"),
        ]
    );
}
