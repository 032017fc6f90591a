//! The databases the benchmark runs on: a fresh database per run (created and dropped outside
//! the timed part), the database's own command-line client, and a few queries of its own.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::{Connection, Executor};

use crate::measure::Cmd;
use crate::Database;

/// A database that exists for one run (or one workload's runs, for the read-only ones).
#[derive(Debug)]
pub struct Fresh {
    pub db: Database,
    pub name: String,
    /// The URL godwit and the in-process baseline connect to.
    pub url: String,
    /// The file, on SQLite.
    pub file: Option<PathBuf>,
    admin_url: String,
}

fn unique_name() -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "godwit_bench_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// The URL with its path (the database name) replaced by `name`; the query string is kept.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `mariadb` client's connection arguments for a `mysql://user:password@host:port/db` URL.
fn mariadb_args(url: &str) -> Vec<String> {
    let rest = url
        .trim_start_matches("mysql://")
        .trim_start_matches("mariadb://");
    let rest = rest.split('?').next().unwrap_or(rest);
    let (auth, host_db) = rest.rsplit_once('@').unwrap_or(("root", rest));
    let (user, password) = auth.split_once(':').unwrap_or((auth, ""));
    let (host_port, db) = host_db.split_once('/').unwrap_or((host_db, ""));
    let (host, port) = host_port.split_once(':').unwrap_or((host_port, "3306"));
    // `--no-defaults` must come first: the client reads no option file, as godwit reads none.
    let mut args = vec![
        "--no-defaults".to_string(),
        "--batch".to_string(),
        format!("--host={host}"),
        format!("--port={port}"),
        format!("--user={}", percent_decode(user)),
        "--protocol=tcp".to_string(),
    ];
    if !password.is_empty() {
        args.push(format!("--password={}", percent_decode(password)));
    }
    args.push(percent_decode(db));
    args
}

async fn admin_execute(db: Database, admin_url: &str, sql: &str) -> Result<(), String> {
    let hint = match db {
        Database::Postgres => "start PostgreSQL or point GODWIT_TEST_PG_URL / --pg-url at a server",
        Database::MySql => "start MariaDB or point GODWIT_TEST_MYSQL_URL / --mysql-url at a server",
        Database::Sqlite => "",
    };
    match db {
        Database::Postgres => {
            let mut c = sqlx::PgConnection::connect(admin_url)
                .await
                .map_err(|e| format!("cannot reach PostgreSQL at {admin_url}: {e}; {hint}"))?;
            c.execute(sqlx::raw_sql(sql))
                .await
                .map_err(|e| format!("{sql}: {e}"))?;
            let _ = c.close().await;
        }
        Database::MySql => {
            let mut c = sqlx::MySqlConnection::connect(admin_url)
                .await
                .map_err(|e| format!("cannot reach MariaDB/MySQL at {admin_url}: {e}; {hint}"))?;
            c.execute(sqlx::raw_sql(sql))
                .await
                .map_err(|e| format!("{sql}: {e}"))?;
            let _ = c.close().await;
        }
        Database::Sqlite => {}
    }
    Ok(())
}

impl Fresh {
    /// Creates an empty database: on the server from `admin_url`, or an SQLite file in `dir`.
    pub async fn create(db: Database, admin_url: &str, dir: &Path) -> Result<Fresh, String> {
        let name = unique_name();
        match db {
            Database::Sqlite => {
                let file = dir.join(format!("{name}.db"));
                Ok(Fresh {
                    db,
                    url: format!("sqlite://{}", file.display()),
                    file: Some(file),
                    name,
                    admin_url: String::new(),
                })
            }
            Database::Postgres | Database::MySql => {
                admin_execute(db, admin_url, &format!("CREATE DATABASE {name}")).await?;
                Ok(Fresh {
                    db,
                    url: with_database(admin_url, &name),
                    file: None,
                    name,
                    admin_url: admin_url.to_string(),
                })
            }
        }
    }

