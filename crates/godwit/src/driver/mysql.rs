//! MySQL and MariaDB.
//!
//! DDL commits implicitly, so a migration that fails after changing something cannot be rolled
//! back: the executor records it with `success = false` and later runs refuse until `repair`.
//! The lock is `GET_LOCK`, a named lock held by the session until `RELEASE_LOCK` or disconnect.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlDatabaseError};
use sqlx::{ConnectOptions as _, Connection, Executor as _, Row};

use super::dialect;
use super::{
    connection_error, ConnectOptions, Dialect, Driver, DriverError, DriverErrorKind, DriverResult,
    HistoryTable, Session,
};
use crate::model::HistoryRow;

pub struct MySqlDriver {
    conn: MySqlConnection,
    session: Session,
    lock_name: Option<String>,
}

impl MySqlDriver {
    pub async fn connect(url: &str, options: &ConnectOptions) -> DriverResult<MySqlDriver> {
        // sqlx knows the `mysql` scheme; `mariadb://` is the same protocol.
        let normalised = match url.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("mariadb") => {
                format!("mysql://{rest}")
            }
            _ => url.to_string(),
        };
        let opts = MySqlConnectOptions::from_str(&normalised)
            .map_err(|e| DriverError {
                kind: DriverErrorKind::Connection,
                message: format!(
                    "invalid MySQL URL: {}",
                    crate::util::scrub(&e.to_string(), url)
                ),
                code: None,
            })?
            .disable_statement_logging();
        let conn = tokio::time::timeout(options.connect_timeout, opts.connect())
            .await
            .map_err(|_| DriverError {
                kind: DriverErrorKind::Connection,
                message: format!(
                    "no answer from the server within {}",
                    crate::util::format_duration(options.connect_timeout)
                ),
                code: None,
            })?
            .map_err(|e| {
                let mut d = match e {
                    sqlx::Error::Database(_) => mysql_error(e),
                    other => connection_error(other),
                };
                d.kind = DriverErrorKind::Connection;
                d.message = crate::util::scrub(&d.message, url);
                d
            })?;
        let mut driver = MySqlDriver {
            conn,
            session: Session::default(),
            lock_name: None,
        };
        let row = sqlx::query(
            "SELECT CAST(SUBSTRING_INDEX(USER(), '@', 1) AS CHAR), CAST(DATABASE() AS CHAR), CAST(VERSION() AS CHAR)",
        )
        .fetch_one(&mut driver.conn)
        .await
        .map_err(connection_error)?;
        let database: Option<String> = row.try_get(1).unwrap_or_default();
        driver.session = Session {
            user: row.try_get(0).unwrap_or_default(),
            database: database.clone().unwrap_or_default(),
            schema: database.unwrap_or_default(),
            server_version: row.try_get(2).unwrap_or_default(),
        };
        Ok(driver)
    }

    async fn run(&mut self, sql: &str) -> DriverResult<()> {
        self.conn
            .execute(sqlx::raw_sql(sql))
            .await
            .map_err(mysql_error)?;
        Ok(())
    }

    fn schema_of<'a>(&'a self, table: &'a HistoryTable) -> &'a str {
        table.schema.as_deref().unwrap_or(&self.session.schema)
    }
}

/// The server's message with its error number, as the `mysql` client shows it.
fn mysql_error(e: sqlx::Error) -> DriverError {
    if let sqlx::Error::Database(db) = &e {
        if let Some(my) = db.try_downcast_ref::<MySqlDatabaseError>() {
            return DriverError {
                kind: DriverErrorKind::Statement,
                message: my.message().to_string(),
                code: Some(match my.code() {
                    Some(state) => format!("{} ({state})", my.number()),
                    None => my.number().to_string(),
                }),
            };
        }
    }
    DriverError::from(e)
}

/// `GET_LOCK` names are at most 64 characters: long keys are shortened with a hash.
fn lock_name(key: &str) -> String {
    if key.len() <= 64 {
        return key.to_string();
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let prefix: String = key.chars().take(40).collect();
    format!("{prefix}:{hash:016x}")
}

#[async_trait]
impl Driver for MySqlDriver {
    fn dialect(&self) -> Dialect {
        Dialect::MySql
    }

    fn session(&self) -> &Session {
        &self.session
    }

    async fn lock(&mut self, key: &str, timeout: Duration) -> DriverResult<()> {
        if self.lock_name.is_some() {
            return Ok(());
        }
        let name = lock_name(key);
        let seconds = timeout.as_secs_f64().max(0.0);
        let got: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, ?)")
            .bind(&name)
            .bind(seconds)
            .fetch_one(&mut self.conn)
            .await
            .map_err(mysql_error)?;
        match got {
            Some(1) => {
                self.lock_name = Some(name);
                Ok(())
            }
            _ => Err(DriverError {
                kind: DriverErrorKind::LockTimeout,
                message: format!(
                    "another godwit process held the migration lock for longer than {}",
                    crate::util::format_duration(timeout)
                ),
                code: None,
            }),
        }
    }

    async fn unlock(&mut self) -> DriverResult<()> {
        if let Some(name) = self.lock_name.take() {
            sqlx::query("SELECT RELEASE_LOCK(?)")
                .bind(name)
                .execute(&mut self.conn)
                .await
                .map_err(mysql_error)?;
        }
        Ok(())
    }

    async fn history_exists(&mut self, table: &HistoryTable) -> DriverResult<bool> {
        let schema = self.schema_of(table).to_string();
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        )
        .bind(schema)
        .bind(&table.name)
        .fetch_one(&mut self.conn)
        .await
        .map_err(mysql_error)?;
        Ok(n > 0)
    }

    async fn read_history(&mut self, table: &HistoryTable) -> DriverResult<Vec<HistoryRow>> {
        let sql = dialect::select_history(Dialect::MySql, table);
        let rows = sqlx::query(&sql)
            .fetch_all(&mut self.conn)
            .await
            .map_err(mysql_error)?;
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
            .cloned()
            .unwrap_or_else(|| self.schema_of(table).to_string());
        let n: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name <> ?)
                  + (SELECT COUNT(*) FROM information_schema.routines WHERE routine_schema = ?)",
        )
        .bind(&schema)
        .bind(&table.name)
        .bind(&schema)
        .fetch_one(&mut self.conn)
        .await
        .map_err(mysql_error)?;
        Ok(n > 0)
    }

    async fn schema_exists(&mut self, schema: &str) -> DriverResult<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?",
        )
        .bind(schema)
        .fetch_one(&mut self.conn)
        .await
        .map_err(mysql_error)?;
        Ok(n > 0)
    }

    async fn query_text(&mut self, sql: &str) -> DriverResult<Vec<Vec<Option<String>>>> {
        let rows = sqlx::query(sql)
            .fetch_all(&mut self.conn)
            .await
            .map_err(mysql_error)?;
        super::rows_as_text(&rows)
    }

    async fn begin(&mut self) -> DriverResult<()> {
        self.run("START TRANSACTION").await
    }

    async fn commit(&mut self) -> DriverResult<()> {
        self.run("COMMIT").await
    }

    async fn rollback(&mut self) -> DriverResult<()> {
        self.run("ROLLBACK").await
    }

    async fn execute(&mut self, sql: &str) -> DriverResult<()> {
        self.run(sql).await
    }

    async fn close(mut self: Box<Self>) -> DriverResult<()> {
        let _ = self.unlock().await;
        self.conn.close().await.map_err(DriverError::from)
    }
}
