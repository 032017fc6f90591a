//! SQLite: a file (or memory) database.
//!
//! The lock is an `IMMEDIATE` transaction held for the whole run: it keeps every other writer
//! out (readers go on), and waits up to the lock timeout through SQLite's busy handler. Each
//! migration runs inside it as a savepoint, so a failed migration leaves no trace and the ones
//! before it are kept when the run ends. Durability is one sync at the end of the run; a crash
//! before that leaves the database at the version it had before the run.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions as _, Connection, Executor as _, Row};

use super::dialect::{self, quote_ident};
use super::{
    connection_error, ConnectOptions, Dialect, Driver, DriverError, DriverErrorKind, DriverResult,
    HistoryTable, Session,
};
use crate::model::HistoryRow;

pub struct SqliteDriver {
    conn: SqliteConnection,
    session: Session,
    /// The run-long IMMEDIATE transaction is open.
    locked: bool,
    /// A migration's own transaction (or savepoint) is open.
    in_step: bool,
}

const SAVEPOINT: &str = "godwit_migration";

impl SqliteDriver {
    pub async fn connect(url: &str, options: &ConnectOptions) -> DriverResult<SqliteDriver> {
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| DriverError {
                kind: DriverErrorKind::Connection,
                message: format!("invalid SQLite URL: {e}"),
                code: None,
            })?
            .create_if_missing(options.create_if_missing)
            // SQLite's own default; migrations that rebuild tables rely on it.
            .foreign_keys(false)
            .busy_timeout(options.lock_timeout)
            .disable_statement_logging();
        let database = opts.get_filename().display().to_string();
        // A reading command on a file that does not exist yet sees an empty database, and
        // leaves no file behind.
        let missing = !options.create_if_missing
            && !database.is_empty()
            && database != ":memory:"
            && !opts.get_filename().exists();
        let opts = if missing {
            SqliteConnectOptions::from_str("sqlite::memory:")
                .map_err(connection_error)?
                .disable_statement_logging()
        } else {
            opts
        };
        let mut conn = opts.connect().await.map_err(connection_error)?;
        let version: String = sqlx::query_scalar("SELECT sqlite_version()")
            .fetch_one(&mut conn)
            .await
            .map_err(connection_error)?;
        Ok(SqliteDriver {
            conn,
            session: Session {
                user: String::new(),
                database,
                schema: "main".into(),
                server_version: format!("SQLite {version}"),
            },
            locked: false,
            in_step: false,
        })
    }

    async fn run(&mut self, sql: &str) -> DriverResult<()> {
        self.conn.execute(sqlx::raw_sql(sql)).await?;
        Ok(())
    }

    fn master(schema: Option<&str>) -> String {
        match schema {
            Some(s) => format!("{}.sqlite_master", quote_ident(Dialect::Sqlite, s)),
            None => "sqlite_master".into(),
        }
    }
}

#[async_trait]
impl Driver for SqliteDriver {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn session(&self) -> &Session {
        &self.session
    }

    async fn lock(&mut self, _key: &str, _timeout: Duration) -> DriverResult<()> {
        if self.locked {
            return Ok(());
        }
        match self.run("BEGIN IMMEDIATE").await {
            Ok(()) => {
                self.locked = true;
                Ok(())
            }
            Err(e) if e.message.contains("locked") || e.message.contains("busy") => {
                Err(DriverError {
                    kind: DriverErrorKind::LockTimeout,
                    message: format!("another process kept the database locked: {}", e.message),
                    code: e.code,
                })
            }
            Err(e) => Err(e),
        }
    }

    async fn unlock(&mut self) -> DriverResult<()> {
        if !self.locked {
            return Ok(());
        }
        self.locked = false;
        self.run("COMMIT").await
    }

