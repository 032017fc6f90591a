//! The client-equivalence suite: every file of `tests/equivalence/<dialect>/` is applied by
//! godwit to one database and by the database's own client (`psql`, `mariadb`, `sqlite3`) to
//! another, and the two databases must then dump the same schema and data.
//!
//! A Flyway user moving to godwit expects each file to do exactly what the client does with it.
//! The corpus is made of what tends to go wrong: dollar quotes and nested blocks, `DELIMITER`,
//! `||`, session settings, `COPY` with inline data, comments and quotes everywhere, odd
//! identifiers, views, indexes, constraints, generated columns, unicode rows.
//!
//! Each file is compared on its own, on a fresh pair of databases, so that a difference names
//! its file. [`KNOWN_DIFFERENCES`] lists the files that differ today for reasons being fixed
//! on other branches; a listed file that no longer differs fails too, so the list only shrinks.

use std::path::{Path, PathBuf};
use std::process::Command;

use godwit_test_support::{Kind, Project, TestDb};

/// Files whose godwit result still differs from the client's, one entry per file (path under
/// `tests/equivalence/`), with the reason. Empty this list as the fixes land.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "mysql/V07__comments_in_routine_bodies.sql",
        "deliberate (docs/migrations.md, \"Comments\"): the mariadb client strips comments from what it sends by default (--skip-comments), so routine bodies lose them; godwit sends them, as Flyway and `mariadb --comments` do, so routines keep their comments",
    ),
];

#[test]
fn postgres_files_do_what_psql_does() {
    check_dialect(Kind::Postgres, "postgres");
}

#[test]
fn mariadb_files_do_what_the_mariadb_client_does() {
    check_dialect(Kind::MySql, "mysql");
}

#[test]
fn sqlite_files_do_what_sqlite3_does() {
    check_dialect(Kind::Sqlite, "sqlite");
}

fn corpus(dir: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/equivalence")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", root.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no files in {}", root.display());
    files
}

