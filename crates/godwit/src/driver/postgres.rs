//! PostgreSQL.
//!
//! The lock is a session-level advisory lock taken with `pg_try_advisory_lock` in a polling loop,
//! on the migration connection itself while no transaction is open. Waiting inside a blocking
//! `pg_advisory_lock` call would hold a snapshot that `CREATE INDEX CONCURRENTLY` run by the lock
//! holder waits for: the classic deadlock. Polling never holds a transaction open.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgDatabaseError, PgPool, Postgres};
use sqlx::{ConnectOptions as _, Executor as _, Row};

use super::conn::Conn;
use super::dialect;
use super::{
    connection_error, ConnectOptions, CopySource, Dialect, Driver, DriverError, DriverErrorKind,
    DriverResult, HistoryTable, LockWait, Session,
};
use crate::model::HistoryRow;

/// The PostgreSQL driver.
pub struct PgDriver {
    conn: Conn<Postgres>,
    session: Session,
    lock_key: Option<i64>,
    /// `begin` was called: the next message starts the transaction (saves a round trip).
    pending_begin: bool,
    /// A migration committed without waiting for its WAL flush; `sync` makes it durable.
    deferred: bool,
    /// The server process serving this connection, for cancelling its statement.
    backend_pid: i32,
    /// What `sync` sends.
    sync_sql: &'static str,
    /// How to open a second connection, to cancel this one's statement.
    cancel_options: Option<PgConnectOptions>,
}

/// The session facts, read once per connection. It also makes the server check every two
/// seconds, while a statement runs, that the client is still there (PostgreSQL 14 and later):
/// a killed godwit's statement then stops, and its lock is freed, within seconds instead of
/// when the statement ends.
const SESSION_QUERY: &str = "SELECT current_user::text, current_database()::text, current_schema()::text, \
current_setting('server_version'), pg_catalog.pg_backend_pid(), current_setting('synchronous_commit'), \
CASE WHEN current_setting('server_version_num')::int >= 140000 \
THEN pg_catalog.set_config('client_connection_check_interval', '2s', false) END, \
current_setting('role'), current_setting('search_path')";

/// How a migration's transaction starts. Its commit does not wait for the disk: a run flushes
/// once, in `sync`, before it reports anything as applied. A crash before that loses the last
/// migrations whole and in order (each with its history row), leaving the database at an
/// earlier version that the next run continues from. Each commit still releases that
/// migration's locks at once.
const BEGIN: &str = "BEGIN;\nSET LOCAL synchronous_commit TO OFF;\n";
/// The statements `BEGIN` sends before the caller's.
const BEGIN_STATEMENTS: usize = 2;

/// Makes every earlier commit durable: a transaction that writes WAL, committed with the
/// session's (synchronous) setting, so its commit waits for the flush. See `Driver::sync`.
const SYNC: &str =
    "BEGIN;\nSELECT pg_catalog.pg_logical_emit_message(true, 'godwit', 'sync');\nCOMMIT";
/// [`SYNC`] on a server whose default is `synchronous_commit = off`.
const SYNC_RAISED: &str = "BEGIN;\nSET LOCAL synchronous_commit TO on;\nSELECT pg_catalog.pg_logical_emit_message(true, 'godwit', 'sync');\nCOMMIT";
/// [`SYNC`] for servers where the logical message is not allowed: a temporary table's catalog
/// rows are WAL too.
const SYNC_FALLBACK: &str = "ROLLBACK;\nBEGIN;\nSET LOCAL synchronous_commit TO on;\nCREATE TEMPORARY TABLE godwit_sync () ON COMMIT DROP;\nCOMMIT";

impl PgDriver {
    /// Connects to a `postgres://` or `postgresql://` URL.
    pub async fn connect(url: &str, options: &ConnectOptions) -> DriverResult<PgDriver> {
        let opts = PgConnectOptions::from_str(url)
            .map_err(|e| DriverError {
                kind: DriverErrorKind::Config,
                message: format!(
                    "invalid PostgreSQL URL: {}",
                    crate::util::scrub(&e.to_string(), url)
                ),
                code: None,
            })?
            .disable_statement_logging();
        // godwit names itself unless the URL gives another name.
        let opts = if url.contains("application_name=") {
            opts
        } else {
            opts.application_name("godwit")
        };
        let opts = match &options.password {
            Some(password) => opts.password(password),
            None => opts,
        };
        // On the loopback interface TLS protects nothing and its handshake costs more than the
        // rest of a no-op run, so godwit does not negotiate it there unless the URL asks.
        let opts = if !url.to_ascii_lowercase().contains("sslmode=")
            && super::is_loopback(opts.get_host())
        {
            opts.ssl_mode(sqlx::postgres::PgSslMode::Disable)
        } else {
            opts
        };
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
            .map_err(|e| pg_connection_error(e, url))?;
        let mut driver = PgDriver::with_session(Conn::Owned(conn))
            .await
            .map_err(|e| pg_connection_error(e, url))?;
        driver.cancel_options = Some(opts);
        Ok(driver)
    }

