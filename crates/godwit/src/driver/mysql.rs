//! MySQL and MariaDB.
//!
//! DDL commits implicitly, so a migration that fails after changing something cannot be rolled
//! back: the executor records it with `success = false` and later runs refuse until `repair`.
//! The lock is `GET_LOCK`, a named lock held by the session until `RELEASE_LOCK` or disconnect.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::mysql::{MySql, MySqlConnectOptions, MySqlDatabaseError, MySqlPool};
use sqlx::{ConnectOptions as _, Executor as _, Row};

use super::conn::Conn;
use super::dialect;
use super::{
    connection_error, ConnectOptions, Dialect, Driver, DriverError, DriverErrorKind, DriverResult,
    HistoryTable, Session,
};
use crate::model::{HistoryRow, HistoryType};

/// The MySQL and MariaDB driver.
pub struct MySqlDriver {
    conn: Conn<MySql>,
    session: Session,
    lock_name: Option<String>,
    /// `begin` was called: the next message starts the transaction (saves a round trip).
    pending_begin: bool,
    /// A statement of the migration's transaction committed it implicitly (DDL): the history
    /// write that follows then runs in autocommit mode unless it opens a transaction itself.
    transaction_ended: bool,
    /// The server's id of this connection, for cancelling its statement.
    connection_id: u64,
    /// How to open a second connection, to cancel this one's statement.
    cancel_options: Option<MySqlConnectOptions>,
}

macro_rules! session_query {
    () => {
        "SELECT CAST(SUBSTRING_INDEX(USER(), '@', 1) AS CHAR), CAST(DATABASE() AS CHAR), CAST(VERSION() AS CHAR), CONNECTION_ID()"
    };
}

/// The session facts godwit reads on connecting.
const SESSION_QUERY: &str = session_query!();

/// [`SESSION_QUERY`] on a connection godwit opened, after a statement that gives the session
/// the server's `sql_mode`: sqlx's handshake always asks for `CLIENT_IGNORE_SPACE`, which adds
/// `IGNORE_SPACE` to the session's `sql_mode`; the `mariadb` and `mysql` clients do not. It is
/// taken out again unless the server's own `sql_mode` has it. `SET NAMES utf8mb4` without a
/// collation gives the connection the server's default collation for utf8mb4, as the clients
/// get (sqlx would name `utf8mb4_unicode_ci`, which views, routines and triggers then keep).
const OWN_SESSION_QUERY: &str = concat!(
    "SET NAMES utf8mb4;\n",
    "SET SESSION sql_mode = IF(FIND_IN_SET('IGNORE_SPACE', @@GLOBAL.sql_mode) > 0, @@SESSION.sql_mode, ",
    "TRIM(BOTH ',' FROM REPLACE(CONCAT(',', @@SESSION.sql_mode, ','), ',IGNORE_SPACE,', ',')));\n",
    session_query!()
);

/// How a migration's transaction starts, sent in front of its first statements.
const BEGIN: &str = "START TRANSACTION;\n";

/// Statements per message at most: MySQL answers each one with its own result.
const BATCH_STATEMENTS: usize = 2_000;

impl MySqlDriver {
    /// Connects to a `mysql://` or `mariadb://` URL.
    pub async fn connect(url: &str, options: &ConnectOptions) -> DriverResult<MySqlDriver> {
        let opts = MySqlConnectOptions::from_str(&sqlx_url(url))
            .map_err(|e| DriverError {
                kind: DriverErrorKind::Config,
                message: format!(
                    "invalid MySQL URL: {}",
                    crate::util::scrub(&e.to_string(), url)
                ),
                code: None,
            })?
            .disable_statement_logging();
        let opts = client_session(opts, url);
        let opts = match &options.password {
            Some(password) => opts.password(password),
            None => opts,
        };
        let conn = super::connect_retrying(
            options,
            || opts.connect(),
            |e| {
                let mut d = match e {
                    sqlx::Error::Database(_) => mysql_error(e),
                    other => connection_error(other),
                };
                d.kind = DriverErrorKind::Connection;
                d.message = crate::util::scrub(&d.message, url);
                d
            },
        )
        .await?;
        let mut driver = MySqlDriver::with_session(Conn::Owned(conn), OWN_SESSION_QUERY)
            .await
            .map_err(connection_error)?;
        driver.cancel_options = Some(opts);
        Ok(driver)
    }

