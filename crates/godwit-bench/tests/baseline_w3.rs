//! `godwit-bench baseline-w3`, the subprocess the benchmark times as W3's baseline on PostgreSQL
//! and MariaDB (the smoke test in godwit-cli runs that baseline in-process). Needs the test
//! servers, like the CLI tests.

use std::process::Command;

use godwit_bench::server::Fresh;
use godwit_bench::{generate, Database, Options};

#[test]
fn baseline_w3_loads_the_data_file_on_each_server() {
    let dir = std::env::temp_dir().join(format!("godwit-bench-test-{}", std::process::id()));
    let files = dir.join("w3");
    let rows = generate::bulk_data(&files, 50_000).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let opts = Options::new("godwit".into());
    for (db, admin) in [
        (Database::Postgres, &opts.pg_url),
        (Database::MySql, &opts.mysql_url),
    ] {
        let fresh = rt.block_on(Fresh::create(db, admin, &dir)).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_godwit-bench"))
            .args([
                "baseline-w3",
                "--db",
                db.key(),
                "--url",
                &fresh.url,
                "--dir",
            ])
            .arg(&files)
            .output()
            .unwrap();
        let n = rt.block_on(fresh.count("SELECT COUNT(*) FROM bulk_data"));
        rt.block_on(fresh.drop_database()).unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            db.name(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(n, Ok(rows as i64), "{}", db.name());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unknown_arguments_are_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_godwit-bench"))
        .arg("--no-such-flag")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown argument"));
}