    /// Runs on a connection checked out of the caller's pool, for as long as the driver lives.
    pub async fn from_pool(pool: &PgPool) -> DriverResult<PgDriver> {
        let conn = pool.acquire().await.map_err(connection_error)?;
        let mut driver = PgDriver::with_session(Conn::pooled(conn))
            .await
            .map_err(connection_error)?;
        driver.cancel_options = Some((*pool.connect_options()).clone());
        Ok(driver)
    }

    /// Reads the session facts on a fresh connection.
    async fn with_session(conn: Conn<Postgres>) -> Result<PgDriver, sqlx::Error> {
        let mut driver = PgDriver {
            conn,
            session: Session::default(),
            lock_key: None,
            pending_begin: false,
            deferred: false,
            backend_pid: 0,
            sync_sql: SYNC,
            cancel_options: None,
        };
        let row = sqlx::query(SESSION_QUERY)
            .fetch_one(&mut *driver.conn)
            .await?;
        driver.backend_pid = row.try_get(4).unwrap_or_default();
        // A server whose default is `synchronous_commit = off` still gets a real flush from
        // `sync`; any stronger default (on, remote_write, remote_apply) is kept as it is.
        let commit_mode: String = row.try_get(5).unwrap_or_default();
        driver.sync_sql = if commit_mode == "off" {
            SYNC_RAISED
        } else {
            SYNC
        };
        driver.session = Session {
            user: row.try_get(0).unwrap_or_default(),
            database: row.try_get(1).unwrap_or_default(),
            schema: row
                .try_get::<Option<String>, _>(2)
                .ok()
                .flatten()
                .unwrap_or_else(|| "public".into()),
            server_version: format!(
                "PostgreSQL {}",
                row.try_get::<String, _>(3).unwrap_or_default()
            ),
            role: row.try_get(7).ok(),
            search_path: row.try_get(8).ok(),
        };
        Ok(driver)
    }

    async fn run(&mut self, sql: &str) -> DriverResult<()> {
        self.conn
            .execute(sqlx::raw_sql(sql))
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    /// The transaction start still to send, if `begin` was called and nothing sent since.
    fn take_begin(&mut self) -> &'static str {
        if std::mem::take(&mut self.pending_begin) {
            BEGIN
        } else {
            ""
        }
    }
}

/// Keeps PostgreSQL's detail and hint with its message.
fn pg_error(e: sqlx::Error) -> DriverError {
    if let sqlx::Error::Database(db) = &e {
        if let Some(pg) = db.try_downcast_ref::<PgDatabaseError>() {
            let mut message = pg.message().to_string();
            if let Some(detail) = pg.detail() {
                message.push_str(&format!(" (detail: {detail})"));
            }
            if let Some(hint) = pg.hint() {
                message.push_str(&format!(" (hint: {hint})"));
            }
            let code = pg.code();
            let kind = match code {
                // disk full, out of memory or disk, I/O error
                "53100" | "53200" | "58030" => DriverErrorKind::Storage,
                // The server is ending this session (shutdown, crash of another backend) or
                // the connection failed: nothing more can be sent on it.
                "57P01" | "57P02" | "57P03" => DriverErrorKind::Connection,
                c if c.starts_with("08") => DriverErrorKind::Connection,
                _ => DriverErrorKind::Statement,
            };
            return DriverError {
                kind,
                message,
                code: Some(code.to_string()),
            };
        }
    }
    DriverError::from(e)
}

/// The 1-based character position in the sent text that a PostgreSQL error points at.
fn error_position(e: &sqlx::Error) -> Option<usize> {
    let sqlx::Error::Database(db) = e else {
        return None;
    };
    match db.try_downcast_ref::<PgDatabaseError>()?.position()? {
        sqlx::postgres::PgErrorPosition::Original(p) => Some(p),
        sqlx::postgres::PgErrorPosition::Internal { .. } => None,
    }
}

