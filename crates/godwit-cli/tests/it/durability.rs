//! A run killed at any moment leaves the database at a consistent earlier version (every
//! migration applied together with its history row, or not at all), and the next run finishes
//! the job.

use std::time::Duration;

use godwit_test_support::on_every_database;
use godwit_test_support::{Kind, Project};

on_every_database!(killed_run_leaves_a_consistent_version_and_the_next_run_finishes);

fn killed_run_leaves_a_consistent_version_and_the_next_run_finishes(kind: Kind) {
    let p = Project::new(kind);
    let n = 300;
    for i in 1..=n {
        p.migration(
            &format!("V{i}__t{i}.sql"),
            &format!("CREATE TABLE t{i} (id INT);\nINSERT INTO t{i} VALUES ({i});\n"),
        );
    }
    // Kill godwit part way through: wait until it has applied something, then SIGKILL.
    let mut child = p.command(&["migrate"]).spawn().expect("spawn godwit");
    let started = std::time::Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(20));
        if kind == Kind::Sqlite {
            // One transaction for the whole run: nothing is visible before it ends, so kill it
            // after a moment, wherever it is.
            std::thread::sleep(Duration::from_millis(30));
            break;
        }
        let applied = p.db.tables().len();
        if applied > 20 || started.elapsed() > Duration::from_secs(20) {
            break;
        }
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();

    // Every recorded migration's table exists and no table exists without its row.
    // A run killed before its first commit may leave no history table at all.
    let history = if p.db.tables().iter().any(|t| t == "godwit_schema_history") {
        p.db.history("godwit_schema_history")
    } else {
        Vec::new()
    };
    let tables: Vec<String> =
        p.db.tables()
            .into_iter()
            .filter(|t| t != "godwit_schema_history")
            .collect();
    for (i, row) in history.iter().enumerate() {
        assert!(
            row.starts_with(&format!("{}|", i + 1)),
            "rows out of order: {row}"
        );
    }
    if kind == Kind::MySql {
        // MySQL commits DDL as it goes: the migration that was running when the process died
        // has its row marked as running (written before it started), and its table may or may
        // not exist. Nothing else may disagree, and the next run names that migration so the
        // operator can resolve it.
        let interrupted = if history.is_empty() {
            Vec::new()
        } else {
            p.db.query(
                "SELECT version FROM godwit_schema_history WHERE success = 0 AND execution_time = -1",
            )
        };
        assert!(interrupted.len() <= 1, "{interrupted:?}");
        let done = history.len() - interrupted.len();
        assert!(
            tables.len() == done || tables.len() == done + 1,
            "{done} applied rows, {} tables",
            tables.len()
        );
        assert!(
            tables.len() == done || !interrupted.is_empty(),
            "a table without its row, and no row marking its migration as interrupted"
        );
        if let Some(Some(version)) = interrupted.first() {
            p.godwit(&["migrate"])
                .code(1)
                .stderr_has(&format!("V{version} was interrupted while it ran"));
            if tables.len() == done + 1 {
                // It finished before the kill: record it as applied.
                p.godwit(&["repair", "--mark-applied", version]).success();
            } else {
                // Nothing of it remains: let the next run apply it.
                p.godwit(&["repair"]).success();
            }
        }
    } else {
        assert_eq!(
            history.len(),
            tables.len(),
            "history and schema disagree after the kill: {} rows, {} tables",
            history.len(),
            tables.len()
        );
    }
    // The next node (or retry) finishes the job.
    p.godwit(&["migrate"]).success();
    assert_eq!(p.godwit(&["current"]).stdout, format!("{n}\n"));
    p.godwit(&["validate"]).success();
    assert_eq!(p.db.history("godwit_schema_history").len(), n);
}
