//! Lifecycle: undo, rollback to a target, baseline, repair, clean, new and dry runs, on every
//! database.

use godwit_test_support::on_every_database;
use godwit_test_support::{Kind, Project};

on_every_database!(
    up_down_up_gives_the_same_schema,
    undo_refusals_write_nothing,
    dry_run_changes_nothing_and_its_output_migrates,
    baseline_adopts_an_existing_database,
    repair_realigns_and_marks_missing,
    clean_needs_both_switches,
);

fn three_reversible(p: &Project) {
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n")
        .migration("U1__a.sql", "DROP TABLE a;\n")
        .migration("V2__b.sql", "CREATE TABLE b (id INT);\n")
        .migration("U2__b.sql", "DROP TABLE b;\n")
        .migration(
            "V3__c.sql",
            "CREATE TABLE c (id INT, note VARCHAR(50));\nINSERT INTO c VALUES (1, 'semi;colon');\n",
        )
        .migration("U3__c.sql", "DROP TABLE c;\n");
}

fn up_down_up_gives_the_same_schema(kind: Kind) {
    let p = Project::new(kind);
    three_reversible(&p);
    p.godwit(&["migrate"]).success();
    let full = p.db.tables();
    let before = p.godwit(&["current"]).stdout;
    assert_eq!(before, "3\n");

    // Roll back the way an operator scripts it: to the version read before the upgrade.
    p.godwit(&["migrate", "--target", "1"])
        .success()
        .stderr_has("Undid V3")
        .stderr_has("Undid V2")
        .stderr_has("now at version 1");
    assert_eq!(p.godwit(&["current"]).stdout, "1\n");
    let tables = p.db.tables();
    assert!(tables.contains(&"a".to_string()) && !tables.contains(&"b".to_string()));
    let info = p.godwit(&["info", "--json"]).success().json();
    let states: Vec<&str> = info["migrations"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["state"].as_str().expect("state"))
        .collect();
    assert_eq!(states, ["Success", "Undone", "Undone"]);

    p.godwit(&["migrate"])
        .success()
        .stderr_has("now at version 3");
    assert_eq!(p.db.tables(), full);

    p.godwit(&["undo"])
        .success()
        .stderr_has("Undid V3")
        .stderr_has("now at version 2");
    p.godwit(&["undo", "--target", "1"])
        .success()
        .stderr_has("now at version 1");
    p.godwit(&["migrate"]).success();
    assert_eq!(p.db.tables(), full);
    let history = p.db.history("godwit_schema_history");
    assert_eq!(
        history.iter().filter(|r| r.contains("|UNDO_SQL|")).count(),
        4,
        "{history:#?}"
    );
    p.godwit(&["validate"]).success();
}

fn undo_refusals_write_nothing(kind: Kind) {
    let p = Project::new(kind);
    p.godwit(&["undo"]).code(1).stderr_has("nothing to undo");
    three_reversible(&p);
    p.remove("migrations/U2__b.sql");
    p.godwit(&["migrate"]).success();
    let tables = p.db.tables();
    let history = p.db.history("godwit_schema_history");
    p.godwit(&["migrate", "--target", "1"])
        .code(2)
        .stderr_has("no undo script for V2")
        .stderr_has("nothing was undone");
    p.godwit(&["undo", "--target", "1"])
        .code(2)
        .stderr_has("V2");
    p.godwit(&["undo", "--target", "7"])
        .code(2)
        .stderr_has("names no known version");
    p.godwit(&["undo", "--target", "3"])
        .code(2)
        .stderr_has("not above the target 3");
    assert_eq!(p.db.tables(), tables);
    assert_eq!(p.db.history("godwit_schema_history"), history);
    // Only the newest is undone by default, and it has its script.
    p.godwit(&["undo"]).success().stderr_has("Undid V3");
}