/// A failed `COPY`, with the data line named by the error's context (`COPY t, line 3, ...`).
fn copy_error(e: sqlx::Error) -> (Option<u32>, DriverError) {
    let line = match &e {
        sqlx::Error::Database(db) => db
            .try_downcast_ref::<PgDatabaseError>()
            .and_then(|pg| pg.r#where())
            .and_then(copy_context_line),
        _ => None,
    };
    (line, pg_error(e))
}

/// The data line in a `COPY` error's context: `COPY t, line 3, column b: "x"` gives 3.
fn copy_context_line(context: &str) -> Option<u32> {
    let first = context.lines().find(|l| l.starts_with("COPY "))?;
    let (_, after) = first.split_once(", line ")?;
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn pg_connection_error(e: sqlx::Error, url: &str) -> DriverError {
    let mut d = match e {
        sqlx::Error::Database(_) => pg_error(e),
        other => connection_error(other),
    };
    d.kind = DriverErrorKind::Connection;
    d.message = crate::util::scrub(&d.message, url);
    d
}

/// A stable 64-bit key for the advisory lock (FNV-1a).
fn advisory_key(key: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash as i64
}

#[async_trait]
impl Driver for PgDriver {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn session(&self) -> &Session {
        &self.session
    }

    async fn lock(&mut self, key: &str, timeout: Duration) -> DriverResult<()> {
        if self.lock_key.is_some() {
            return Ok(());
        }
        let k = advisory_key(key);
        let mut wait = LockWait::new(timeout);
        loop {
            let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(k)
                .fetch_one(&mut *self.conn)
                .await
                .map_err(pg_error)?;
            if got {
                break;
            }
            wait.next().await?;
        }
        self.lock_key = Some(k);
        Ok(())
    }

    async fn unlock(&mut self) -> DriverResult<()> {
        if let Some(k) = self.lock_key.take() {
            sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(k)
                .execute(&mut *self.conn)
                .await
                .map_err(pg_error)?;
        }
        Ok(())
    }

    async fn history_exists(&mut self, table: &HistoryTable) -> DriverResult<bool> {
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = COALESCE($1, current_schema()) AND tablename = $2)",
        )
        .bind(&table.schema)
        .bind(&table.name)
        .fetch_one(&mut *self.conn)
        .await
        .map_err(pg_error)?;
        Ok(exists)
    }

    async fn read_history(&mut self, table: &HistoryTable) -> DriverResult<Vec<HistoryRow>> {
        let sql = dialect::select_history(Dialect::Postgres, table);
        let rows = sqlx::query(&sql)
            .fetch_all(&mut *self.conn)
            .await
            .map_err(pg_error)?;
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
                    success: r.try_get(9)?,
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
        let schemas: Vec<String> = if schemas.is_empty() {
            vec![table
                .schema
                .clone()
                .unwrap_or_else(|| self.session.schema.clone())]
        } else {
            schemas.to_vec()
        };
        let found: bool = sqlx::query_scalar(
            "SELECT EXISTS (
                SELECT 1 FROM pg_catalog.pg_class c
                JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
                  AND NOT (c.relname = $2 AND n.nspname = COALESCE($3, current_schema()))
                  AND NOT (c.relkind = 'S' AND EXISTS (
                      SELECT 1 FROM pg_catalog.pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')))
                UNION ALL
                SELECT 1 FROM pg_catalog.pg_proc p
                JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = ANY($1)
                  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e'))",
        )
        .bind(&schemas)
        .bind(&table.name)
        .bind(&table.schema)
        .fetch_one(&mut *self.conn)
        .await
        .map_err(pg_error)?;
        Ok(found)
    }

    async fn schema_exists(&mut self, schema: &str) -> DriverResult<bool> {
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)",
        )
        .bind(schema)
        .fetch_one(&mut *self.conn)
        .await
        .map_err(pg_error)?;
        Ok(exists)
    }

    async fn query_text(&mut self, sql: &str) -> DriverResult<Vec<Vec<Option<String>>>> {
        let begin = self.take_begin();
        if !begin.is_empty() {
            self.run(begin).await?;
        }
        let rows = sqlx::query(sql)
            .fetch_all(&mut *self.conn)
            .await
            .map_err(pg_error)?;
        super::rows_as_text(&rows)
    }

    async fn begin(&mut self) -> DriverResult<()> {
        self.pending_begin = true;
        Ok(())
    }

    async fn commit(&mut self) -> DriverResult<()> {
        if std::mem::take(&mut self.pending_begin) {
            return Ok(());
        }
        self.run("COMMIT").await?;
        self.deferred = true;
        Ok(())
    }

    async fn rollback(&mut self) -> DriverResult<()> {
        if std::mem::take(&mut self.pending_begin) {
            return Ok(());
        }
        self.run("ROLLBACK").await
    }

    async fn execute(&mut self, sql: &str) -> DriverResult<()> {
        let begin = self.take_begin();
        if begin.is_empty() {
            self.run(sql).await
        } else {
            self.run(&format!("{begin}{sql}")).await
        }
    }

    async fn execute_batch(&mut self, statements: &[&str]) -> Result<(), (usize, DriverError)> {
        let begin = self.take_begin();
        let skip = if begin.is_empty() {
            0
        } else {
            BEGIN_STATEMENTS
        };
        let message = super::join_statements(begin, statements, "");
        super::run_counted(&mut *self.conn, &message)
            .await
            .map_err(|(done, e)| {
                // PostgreSQL parses the whole message before it runs any of it: a syntax error
                // anywhere fails it with nothing done. The error's position then names the
                // statement.
                let index = error_position(&e)
                    .and_then(|p| super::statement_at(begin, statements, p))
                    .unwrap_or_else(|| {
                        done.saturating_sub(skip)
                            .min(statements.len().saturating_sub(1))
                    });
                (index, pg_error(e))
            })
    }

    async fn copy_in(
        &mut self,
        sql: &str,
        data: &mut (dyn CopySource + '_),
    ) -> Result<u64, (Option<u32>, DriverError)> {
        let begin = self.take_begin();
        if !begin.is_empty() {
            self.run(begin).await.map_err(|e| (None, e))?;
        }
        let mut copy = self
            .conn
            .copy_in_raw(sql)
            .await
            .map_err(|e| (None, pg_error(e)))?;
        loop {
            match data.next_chunk().await {
                Ok(Some(chunk)) => {
                    copy.send(chunk.as_bytes()).await.map_err(copy_error)?;
                }
                Ok(None) => break,
                Err(reason) => {
                    // The server answers an abort with an error of its own; the caller reports
                    // why the data could not be read.
                    let _ = copy.abort(reason.clone()).await;
                    return Err((None, DriverError::statement(reason)));
                }
            }
        }
        copy.finish().await.map_err(copy_error)
    }

    async fn execute_and_commit(&mut self, sql: &str) -> DriverResult<()> {
        let begin = self.take_begin();
        self.run(&format!("{begin}{sql}\n;\nCOMMIT")).await?;
        self.deferred = true;
        Ok(())
    }

    async fn sync(&mut self) -> DriverResult<()> {
        if !self.deferred {
            return Ok(());
        }
        // PostgreSQL waits for the WAL flush at commit only when the transaction wrote WAL
        // (an xid alone is not enough: `txid_current()` commits without waiting). A
        // transactional logical message is WAL that any role may write, at any `wal_level`;
        // committing it synchronously waits until the WAL is on disk up to its commit record,
        // which covers every earlier commit of the run.
        let flushed = self.run(self.sync_sql).await;
        let flushed = match flushed {
            // A server or role without `pg_logical_emit_message` (revoked, or a fork without
            // it): a temporary table's catalog rows are WAL too.
            Err(e) if matches!(e.code.as_deref(), Some("42883" | "42501")) => {
                self.run(SYNC_FALLBACK).await
            }
            other => other,
        };
        flushed?;
        self.deferred = false;
        Ok(())
    }

    fn cancel_handle(&self) -> Option<super::CancelHandle> {
        let options = self.cancel_options.clone()?;
        Some(super::CancelHandle::postgres(options, self.backend_pid))
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
    use super::copy_context_line;

    #[test]
    fn copy_errors_name_the_data_line_from_their_context() {
        assert_eq!(
            copy_context_line("COPY t, line 3, column id: \"x\""),
            Some(3)
        );
        assert_eq!(copy_context_line("COPY big, line 200000"), Some(200000));
        assert_eq!(
            copy_context_line("PL/pgSQL function f() line 2\nCOPY t, line 7: \"a\tb\""),
            Some(7)
        );
        assert_eq!(copy_context_line("SQL statement \"SELECT 1\""), None);
        assert_eq!(copy_context_line("COPY t, line x"), None);
    }
}
