//! Runs the real `godwit` binary in a temporary project against a real database: a SQLite file,
//! or a PostgreSQL / MariaDB database created for the test and dropped after it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::Connection;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
    MySql,
}

pub fn pg_admin_url() -> String {
    std::env::var("GODWIT_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn mysql_admin_url() -> String {
    std::env::var("GODWIT_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn unique_name() -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "godwit_t_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// A database that exists for one test.
pub struct TestDb {
    pub kind: Kind,
    pub url: String,
    name: String,
    /// Whether Drop drops the database (not for one on a private server the test owns).
    owned: bool,
}

const PG_HINT: &str = "start PostgreSQL (e.g. `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`) or point GODWIT_TEST_PG_URL at a server";
const MYSQL_HINT: &str = "start MariaDB (e.g. `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd`) or point GODWIT_TEST_MYSQL_URL at a server";

impl TestDb {
    /// The database's name on the server (the file's stem on SQLite).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn create(kind: Kind, dir: &Path) -> TestDb {
        let name = unique_name();
        let url = match kind {
            Kind::Sqlite => format!("sqlite://{}", dir.join(format!("{name}.db")).display()),
            Kind::Postgres | Kind::MySql => {
                let admin = admin_url(kind);
                if let Err(e) = admin_exec(kind, &format!("CREATE DATABASE {name}")) {
                    let hint = if kind == Kind::Postgres {
                        PG_HINT
                    } else {
                        MYSQL_HINT
                    };
                    panic!("cannot create a test database at {admin}: {e}\n{hint}");
                }
                replace_db(&admin, &name)
            }
        };
        TestDb {
            kind,
            url,
            name,
            owned: true,
        }
    }

    /// A database that already exists on a server the test owns (see `private.rs`); it goes
    /// away with that server, so Drop leaves it alone.
    pub fn existing(kind: Kind, url: String, name: &str) -> TestDb {
        TestDb {
            kind,
            url,
            name: name.to_string(),
            owned: false,
        }
    }

    /// Runs SQL directly (not through godwit) and returns the first column of every row as text.
    pub fn query(&self, sql: &str) -> Vec<Option<String>> {
        runtime().block_on(async {
            match self.kind {
                Kind::Sqlite => {
                    let mut c = sqlx::SqliteConnection::connect(&self.url)
                        .await
                        .expect("connect");
                    first_column(&sqlx::query(sql).fetch_all(&mut c).await.expect(sql))
                }
                Kind::Postgres => {
                    let mut c = sqlx::PgConnection::connect(&self.url)
                        .await
                        .expect("connect");
                    first_column(&sqlx::raw_sql(sql).fetch_all(&mut c).await.expect(sql))
                }
                Kind::MySql => {
                    let mut c = sqlx::MySqlConnection::connect(&self.url)
                        .await
                        .expect("connect");
                    first_column(&sqlx::raw_sql(sql).fetch_all(&mut c).await.expect(sql))
                }
            }
        })
    }

    /// Runs a SQL script with the database's own command-line client (`sqlite3`, `psql`,
    /// `mariadb`), stopping at the first error; returns the client's output on failure.
    pub fn run_client(&self, script: &str) -> Result<(), String> {
        use std::io::Write;
        let mut cmd = match self.kind {
            Kind::Sqlite => {
                let mut c = Command::new("sqlite3");
                c.arg("-bail").arg(self.url.trim_start_matches("sqlite://"));
                c
            }
            Kind::Postgres => {
                let mut c = Command::new("psql");
                c.arg(&self.url)
                    .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-"]);
                c
            }
            Kind::MySql => {
                // mysql://user[:password]@host[:port]/database
                let rest = self.url.trim_start_matches("mysql://");
                let (auth, host_db) = rest.split_once('@').unwrap_or(("root", rest));
                let (user, password) = auth.split_once(':').unwrap_or((auth, ""));
                let (host_port, db) = host_db.split_once('/').unwrap_or((host_db, ""));
                let db = db.split('?').next().unwrap_or(db);
                let (host, port) = host_port.split_once(':').unwrap_or((host_port, "3306"));
                let mut c = Command::new("mariadb");
                c.args([
                    "--host",
                    host,
                    "--port",
                    port,
                    "--user",
                    user,
                    "--protocol",
                    "tcp",
                ]);
                if !password.is_empty() {
                    c.arg(format!("--password={password}"));
                }
                c.arg(db);
                c
            }
        };
        let mut child = cmd
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run the database client: {e}"))?;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(script.as_bytes())
            .map_err(|e| e.to_string())?;
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
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

    /// Whether the SQLite file exists (godwit must not create it on bad input).
    pub fn sqlite_exists(&self) -> bool {
        self.url
            .strip_prefix("sqlite://")
            .is_some_and(|p| Path::new(p).exists())
    }

    /// Runs statements directly (not through godwit).
    pub fn exec(&self, sql: &str) {
        runtime().block_on(async {
            match self.kind {
                Kind::Sqlite => {
                    let url = format!("{}?mode=rwc", self.url);
                    let mut c = sqlx::SqliteConnection::connect(&url)
                        .await
                        .expect("connect");
                    sqlx::raw_sql(sql).execute(&mut c).await.expect(sql);
                }
                Kind::Postgres => {
                    let mut c = sqlx::PgConnection::connect(&self.url)
                        .await
                        .expect("connect");
                    sqlx::raw_sql(sql).execute(&mut c).await.expect(sql);
                }
                Kind::MySql => {
                    let mut c = sqlx::MySqlConnection::connect(&self.url)
                        .await
                        .expect("connect");
                    sqlx::raw_sql(sql).execute(&mut c).await.expect(sql);
                }
            }
        })
    }

    /// The names of the user tables, sorted (to compare schemas).
    pub fn tables(&self) -> Vec<String> {
        if self.kind == Kind::Sqlite && !self.sqlite_exists() {
            return Vec::new();
        }
        let sql = match self.kind {
            Kind::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name".to_string(),
            Kind::Postgres => "SELECT tablename::text FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1".to_string(),
            Kind::MySql => format!("SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = '{}' ORDER BY 1", self.name),
        };
        self.query(&sql).into_iter().flatten().collect()
    }

    /// The history rows as `version|description|type|success`, in rank order.
    pub fn history(&self, table: &str) -> Vec<String> {
        let success = "CASE WHEN success THEN 'true' ELSE 'false' END";
        let concat = match self.kind {
            Kind::MySql => format!(
                "CONCAT(COALESCE(version, ''), '|', description, '|', type, '|', {success})"
            ),
            _ => format!(
                "COALESCE(version, '') || '|' || description || '|' || type || '|' || {success}"
            ),
        };
        self.query(&format!(
            "SELECT {concat} FROM {table} ORDER BY installed_rank"
        ))
        .into_iter()
        .flatten()
        .collect()
    }
}

/// The first column of every row as text (text, integer or boolean columns).
fn first_column<R: sqlx::Row>(rows: &[R]) -> Vec<Option<String>>
where
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i32>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<bool>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    fn text<T: ToString>(v: Option<T>) -> Option<String> {
        v.map(|v| v.to_string())
    }
    rows.iter()
        .map(|r| {
            r.try_get::<Option<String>, _>(0)
                .or_else(|_| r.try_get::<Option<i64>, _>(0).map(text))
                .or_else(|_| r.try_get::<Option<i32>, _>(0).map(text))
                .or_else(|_| r.try_get::<Option<bool>, _>(0).map(text))
                .expect("a text, integer or boolean column")
        })
        .collect()
}

fn replace_db(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..].find('/').map(|i| i + scheme_end);
    let host = match path_start {
        Some(i) => &base[..i],
        None => base,
    };
    match query {
        Some(q) => format!("{host}/{name}?{q}"),
        None => format!("{host}/{name}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        let drop_sql = match self.kind {
            Kind::Sqlite => return,
            Kind::Postgres => format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            Kind::MySql => format!("DROP DATABASE IF EXISTS {}", self.name),
        };
        let _ = admin_exec(self.kind, &drop_sql);
    }
}

/// The URL of the server's administrative database for a server kind.
fn admin_url(kind: Kind) -> String {
    match kind {
        Kind::MySql => mysql_admin_url(),
        _ => pg_admin_url(),
    }
}

/// Runs one statement on the server's administrative database (creating and dropping test
/// databases).
fn admin_exec(kind: Kind, sql: &str) -> Result<(), sqlx::Error> {
    let url = admin_url(kind);
    runtime().block_on(async {
        match kind {
            Kind::MySql => {
                let mut c = sqlx::MySqlConnection::connect(&url).await?;
                sqlx::raw_sql(sql).execute(&mut c).await.map(drop)
            }
            _ => {
                let mut c = sqlx::PgConnection::connect(&url).await?;
                sqlx::raw_sql(sql).execute(&mut c).await.map(drop)
            }
        }
    })
}

/// A temporary project directory with a `migrations` folder and a database.
pub struct Project {
    pub dir: tempfile::TempDir,
    pub db: TestDb,
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn success(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success\n{self}");
        self
    }

    #[track_caller]
    pub fn code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "expected exit code {code}\n{self}");
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, text: &str) -> &Self {
        assert!(self.stderr.contains(text), "stderr lacks {text:?}\n{self}");
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, text: &str) -> &Self {
        assert!(self.stdout.contains(text), "stdout lacks {text:?}\n{self}");
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{self}"))
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub fn godwit_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_godwit"))
}