    /// Runs on a connection checked out of the caller's pool, for as long as the driver lives.
    pub async fn from_pool(pool: &MySqlPool) -> DriverResult<MySqlDriver> {
        let conn = pool.acquire().await.map_err(connection_error)?;
        // The caller's pool, the caller's session settings.
        let mut driver = MySqlDriver::with_session(Conn::pooled(conn), SESSION_QUERY)
            .await
            .map_err(connection_error)?;
        driver.cancel_options = Some((*pool.connect_options()).clone());
        Ok(driver)
    }

    /// Reads the session facts on a fresh connection with `query`: [`SESSION_QUERY`] or
    /// [`OWN_SESSION_QUERY`].
    async fn with_session(
        conn: Conn<MySql>,
        query: &'static str,
    ) -> Result<MySqlDriver, sqlx::Error> {
        let mut driver = MySqlDriver {
            conn,
            session: Session::default(),
            lock_name: None,
            pending_begin: false,
            transaction_ended: false,
            connection_id: 0,
            cancel_options: None,
        };
        let rows = driver.conn.fetch_all(sqlx::raw_sql(query)).await?;
        let row = rows.first().ok_or(sqlx::Error::RowNotFound)?;
        let database: Option<String> = row.try_get(1).unwrap_or_default();
        driver.connection_id = row.try_get::<u64, _>(3).unwrap_or_default();
        driver.session = Session {
            user: row.try_get(0).unwrap_or_default(),
            database: database.clone().unwrap_or_default(),
            schema: database.unwrap_or_default(),
            server_version: row.try_get(2).unwrap_or_default(),
            ..Session::default()
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

/// The URL as sqlx reads it: sqlx knows the `mysql` scheme only (`mariadb://` is the same
/// protocol), and MySQL's own `ssl-mode` values only, while users write PostgreSQL's
/// `sslmode=require` as often as MySQL's `ssl-mode=REQUIRED`: both are accepted.
fn sqlx_url(url: &str) -> String {
    let url = match url.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("mariadb") => {
            format!("mysql://{rest}")
        }
        _ => url.to_string(),
    };
    let Some((base, query)) = url.split_once('?') else {
        return url;
    };
    let params: Vec<String> = query
        .split('&')
        .map(|param| match param.split_once('=') {
            Some((key, value))
                if key.eq_ignore_ascii_case("sslmode") || key.eq_ignore_ascii_case("ssl-mode") =>
            {
                let value = match value.to_ascii_lowercase().as_str() {
                    "disable" => "DISABLED",
                    "allow" | "prefer" => "PREFERRED",
                    "require" => "REQUIRED",
                    "verify-ca" => "VERIFY_CA",
                    "verify-full" => "VERIFY_IDENTITY",
                    _ => value,
                };
                format!("{key}={value}")
            }
            _ => param.to_string(),
        })
        .collect();
    format!("{base}?{}", params.join("&"))
}

/// The session as the `mariadb` and `mysql` clients open it: the server's own `sql_mode` and
/// `time_zone`. sqlx would add `PIPES_AS_CONCAT` and `NO_ENGINE_SUBSTITUTION` to `sql_mode` and
/// set `time_zone = '+00:00'`, which changes what a migration's `a || b` means and which
/// `sql_mode` its views, routines and triggers keep. A `timezone` the URL names is kept.
/// (The names are set by [`OWN_SESSION_QUERY`], with the server's default collation.)
fn client_session(opts: MySqlConnectOptions, url: &str) -> MySqlConnectOptions {
    let asks_time_zone = url.split_once('?').is_some_and(|(_, query)| {
        query.split('&').any(|param| {
            let key = param.split_once('=').map_or(param, |(k, _)| k);
            key == "timezone" || key == "time-zone"
        })
    });
    let names_charset = url.split_once('?').is_some_and(|(_, query)| {
        query.split('&').any(|param| {
            let key = param.split_once('=').map_or(param, |(k, _)| k);
            key == "charset" || key == "collation"
        })
    });
    let opts = opts
        .pipes_as_concat(false)
        .no_engine_substitution(false)
        // The session query sets the names itself, without naming a collation; a URL that
        // names a charset or collation gets sqlx's `SET NAMES … COLLATE …` as well.
        .set_names(names_charset);
    if asks_time_zone {
        opts
    } else {
        opts.timezone(None)
    }
}

/// The server's message with its error number, as the `mysql` client shows it.
fn mysql_error(e: sqlx::Error) -> DriverError {
    if let sqlx::Error::Database(db) = &e {
        if let Some(my) = db.try_downcast_ref::<MySqlDatabaseError>() {
            let kind = match my.number() {
                // ER_DISK_FULL, ER_RECORD_FILE_FULL, ER_ERROR_ON_WRITE, ER_OUT_OF_RESOURCES
                1021 | 1114 | 1026 | 1041 => DriverErrorKind::Storage,
                // ER_SERVER_SHUTDOWN, ER_CONNECTION_KILLED (MariaDB), ER_NEW_ABORTING_CONNECTION
                1053 | 1927 | 1184 => DriverErrorKind::Connection,
                _ => DriverErrorKind::Statement,
            };
            return DriverError {
                kind,
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
            .fetch_one(&mut *self.conn)
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
                .execute(&mut *self.conn)
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
        .fetch_one(&mut *self.conn)
        .await
        .map_err(mysql_error)?;
        Ok(n > 0)
    }

    async fn read_history(&mut self, table: &HistoryTable) -> DriverResult<Vec<HistoryRow>> {
        let sql = dialect::select_history(Dialect::MySql, table);
        let rows = sqlx::query(&sql)
            .fetch_all(&mut *self.conn)
            .await
            .map_err(mysql_error)?;
        super::history_read::read_rows(&rows, |r, at| {
            Ok(HistoryRow {
                installed_rank: at.get(r, 0)?,
                version: at.get(r, 1)?,
                description: at.get(r, 2)?,
                kind: HistoryType::from(at.get::<_, String>(r, 3)?),
                script: at.get(r, 4)?,
                checksum: at.get(r, 5)?,
                installed_by: at.get(r, 6)?,
                installed_on: at.get(r, 7)?,
                execution_time: at.get(r, 8)?,
                success: at.get::<_, i64>(r, 9)? != 0,
            })
        })
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
        .fetch_one(&mut *self.conn)
        .await
        .map_err(mysql_error)?;
        Ok(n > 0)
    }

    async fn schema_exists(&mut self, schema: &str) -> DriverResult<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?",
        )
        .bind(schema)
        .fetch_one(&mut *self.conn)
        .await
        .map_err(mysql_error)?;
        Ok(n > 0)
    }

    async fn query_text(&mut self, sql: &str) -> DriverResult<Vec<Vec<Option<String>>>> {
        if std::mem::take(&mut self.pending_begin) {
            self.run("START TRANSACTION").await?;
        }
        let rows = sqlx::query(sql)
            .fetch_all(&mut *self.conn)
            .await
            .map_err(mysql_error)?;
        super::rows_as_text(&rows)
    }

    async fn begin(&mut self) -> DriverResult<()> {
        self.pending_begin = true;
        self.transaction_ended = false;
        Ok(())
    }

    async fn commit(&mut self) -> DriverResult<()> {
        if std::mem::take(&mut self.pending_begin) {
            return Ok(());
        }
        self.run("COMMIT").await
    }

    async fn rollback(&mut self) -> DriverResult<()> {
        if std::mem::take(&mut self.pending_begin) {
            return Ok(());
        }
        self.run("ROLLBACK").await
    }

    async fn execute(&mut self, sql: &str) -> DriverResult<()> {
        if std::mem::take(&mut self.pending_begin) {
            if sql.contains(';') {
                self.run(BEGIN).await?;
            } else {
                return self.run(&format!("{BEGIN}{sql}")).await;
            }
        }
        self.run(sql).await
    }

    async fn execute_batch(&mut self, statements: &[&str]) -> Result<(), (usize, DriverError)> {
        if statements.iter().any(|s| godwit_sql::commits_implicitly(s)) {
            self.transaction_ended = true;
        }
        // Statements are sent together, several per message (MySQL's multi-statement
        // protocol). A statement that holds a `;` itself (a routine body written with
        // DELIMITER) goes in a message of its own, where the server cannot misread it.
        let mut start = 0;
        while start < statements.len() {
            let alone = statements[start].contains(';');
            let mut end = start + 1;
            if !alone {
                while end < statements.len()
                    && end - start < BATCH_STATEMENTS
                    && !statements[end].contains(';')
                {
                    end += 1;
                }
            }
            let mut begin = if std::mem::take(&mut self.pending_begin) {
                BEGIN
            } else {
                ""
            };
            if alone && !begin.is_empty() {
                self.run(begin).await.map_err(|e| (start, e))?;
                begin = "";
            }
            let skip = usize::from(!begin.is_empty());
            let message = if alone {
                statements[start].to_string()
            } else {
                super::join_statements(begin, &statements[start..end], "")
            };
            super::run_counted(&mut *self.conn, &message)
                .await
                .map_err(|(done, e)| {
                    let index = (start + done.saturating_sub(skip)).min(end - 1);
                    (index, mysql_error(e))
                })?;
            start = end;
        }
        Ok(())
    }

    async fn execute_and_commit(&mut self, sql: &str) -> DriverResult<()> {
        // After DDL ended the migration's transaction, the history rows (the migration's own
        // and the next one's running row) would commit one by one in autocommit mode: a
        // transaction of their own makes them one commit, as the history write always was.
        let ended = std::mem::take(&mut self.transaction_ended);
        let begin = if std::mem::take(&mut self.pending_begin) || ended {
            BEGIN
        } else {
            ""
        };
        self.run(&format!("{begin}{sql};\nCOMMIT")).await
    }

    fn cancel_handle(&self) -> Option<super::CancelHandle> {
        let options = self.cancel_options.clone()?;
        Some(super::CancelHandle::mysql(options, self.connection_id))
    }

    async fn close(mut self: Box<Self>) -> DriverResult<()> {
        let unlocked = self.unlock().await;
        if unlocked.is_err() && self.conn.is_pooled() {
            // Never hand a connection that may still hold the lock back to the pool: dropping
            // it closes it.
            return unlocked;
        }
        self.conn.close().await.map_err(DriverError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_take_postgres_style_ssl_modes_and_the_mariadb_scheme() {
        assert_eq!(
            sqlx_url("mariadb://u:p@h/db?sslmode=require"),
            "mysql://u:p@h/db?sslmode=REQUIRED"
        );
        assert_eq!(
            sqlx_url("mysql://h/db?charset=utf8mb4&ssl-mode=verify-full"),
            "mysql://h/db?charset=utf8mb4&ssl-mode=VERIFY_IDENTITY"
        );
        assert_eq!(
            sqlx_url("mysql://h/db?ssl-mode=REQUIRED"),
            "mysql://h/db?ssl-mode=REQUIRED"
        );
        assert_eq!(sqlx_url("mysql://h/db"), "mysql://h/db");
        assert!(MySqlConnectOptions::from_str(&sqlx_url("mysql://h/db?sslmode=disable")).is_ok());
    }
}

#[cfg(test)]
mod implicit_commit_tests {
    use godwit_sql::commits_implicitly;

    #[test]
    fn ddl_commits_implicitly_and_dml_and_temporary_tables_do_not() {
        for sql in [
            "CREATE TABLE t (i INT)",
            "  -- a comment\nALTER TABLE t ADD c INT",
            "/* c */ drop table t",
            "RENAME TABLE a TO b",
            "TRUNCATE t",
            "CREATE INDEX i ON t (c)",
        ] {
            assert!(commits_implicitly(sql), "{sql}");
        }
        for sql in [
            "INSERT INTO t VALUES (1)",
            "UPDATE t SET c = 1",
            "CREATE TEMPORARY TABLE t (i INT)",
            "CREATE OR REPLACE TEMPORARY TABLE t (i INT)",
            "DROP TEMPORARY TABLE t",
            "SELECT 1",
            "",
        ] {
            assert!(!commits_implicitly(sql), "{sql}");
        }
    }
}