fn dry_run_changes_nothing_and_its_output_migrates(kind: Kind) {
    let p = Project::new(kind);
    three_reversible(&p);
    p.migration("R__v.sql", "CREATE VIEW v AS SELECT id FROM a;\n");
    let run = p.godwit(&["migrate", "--dry-run"]);
    run.success()
        .stdout_has("CREATE TABLE a (id INT);")
        .stdout_has("-- V1: a (migrations/V1__a.sql)")
        .stdout_has("INSERT INTO")
        .stderr_has("Dry run: 4 migrations would run");
    assert!(p.db.tables().is_empty(), "{:?}", p.db.tables());
    // The output is a reviewed script: the database's own client performs the migration.
    p.db.run_client(&run.stdout)
        .unwrap_or_else(|e| panic!("client failed: {e}\n--- script ---\n{}", run.stdout));
    p.godwit(&["validate"]).success();
    p.godwit(&["migrate"])
        .success()
        .stderr_has("up to date at version 3");

    let tables = p.db.tables();
    let history = p.db.history("godwit_schema_history");
    let down = p.godwit(&["migrate", "--target", "1", "--dry-run"]);
    down.success()
        .stdout_has("DROP TABLE c;")
        .stdout_has("UNDO_SQL");
    p.godwit(&["undo", "--dry-run"])
        .success()
        .stdout_has("DROP TABLE c;");
    assert_eq!(p.db.tables(), tables);
    assert_eq!(p.db.history("godwit_schema_history"), history);
    p.db.run_client(&down.stdout)
        .unwrap_or_else(|e| panic!("client failed: {e}\n--- script ---\n{}", down.stdout));
    assert_eq!(p.godwit(&["current"]).stdout, "1\n");
}

fn baseline_adopts_an_existing_database(kind: Kind) {
    let p = Project::new(kind);
    p.db.exec("CREATE TABLE legacy (id INT)");
    p.migration("V1__legacy.sql", "CREATE TABLE legacy (id INT);")
        .migration("V2__legacy_more.sql", "CREATE TABLE legacy_more (id INT);")
        .migration("V3__new.sql", "CREATE TABLE new_stuff (id INT);");
    p.godwit(&["migrate"]).code(1).stderr_has("godwit baseline");
    let dry = p.godwit(&["baseline", "--baseline-version", "2", "--dry-run"]);
    dry.success()
        .stdout_has("CREATE TABLE")
        .stdout_has("BASELINE");
    assert!(!p.db.tables().contains(&"godwit_schema_history".to_string()));
    p.godwit(&["baseline", "--baseline-version", "2"])
        .success()
        .stderr_has("Baselined the database at version 2");
    p.godwit(&["info"]).success().stdout_has("Below Baseline");
    p.godwit(&["migrate"])
        .success()
        .stderr_has("Applied V3 new");
    assert_eq!(
        p.db.history("godwit_schema_history"),
        ["2|<< Baseline >>|BASELINE|true", "3|new|SQL|true"]
    );
    p.godwit(&["baseline"])
        .code(1)
        .stderr_has("managed already");
}

fn repair_realigns_and_marks_missing(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n")
        .migration("V2__b.sql", "CREATE TABLE b (id INT);\n")
        .migration("V3__c.sql", "CREATE TABLE c (id INT);\n");
    p.godwit(&["migrate"]).success();
    p.migration(
        "V1__a.sql",
        "-- a harmless comment\nCREATE TABLE a (id INT);\n",
    );
    p.remove("migrations/V2__b.sql");
    p.godwit(&["validate"]).code(1);
    let history = p.db.history("godwit_schema_history");
    p.godwit(&["repair", "--dry-run"])
        .success()
        .stderr_has("Would realign V1")
        .stderr_has("Would mark V2 (V2__b.sql) as deleted")
        .stdout_has("UPDATE");
    assert_eq!(p.db.history("godwit_schema_history"), history);
    p.godwit(&["repair"])
        .success()
        .stderr_has("Repaired: realign V1")
        .stderr_has("Repaired the history table: 2 changes");
    p.godwit(&["validate"]).success();
    p.godwit(&["info"]).success().stdout_has("Deleted");
    p.godwit(&["repair"])
        .success()
        .stderr_has("Nothing to repair");
}

