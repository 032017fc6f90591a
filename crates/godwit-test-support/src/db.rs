//! Databases made for one test (or one benchmark run): created on the shared server, dropped
//! afterwards; SQLite files in the test's directory.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::Connection;

use crate::block_on;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Sqlite,
    Postgres,
    MySql,
}

/// The shared PostgreSQL server's administrative URL: `GODWIT_TEST_PG_URL`, else the local
/// server as `postgres` without a password.
#[must_use]
pub fn pg_admin_url() -> String {
    std::env::var("GODWIT_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The shared MariaDB/MySQL server's administrative URL: `GODWIT_TEST_MYSQL_URL`, else the
/// local server as `root` with an empty password, in database `test`.
#[must_use]
pub fn mysql_admin_url() -> String {
    std::env::var("GODWIT_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

/// A database name no other test, suite or process uses: `<prefix>_<pid>_<counter>_<nanos>`.
#[must_use]
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// `url` with its database (the path) replaced by `name`; the query string is kept.
#[must_use]
pub fn database_url(url: &str, name: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            u.set_path(&format!("/{name}"));
            u.to_string()
        }
        Err(_) => format!("{}/{name}", url.trim_end_matches('/')),
    }
}

/// The `mariadb` client's connection arguments for `mysql://user[:password]@host[:port]/db`
/// (user, password and database percent-decoded): `--host=… --port=… --user=… --protocol=tcp
/// [--password=…] db`. Options such as `--no-defaults` go before them.
#[must_use]
pub fn mariadb_connection_args(url: &str) -> Vec<String> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let Ok(u) = url::Url::parse(url) else {
        return vec![url.to_string()];
    };
    let user = if u.username().is_empty() {
        "root".to_string()
    } else {
        decode(u.username())
    };
    let mut args = vec![
        format!("--host={}", u.host_str().unwrap_or("127.0.0.1")),
        format!("--port={}", u.port().unwrap_or(3306)),
        format!("--user={user}"),
        "--protocol=tcp".to_string(),
    ];
    if let Some(password) = u.password().filter(|p| !p.is_empty()) {
        args.push(format!("--password={}", decode(password)));
    }
    args.push(decode(u.path().trim_start_matches('/')));
    args
}

/// Runs statements on a server's administrative database (creating and dropping databases).
pub async fn admin_execute(kind: Kind, admin_url: &str, sql: &str) -> Result<(), String> {
    match kind {
        Kind::Postgres => {
            let mut c = sqlx::PgConnection::connect(admin_url)
                .await
                .map_err(|e| format!("cannot reach PostgreSQL at {admin_url}: {e}"))?;
            sqlx::raw_sql(sql)
                .execute(&mut c)
                .await
                .map_err(|e| format!("{sql}: {e}"))?;
            let _ = c.close().await;
        }
        Kind::MySql => {
            let mut c = sqlx::MySqlConnection::connect(admin_url)
                .await
                .map_err(|e| format!("cannot reach MariaDB/MySQL at {admin_url}: {e}"))?;
            sqlx::raw_sql(sql)
                .execute(&mut c)
                .await
                .map_err(|e| format!("{sql}: {e}"))?;
            let _ = c.close().await;
        }
        Kind::Sqlite => {}
    }
    Ok(())
}

/// Creates database `name` on the server of `admin_url`; returns its URL.
pub async fn create_database(kind: Kind, admin_url: &str, name: &str) -> Result<String, String> {
    admin_execute(kind, admin_url, &format!("CREATE DATABASE {name}")).await?;
    Ok(database_url(admin_url, name))
}

/// Drops database `name` on the server of `admin_url` (on PostgreSQL even while connections
/// remain: `WITH (FORCE)`).
pub async fn drop_database(kind: Kind, admin_url: &str, name: &str) -> Result<(), String> {
    let sql = match kind {
        Kind::Postgres => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        Kind::MySql => format!("DROP DATABASE IF EXISTS {name}"),
        Kind::Sqlite => return Ok(()),
    };
    admin_execute(kind, admin_url, &sql).await
}

const PG_HINT: &str = "start PostgreSQL (scripts/test does, or `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`) or point GODWIT_TEST_PG_URL at a server";
const MYSQL_HINT: &str = "start MariaDB (scripts/test does, or `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd`) or point GODWIT_TEST_MYSQL_URL at a server";

/// A database that exists for one test; a server database is dropped with this value.
#[must_use = "the database is dropped as soon as this value is"]
#[derive(Debug)]
pub struct TestDb {
    pub kind: Kind,
    pub url: String,
    name: String,
    /// Whether Drop drops the database (not for one on a private server the test owns).
    owned: bool,
}

impl TestDb {
    /// A new database: a SQLite file in `dir` (not created yet), or a database created on the
    /// shared server.
    pub fn create(kind: Kind, dir: &Path) -> TestDb {
        let name = unique_name("godwit_t");
        let url = match kind {
            Kind::Sqlite => format!("sqlite://{}", dir.join(format!("{name}.db")).display()),
            Kind::Postgres | Kind::MySql => {
                let admin = admin_url(kind);
                block_on(|| create_database(kind, &admin, &name)).unwrap_or_else(|e| {
                    let hint = if kind == Kind::Postgres {
                        PG_HINT
                    } else {
                        MYSQL_HINT
                    };
                    panic!("cannot create a test database: {e}\n{hint}")
                })
            }
        };
        TestDb {
            kind,
            url,
            name,
            owned: true,
        }
    }

    /// A new database on the shared PostgreSQL or MariaDB server.
    pub fn on_server(kind: Kind) -> TestDb {
        assert_ne!(kind, Kind::Sqlite, "a SQLite database needs a directory");
        TestDb::create(kind, Path::new("."))
    }

    /// A database that already exists on a server the test owns ([`crate::PrivatePg`],
    /// [`crate::PrivateMaria`]); it goes away with that server, so Drop leaves it alone.
    pub fn existing(kind: Kind, url: String, name: &str) -> TestDb {
        TestDb {
            kind,
            url,
            name: name.to_string(),
            owned: false,
        }
    }

    /// The database's name on the server (the file's stem on SQLite).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs SQL directly (not through godwit) and returns the first column of every row as
    /// text (text, integer or boolean columns).
    #[must_use]
    pub fn query(&self, sql: &str) -> Vec<Option<String>> {
        self.rows(sql)
            .into_iter()
            .map(|mut row| if row.is_empty() { None } else { row.remove(0) })
            .collect()
    }

    /// Runs SQL directly and returns every column of every row as text.
    #[must_use]
    pub fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        let (kind, url) = (self.kind, self.url.as_str());
        block_on(|| async move {
            match kind {
                Kind::Sqlite => {
                    let mut c = sqlx::SqliteConnection::connect(url).await.expect("connect");
                    let rows = sqlx::query(sql).fetch_all(&mut c).await.expect(sql);
                    let _ = c.close().await;
                    text_rows(&rows)
                }
                Kind::Postgres => {
                    let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
                    let rows = sqlx::raw_sql(sql).fetch_all(&mut c).await.expect(sql);
                    let _ = c.close().await;
                    text_rows(&rows)
                }
                Kind::MySql => {
                    let mut c = sqlx::MySqlConnection::connect(url).await.expect("connect");
                    let rows = sqlx::raw_sql(sql).fetch_all(&mut c).await.expect(sql);
                    let _ = c.close().await;
                    text_rows(&rows)
                }
            }
        })
    }

    /// Runs statements directly (not through godwit); a SQLite file is created if needed.
    pub fn exec(&self, sql: &str) {
        let (kind, url) = (self.kind, self.url.as_str());
        block_on(|| async move {
            match kind {
                Kind::Sqlite => {
                    let url = format!("{url}?mode=rwc");
                    let mut c = sqlx::SqliteConnection::connect(&url)
                        .await
                        .expect("connect");
                    sqlx::raw_sql(sql).execute(&mut c).await.expect(sql);
                    let _ = c.close().await;
                }
                Kind::Postgres => {
                    let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
                    sqlx::raw_sql(sql).execute(&mut c).await.expect(sql);
                    let _ = c.close().await;
                }
                Kind::MySql => {
                    let mut c = sqlx::MySqlConnection::connect(url).await.expect("connect");
                    sqlx::raw_sql(sql).execute(&mut c).await.expect(sql);
                    let _ = c.close().await;
                }
            }
        })
    }

    /// Waits (at most a minute, else panics) until another session of this server database
    /// runs a statement that starts with `prefix` (PostgreSQL, MySQL/MariaDB).
    #[track_caller]
    pub fn wait_for_statement(&self, prefix: &str) {
        let query = match self.kind {
            Kind::Postgres => format!(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND pid <> pg_backend_pid() AND state = 'active' AND query LIKE '%{prefix}%'"
            ),
            Kind::MySql => format!(
                "SELECT count(*) FROM information_schema.PROCESSLIST WHERE DB = DATABASE() \
                 AND ID <> CONNECTION_ID() AND INFO LIKE '{prefix}%'"
            ),
            Kind::Sqlite => panic!("SQLite has no other sessions to watch"),
        };
        let started = std::time::Instant::now();
        while self.query(&query) != vec![Some("1".to_string())] {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "the statement `{prefix}` never started"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// A command for the database's own command-line client connected to this database:
    /// `sqlite3 -bail`, `psql -X -q -v ON_ERROR_STOP=1`, or `mariadb` over TCP.
    #[must_use]
    pub fn client(&self) -> Command {
        match self.kind {
            Kind::Sqlite => {
                let mut c = Command::new("sqlite3");
                c.arg("-bail").arg(self.url.trim_start_matches("sqlite://"));
                c
            }
            Kind::Postgres => {
                let mut c = Command::new("psql");
                c.arg(&self.url).args(["-X", "-q", "-v", "ON_ERROR_STOP=1"]);
                c
            }
            Kind::MySql => {
                let mut c = Command::new("mariadb");
                c.args(mariadb_connection_args(&self.url));
                c
            }
        }
    }

    /// Runs a SQL script with the database's own command-line client ([`TestDb::client`]),
    /// stopping at the first error; returns the client's output on failure.
    pub fn run_client(&self, script: &str) -> Result<(), String> {
        let mut cmd = self.client();
        if self.kind == Kind::Postgres {
            cmd.args(["-f", "-"]);
        }
        pipe_script(cmd, script)
    }

    /// Whether the SQLite file exists (godwit must not create it on bad input).
    #[must_use]
    pub fn sqlite_exists(&self) -> bool {
        self.url
            .strip_prefix("sqlite://")
            .is_some_and(|p| Path::new(p).exists())
    }

    /// The names of the user tables, sorted (to compare schemas).
    #[must_use]
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
    #[must_use]
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

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.owned && self.kind != Kind::Sqlite {
            let admin = admin_url(self.kind);
            let _ = block_on(|| drop_database(self.kind, &admin, &self.name));
        }
    }
}

/// Feeds `script` to a client on its standard input; its output on failure.
fn pipe_script(mut cmd: Command, script: &str) -> Result<(), String> {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run the database client: {e}"))?;
    let mut stdin = child.stdin.take().expect("stdin");
    let script = script.to_string();
    // Written from a thread: a client that fails early stops reading, and its output pipes must
    // still be drained.
    let writer = std::thread::spawn(move || stdin.write_all(script.as_bytes()));
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let _ = writer.join();
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

pub(crate) fn pipe_script_checked(cmd: Command, script: &str) {
    if let Err(e) = pipe_script(cmd, script) {
        panic!("{script}: {e}");
    }
}

/// Every column of every row as text (text, integer or boolean columns).
fn text_rows<R: sqlx::Row>(rows: &[R]) -> Vec<Vec<Option<String>>>
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
            (0..r.len())
                .map(|i| {
                    r.try_get::<Option<String>, _>(i)
                        .or_else(|_| r.try_get::<Option<i64>, _>(i).map(text))
                        .or_else(|_| r.try_get::<Option<i32>, _>(i).map(text))
                        .or_else(|_| r.try_get::<Option<bool>, _>(i).map(text))
                        .expect("a text, integer or boolean column")
                })
                .collect()
        })
        .collect()
}

/// The URL of the server's administrative database for a server kind.
fn admin_url(kind: Kind) -> String {
    match kind {
        Kind::MySql => mysql_admin_url(),
        _ => pg_admin_url(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_is_replaced_in_urls() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            database_url("mysql://root@127.0.0.1:3306/test?ssl-mode=disabled", "x"),
            "mysql://root@127.0.0.1:3306/x?ssl-mode=disabled"
        );
        assert_eq!(
            database_url("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }

    #[test]
    fn mariadb_arguments_come_from_the_url() {
        assert_eq!(
            mariadb_connection_args("mysql://app:p%40ss@db.local:3307/shop?x=1"),
            [
                "--host=db.local",
                "--port=3307",
                "--user=app",
                "--protocol=tcp",
                "--password=p@ss",
                "shop"
            ]
        );
        assert_eq!(
            mariadb_connection_args("mysql://root@127.0.0.1/test"),
            [
                "--host=127.0.0.1",
                "--port=3306",
                "--user=root",
                "--protocol=tcp",
                "test"
            ]
        );
    }
}
