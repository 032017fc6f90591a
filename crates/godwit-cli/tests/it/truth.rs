//! Reports tell the truth about what survived: a lost connection, a file system that cannot
//! take the write, a Ctrl-C. (The fault suite with crashing servers is `faults.rs`.)

use std::time::{Duration, Instant};

use godwit_test_support::{Kind, Project, Running};

/// A migration that kills its own connection: godwit cannot know whether what the run applied
/// survived, so it says so, lists those migrations as unconfirmed, never says "nothing remains",
/// and points at `godwit info`.
#[test]
fn a_lost_connection_is_reported_as_such_on_postgres() {
    lost_connection(
        Kind::Postgres,
        "SELECT pg_terminate_backend(pg_backend_pid());",
    );
}

#[test]
fn a_lost_connection_is_reported_as_such_on_mysql() {
    lost_connection(Kind::MySql, "KILL CONNECTION_ID();");
}

fn lost_connection(kind: Kind, kill: &str) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (i INT);\n");
    p.migration("V2__b.sql", &format!("CREATE TABLE b (i INT);\n{kill}\n"));
    let run = p.godwit(&["migrate", "--json"]);
    run.code(1)
        .stderr_has("lost the connection to the database")
        .stderr_has("godwit info")
        .stderr_has("may not have survived: V1");
    assert!(
        !run.stderr.contains("nothing of it remains") && !run.stderr.contains("Applied V2"),
        "{}",
        run.stderr
    );
    let json = run.json();
    let details = &json["error"]["details"];
    assert_eq!(details["cause"], "ConnectionLost", "{json}");
    assert_eq!(details["rolled_back"], false, "{json}");
    assert_eq!(details["report"]["migrations"], 0, "{json}");
    assert_eq!(
        details["report"]["unconfirmed"][0]["migration"], "V1",
        "{json}"
    );
    // The server is alive: what the database really holds is what `info` shows, and the next
    // run goes on from there (V1 kept, V2 is refused again by its own statement).
    p.godwit(&["current"]).success().stdout_has("1");
}

/// SQLite's "database or disk is full" is the file system's problem, not the statement's: the
/// hint says so. Here the run's commit fails too (the file cannot grow), so nothing of the run
/// is kept, and nothing is reported as applied: the migrations that ran are named as not
/// confirmed. (Before, godwit printed "Applied V1", "Applied V2", and then failed.)
#[test]
fn a_full_sqlite_database_claims_nothing_and_gets_a_file_system_hint() {
    let p = Project::new(Kind::Sqlite);
    p.migration("V1__a.sql", "CREATE TABLE a (x TEXT);\n");
    p.migration("V2__b.sql", "CREATE TABLE b (x TEXT);\n");
    // max_page_count caps the file's size for this connection: the INSERT fills it.
    p.migration(
        "V3__fill.sql",
        "PRAGMA max_page_count = 2;\nINSERT INTO a VALUES (randomblob(100000));\n",
    );
    let run = p.godwit(&["migrate", "--json"]);
    run.code(1)
        .stderr_has("the database could not write its files")
        .stderr_has("free space or fix the permissions")
        .stderr_has("may not have survived: V1, V2");
    assert!(
        !run.stderr.contains("Applied") && !run.stderr.contains("fix the statement"),
        "{}",
        run.stderr
    );
    let json = run.json();
    assert_eq!(json["error"]["details"]["cause"], "Storage", "{json}");
    assert_eq!(
        json["error"]["details"]["report"]["migrations"], 0,
        "{json}"
    );
    // And indeed nothing was kept.
    assert_eq!(p.godwit(&["current"]).stdout, "none\n");
}

/// A read-only SQLite database: the lock or the first write fails with a hint about the file
/// system, and nothing claims to be applied.
#[test]
fn a_read_only_sqlite_database_gets_a_file_system_hint() {
    let p = Project::new(Kind::Sqlite);
    p.migration("V1__a.sql", "CREATE TABLE a (x TEXT);\n");
    p.godwit(&["migrate"]).success();
    p.migration("V2__b.sql", "CREATE TABLE b (x TEXT);\n");
    let url = format!("{}?mode=ro", p.db.url);
    let run = p.godwit(&["--url", &url, "migrate"]);
    run.code(1)
        .stderr_has("read-only")
        .stderr_has("permissions");
    assert!(!run.stderr.contains("Applied V2"), "{}", run.stderr);
    assert_eq!(p.godwit(&["current"]).stdout, "1\n");
}

/// SIGINT while a PostgreSQL migration sleeps: the server cancels the statement at once, the
/// migration rolls back, the lock is free, one line says so, exit 130.
#[test]
fn sigint_cancels_the_running_statement_on_postgres() {
    sigint_cancels(Kind::Postgres, "SELECT pg_sleep(60);");
}

#[test]
fn sigint_cancels_the_running_statement_on_mysql() {
    sigint_cancels(Kind::MySql, "SELECT SLEEP(60);");
}

fn sigint_cancels(kind: Kind, sleep: &str) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (i INT);\n");
    p.migration(
        "V2__slow.sql",
        &format!("INSERT INTO a VALUES (1);\n{sleep}\nINSERT INTO a VALUES (2);\n"),
    );
    let mut child = Running::start(p.command(&["migrate"]));
    // Wait until V2's sleep runs on the server (its own session, in this test's database).
    p.db.wait_for_statement(match kind {
        Kind::Postgres => "SELECT pg_sleep(60)",
        _ => "SELECT SLEEP(60)",
    });
    let stopped = Instant::now();
    child.signal("INT");
    let run = child.finish();
    run.code(130).stderr_has("Interrupted (SIGINT)");
    // Cancelled on the server, not waited out.
    assert!(
        stopped.elapsed() < Duration::from_secs(30),
        "took {:?}",
        stopped.elapsed()
    );
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("V2 was rolled back") || last.contains("recorded as failed"),
        "{}",
        run.stderr
    );
    if kind == Kind::Postgres {
        assert!(last.contains("V2 was rolled back"), "{}", run.stderr);
        assert_eq!(p.db.query("SELECT count(*) FROM a"), vec![Some("0".into())]);
        assert_eq!(p.godwit(&["current"]).stdout, "1\n");
    }
    // The lock is free: the next run does not wait for it.
    let next = p.godwit_env(&["migrate", "--dry-run"], &[("GODWIT_LOCK_TIMEOUT", "5s")]);
    assert!(
        !next.stderr.contains("Waiting for another"),
        "{}",
        next.stderr
    );
}