fn clean_needs_both_switches(kind: Kind) {
    let p = Project::new(kind);
    p.migration(
        "V1__a.sql",
        "CREATE TABLE a (id INT);\nCREATE VIEW va AS SELECT id FROM a;\n",
    );
    p.godwit(&["migrate"]).success();
    p.godwit(&["clean"]).code(2).stderr_has("clean is disabled");
    p.godwit(&["clean", "--yes"])
        .code(2)
        .stderr_has("clean_disabled = false");
    p.godwit_env(&["clean"], &[("GODWIT_CLEAN_DISABLED", "false")])
        .code(2)
        .stderr_has("--yes");
    assert!(p.db.tables().contains(&"a".to_string()));
    p.godwit_env(&["clean", "--yes"], &[("GODWIT_CLEAN_DISABLED", "false")])
        .success()
        .stderr_has("Cleaned");
    assert!(p.db.tables().is_empty(), "{:?}", p.db.tables());
    p.godwit(&["migrate"]).success().stderr_has("Applied V1 a");
}

#[test]
fn mysql_failed_migration_is_repaired_then_applied() {
    let p = Project::new(Kind::MySql);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n")
        .migration(
            "V2__b.sql",
            "CREATE TABLE b (id INT);\nINSERT INTO nope VALUES (1);\n",
        );
    p.godwit(&["migrate"]).code(1);
    p.godwit(&["migrate"]).code(1).stderr_has("godwit repair");
    // The operator reverts the half-applied change by hand, fixes the file, repairs.
    p.db.exec("DROP TABLE b");
    p.migration("V2__b.sql", "CREATE TABLE b (id INT);\n");
    p.godwit(&["repair"])
        .success()
        .stderr_has("remove the failed row of V2");
    p.godwit(&["migrate"]).success().stderr_has("Applied V2 b");
    p.godwit(&["validate"]).success();
}

#[test]
fn new_writes_the_next_files() {
    let p = Project::new(Kind::Sqlite);
    let mut cmd = p.command(&["new", "create", "users"]);
    cmd.env_remove("GODWIT_URL");
    let run = godwit_test_support::run(cmd);
    run.success();
    assert_eq!(run.stdout, "migrations/V1__create_users.sql\n");
    p.migration("V1.5__x.sql", "");
    p.godwit(&["new", "add email", "--undo"])
        .success()
        .stdout_has("migrations/V2__add_email.sql")
        .stdout_has("migrations/U2__add_email.sql");
    p.godwit(&["new", "backfill email", "--kind", "data"])
        .success()
        .stdout_has("migrations/D2__backfill_email.sql");
    p.godwit(&["new", "views", "--kind", "repeatable"])
        .success()
        .stdout_has("migrations/R__views.sql");
    p.godwit(&["new", "views", "--kind", "repeatable"])
        .code(2)
        .stderr_has("exists already");
    let ts = p.godwit(&["new", "stamped", "--timestamp"]);
    ts.success();
    assert!(ts.stdout.starts_with("migrations/V20"), "{ts}");
    p.godwit(&["new", "../escape"])
        .code(2)
        .stderr_has("cannot contain");
    assert!(p.path().join("migrations/U2__add_email.sql").exists());
    // Until they hold SQL, the files `new` wrote are templates that nothing runs.
    p.godwit(&["validate"])
        .code(2)
        .stderr_has("migrations/V1__create_users.sql:1: is still the template");
}

on_every_database!(target_none_undoes_everything);

fn target_none_undoes_everything(kind: Kind) {
    let p = Project::new(kind);
    // A rollback script passes back what `current` printed before the upgrade: `none` here.
    let before = p.godwit(&["current"]).stdout;
    assert_eq!(before, "none\n");
    three_reversible(&p);
    p.godwit(&["migrate"]).success();
    p.godwit(&["migrate", "--target", before.trim(), "--dry-run"])
        .success()
        .stdout_has("DROP TABLE a;");
    p.godwit(&["migrate", "--target", "none"])
        .success()
        .stderr_has("Undid V1")
        .stderr_has("now at version none");
    assert_eq!(p.godwit(&["current"]).stdout, "none\n");
    p.godwit(&["migrate"])
        .success()
        .stderr_has("now at version 3");
    p.godwit(&["undo", "--target", "none"])
        .success()
        .stderr_has("now at version none");
    let tables = p.db.tables();
    // The history table and its undo side table (docs/design.md §21) stay.
    assert_eq!(
        tables,
        ["godwit_schema_history", "godwit_schema_history_undo"],
        "{tables:?}"
    );
}