    /// Drops the database (removes the SQLite file and its journals).
    pub async fn drop_database(self) -> Result<(), String> {
        match self.db {
            Database::Sqlite => {
                if let Some(file) = &self.file {
                    for suffix in ["", "-journal", "-wal", "-shm"] {
                        let mut p = file.clone().into_os_string();
                        p.push(suffix);
                        let _ = std::fs::remove_file(PathBuf::from(p));
                    }
                }
                Ok(())
            }
            Database::Postgres => {
                admin_execute(
                    self.db,
                    &self.admin_url,
                    &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
                )
                .await
            }
            Database::MySql => {
                admin_execute(
                    self.db,
                    &self.admin_url,
                    &format!("DROP DATABASE IF EXISTS {}", self.name),
                )
                .await
            }
        }
    }

    /// The database's own client connected to this database (`psql`, `mariadb`, `sqlite3`),
    /// stopping at the first error, reading nothing from the user's configuration.
    pub fn client(&self) -> Cmd {
        match self.db {
            Database::Postgres => {
                let mut c = Cmd::new("psql");
                c.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d"])
                    .arg(&self.url);
                c
            }
            Database::MySql => {
                let mut c = Cmd::new("mariadb");
                c.args(mariadb_args(&self.url));
                c
            }
            Database::Sqlite => {
                let mut c = Cmd::new("sqlite3");
                c.arg("-bail");
                if let Some(file) = &self.file {
                    c.arg(file);
                }
                c
            }
        }
    }

    /// The client running one SQL command given on its command line.
    pub fn client_command(&self, sql: &str) -> Cmd {
        let mut c = self.client();
        match self.db {
            Database::Postgres => c.args(["-A", "-t", "-c", sql]),
            Database::MySql => c.args(["-e", sql]),
            Database::Sqlite => c.arg(sql),
        };
        c
    }

    /// Runs statements on this database from the benchmark itself (set-up, never timed).
    pub async fn execute(&self, sql: &str) -> Result<(), String> {
        let err = |e: sqlx::Error| format!("{}: {e}", self.name);
        match self.db {
            Database::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.url).await.map_err(err)?;
                c.execute(sqlx::raw_sql(sql)).await.map_err(err)?;
                let _ = c.close().await;
            }
            Database::MySql => {
                let mut c = sqlx::MySqlConnection::connect(&self.url)
                    .await
                    .map_err(err)?;
                c.execute(sqlx::raw_sql(sql)).await.map_err(err)?;
                let _ = c.close().await;
            }
            Database::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .map_err(err)?;
                c.execute(sqlx::raw_sql(sql)).await.map_err(err)?;
                let _ = c.close().await;
            }
        }
        Ok(())
    }

    /// A query's single integer result, to check that a run did its work.
    pub async fn count(&self, sql: &str) -> Result<i64, String> {
        let err = |e: sqlx::Error| format!("{} on {}: {e}", sql, self.name);
        let n = match self.db {
            Database::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.url).await.map_err(err)?;
                let n: i64 = sqlx::query_scalar(sql)
                    .fetch_one(&mut c)
                    .await
                    .map_err(err)?;
                let _ = c.close().await;
                n
            }
            Database::MySql => {
                let mut c = sqlx::MySqlConnection::connect(&self.url)
                    .await
                    .map_err(err)?;
                let n: i64 = sqlx::query_scalar(sql)
                    .fetch_one(&mut c)
                    .await
                    .map_err(err)?;
                let _ = c.close().await;
                n
            }
            Database::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .map_err(err)?;
                let n: i64 = sqlx::query_scalar(sql)
                    .fetch_one(&mut c)
                    .await
                    .map_err(err)?;
                let _ = c.close().await;
                n
            }
        };
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_is_replaced_in_urls() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("mysql://root@127.0.0.1:3306/test?ssl-mode=disabled", "x"),
            "mysql://root@127.0.0.1:3306/x?ssl-mode=disabled"
        );
        assert_eq!(
            with_database("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }

    #[test]
    fn mariadb_arguments_come_from_the_url() {
        assert_eq!(
            mariadb_args("mysql://app:p%40ss@db.local:3307/shop"),
            [
                "--no-defaults",
                "--batch",
                "--host=db.local",
                "--port=3307",
                "--user=app",
                "--protocol=tcp",
                "--password=p@ss",
                "shop"
            ]
        );
    }
}
