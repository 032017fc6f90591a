//! Limits on the migrations' own statements (`statement_lock_timeout`, `statement_timeout`, and
//! their `-- godwit:` directives) and the retry of a migration that could not get a lock, against
//! the real servers: another session holds a lock the migration needs.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use sqlx::Connection;

use godwit_test_support::{Kind, Project, TestDb};

/// A second session that holds a lock on `t` in an open transaction until it is released (or,
/// with `after`, until that much time has passed), then commits.
struct Blocker {
    release: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Blocker {
    /// Opens the blocking transaction and returns once it holds the lock. PostgreSQL:
    /// `LOCK TABLE t IN ACCESS EXCLUSIVE MODE`; MariaDB: `SELECT * FROM t`, whose metadata lock
    /// an `ALTER TABLE t` waits for until the transaction ends.
    fn hold(db: &TestDb, after: Option<Duration>) -> Blocker {
        let (ready_tx, ready_rx) = mpsc::channel::<()>();
        let (release, release_rx) = mpsc::channel::<()>();
        let kind = db.kind;
        let url = db.url.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let wait = || match after {
                    Some(d) => {
                        let _ = release_rx.recv_timeout(d);
                    }
                    None => {
                        let _ = release_rx.recv();
                    }
                };
                match kind {
                    Kind::Postgres => {
                        let mut c = sqlx::PgConnection::connect(&url).await.expect("connect");
                        sqlx::raw_sql("BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
                            .execute(&mut c)
                            .await
                            .expect("lock");
                        ready_tx.send(()).expect("ready");
                        wait();
                        sqlx::raw_sql("COMMIT")
                            .execute(&mut c)
                            .await
                            .expect("commit");
                        let _ = c.close().await;
                    }
                    Kind::MySql => {
                        let mut c = sqlx::MySqlConnection::connect(&url).await.expect("connect");
                        sqlx::raw_sql("START TRANSACTION")
                            .execute(&mut c)
                            .await
                            .expect("begin");
                        sqlx::raw_sql("SELECT * FROM t")
                            .fetch_all(&mut c)
                            .await
                            .expect("select");
                        ready_tx.send(()).expect("ready");
                        wait();
                        sqlx::raw_sql("COMMIT")
                            .execute(&mut c)
                            .await
                            .expect("commit");
                        let _ = c.close().await;
                    }
                    Kind::Sqlite => unreachable!("no blocker on SQLite"),
                }
            });
        });
        ready_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the blocker takes its lock");
        Blocker { release, thread }
    }

    fn release(self) {
        let _ = self.release.send(());
        self.thread.join().expect("blocker thread");
    }
}

/// A project whose V1 (applied) made a table `t` with a row, and whose V2 alters it.
fn blocked_project(kind: Kind) -> Project {
    let p = Project::new(kind);
    p.migration(
        "V1__t.sql",
        "CREATE TABLE t (a int);\nINSERT INTO t VALUES (1);\n",
    );
    p.godwit(&["migrate"]).success();
    p.migration("V2__add_b.sql", "ALTER TABLE t ADD COLUMN b int;\n");
    p
}

fn has_column_b(db: &TestDb) -> bool {
    let sql = match db.kind {
        Kind::Postgres => {
            "SELECT count(*)::int FROM information_schema.columns WHERE table_name = 't' AND column_name = 'b'".to_string()
        }
        _ => format!(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = '{}' AND table_name = 't' AND column_name = 'b'",
            db.name()
        ),
    };
    db.query(&sql) == [Some("1".to_string())]
}

fn blocked_migration_fails_after_the_statement_lock_timeout(kind: Kind) {
    let p = blocked_project(kind);
    let blocker = Blocker::hold(&p.db, None);
    let run = p.godwit(&["migrate", "--statement-lock-timeout", "1s"]);
    blocker.release();
    run.code(1)
        .stderr_has("V2")
        .stderr_has(match kind {
            Kind::Postgres => "canceling statement due to lock timeout",
            _ => "Lock wait timeout exceeded",
        })
        .stderr_has("could not get a lock that another session holds")
        .stderr_has("statement_lock_timeout");
    assert!(!run.stderr.contains("retry"), "{run}");
    assert!(!has_column_b(&p.db));
    // Rolled back, and nothing recorded: the next run, unblocked, applies it.
    assert!(
        !p.db
            .history("godwit_schema_history")
            .iter()
            .any(|r| r.starts_with("2|")),
        "{:?}",
        p.db.history("godwit_schema_history")
    );
    p.godwit(&["migrate"]).success();
    assert!(has_column_b(&p.db));
}

