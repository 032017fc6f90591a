//! Large migration files apply in bounded memory: the file is streamed statement by statement,
//! never loaded whole, and each statement is one round trip. Memory is read from procfs, so
//! this module runs on Linux only.

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use godwit_test_support::on_every_database;
use godwit_test_support::{Kind, Project};

on_every_database!(large_file_applies_in_bounded_memory);

/// How many rows the generated file inserts, and how long each row's text is. 4096 rows of
/// 16 KiB make a 64 MiB file of single-row INSERTs that still applies in seconds.
const ROWS: usize = 4096;
const PAYLOAD: usize = 16 * 1024;

/// Peak resident memory allowed to godwit while it applies the file: far below the file's size,
/// so that a copy of the whole file (or of all its statements) cannot pass.
const MAX_RSS_KIB: u64 = 32 * 1024;

/// Writes `V2__bulk.sql` straight to disk, so the test itself holds no copy of it either.
/// Every row's text holds what a splitter must not cut at: `;`, quotes, comment markers, and
/// line breaks inside the string.
fn write_bulk(p: &Project) -> u64 {
    let path = p.path().join("migrations/V2__bulk.sql");
    let file = std::fs::File::create(&path).expect("create");
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let filler = "abcdefghijklmnopqrstuvwxyz; -- not a comment /* nor this */ it''s\n";
    let repeats = PAYLOAD / filler.len();
    let text = filler.repeat(repeats);
    writeln!(out, "-- {ROWS} rows, one statement each").expect("write");
    for i in 0..ROWS {
        writeln!(
            out,
            "INSERT INTO bulk (id, payload) VALUES ({i}, '{text}');"
        )
        .expect("write");
    }
    out.flush().expect("flush");
    std::fs::metadata(&path).expect("size").len()
}

/// The peak resident set (VmHWM) of a running process, in KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn large_file_applies_in_bounded_memory(kind: Kind) {
    let p = Project::new(kind);
    let payload_type = if kind == Kind::MySql {
        "MEDIUMTEXT"
    } else {
        "TEXT"
    };
    p.migration(
        "V1__bulk_table.sql",
        &format!("CREATE TABLE bulk (id INT PRIMARY KEY, payload {payload_type} NOT NULL);\n"),
    );
    let size = write_bulk(&p);
    assert!(
        size > 2 * MAX_RSS_KIB * 1024,
        "the file is only {size} bytes"
    );

    let log = std::fs::File::create(p.path().join("godwit.log")).expect("log");
    let mut child = p
        .command(&["migrate"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn godwit");
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = peak_rss_kib(child.id()) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stderr = std::fs::read_to_string(p.path().join("godwit.log")).unwrap_or_default();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("Applied V2 bulk"), "{stderr}");
    assert!(
        peak < MAX_RSS_KIB,
        "godwit peaked at {peak} KiB of memory for a file of {} KiB",
        size / 1024
    );
    let summary = match kind {
        Kind::MySql => "SELECT CONCAT(COUNT(*), ':', MIN(CHAR_LENGTH(payload)), ':', MAX(CHAR_LENGTH(payload))) FROM bulk",
        _ => "SELECT COUNT(*) || ':' || MIN(length(payload)) || ':' || MAX(length(payload)) FROM bulk",
    };
    assert_eq!(p.db.query(summary), [Some(expected_summary())]);
    assert_eq!(
        p.db.history("godwit_schema_history"),
        ["1|bulk table|SQL|true", "2|bulk|SQL|true"]
    );
}

/// `rows:min_length:max_length` of the payloads the generated file inserts (`''` is one quote).
fn expected_summary() -> String {
    let filler_len = "abcdefghijklmnopqrstuvwxyz; -- not a comment /* nor this */ it's\n".len();
    let len = filler_len * (PAYLOAD / (filler_len + 1));
    format!("{ROWS}:{len}:{len}")
}

/// Each statement is one query sent to the server, and client directives (`DELIMITER`) are
/// never sent: the session's own count of client statements proves it.
#[test]
fn mysql_sends_one_query_per_statement() {
    let p = Project::new(Kind::MySql);
    let probe = "INSERT INTO probe SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'QUESTIONS';\n";
    let mut text = String::from("CREATE TABLE probe (n BIGINT);\nCREATE TABLE t (id INT);\n");
    text.push_str(probe);
    for i in 0..50 {
        text.push_str(&format!("INSERT INTO t VALUES ({i});\n"));
    }
    text.push_str("DELIMITER //\nCREATE PROCEDURE p()\nBEGIN\n  INSERT INTO t VALUES (-1);\n  INSERT INTO t VALUES (-2);\nEND//\nCALL p()//\nDELIMITER ;\n");
    text.push_str(probe);
    p.migration("V1__count.sql", &text);
    p.godwit(&["migrate"]).success();
    let n: Vec<i64> =
        p.db.query("SELECT CAST(n AS CHAR) FROM probe ORDER BY n")
            .into_iter()
            .map(|v| v.expect("n").parse().expect("number"))
            .collect();
    // 50 INSERTs, CREATE PROCEDURE, CALL, and the second probe itself.
    assert_eq!(n[1] - n[0], 50 + 2 + 1, "{n:?}");
}

on_every_database!(failure_deep_in_a_large_file_names_its_line);

/// A file big enough to be split on a second thread while it runs: a failure near its end is
/// still pinned to its line, and on PostgreSQL and SQLite nothing of the file remains.
fn failure_deep_in_a_large_file_names_its_line(kind: Kind) {
    let p = Project::new(kind);
    p.migration(
        "V1__t.sql",
        "CREATE TABLE big (id INT, note VARCHAR(100));\n",
    );
    let mut text = String::new();
    let rows = 60_000;
    for i in 0..rows {
        text.push_str(&format!(
            "INSERT INTO big (id, note) VALUES ({i}, 'row {i} padded to make the file large');\n"
        ));
    }
    text.push_str("INSERT INTO no_such_table VALUES (1);\n");
    assert!(
        text.len() > 4 << 20,
        "the file must be large enough to be pipelined"
    );
    p.migration("V2__bulk.sql", &text);
    p.godwit(&["migrate"])
        .code(1)
        .stderr_has(&format!("migrations/V2__bulk.sql:{}", rows + 1))
        .stderr_has("no_such_table");
    let count = p.db.query("SELECT COUNT(*) FROM big");
    match kind {
        Kind::MySql => {}
        _ => assert_eq!(count, [Some("0".to_string())]),
    }
}