impl Project {
    pub fn new(kind: Kind) -> Project {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("migrations")).expect("mkdir");
        let db = TestDb::create(kind, dir.path());
        Project { dir, db }
    }

    /// A project on a database that already exists (on a private server, see `private.rs`).
    pub fn with_db(db: TestDb) -> Project {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("migrations")).expect("mkdir");
        Project { dir, db }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file relative to the project (creating directories).
    pub fn file(&self, rel: &str, text: &str) -> &Self {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
        self
    }

    /// Writes a migration into `migrations/`.
    pub fn migration(&self, name: &str, text: &str) -> &Self {
        self.file(&format!("migrations/{name}"), text)
    }

    pub fn remove(&self, rel: &str) {
        std::fs::remove_file(self.dir.path().join(rel)).expect("remove");
    }

    /// A command for the binary with a clean environment, in the project directory, with the
    /// database URL in GODWIT_URL.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(godwit_bin());
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join(".config"))
            .env("NO_COLOR", "1")
            .env("GODWIT_URL", &self.db.url);
        cmd
    }

    pub fn godwit(&self, args: &[&str]) -> Run {
        run(self.command(args))
    }

    pub fn godwit_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = self.command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        run(cmd)
    }
}

pub fn run(mut cmd: Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("run godwit");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// Generates one `#[test]` per database for each named function taking a [`Kind`].
#[macro_export]
macro_rules! on_every_database {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    super::$name($crate::harness::Kind::Sqlite)
                }
                #[test]
                fn postgres() {
                    super::$name($crate::harness::Kind::Postgres)
                }
                #[test]
                fn mysql() {
                    super::$name($crate::harness::Kind::MySql)
                }
            }
        )+
    };
}