fn blocked_migration_succeeds_through_retries(kind: Kind) {
    let p = blocked_project(kind);
    // Released after 3 s; the retries (1 s lock timeout each, then 0.5–1 s, 1–2 s, 2–4 s, …
    // of waiting) last far longer than that.
    let blocker = Blocker::hold(&p.db, Some(Duration::from_secs(3)));
    let run = p.godwit_env(
        &["migrate"],
        &[
            ("GODWIT_STATEMENT_LOCK_TIMEOUT", "1s"),
            ("GODWIT_STATEMENT_LOCK_RETRIES", "8"),
        ],
    );
    blocker.release();
    run.success()
        .stderr_has("V2 could not get a lock")
        .stderr_has("retry 1 of 8")
        .stderr_has("Applied V2");
    assert!(has_column_b(&p.db));
    assert_eq!(
        p.db.history("godwit_schema_history"),
        ["1|t|SQL|true", "2|add b|SQL|true"],
        "{run}"
    );
}

/// MySQL commits DDL as it runs: a migration that ran a statement before the blocked one is
/// not retried, and is recorded as failed.
fn mysql_migration_that_ran_ddl_is_not_retried() {
    let p = blocked_project(Kind::MySql);
    p.migration(
        "V2__add_b.sql",
        "CREATE TABLE u (a int);\nALTER TABLE t ADD COLUMN b int;\n",
    );
    let blocker = Blocker::hold(&p.db, None);
    let run = p.godwit(&[
        "migrate",
        "--statement-lock-timeout",
        "1s",
        "--statement-lock-retries",
        "5",
    ]);
    blocker.release();
    run.code(1).stderr_has("Lock wait timeout exceeded");
    assert!(!run.stderr.contains("retry"), "{run}");
    assert_eq!(
        p.db.history("godwit_schema_history"),
        ["1|t|SQL|true", "2|add b|SQL|false"],
        "{run}"
    );
}

#[test]
fn postgres_blocked_migration_fails_after_the_statement_lock_timeout() {
    blocked_migration_fails_after_the_statement_lock_timeout(Kind::Postgres);
}

#[test]
fn mysql_blocked_migration_fails_after_the_statement_lock_timeout() {
    blocked_migration_fails_after_the_statement_lock_timeout(Kind::MySql);
}

#[test]
fn postgres_blocked_migration_succeeds_through_retries() {
    blocked_migration_succeeds_through_retries(Kind::Postgres);
}

#[test]
fn mysql_blocked_migration_succeeds_through_retries() {
    blocked_migration_succeeds_through_retries(Kind::MySql);
}

#[test]
fn mysql_ddl_already_run_is_not_retried() {
    mysql_migration_that_ran_ddl_is_not_retried();
}

/// A statement timeout stops a sleeping statement; from the file's directive on PostgreSQL,
/// from the flag on MariaDB.
fn statement_timeout_stops_a_sleep(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__table.sql", "CREATE TABLE kept (a int);\n");
    let (sleep, args): (&str, &[&str]) = match kind {
        Kind::Postgres => (
            "-- godwit:statement-timeout=1s\nSELECT pg_sleep(60);\n",
            &["migrate"],
        ),
        _ => (
            "SELECT SLEEP(60);\n",
            &["migrate", "--statement-timeout", "1s"],
        ),
    };
    p.migration("V2__sleep.sql", sleep);
    let started = std::time::Instant::now();
    let run = p.godwit(args);
    run.code(1).stderr_has("V2").stderr_has(match kind {
        Kind::Postgres => "canceling statement due to statement timeout",
        _ => "max_statement_time exceeded",
    });
    run.stderr_has("statement_timeout");
    // Far less than the 60 s the statement asked for (no tight bound).
    assert!(started.elapsed() < Duration::from_secs(45), "{run}");
    let history = p.db.history("godwit_schema_history");
    assert_eq!(history[0], "1|table|SQL|true", "{run}");
    assert!(!history
        .iter()
        .any(|r| r.starts_with("2|") && r.ends_with("|true")));
}

#[test]
fn postgres_statement_timeout_stops_a_sleep() {
    statement_timeout_stops_a_sleep(Kind::Postgres);
}

#[test]
fn mysql_statement_timeout_stops_a_sleep() {
    statement_timeout_stops_a_sleep(Kind::MySql);
}

/// A migration's limits end with it: the next migration sees the session's own settings.
#[test]
fn mysql_session_settings_are_restored_after_a_migration() {
    let p = Project::new(Kind::MySql);
    let before =
        p.db.query("SELECT CAST(@@GLOBAL.innodb_lock_wait_timeout AS CHAR)");
    p.migration("V1__seen.sql", "-- godwit:statement-lock-timeout=3s\nCREATE TABLE seen (v int);\nINSERT INTO seen SELECT @@SESSION.innodb_lock_wait_timeout;\n");
    p.migration(
        "V2__after.sql",
        "INSERT INTO seen SELECT @@SESSION.innodb_lock_wait_timeout;\n",
    );
    p.godwit(&["migrate"]).success();
    let seen = p.db.query("SELECT v FROM seen");
    assert_eq!(seen[0].as_deref(), Some("3"));
    assert_eq!(seen[1], before[0]);
}