fn check_dialect(kind: Kind, dir: &str) {
    let mut failures = Vec::new();
    for file in corpus(dir) {
        let name = format!(
            "{dir}/{}",
            file.file_name().expect("file name").to_string_lossy()
        );
        let known = KNOWN_DIFFERENCES
            .iter()
            .find(|(f, _)| *f == name)
            .map(|(_, why)| *why);
        match compare(kind, &file) {
            Ok(()) if known.is_some() => failures.push(format!(
                "{name}: listed in KNOWN_DIFFERENCES ({}), but godwit now does what the client does: remove the entry",
                known.unwrap_or_default()
            )),
            Ok(()) => {}
            Err(diff) => match known {
                Some(why) => eprintln!("{name}: known difference ({why}):\n{diff}"),
                None => failures.push(format!("{name}: {diff}")),
            },
        }
    }
    assert!(
        failures.is_empty(),
        "{} file(s) differ between godwit and the database's own client:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Applies `file` with godwit and with the client, on two fresh databases, and compares their
/// dumps; `Err` holds a readable account of the difference.
fn compare(kind: Kind, file: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(file).expect("corpus file");
    let client = Project::new(kind);
    if let Err(e) = run_client(&client.db, file) {
        panic!(
            "the client itself fails on {}: fix the corpus file\n{e}",
            file.display()
        );
    }
    let godwit = Project::new(kind);
    godwit.migration("V1__equivalence.sql", &text);
    let run = godwit.godwit(&["migrate"]);
    if run.code != 0 {
        return Err(format!("godwit fails where the client succeeds\n{run}"));
    }
    let expected = dump(&client.db);
    let actual = dump(&godwit.db);
    if expected == actual {
        Ok(())
    } else {
        Err(format!(
            "the dumps differ (- client, + godwit):\n{}",
            diff(&expected, &actual)
        ))
    }
}

/// The parts of a `mysql://user[:password]@host[:port]/database` URL the client needs (the
/// database is named separately).
struct MySqlTarget {
    host: String,
    port: String,
    user: String,
    password: String,
}

fn mysql_target(url: &str) -> MySqlTarget {
    let rest = url.trim_start_matches("mysql://");
    let (auth, host_db) = rest.split_once('@').unwrap_or(("root", rest));
    let (user, password) = auth.split_once(':').unwrap_or((auth, ""));
    let host_port = host_db.split_once('/').map_or(host_db, |(h, _)| h);
    let (host, port) = host_port.split_once(':').unwrap_or((host_port, "3306"));
    MySqlTarget {
        host: host.into(),
        port: port.into(),
        user: user.into(),
        password: password.into(),
    }
}

/// A MariaDB client tool (`mariadb`, `mariadb-dump`) pointed at the database, ignoring option
/// files so that nothing on the machine changes what it does.
fn mysql_tool(tool: &str, db: &TestDb) -> Command {
    let t = mysql_target(&db.url);
    let mut c = Command::new(tool);
    c.args([
        "--no-defaults",
        "--host",
        &t.host,
        "--port",
        &t.port,
        "--user",
        &t.user,
        "--protocol",
        "tcp",
        "--default-character-set",
        "utf8mb4",
    ]);
    if !t.password.is_empty() {
        c.arg(format!("--password={}", t.password));
    }
    c
}

fn sqlite_path(db: &TestDb) -> String {
    db.url.trim_start_matches("sqlite://").to_string()
}

/// Runs `file` as a user would with the database's own client, stopping at the first error.
fn run_client(db: &TestDb, file: &Path) -> Result<(), String> {
    let mut cmd = match db.kind {
        Kind::Postgres => {
            let mut c = Command::new("psql");
            c.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &db.url, "-f"])
                .arg(file);
            c
        }
        Kind::MySql => {
            let mut c = mysql_tool("mariadb", db);
            c.arg(db.name());
            c.stdin(std::fs::File::open(file).map_err(|e| e.to_string())?);
            c
        }
        Kind::Sqlite => {
            let mut c = Command::new("sqlite3");
            c.arg("-bail").arg(sqlite_path(db));
            c.stdin(std::fs::File::open(file).map_err(|e| e.to_string())?);
            c
        }
    };
    let out = output(&mut cmd)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn output(cmd: &mut Command) -> Result<std::process::Output, String> {
    cmd.output().map_err(|e| {
        format!(
            "cannot run `{}` ({e}): install the database's client tools (scripts/test does: postgresql-client, mariadb-client, sqlite3)",
            cmd.get_program().to_string_lossy()
        )
    })
}

/// Runs a dump tool and returns its output, panicking with its error output on failure.
fn tool_output(mut cmd: Command) -> String {
    let out = output(&mut cmd).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{:?} failed:\n{}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const HISTORY: &str = "godwit_schema_history";

/// The schema and data of a database as text, without godwit's history table, its name
/// replaced by `<db>`.
fn dump(db: &TestDb) -> String {
    let text = match db.kind {
        Kind::Postgres => {
            let mut schema = Command::new("pg_dump");
            schema.args(["--schema-only", "--exclude-table", HISTORY, "-d", &db.url]);
            let mut data = Command::new("pg_dump");
            data.args([
                "--data-only",
                "--inserts",
                "--exclude-table",
                HISTORY,
                "-d",
                &db.url,
            ]);
            format!("{}\n-- data\n{}", tool_output(schema), tool_output(data))
        }
        Kind::MySql => {
            let ignore = format!("--ignore-table={}.{HISTORY}", db.name());
            let mut schema = mysql_tool("mariadb-dump", db);
            schema.args([
                "--no-data",
                "--routines",
                "--triggers",
                "--events",
                "--skip-comments",
                "--skip-dump-date",
                &ignore,
                db.name(),
            ]);
            let mut data = mysql_tool("mariadb-dump", db);
            data.args([
                "--no-create-info",
                "--skip-triggers",
                "--skip-comments",
                "--skip-extended-insert",
                "--order-by-primary",
                &ignore,
                db.name(),
            ]);
            // The dump shows each routine's and trigger's sql_mode in `SET` lines; ask the
            // catalog as well, so that the difference reads plainly.
            let modes = format!(
                "SELECT CONCAT('routine ', ROUTINE_NAME, ': ', SQL_MODE) FROM information_schema.ROUTINES \
                 WHERE ROUTINE_SCHEMA = '{0}' \
                 UNION ALL SELECT CONCAT('trigger ', TRIGGER_NAME, ': ', SQL_MODE) FROM information_schema.TRIGGERS \
                 WHERE TRIGGER_SCHEMA = '{0}' ORDER BY 1",
                db.name()
            );
            let mut catalog = mysql_tool("mariadb", db);
            catalog.args(["--batch", "--skip-column-names", "-e", &modes]);
            format!(
                "{}\n-- sql_mode\n{}\n-- data\n{}",
                tool_output(schema),
                tool_output(catalog),
                tool_output(data)
            )
        }
        Kind::Sqlite => {
            let mut schema = Command::new("sqlite3");
            schema.arg(sqlite_path(db)).arg(format!(
                "SELECT type || ' ' || name || ' on ' || tbl_name || ': ' || quote(sql) FROM sqlite_master \
                 WHERE tbl_name <> '{HISTORY}' ORDER BY type, name"
            ));
            let mut data = Command::new("sqlite3");
            data.arg(sqlite_path(db)).arg(".dump --data-only");
            let data: String = tool_output(data)
                .lines()
                .filter(|l| {
                    !l.starts_with(&format!("INSERT INTO {HISTORY} "))
                        && !l.starts_with(&format!("INSERT INTO \"{HISTORY}\""))
                })
                .map(|l| format!("{l}\n"))
                .collect();
            format!("{}\n-- data\n{data}", tool_output(schema))
        }
    };
    text.lines()
        // pg_dump 15.14 and later fence its output with a random key.
        .filter(|l| !l.starts_with("\\restrict ") && !l.starts_with("\\unrestrict "))
        .map(|l| format!("{}\n", l.replace(db.name(), "<db>")))
        .collect()
}

/// A line diff of two texts: the differing lines with two lines of context around them.
fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    // Longest common subsequence table, from the ends (dumps are a few hundred lines).
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            ops.push(('+', b[j]));
            j += 1;
        } else {
            ops.push(('-', a[i]));
            i += 1;
        }
    }
    let near_change = |k: usize| {
        let lo = k.saturating_sub(2);
        let hi = (k + 2).min(ops.len() - 1);
        ops[lo..=hi].iter().any(|(op, _)| *op != ' ')
    };
    let mut out = String::new();
    let mut skipped = false;
    for (k, (op, line)) in ops.iter().enumerate() {
        if near_change(k) {
            if skipped {
                out.push_str("   ...\n");
                skipped = false;
            }
            out.push_str(&format!(" {op} {line}\n"));
        } else {
            skipped = true;
        }
    }
    out
}
