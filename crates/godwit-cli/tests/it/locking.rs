//! The migration lock: a fleet of nodes migrating one database at the same moment, a lock held
//! too long, and the lock released on every path.

use std::process::Stdio;
use std::time::{Duration, Instant};

use sqlx::Connection;

use godwit_test_support::on_every_database;
use godwit_test_support::{Kind, Project, Running, TestDb};

on_every_database!(
    concurrent_migrates_apply_each_migration_once,
    lock_held_elsewhere_times_out_with_exit_1,
    every_writing_command_waits_for_the_lock,
    lock_is_released_after_a_failed_migration,
);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The lock key godwit uses for the default history table of `db` (see `HistoryTable::lock_key`).
fn lock_key(db: &TestDb) -> String {
    match db.kind {
        Kind::Postgres => "godwit:public.godwit_schema_history".into(),
        _ => {
            let key = format!("godwit:{}.godwit_schema_history", db.name());
            // MySQL lock names longer than 64 characters are hashed; test names stay short.
            assert!(key.len() <= 64, "{key}");
            key
        }
    }
}

/// The PostgreSQL advisory lock number for a key, as the driver computes it.
fn advisory_key(key: &str) -> i64 {
    godwit::testing::postgres_advisory_key(key)
}

/// A connection that holds godwit's lock on `db` until it is dropped.
enum Holder {
    Postgres(sqlx::PgConnection),
    MySql(sqlx::MySqlConnection),
    Sqlite(sqlx::SqliteConnection),
}

impl Holder {
    /// Releases the lock by closing the session, as a crashed or finished node would.
    fn release(self, rt: &tokio::runtime::Runtime) {
        rt.block_on(async {
            let closed = match self {
                Holder::Postgres(c) => c.close().await,
                Holder::MySql(c) => c.close().await,
                Holder::Sqlite(c) => c.close().await,
            };
            closed.expect("close the lock holder");
        })
    }
}

fn hold_lock(rt: &tokio::runtime::Runtime, db: &TestDb) -> Holder {
    let key = lock_key(db);
    rt.block_on(async {
        match db.kind {
            Kind::Postgres => {
                let mut c = sqlx::PgConnection::connect(&db.url).await.expect("connect");
                sqlx::query("SELECT pg_advisory_lock($1)")
                    .bind(advisory_key(&key))
                    .execute(&mut c)
                    .await
                    .expect("advisory lock");
                Holder::Postgres(c)
            }
            Kind::MySql => {
                let mut c = sqlx::MySqlConnection::connect(&db.url)
                    .await
                    .expect("connect");
                let got: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, 5)")
                    .bind(&key)
                    .fetch_one(&mut c)
                    .await
                    .expect("GET_LOCK");
                assert_eq!(got, Some(1));
                Holder::MySql(c)
            }
            Kind::Sqlite => {
                let url = format!("{}?mode=rwc", db.url);
                let mut c = sqlx::SqliteConnection::connect(&url)
                    .await
                    .expect("connect");
                sqlx::raw_sql("BEGIN IMMEDIATE")
                    .execute(&mut c)
                    .await
                    .expect("BEGIN IMMEDIATE");
                Holder::Sqlite(c)
            }
        }
    })
}

/// Whether another session could take godwit's lock on `db` right now.
fn lock_is_free(rt: &tokio::runtime::Runtime, db: &TestDb) -> bool {
    let key = lock_key(db);
    rt.block_on(async {
        match db.kind {
            Kind::Postgres => {
                let mut c = sqlx::PgConnection::connect(&db.url).await.expect("connect");
                sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1)")
                    .bind(advisory_key(&key))
                    .fetch_one(&mut c)
                    .await
                    .expect("try lock")
            }
            Kind::MySql => {
                let mut c = sqlx::MySqlConnection::connect(&db.url)
                    .await
                    .expect("connect");
                let free: Option<i64> = sqlx::query_scalar("SELECT IS_FREE_LOCK(?)")
                    .bind(&key)
                    .fetch_one(&mut c)
                    .await
                    .expect("IS_FREE_LOCK");
                free == Some(1)
            }
            Kind::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&db.url)
                    .await
                    .expect("connect");
                sqlx::raw_sql("PRAGMA busy_timeout = 0; BEGIN IMMEDIATE; ROLLBACK")
                    .execute(&mut c)
                    .await
                    .is_ok()
            }
        }
    })
}