/// A dry run prints the settings each migration runs with.
#[test]
fn postgres_dry_run_prints_the_limits() {
    let p = Project::new(Kind::Postgres);
    p.migration("V1__a.sql", "CREATE TABLE a (x int);\n");
    p.migration(
        "V2__b.sql",
        "-- godwit:statement-timeout=2m\nCREATE TABLE b (x int);\n",
    );
    let run = p.godwit(&["migrate", "--dry-run", "--statement-lock-timeout", "5s"]);
    run.success()
        .stdout_has("SET LOCAL lock_timeout = '5000ms';")
        .stdout_has("SET LOCAL statement_timeout = '120000ms';");
    assert_eq!(
        run.stdout.matches("SET LOCAL lock_timeout").count(),
        2,
        "{run}"
    );
    assert!(p.db.tables().is_empty() || !p.db.tables().contains(&"a".to_string()));
}

/// Without any setting, nothing is set: the server's defaults apply.
#[test]
fn postgres_no_limits_unless_asked() {
    let p = Project::new(Kind::Postgres);
    p.migration("V1__a.sql", "CREATE TABLE a (x int);\n");
    let run = p.godwit(&["migrate", "--dry-run"]);
    run.success();
    assert!(!run.stdout.contains("lock_timeout"), "{run}");
    assert!(!run.stdout.contains("statement_timeout"), "{run}");
}

/// A malformed directive is bad input: exit 2, pinned to its line, nothing written.
#[test]
fn bad_directive_is_refused_before_anything_runs() {
    let p = Project::new(Kind::Sqlite);
    p.migration("V1__a.sql", "CREATE TABLE a (x int);\n");
    p.migration(
        "V2__b.sql",
        "-- godwit:no-transaction\n-- godwit:statement-timeout=soon\nCREATE TABLE b (x int);\n",
    );
    let run = p.godwit(&["migrate"]);
    run.code(2)
        .stderr_has("V2__b.sql:2")
        .stderr_has("godwit:statement-timeout")
        .stderr_has("`soon` is not a duration");
    assert!(!p.db.tables().contains(&"a".to_string()), "{run}");
    // A zero statement limit in the configuration is refused too.
    p.godwit(&["migrate", "--statement-timeout", "0s"])
        .code(2)
        .stderr_has("at least 1ms");
}

/// On SQLite the statement lock timeout is the busy timeout; a migration runs as before.
#[test]
fn sqlite_runs_with_limits() {
    let p = Project::new(Kind::Sqlite);
    p.migration(
        "V1__a.sql",
        "-- godwit:statement-lock-timeout=2s\nCREATE TABLE a (x int);\n",
    );
    p.migration("V2__b.sql", "CREATE TABLE b (x int);\n");
    let run = p.godwit(&["migrate", "--dry-run", "--statement-timeout", "5s"]);
    run.success().stdout_has("PRAGMA busy_timeout = 2000;");
    p.godwit(&["migrate", "--statement-lock-timeout", "1s"])
        .success();
    assert_eq!(p.db.history("godwit_schema_history").len(), 2);
}

/// On PostgreSQL, limits end with the migration: `SET LOCAL` in a transaction, `SET` then
/// `RESET` outside one; the next migration sees the session's own settings.
#[test]
fn postgres_limits_end_with_their_migration() {
    let p = Project::new(Kind::Postgres);
    p.migration(
        "V1__outside.sql",
        "-- godwit:no-transaction\n-- godwit:statement-lock-timeout=3s\nCREATE TABLE seen (n int, v text);\nINSERT INTO seen SELECT 1, current_setting('lock_timeout');\n",
    );
    p.migration(
        "V2__after.sql",
        "INSERT INTO seen SELECT 2, current_setting('lock_timeout');\n",
    );
    p.migration(
        "V3__inside.sql",
        "-- godwit:statement-lock-timeout=4s\nINSERT INTO seen SELECT 3, current_setting('lock_timeout');\n",
    );
    p.migration(
        "V4__after.sql",
        "INSERT INTO seen SELECT 4, current_setting('lock_timeout');\n",
    );
    p.godwit(&["migrate"]).success();
    assert_eq!(
        p.db.query("SELECT v FROM seen ORDER BY n"),
        [
            Some("3s".to_string()),
            Some("0".to_string()),
            Some("4s".to_string()),
            Some("0".to_string())
        ]
    );
}