    async fn history_exists(&mut self, table: &HistoryTable) -> DriverResult<bool> {
        let sql = format!(
            "SELECT count(*) FROM {} WHERE type = 'table' AND name = ?",
            Self::master(table.schema.as_deref())
        );
        let n: i64 = sqlx::query_scalar(&sql)
            .bind(&table.name)
            .fetch_one(&mut self.conn)
            .await?;
        Ok(n > 0)
    }

    async fn read_history(&mut self, table: &HistoryTable) -> DriverResult<Vec<HistoryRow>> {
        let sql = dialect::select_history(Dialect::Sqlite, table);
        let rows = sqlx::query(&sql).fetch_all(&mut self.conn).await?;
        rows.iter()
            .map(|r| {
                Ok(HistoryRow {
                    installed_rank: r.try_get(0)?,
                    version: r.try_get(1)?,
                    description: r.try_get(2)?,
                    kind: r.try_get(3)?,
                    script: r.try_get(4)?,
                    checksum: r.try_get(5)?,
                    installed_by: r.try_get(6)?,
                    installed_on: r.try_get(7)?,
                    execution_time: r.try_get(8)?,
                    success: r.try_get::<i64, _>(9)? != 0,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(DriverError::from)
    }

    async fn has_objects(
        &mut self,
        schemas: &[String],
        table: &HistoryTable,
    ) -> DriverResult<bool> {
        let schema = schemas
            .first()
            .map(String::as_str)
            .or(table.schema.as_deref());
        let sql = format!(
            "SELECT count(*) FROM {} WHERE type IN ('table', 'view', 'trigger') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> ?",
            Self::master(schema)
        );
        let n: i64 = sqlx::query_scalar(&sql)
            .bind(&table.name)
            .fetch_one(&mut self.conn)
            .await?;
        Ok(n > 0)
    }

    async fn schema_exists(&mut self, schema: &str) -> DriverResult<bool> {
        let rows = sqlx::query("PRAGMA database_list")
            .fetch_all(&mut self.conn)
            .await?;
        Ok(rows
            .iter()
            .any(|r| r.try_get::<String, _>(1).is_ok_and(|name| name == schema)))
    }

    async fn query_text(&mut self, sql: &str) -> DriverResult<Vec<Vec<Option<String>>>> {
        let rows = sqlx::query(sql)
            .fetch_all(&mut self.conn)
            .await
            .map_err(DriverError::from)?;
        super::rows_as_text(&rows)
    }

    async fn begin(&mut self) -> DriverResult<()> {
        self.in_step = true;
        if self.locked {
            self.run(&format!("SAVEPOINT {SAVEPOINT}")).await
        } else {
            self.run("BEGIN").await
        }
    }

    async fn commit(&mut self) -> DriverResult<()> {
        self.in_step = false;
        if self.locked {
            self.run(&format!("RELEASE SAVEPOINT {SAVEPOINT}")).await
        } else {
            self.run("COMMIT").await
        }
    }

    async fn rollback(&mut self) -> DriverResult<()> {
        if !self.in_step {
            return Ok(());
        }
        self.in_step = false;
        if self.locked {
            self.run(&format!(
                "ROLLBACK TO SAVEPOINT {SAVEPOINT}; RELEASE SAVEPOINT {SAVEPOINT}"
            ))
            .await
        } else {
            self.run("ROLLBACK").await
        }
    }

    async fn enter_no_transaction(&mut self) -> DriverResult<()> {
        // VACUUM and friends refuse to run inside a transaction: commit what the run did so far.
        if self.locked {
            self.run("COMMIT").await?;
        }
        Ok(())
    }

    async fn leave_no_transaction(&mut self) -> DriverResult<()> {
        if self.locked {
            self.run("BEGIN IMMEDIATE").await?;
        }
        Ok(())
    }

    async fn execute(&mut self, sql: &str) -> DriverResult<()> {
        self.run(sql).await
    }

    async fn close(mut self: Box<Self>) -> DriverResult<()> {
        if self.locked {
            let _ = self.run("ROLLBACK").await;
        }
        self.conn.close().await.map_err(DriverError::from)
    }
}
