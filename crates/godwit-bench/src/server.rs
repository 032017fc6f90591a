//! The databases the benchmark runs on: a fresh database per run (created and dropped outside
//! the timed part), the database's own command-line client, and a few queries of its own.
//!
//! Creating, naming and dropping databases and the `mariadb` client's arguments come from the
//! test harness (`godwit-test-support`); what stays here is what a benchmark run needs and a
//! test does not: errors as values instead of panics (a failed run is reported, the others go
//! on), an explicit drop outside the timed part instead of `Drop`, SQLite's journal files
//! removed, and the clients as timed [`Cmd`]s.

use std::path::{Path, PathBuf};

use godwit_test_support::{create_database, drop_database, mariadb_connection_args, Kind};
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

/// The test harness's kind for a benchmark database.
fn kind(db: Database) -> Kind {
    match db {
        Database::Postgres => Kind::Postgres,
        Database::MySql => Kind::MySql,
        Database::Sqlite => Kind::Sqlite,
    }
}

/// What to do when the server cannot be reached.
fn hint(db: Database) -> &'static str {
    match db {
        Database::Postgres => "start PostgreSQL or point GODWIT_TEST_PG_URL / --pg-url at a server",
        Database::MySql => "start MariaDB or point GODWIT_TEST_MYSQL_URL / --mysql-url at a server",
        Database::Sqlite => "",
    }
}

impl Fresh {
    /// Creates an empty database: on the server from `admin_url`, or an SQLite file in `dir`.
    pub async fn create(db: Database, admin_url: &str, dir: &Path) -> Result<Fresh, String> {
        let name = godwit_test_support::unique_name("godwit_bench");
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
                let url = create_database(kind(db), admin_url, &name)
                    .await
                    .map_err(|e| format!("{e}; {}", hint(db)))?;
                Ok(Fresh {
                    db,
                    url,
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
            Database::Postgres | Database::MySql => {
                drop_database(kind(self.db), &self.admin_url, &self.name)
                    .await
                    .map_err(|e| format!("{e}; {}", hint(self.db)))
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
                // `--no-defaults` must come first: the client reads no option file, as godwit
                // reads none.
                let mut c = Cmd::new("mariadb");
                c.args(["--no-defaults", "--batch"])
                    .args(mariadb_connection_args(&self.url));
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
