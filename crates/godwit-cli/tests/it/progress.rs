//! Waiting for the database (connect retries, `godwit wait`) and progress (the start line, the
//! heartbeat of a long statement, `-q` and `-v`).

use godwit_test_support::{run, Kind, PrivatePg, Project, Running};

/// `godwit wait` and `migrate` started before the server: both retry, say so on each retry,
/// and succeed once the server is up, a few seconds late.
#[test]
fn wait_and_migrate_retry_until_a_late_postgres_is_up() {
    // A PostgreSQL cluster of the test's own, started when the test says so.
    let mut server = PrivatePg::create();
    let p = Project::new(Kind::Sqlite);
    p.migration("V1__people.sql", "CREATE TABLE people (id int);\n");
    let url = server.url_as("postgres", "postgres");
    let retrying = [
        "--connect-retries",
        "30",
        "--connect-retries-interval",
        "1s",
    ];
    let spawn = |args: &[&str]| {
        let mut cmd = p.command(args);
        cmd.args(retrying).env("GODWIT_URL", &url);
        Running::start(cmd)
    };
    let wait = spawn(&["wait"]);
    let migrate = spawn(&["migrate"]);
    // The server starts once both have failed to connect and wait to retry.
    wait.wait_for_stderr("Cannot connect yet (");
    migrate.wait_for_stderr("Cannot connect yet (");
    server.start();
    for (name, child) in [("wait", wait), ("migrate", migrate)] {
        let run = child.finish();
        run.success()
            .stderr_has("Cannot connect yet (")
            .stderr_has("; retry 1 of 30 in 1s");
        if name == "wait" {
            run.stderr_has("Database is up: postgres://postgres@127.0.0.1:");
        } else {
            run.stderr_has("Successfully applied 1 migration");
        }
    }
    // The migration really ran on the late server.
    let mut cmd = p.command(&["current"]);
    cmd.env("GODWIT_URL", &url);
    assert_eq!(run(cmd).success().stdout.trim(), "1");

    // A refused login is not retried: it will not pass by waiting.
    let mut cmd = p.command(&["wait", "--connect-retries", "5"]);
    cmd.env("GODWIT_URL", server.url_as("no_such_role", "postgres"));
    let refused = run(cmd);
    refused.code(3).stderr_has("no_such_role");
    assert!(
        !refused.stderr.contains("Cannot connect yet"),
        "a refused login was retried\n{refused}"
    );
}

/// `godwit wait` gives up with exit code 3 once the retries run out, saying how often it tried.
#[test]
fn wait_gives_up_after_its_retries() {
    let p = Project::new(Kind::Sqlite);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut cmd = p.command(&[
        "wait",
        "--connect-retries",
        "2",
        "--connect-retries-interval",
        "1s",
    ]);
    cmd.env(
        "GODWIT_URL",
        format!("postgres://postgres@127.0.0.1:{port}/app"),
    );
    let out = run(cmd);
    out.code(3)
        .stderr_has("retry 1 of 2")
        .stderr_has("retry 2 of 2")
        .stderr_has("gave up after 2 retries");
    // Without retries, one attempt, no retry line.
    let mut cmd = p.command(&["migrate"]);
    cmd.env(
        "GODWIT_URL",
        format!("postgres://postgres@127.0.0.1:{port}/app"),
    );
    let out = run(cmd);
    out.code(3);
    assert!(!out.stderr.contains("retry"), "{out}");
}

/// A 12-second migration says when it starts, and while its statement runs, every 10 s, how
/// long and what it waits on.
#[test]
fn a_long_migration_prints_its_start_and_a_heartbeat() {
    let p = Project::new(Kind::Postgres);
    p.migration("V1__slow.sql", "SELECT pg_sleep(12);\n");
    let out = p.godwit(&["migrate"]);
    out.success()
        .stderr_has("Running V1 slow...")
        .stderr_has("V1: statement running for 1")
        .stderr_has("waiting on Timeout: PgSleep")
        .stderr_has("Applied V1 slow");
    let start = out.stderr.find("Running V1").expect("start line");
    let beat = out.stderr.find("statement running for").expect("heartbeat");
    let applied = out.stderr.find("Applied V1").expect("applied");
    assert!(start < beat && beat < applied, "{out}");
}

fn quiet_prints_errors_and_the_final_line_only(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__one.sql", "CREATE TABLE one (id int);\n");
    let out = p.godwit(&["-q", "migrate"]);
    out.success().stderr_has("Successfully applied 1 migration");
    assert_eq!(out.stderr.trim().lines().count(), 1, "{out}");
    // Errors still show.
    p.migration("V2__bad.sql", "CREATE TABLE one (id int);\n");
    let out = p.godwit(&["migrate", "--quiet"]);
    out.code(1).stderr_has("error: ").stderr_has("V2__bad.sql");
    assert!(!out.stderr.contains("Migrating"), "{out}");
    assert!(!out.stderr.contains("Running V2"), "{out}");
}

fn verbose_prints_each_statement_batch_with_its_timing(kind: Kind) {
    let p = Project::new(kind);
    p.migration(
        "V1__two.sql",
        "CREATE TABLE two (id int);\nINSERT INTO two VALUES (1);\n",
    );
    let out = p.godwit(&["migrate", "-v"]);
    out.success()
        .stderr_has("Running V1 two...")
        .stderr_has("migration{migration=V1}")
        .stderr_has("ran 2 statements from line 1 in ")
        .stderr_has("Applied V1 two");
    // Without -v, no batch lines; RUST_LOG chooses them too.
    p.migration("V2__more.sql", "INSERT INTO two VALUES (2);\n");
    let out = p.godwit(&["migrate"]);
    assert!(!out.stderr.contains("ran 1 statement"), "{out}");
    p.migration("V3__more.sql", "INSERT INTO two VALUES (3);\n");
    p.godwit_env(&["migrate"], &[("RUST_LOG", "godwit=debug")])
        .success()
        .stderr_has("ran 1 statement from line 1 in ");
}

godwit_test_support::on_every_database!(
    quiet_prints_errors_and_the_final_line_only,
    verbose_prints_each_statement_batch_with_its_timing,
);

/// Ctrl-C while `migrate` waits to retry stops it at once: exit 130, nothing done.
#[test]
fn ctrl_c_stops_the_wait_for_the_database() {
    let p = Project::new(Kind::Sqlite);
    p.migration("V1__one.sql", "CREATE TABLE one (id int);\n");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut cmd = p.command(&["migrate", "--connect-retries", "100"]);
    cmd.env(
        "GODWIT_URL",
        format!("postgres://postgres@127.0.0.1:{port}/app"),
    );
    let mut child = Running::start(cmd);
    // Wait for the first retry line's wait (the first attempt fails at once).
    child.wait_for_stderr("retry 1 of 100");
    child.signal("INT");
    let out = child.finish();
    let stderr = &out.stderr;
    assert_eq!(out.code, 130, "{stderr}");
    assert!(stderr.contains("retry 1 of 100"), "{stderr}");
    assert!(
        stderr.contains("Interrupted (SIGINT) while connecting to the database: nothing was done"),
        "{stderr}"
    );
}
