//! Waiting for the database (connect retries, `godwit wait`) and progress (the start line, the
//! heartbeat of a long statement, `-q` and `-v`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::harness::{run, Kind, Project};

/// A PostgreSQL cluster of the test's own (initdb + pg_ctl on a free loopback port, its own
/// socket directory), started when the test says so and removed afterwards.
struct PrivatePostgres {
    dir: tempfile::TempDir,
    port: u16,
    started: bool,
}

/// The directory of PostgreSQL's server programs (`initdb`, `pg_ctl`): the newest under
/// `/usr/lib/postgresql`, else found on PATH.
fn pg_bin(program: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path().join("bin"))
                .filter(|p| p.join(program).exists())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs.pop()
        .map_or_else(|| PathBuf::from(program), |d| d.join(program))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A PostgreSQL program, as user postgres when the tests run as root (the server refuses root).
fn pg_command(program: &str) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(pg_bin(program));
        c
    } else {
        Command::new(pg_bin(program))
    }
}

impl PrivatePostgres {
    /// Creates the cluster (initdb), without starting it.
    fn create() -> PrivatePostgres {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        std::fs::create_dir_all(data.parent().expect("parent")).expect("mkdir");
        if is_root() {
            chmod(dir.path(), "755");
            let status = Command::new("install")
                .args(["-d", "-o", "postgres", "-m", "700"])
                .arg(&data)
                .arg(dir.path().join("sock"))
                .status()
                .expect("run install");
            assert!(status.success(), "cannot create the cluster's directories");
        } else {
            std::fs::create_dir_all(dir.path().join("sock")).expect("mkdir");
        }
        let out = pg_command("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "--no-sync"])
            .stdout(Stdio::null())
            .output()
            .expect("run initdb (install the PostgreSQL server package)");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        PrivatePostgres {
            dir,
            port,
            started: false,
        }
    }

    fn url(&self, user: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server and waits until it accepts connections.
    fn start(&mut self) {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories={} -c fsync=off",
            self.port,
            self.dir.path().join("sock").display()
        );
        let out = pg_command("pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-o", &options, "-l"])
            .arg(self.dir.path().join("data").join("server.log"))
            .args(["-w", "start"])
            .stdout(Stdio::null())
            .output()
            .expect("run pg_ctl");
        self.started = true;
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn chmod(path: &Path, mode: &str) {
    let status = Command::new("chmod")
        .arg(mode)
        .arg(path)
        .status()
        .expect("run chmod");
    assert!(status.success());
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        if self.started {
            let _ = pg_command("pg_ctl")
                .arg("-D")
                .arg(self.dir.path().join("data"))
                .args(["-m", "immediate", "-w", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// `godwit wait` and `migrate` started before the server: both retry, say so on each retry,
/// and succeed once the server is up, a few seconds late.
#[test]
fn wait_and_migrate_retry_until_a_late_postgres_is_up() {
    let mut server = PrivatePostgres::create();
    let p = Project::new(Kind::Sqlite);
    p.migration("V1__people.sql", "CREATE TABLE people (id int);\n");
    let url = server.url("postgres");
    let retrying = [
        "--connect-retries",
        "30",
        "--connect-retries-interval",
        "1s",
    ];
    let spawn = |args: &[&str]| {
        let mut cmd = p.command(args);
        cmd.args(retrying)
            .env("GODWIT_URL", &url)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd.spawn().expect("start godwit")
    };
    let wait = spawn(&["wait"]);
    let migrate = spawn(&["migrate"]);
    std::thread::sleep(std::time::Duration::from_secs(3));
    server.start();
    for (name, child) in [("wait", wait), ("migrate", migrate)] {
        let out = child.wait_with_output().expect("godwit ends");
        let run = crate::harness::Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
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
    cmd.env("GODWIT_URL", server.url("no_such_role"));
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

crate::on_every_database!(
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
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let child = cmd.spawn().expect("start godwit");
    // Wait for the first retry line's wait (the first attempt fails at once).
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("godwit ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("retry 1 of 100"), "{stderr}");
    assert!(
        stderr.contains("Interrupted (SIGINT) while connecting to the database: nothing was done"),
        "{stderr}"
    );
}
