//! Interrupted migrations: a migration without a transaction whose history row was written
//! before it started (`success = false`, `execution_time = -1`) and never finished. Every run
//! refuses and names both ways out: finish it by hand and `repair --mark-applied`, or undo what
//! ran and `repair` (which makes the next migrate run it again).

use godwit_test_support::on_every_database;
use godwit_test_support::{Kind, Project};

on_every_database!(
    finished_by_hand_then_marked_applied,
    undone_by_hand_then_repaired_runs_again,
    mark_applied_refusals_write_nothing,
);

const HISTORY: &str = "godwit_schema_history";

/// Three migrations; V1 is applied, and V2's row says it was interrupted while it ran (written
/// with SQL, as the executor writes it before a migration without a transaction starts).
fn v1_applied_v2_interrupted(kind: Kind) -> Project {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n")
        .migration("V2__b.sql", "CREATE TABLE b (id INT);\n")
        .migration("V3__c.sql", "CREATE TABLE c (id INT);\n");
    p.godwit(&["migrate", "--target", "1"]).success();
    let checksum = file_checksum(&p, "2");
    let no = if kind == Kind::Postgres { "FALSE" } else { "0" };
    p.db.exec(&format!(
        "INSERT INTO {HISTORY} (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) \
         VALUES (2, '2', 'b', 'SQL', 'V2__b.sql', {checksum}, 'tester', -1, {no})"
    ));
    p
}

/// The checksum `info --json` shows for a version.
fn file_checksum(p: &Project, version: &str) -> i64 {
    let row = info_row(p, version);
    row["checksum"].as_i64().expect("a checksum")
}

fn info_row(p: &Project, version: &str) -> serde_json::Value {
    let info = p.godwit(&["info", "--json"]).success().json();
    info["migrations"]
        .as_array()
        .expect("migrations")
        .iter()
        .find(|r| r["version"] == version)
        .unwrap_or_else(|| panic!("no V{version} in {info}"))
        .clone()
}

/// What every run says while V2 is interrupted, and that nothing runs.
fn every_run_refuses(p: &Project) {
    let history = p.db.history(HISTORY);
    let tables = p.db.tables();

    p.godwit(&["info"]).success().stdout_has("Interrupted");
    let row = info_row(p, "2");
    assert_eq!(row["state"], "Interrupted", "{row}");
    assert!(row["execution_time"].is_null(), "-1 is no duration: {row}");

    p.godwit(&["validate"])
        .code(1)
        .stderr_has("V2 was interrupted while it ran: how much of it ran is unknown")
        .stderr_has("godwit repair --mark-applied 2");

    let run = p.godwit(&["migrate"]);
    run.code(1)
        .stderr_has("V2 was interrupted while it ran (V2__b.sql)")
        .stderr_has("finish V2 by hand, then run `godwit repair --mark-applied 2`")
        .stderr_has("records it as applied without running it")
        .stderr_has("undo whatever part of it ran, then run `godwit repair`")
        .stderr_has("the next migrate runs it again");
    assert!(!run.stderr.contains("Applied"), "{run}");
    let json = p.godwit(&["migrate", "--json"]).code(1).json();
    let hint = json["error"]["hint"].as_str().expect("a hint");
    assert!(hint.contains("godwit repair --mark-applied 2"), "{json}");
    p.godwit(&["undo"])
        .code(1)
        .stderr_has("V2 was interrupted while it ran");

    assert_eq!(
        p.db.history(HISTORY),
        history,
        "a refused run writes nothing"
    );
    assert_eq!(p.db.tables(), tables, "a refused run runs nothing");
}

