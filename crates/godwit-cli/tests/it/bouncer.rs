//! godwit through a PgBouncer in transaction pooling mode, with the lease lock (`lock_lease`).
//!
//! Each test starts its own `pgbouncer` (Debian's; `scripts/test` installs it) on a free
//! loopback port in front of the test PostgreSQL, with its own ini and auth file in a temporary
//! directory, and stops it at the end.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use godwit_test_support::{Bouncer, Kind, Project, Run};

fn output(child: Child) -> Run {
    Run::from(child.wait_with_output().expect("wait"))
}

/// 16 nodes migrate at once through PgBouncer with the lease lock: each migration is applied
/// exactly once, all exit 0, and a `CREATE INDEX CONCURRENTLY` migration runs while the others
/// wait. The first migration outlasts the lease (2 s): only the heartbeat keeps it.
#[test]
fn sixteen_migrators_through_pgbouncer_apply_each_migration_once() {
    const NODES: usize = 16;
    let bouncer = Bouncer::start();
    let p = Project::new(Kind::Postgres);
    let url = bouncer.url(p.db.name());
    // Connecting needs no `ignore_startup_parameters`.
    p.godwit_env(
        &["info"],
        &[("GODWIT_URL", &url), ("GODWIT_LOCK_LEASE", "2s")],
    )
    .success();
    p.migration(
        "V1__t.sql",
        "CREATE TABLE t (id INT);\nINSERT INTO t VALUES (1);\nSELECT pg_sleep(4);\n",
    )
    .migration(
        "V2__u.sql",
        "CREATE TABLE u (id INT);\nINSERT INTO t VALUES (2);\n",
    )
    .migration(
        "V3__index.sql",
        "CREATE INDEX CONCURRENTLY t_id_idx ON t (id);\n",
    )
    .migration(
        "R__v.sql",
        "DROP VIEW IF EXISTS v;\nCREATE VIEW v AS SELECT id FROM t;\n",
    );
    let children: Vec<_> = (0..NODES)
        .map(|_| {
            p.command(&["migrate"])
                .env("GODWIT_URL", &url)
                .env("GODWIT_LOCK_LEASE", "2s")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn godwit")
        })
        .collect();
    let runs: Vec<Run> = children.into_iter().map(output).collect();
    for run in &runs {
        run.success();
    }
    let count = |text: &str| runs.iter().filter(|r| r.stderr.contains(text)).count();
    assert_eq!(count("Successfully applied"), 1, "{runs:#?}");
    assert_eq!(count("Applied V1 t"), 1, "{runs:#?}");
    assert_eq!(count("Applied V3 index"), 1, "{runs:#?}");
    assert_eq!(count("Database is up to date"), NODES - 1, "{runs:#?}");
    assert_eq!(
        p.db.history("godwit_schema_history"),
        [
            "1|t|SQL|true",
            "2|u|SQL|true",
            "3|index|SQL|true",
            "|v|SQL|true"
        ]
    );
    assert_eq!(p.db.query("SELECT COUNT(*) FROM t"), [Some("2".into())]);
    assert_eq!(
        p.db.query("SELECT indisvalid::text FROM pg_index WHERE indexrelid = 't_id_idx'::regclass"),
        [Some("true".into())]
    );
    // Every run released its lease.
    assert_eq!(
        p.db.query("SELECT COUNT(*) FROM godwit_lease"),
        [Some("0".into())]
    );
}

/// A holder killed -9 in the middle of a long statement stops renewing its lease; the next
/// migrator waits for it to expire (3 s), then takes it and migrates.
#[test]
fn a_killed_lease_holder_lets_the_next_migrator_in_after_expiry() {
    let bouncer = Bouncer::start();
    let p = Project::new(Kind::Postgres);
    let url = bouncer.url(p.db.name());
    p.migration("V1__slow.sql", "SELECT pg_sleep(30);\n");
    let holder = p
        .command(&["migrate"])
        .env("GODWIT_URL", &url)
        .env("GODWIT_LOCK_LEASE", "3s")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn godwit");
    let mut holder = holder;
    // Wait until it holds the lease and runs its statement.
    let started = Instant::now();
    loop {
        let sleeping = p.db.query(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(30)%' AND state = 'active' AND pid <> pg_backend_pid()",
        );
        if sleeping == [Some("1".into())] {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the holder never started its migration"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        p.db.query("SELECT COUNT(*) FROM godwit_lease"),
        [Some("1".into())]
    );
    holder.kill().expect("kill -9");
    let _ = holder.wait();

    // The next node runs a fixed migration; it must wait for the dead holder's lease.
    p.migration("V1__slow.sql", "CREATE TABLE t (id INT);\n");
    let run = p.godwit_env(
        &["migrate", "--lock-timeout", "2m"],
        &[("GODWIT_URL", &url), ("GODWIT_LOCK_LEASE", "3s")],
    );
    run.success()
        .stderr_has("Waiting for another godwit process")
        .stderr_has("Applied V1 slow");
    assert_eq!(p.db.history("godwit_schema_history"), ["1|slow|SQL|true"]);
}