/// Eight nodes start at once: one migrates, the others wait for it, then find nothing to do.
/// On PostgreSQL one migration builds an index concurrently while the others wait: the lock
/// must not deadlock against it.
fn concurrent_migrates_apply_each_migration_once(kind: Kind) {
    const NODES: usize = 8;
    let p = Project::new(kind);
    // The first migration takes a moment, so the other nodes find the lock taken.
    let slow = match kind {
        Kind::Postgres => "SELECT pg_sleep(0.5)",
        Kind::MySql => "DO SLEEP(0.5)",
        Kind::Sqlite => {
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) SELECT count(*) FROM c"
        }
    };
    p.migration(
        "V1__t.sql",
        &format!("CREATE TABLE t (id INT);\nINSERT INTO t VALUES (1);\n{slow};\n"),
    )
    .migration(
        "V2__u.sql",
        "CREATE TABLE u (id INT);\nINSERT INTO t VALUES (2);\n",
    );
    let mut expected = vec!["1|t|SQL|true", "2|u|SQL|true"];
    if kind == Kind::Postgres {
        p.migration(
            "V3__index.sql",
            "CREATE INDEX CONCURRENTLY t_id_idx ON t (id);\n",
        );
        expected.push("3|index|SQL|true");
    }
    p.migration(
        "R__v.sql",
        "DROP VIEW IF EXISTS v;\nCREATE VIEW v AS SELECT id FROM t;\n",
    );
    expected.push("|v|SQL|true");

    let children: Vec<_> = (0..NODES)
        .map(|_| {
            p.command(&["migrate"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn godwit")
        })
        .collect();
    let runs: Vec<_> = children
        .into_iter()
        .map(|c| godwit_test_support::Run::from(c.wait_with_output().expect("wait")))
        .collect();
    for run in &runs {
        run.success();
    }
    let count = |text: &str| runs.iter().filter(|r| r.stderr.contains(text)).count();
    assert_eq!(count("Successfully applied"), 1, "{runs:#?}");
    assert_eq!(count("Applied V1 t"), 1, "{runs:#?}");
    assert_eq!(count("Database is up to date"), NODES - 1, "{runs:#?}");
    assert!(
        count("Waiting for another godwit process") >= 1,
        "no node had to wait: {runs:#?}"
    );
    assert_eq!(p.db.history("godwit_schema_history"), expected);
    assert_eq!(p.db.query("SELECT COUNT(*) FROM t"), [Some("2".into())]);
    if kind == Kind::Postgres {
        let valid = p
            .db
            .query("SELECT indisvalid::text FROM pg_index WHERE indexrelid = 't_id_idx'::regclass");
        assert_eq!(valid, [Some("true".into())]);
    }
}

/// A lock held by someone else for longer than `lock_timeout` is exit 1 with a message that
/// says so, after about `lock_timeout`, and nothing is written.
fn lock_held_elsewhere_times_out_with_exit_1(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);");
    let rt = runtime();
    let holder = hold_lock(&rt, &p.db);
    let started = Instant::now();
    let child = Running::start(p.command(&["migrate", "--lock-timeout", "2s"]));
    // The wait for the lock is timed from when godwit has connected (its first line): the
    // process's start-up, which a busy machine slows down, is not part of it.
    child.wait_for_stderr("Migrating ");
    let waiting = Instant::now();
    let run = child.finish();
    let (elapsed, waited) = (started.elapsed(), waiting.elapsed());
    run.code(1)
        .stderr_has("Waiting for another godwit process to release the migration lock")
        .stderr_has("for longer than 2.0s")
        .stderr_has("lock_timeout");
    // About the timeout, not twice it: the first attempt, which decides whether to say
    // "Waiting", must not itself wait the whole timeout.
    assert!(elapsed >= Duration::from_millis(1900), "{elapsed:?}\n{run}");
    assert!(waited < Duration::from_millis(3900), "{waited:?}\n{run}");
    // The environment variable works the same; JSON says what failed.
    let json = p
        .godwit_env(&["migrate", "--json"], &[("GODWIT_LOCK_TIMEOUT", "300ms")])
        .code(1)
        .json();
    assert_eq!(json["error"]["category"], "failed");
    assert!(
        json["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("for longer than 300ms")),
        "{json}"
    );
    holder.release(&rt);
    assert!(
        p.db.tables().is_empty(),
        "nothing may be written without the lock: {:?}",
        p.db.tables()
    );
    p.godwit(&["migrate", "--lock-timeout", "1s"])
        .success()
        .stderr_has("Applied V1 a");
}

/// Every command that writes takes the same lock, and gives up the same way.
fn every_writing_command_waits_for_the_lock(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);")
        .migration("U1__a.sql", "DROP TABLE a;");
    p.godwit(&["migrate"]).success();
    let rt = runtime();
    let holder = hold_lock(&rt, &p.db);
    for command in [
        &["undo"][..],
        &["migrate", "--target", "0"],
        &["repair"],
        &["baseline"],
        &["clean", "--yes"],
    ] {
        let mut args = command.to_vec();
        args.extend(["--lock-timeout", "300ms"]);
        p.godwit_env(&args, &[("GODWIT_CLEAN_DISABLED", "false")])
            .code(1)
            .stderr_has("Waiting for another godwit process")
            .stderr_has("for longer than 300ms");
    }
    holder.release(&rt);
    assert_eq!(p.db.history("godwit_schema_history"), ["1|a|SQL|true"]);
    p.godwit(&["undo"]).success();
}