fn finished_by_hand_then_marked_applied(kind: Kind) {
    let p = v1_applied_v2_interrupted(kind);
    every_run_refuses(&p);

    // The operator finishes V2 by hand.
    p.db.exec("CREATE TABLE b (id INT)");
    let history = p.db.history(HISTORY);
    p.godwit(&["repair", "--mark-applied", "2", "--dry-run"])
        .success()
        .stdout_has("UPDATE")
        .stdout_has("WHERE")
        .stderr_has("Would mark V2 (V2__b.sql) as applied without running it: its interrupted row (installed_rank 2) becomes a success row")
        .stderr_has("Dry run: repair would record V2 as applied");
    let json = p
        .godwit(&["repair", "--mark-applied", "2", "--dry-run", "--json"])
        .success()
        .json();
    assert_eq!(json["dry_run"], true, "{json}");
    assert_eq!(json["changes"][0]["action"], "mark_applied", "{json}");
    assert_eq!(json["changes"][0]["installed_rank"], 2, "{json}");
    assert_eq!(json["changes"][0]["was"], "Interrupted", "{json}");
    assert!(
        json["sql"].as_str().is_some_and(|s| s.contains("UPDATE")),
        "{json}"
    );
    assert_eq!(p.db.history(HISTORY), history, "a dry run changes nothing");

    p.godwit(&["repair", "--mark-applied", "2"])
        .success()
        .stderr_has("Repaired: mark V2 (V2__b.sql) as applied without running it")
        .stderr_has("Recorded V2 as applied without running it");
    assert_eq!(p.db.history(HISTORY), ["1|a|SQL|true", "2|b|SQL|true"]);
    assert_eq!(
        p.db.query(&format!(
            "SELECT execution_time FROM {HISTORY} WHERE installed_rank = 2"
        )),
        [Some("0".to_string())]
    );
    assert_eq!(info_row(&p, "2")["state"], "Success");
    p.godwit(&["validate"]).success();

    // V2 is not run again (its table exists: running it would fail); V3 is applied.
    let run = p.godwit(&["migrate"]);
    run.success().stderr_has("Applied V3 c");
    assert!(!run.stderr.contains("V2"), "{run}");
    assert_eq!(
        p.db.history(HISTORY),
        ["1|a|SQL|true", "2|b|SQL|true", "3|c|SQL|true"]
    );
}

fn undone_by_hand_then_repaired_runs_again(kind: Kind) {
    let p = v1_applied_v2_interrupted(kind);
    every_run_refuses(&p);

    // Nothing of V2 ran (or the operator reverted it): `repair` removes the row.
    p.godwit(&["repair", "--dry-run"])
        .success()
        .stdout_has("DELETE")
        .stderr_has("Would remove the interrupted row of V2 (V2__b.sql, installed_rank 2): the next migrate runs V2 again");
    assert_eq!(p.db.history(HISTORY).len(), 2);
    p.godwit(&["repair"])
        .success()
        .stderr_has("Repaired: remove the interrupted row of V2")
        .stderr_has("the next migrate runs V2 again");
    assert_eq!(p.db.history(HISTORY), ["1|a|SQL|true"]);
    p.godwit(&["migrate"])
        .success()
        .stderr_has("Applied V2 b")
        .stderr_has("Applied V3 c");
    assert_eq!(
        p.db.history(HISTORY),
        ["1|a|SQL|true", "2|b|SQL|true", "3|c|SQL|true"]
    );
    assert!(p.db.tables().contains(&"b".to_string()));
}

fn mark_applied_refusals_write_nothing(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n")
        .migration("V2__b.sql", "CREATE TABLE b (id INT);\n");

    // No history table yet: nothing to mark, nothing created.
    p.godwit(&["repair", "--mark-applied", "1"])
        .code(1)
        .stderr_has("there is no history table")
        .stderr_has("godwit migrate");
    assert!(p.db.tables().is_empty(), "{:?}", p.db.tables());

    p.godwit(&["migrate", "--target", "1"]).success();
    // A harmless edit that a plain `repair` would realign: `--mark-applied` does only its own
    // change.
    p.migration("V1__a.sql", "-- a comment\nCREATE TABLE a (id INT);\n");
    let history = p.db.history(HISTORY);

    p.godwit(&["repair", "--mark-applied", "1"])
        .code(1)
        .stderr_has("cannot mark V1 as applied: it is applied already");
    p.godwit(&["repair", "--mark-applied", "9"])
        .code(2)
        .stderr_has("no migration has version 9")
        .stderr_has("known: 1, 2");
    p.godwit(&["repair", "--mark-applied", "two"])
        .code(2)
        .stderr_has("invalid version for --mark-applied");
    let json = p
        .godwit(&["repair", "--mark-applied", "9", "--json"])
        .code(2)
        .json();
    assert_eq!(json["error"]["category"], "usage", "{json}");
    assert_eq!(p.db.history(HISTORY), history, "a refusal writes nothing");

    // A pending version: a success row is added, and V2 never runs.
    let checksum = file_checksum(&p, "2");
    p.godwit(&["repair", "--mark-applied", "2"])
        .success()
        .stderr_has(
            "Repaired: mark V2 (V2__b.sql) as applied without running it: a success row is added",
        );
    assert_eq!(p.db.history(HISTORY), ["1|a|SQL|true", "2|b|SQL|true"]);
    assert_eq!(
        p.db.query(&format!(
            "SELECT checksum FROM {HISTORY} WHERE installed_rank = 2"
        )),
        [Some(checksum.to_string())]
    );
    // V1's edit was not realigned.
    p.godwit(&["validate"])
        .code(1)
        .stderr_has("V1 was changed after it was applied");
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n");
    p.godwit(&["migrate"])
        .success()
        .stderr_has("up to date at version 2");
    assert!(!p.db.tables().contains(&"b".to_string()));
}