/// A failed migration releases the lock at once, while the connection is still open (an
/// embedding service keeps its connection), and the next run proceeds.
fn lock_is_released_after_a_failed_migration(kind: Kind) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);")
        .migration("V2__broken.sql", "INSERT INTO no_such_table VALUES (1);");
    let rt = runtime();
    let migrator =
        godwit::Migrator::from_locations(&[p.path().join("migrations")]).expect("migrations");
    let mut db = rt
        .block_on(godwit::Database::connect(&p.db.url))
        .expect("connect");
    let err = rt
        .block_on(migrator.migrate(&mut db))
        .expect_err("V2 fails");
    assert!(matches!(err, godwit::Error::Migration(_)), "{err}");
    assert!(lock_is_free(&rt, &p.db), "the lock outlived the failed run");
    // Success releases it too.
    p.remove("migrations/V2__broken.sql");
    rt.block_on(migrator_for(&p).migrate(&mut db))
        .expect("V1 is applied already, nothing else");
    assert!(
        lock_is_free(&rt, &p.db),
        "the lock outlived a successful run"
    );
    rt.block_on(db.close()).expect("close");

    // Through the CLI: the run after a failure does not wait for a lock.
    p.migration("V2__broken.sql", "INSERT INTO no_such_table VALUES (1);");
    if kind == Kind::MySql {
        // Nothing of V2 ran, so nothing was recorded: the next run tries it again.
        assert_eq!(p.db.history("godwit_schema_history"), ["1|a|SQL|true"]);
    }
    for _ in 0..2 {
        p.godwit(&["migrate", "--lock-timeout", "1s"])
            .code(1)
            .stderr_has("migration V2 failed")
            .stderr_has("no_such_table");
    }
}

fn migrator_for(p: &Project) -> godwit::Migrator {
    godwit::Migrator::from_locations(&[p.path().join("migrations")]).expect("migrations")
}

/// Two databases on one server have separate locks: a node migrating one never waits for a
/// node migrating the other (MySQL `GET_LOCK` names are server-wide, so the lock key must
/// name the database).
fn databases_on_one_server_do_not_share_a_lock(kind: Kind) {
    let sleep = match kind {
        Kind::Postgres => "SELECT pg_sleep(1.5);",
        _ => "DO SLEEP(1.5);",
    };
    let projects = [Project::new(kind), Project::new(kind)];
    let children: Vec<_> = projects
        .iter()
        .map(|p| {
            p.migration("V1__slow.sql", sleep);
            p.command(&["migrate", "--lock-timeout", "500ms"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn godwit")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

mod databases_on_one_server_do_not_share_a_lock {
    #[test]
    fn postgres() {
        super::databases_on_one_server_do_not_share_a_lock(godwit_test_support::Kind::Postgres)
    }
    #[test]
    fn mysql() {
        super::databases_on_one_server_do_not_share_a_lock(godwit_test_support::Kind::MySql)
    }
}

/// Two history tables in one database have separate locks, and a qualified table's lock is
/// the same whatever the connection's default schema.
#[test]
fn postgres_lock_is_keyed_on_the_history_tables_schema_and_name() {
    let p = Project::new(Kind::Postgres);
    p.migration("V1__a.sql", "CREATE TABLE IF NOT EXISTS a (id INT);");
    let rt = runtime();
    let holder = hold_lock(&rt, &p.db);
    p.godwit(&[
        "migrate",
        "--lock-timeout",
        "1s",
        "--table",
        "other_history",
    ])
    .success();
    p.godwit(&[
        "migrate",
        "--lock-timeout",
        "1s",
        "--table",
        "public.godwit_schema_history",
    ])
    .code(1)
    .stderr_has("for longer than 1.0s");
    holder.release(&rt);
}
