//! SQLite: a file (or memory) database.
//!
//! The lock has two parts. Between godwit processes it is an advisory lock (`flock`) on a file
//! beside the database, `<database>-godwit-lock`, which the operating system releases when its
//! holder dies; it stays held while a migration runs outside any transaction (`VACUUM`,
//! `-- godwit:no-transaction`), so no other process can get in then. Inside it, the run holds an
//! `IMMEDIATE` transaction, which keeps every other writer out (readers go on) and waits up to
//! the lock timeout through SQLite's busy handler. Each migration runs inside that transaction
//! as a savepoint, so a failed migration leaves no trace; the transaction commits at the end of
//! the run (`sync`), before a migration that must run outside it, and when a run fails after
//! others were applied. Until then nothing of the run is committed, and the executor reports
//! nothing as applied (`Driver::committed`). A crash before a commit leaves the database at the
//! version of the last commit.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{Sqlite, SqliteConnectOptions, SqlitePool};
use sqlx::{ConnectOptions as _, Executor as _, Row};

use super::conn::Conn;
use super::dialect::{self, quote_ident};
use super::{
    connection_error, ConnectOptions, Dialect, Driver, DriverError, DriverErrorKind, DriverResult,
    HistoryTable, Session,
};
use crate::model::{HistoryRow, HistoryType};

/// The SQLite driver.
pub struct SqliteDriver {
    conn: Conn<Sqlite>,
    session: Session,
    /// The run-long IMMEDIATE transaction is open.
    locked: bool,
    /// A migration's own transaction (or savepoint) is open.
    in_step: bool,
    /// How long a statement waits for another connection's lock (the lock timeout).
    busy_timeout: Duration,
    /// The file this connection created, removed again on close if nothing was written to it,
    /// so that a run refused for bad input leaves no empty database behind.
    created: Option<std::path::PathBuf>,
    /// The database file; `None` for an in-memory database (one connection: nothing to lock).
    path: Option<std::path::PathBuf>,
    /// The lock file, while its advisory lock is held.
    lock_file: Option<std::fs::File>,
    /// Something ran inside the run-long transaction since it last committed.
    dirty: bool,
    /// Set by a [`super::CancelHandle`] to interrupt the running statement; the progress
    /// handler installed while the lock is held reads it.
    cancel_flag: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The progress handler that reads `cancel_flag` is installed.
    progress_handler: bool,
}

/// How many virtual-machine steps SQLite runs between two looks at the cancel flag.
const PROGRESS_STEPS: i32 = 10_000;

/// The database's file, for a URL's file name; `None` for an in-memory database.
fn file_path(database: &str) -> Option<std::path::PathBuf> {
    if database.is_empty() || database == ":memory:" || database.starts_with("file:") {
        None
    } else {
        Some(std::path::PathBuf::from(database))
    }
}

/// The lock file of a database file: `<database>-godwit-lock`, beside SQLite's own
/// `-journal` and `-wal` files.
fn lock_path(database: &std::path::Path) -> std::path::PathBuf {
    let mut p = database.as_os_str().to_owned();
    p.push("-godwit-lock");
    p.into()
}

const SAVEPOINT: &str = "godwit_migration";

/// SQLite's errors, with those of the file system (disk full, read-only file or directory, I/O
/// errors, a file that cannot be opened) told apart from the statement's own.
fn sqlite_error(e: sqlx::Error) -> DriverError {
    let mut d = DriverError::from(e);
    let primary = d
        .code
        .as_deref()
        .and_then(|c| c.parse::<u32>().ok())
        .map(|c| c & 0xff);
    // SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN
    if matches!(primary, Some(8 | 10 | 13 | 14)) {
        d.kind = DriverErrorKind::Storage;
    }
    d
}

/// Statements (and bytes of SQL) sent to the SQLite worker in one call at most.
const SQLITE_GROUP: usize = 128;
const SQLITE_GROUP_BYTES: usize = 32 * 1024;

impl SqliteDriver {
    /// Opens a `sqlite://path` or `sqlite::memory:` URL.
    pub async fn connect(url: &str, options: &ConnectOptions) -> DriverResult<SqliteDriver> {
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| DriverError {
                kind: DriverErrorKind::Config,
                message: format!("invalid SQLite URL: {e}"),
                code: None,
            })?
            .create_if_missing(options.create_if_missing)
            // SQLite's own default; migrations that rebuild tables rely on it.
            .foreign_keys(false)
            .busy_timeout(options.lock_timeout)
            // Room for a whole group's results: the worker never waits for godwit to read them.
            .row_buffer_size(SQLITE_GROUP * 2)
            .disable_statement_logging();
        let database = opts.get_filename().display().to_string();
        // A reading command on a file that does not exist yet sees an empty database, and
        // leaves no file behind.
        let missing = !options.create_if_missing
            && !database.is_empty()
            && database != ":memory:"
            && !opts.get_filename().exists();
        let created = (options.create_if_missing
            && !database.is_empty()
            && database != ":memory:"
            && !opts.get_filename().exists())
        .then(|| opts.get_filename().to_path_buf());
        let opts = if missing {
            SqliteConnectOptions::from_str("sqlite::memory:")
                .map_err(connection_error)?
                .disable_statement_logging()
        } else {
            opts
        };
        let mut conn = opts.connect().await.map_err(connection_error)?;
        if let Some(sql) = &options.init_sql {
            conn.execute(sqlx::raw_sql(sql))
                .await
                .map_err(|e| super::init_sql_failed(sqlite_error(e)))?;
        }
        let version: String = sqlx::query_scalar("SELECT sqlite_version()")
            .fetch_one(&mut conn)
            .await
            .map_err(connection_error)?;
        Ok(SqliteDriver {
            conn: Conn::Owned(conn),
            session: Session {
                user: String::new(),
                database: database.clone(),
                schema: "main".into(),
                server_version: format!("SQLite {version}"),
                ..Session::default()
            },
            locked: false,
            in_step: false,
            busy_timeout: options.lock_timeout,
            created,
            path: file_path(&database),
            lock_file: None,
            dirty: false,
            cancel_flag: Default::default(),
            progress_handler: false,
        })
    }

    /// Runs on a connection checked out of the caller's pool, for as long as the driver lives.
    /// The pool's own settings apply (sqlx turns foreign keys on by default, for one), and its
    /// busy timeout is the one restored after taking the lock.
    pub async fn from_pool(pool: &SqlitePool) -> DriverResult<SqliteDriver> {
        let database = pool.connect_options().get_filename().display().to_string();
        let mut conn = pool.acquire().await.map_err(connection_error)?;
        let version: String = sqlx::query_scalar("SELECT sqlite_version()")
            .fetch_one(&mut *conn)
            .await
            .map_err(connection_error)?;
        let busy_ms: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
            .fetch_one(&mut *conn)
            .await
            .map_err(connection_error)?;
        Ok(SqliteDriver {
            conn: Conn::pooled(conn),
            session: Session {
                user: String::new(),
                database: database.clone(),
                schema: "main".into(),
                server_version: format!("SQLite {version}"),
                ..Session::default()
            },
            locked: false,
            in_step: false,
            busy_timeout: Duration::from_millis(u64::try_from(busy_ms).unwrap_or(0)),
            created: None,
            path: file_path(&database),
            lock_file: None,
            dirty: false,
            cancel_flag: Default::default(),
            progress_handler: false,
        })
    }

    async fn run(&mut self, sql: &str) -> DriverResult<()> {
        self.conn
            .execute(sqlx::raw_sql(sql))
            .await
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// Takes the advisory lock on the lock file, polling until `timeout`.
    async fn lock_file(&mut self, timeout: Duration) -> DriverResult<()> {
        let Some(database) = &self.path else {
            return Ok(());
        };
        let path = lock_path(database);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| DriverError {
                kind: DriverErrorKind::Storage,
                message: format!("cannot open the lock file {}: {e}", path.display()),
                code: None,
            })?;
        let mut wait = super::LockWait::new(timeout);
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {
                    wait.next().await.map_err(|mut e| {
                        e.message = format!(
                            "another godwit process held the lock on {} for longer than {}",
                            path.display(),
                            crate::util::format_duration(timeout)
                        );
                        e
                    })?;
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(DriverError {
                        kind: DriverErrorKind::Storage,
                        message: format!("cannot lock {}: {e}", path.display()),
                        code: None,
                    })
                }
            }
        }
        self.lock_file = Some(file);
        Ok(())
    }

    /// Lets a cancel request interrupt the statements of this run (installed with the first
    /// statement a locked run sends, so that a run with nothing to do pays nothing for it).
    async fn watch_cancel(&mut self) -> DriverResult<()> {
        if self.progress_handler || !self.locked {
            return Ok(());
        }
        let flag = std::sync::Arc::clone(&self.cancel_flag);
        flag.store(false, std::sync::atomic::Ordering::SeqCst);
        let mut handle = self.conn.lock_handle().await.map_err(sqlite_error)?;
        handle.set_progress_handler(PROGRESS_STEPS, move || {
            !flag.swap(false, std::sync::atomic::Ordering::SeqCst)
        });
        self.progress_handler = true;
        Ok(())
    }

    /// Removes what [`SqliteDriver::watch_cancel`] installed.
    async fn unwatch_cancel(&mut self) {
        if std::mem::take(&mut self.progress_handler) {
            if let Ok(mut handle) = self.conn.lock_handle().await {
                handle.remove_progress_handler();
            }
        }
    }

    async fn set_busy_timeout(&mut self, timeout: Duration) -> DriverResult<()> {
        let ms = timeout.as_millis().min(i32::MAX as u128);
        self.run(&format!("PRAGMA busy_timeout = {ms}")).await
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

    async fn lock(&mut self, _key: &str, timeout: Duration) -> DriverResult<()> {
        if self.locked {
            return Ok(());
        }
        let started = std::time::Instant::now();
        self.lock_file(timeout).await?;
        // SQLite waits for the write lock in its busy handler: bound that wait by what is left
        // of `timeout` for this one statement (the executor first tries without waiting), then
        // give the connection its usual busy timeout back.
        let left = timeout.saturating_sub(started.elapsed());
        self.set_busy_timeout(left).await?;
        let began = self.run("BEGIN IMMEDIATE").await;
        self.set_busy_timeout(self.busy_timeout).await?;
        if began.is_err() {
            self.lock_file = None;
        }
        match began {
            Ok(()) => {
                self.locked = true;
                self.dirty = false;
                Ok(())
            }
            Err(e) if e.message.contains("locked") || e.message.contains("busy") => {
                Err(DriverError {
                    kind: DriverErrorKind::LockTimeout,
                    message: format!(
                        "another process held the database's write lock for longer than {} ({})",
                        crate::util::format_duration(timeout),
                        e.message
                    ),
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
        self.unwatch_cancel().await;
        let committed = self.run("COMMIT").await;
        if committed.is_ok() {
            self.dirty = false;
        }
        // Dropping the file releases its advisory lock.
        self.lock_file = None;
        committed
    }

    async fn history_exists(&mut self, table: &HistoryTable) -> DriverResult<bool> {
        let sql = format!(
            "SELECT count(*) FROM {} WHERE type = 'table' AND name = ?",
            Self::master(table.schema.as_deref())
        );
        let n: i64 = sqlx::query_scalar(&sql)
            .bind(&table.name)
            .fetch_one(&mut *self.conn)
            .await?;
        Ok(n > 0)
    }

    async fn read_history(&mut self, table: &HistoryTable) -> DriverResult<Vec<HistoryRow>> {
        // sqlx hands SQLite rows over from its worker thread one at a time, which costs more
        // than everything else a no-op run does; the history comes back as one JSON value.
        let sql = format!(
            "SELECT json_group_array(json_array({})) FROM {} AS h",
            dialect::history_columns(Dialect::Sqlite).join(", "),
            dialect::qualified(Dialect::Sqlite, table)
        );
        let json: String = sqlx::query_scalar(&sql).fetch_one(&mut *self.conn).await?;
        let rows: Vec<Vec<serde_json::Value>> = serde_json::from_str(&json)
            .map_err(|e| DriverError::statement(format!("cannot read the history table: {e}")))?;
        let mut history = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            history.push(sqlite_history_row(row, i + 1)?);
        }
        history.sort_by_key(|r| r.installed_rank);
        Ok(history)
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
            .fetch_one(&mut *self.conn)
            .await?;
        Ok(n > 0)
    }

    async fn schema_exists(&mut self, schema: &str) -> DriverResult<bool> {
        let rows = sqlx::query("PRAGMA database_list")
            .fetch_all(&mut *self.conn)
            .await?;
        Ok(rows
            .iter()
            .any(|r| r.try_get::<String, _>(1).is_ok_and(|name| name == schema)))
    }

    async fn query_text(&mut self, sql: &str) -> DriverResult<Vec<Vec<Option<String>>>> {
        let rows = sqlx::query(sql)
            .fetch_all(&mut *self.conn)
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

    async fn execute_batch(&mut self, statements: &[&str]) -> Result<(), (usize, DriverError)> {
        self.watch_cancel().await.map_err(|e| (0, e))?;
        self.dirty |= self.locked;
        // Every call crosses to sqlx's SQLite worker thread and back, which costs more than a
        // small INSERT: statements go over in groups. sqlx keeps a message's prepared
        // statements until the message ends, so groups stay small.
        let mut start = 0;
        while start < statements.len() {
            let mut end = start;
            let mut bytes = 0;
            while end < statements.len() && end - start < SQLITE_GROUP && bytes < SQLITE_GROUP_BYTES
            {
                bytes += statements[end].len();
                end += 1;
            }
            let message = super::join_statements("", &statements[start..end], "");
            super::run_counted(&mut *self.conn, &message)
                .await
                .map_err(|(done, e)| ((start + done).min(end - 1), sqlite_error(e)))?;
            start = end;
        }
        Ok(())
    }

    async fn enter_no_transaction(&mut self) -> DriverResult<()> {
        // VACUUM and friends refuse to run inside a transaction: commit what the run did so far.
        // The lock file stays locked, so no other godwit process gets in meanwhile.
        if self.locked {
            self.run("COMMIT").await?;
            self.dirty = false;
        }
        Ok(())
    }

    async fn sync(&mut self) -> DriverResult<()> {
        if self.locked && self.dirty {
            self.run("COMMIT").await?;
            self.dirty = false;
            self.run("BEGIN IMMEDIATE").await?;
        }
        Ok(())
    }

    fn committed(&self) -> bool {
        !self.dirty
    }

    fn cancel_handle(&self) -> Option<super::CancelHandle> {
        Some(super::CancelHandle::sqlite(std::sync::Arc::clone(
            &self.cancel_flag,
        )))
    }

    async fn leave_no_transaction(&mut self) -> DriverResult<()> {
        if self.locked {
            self.run("BEGIN IMMEDIATE").await?;
        }
        Ok(())
    }

    async fn execute(&mut self, sql: &str) -> DriverResult<()> {
        self.watch_cancel().await?;
        self.dirty |= self.locked;
        self.run(sql).await
    }

    async fn close(mut self: Box<Self>) -> DriverResult<()> {
        if self.locked {
            self.unwatch_cancel().await;
            let rolled_back = self.run("ROLLBACK").await;
            if rolled_back.is_err() && self.conn.is_pooled() {
                // Never hand a connection with a transaction open back to the pool: dropping
                // it closes it.
                return rolled_back;
            }
        }
        // A file this run created and left without a single object is not a database anyone
        // asked for: a run refused for bad input must leave nothing behind.
        let unused = match &self.created {
            Some(_) => sqlx::query_scalar::<_, i64>("SELECT count(*) FROM sqlite_master")
                .fetch_one(&mut *self.conn)
                .await
                .is_ok_and(|n| n == 0),
            None => false,
        };
        let closed = self.conn.close().await.map_err(DriverError::from);
        self.lock_file = None;
        if let (true, Some(path)) = (unused, &self.created) {
            for suffix in ["", "-journal", "-wal", "-shm", "-godwit-lock"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
        }
        closed
    }
}

/// One history row from its JSON array (SQLite's values: integer, real, text or null), each
/// value checked against what its column must hold.
fn sqlite_history_row(row: &[serde_json::Value], position: usize) -> DriverResult<HistoryRow> {
    use serde_json::Value;
    let at = super::history_read::RowAt {
        position,
        rank: row.first().and_then(Value::as_i64),
    };
    let found = |v: &Value| match v {
        Value::Null => "NULL",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer out of range",
        Value::Number(_) => "a real number",
        Value::String(_) => "text",
        Value::Array(_) | Value::Object(_) => "a value of another type",
    };
    let value = |i: usize| row.get(i).unwrap_or(&Value::Null);
    let int = |i: usize| -> DriverResult<Option<i32>> {
        match value(i) {
            Value::Null => Ok(None),
            v => v
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| at.bad_value(i, found(v))),
        }
    };
    let text = |i: usize| -> DriverResult<Option<String>> {
        match value(i) {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            v => Err(at.bad_value(i, found(v))),
        }
    };
    let required = |i: usize, v: Option<String>| v.ok_or_else(|| at.bad_value(i, "NULL"));
    let required_int = |i: usize, v: Option<i32>| v.ok_or_else(|| at.bad_value(i, "NULL"));
    // `success` is read as an integer (CAST AS INTEGER); SQLite casts text to 0.
    let success = match value(9) {
        Value::Null => return Err(at.bad_value(9, "NULL")),
        v => v.as_i64().ok_or_else(|| at.bad_value(9, found(v)))? != 0,
    };
    Ok(HistoryRow {
        installed_rank: required_int(0, int(0)?)?,
        version: text(1)?,
        description: required(2, text(2)?)?,
        kind: HistoryType::from(required(3, text(3)?)?),
        script: required(4, text(4)?)?,
        checksum: int(5)?,
        installed_by: required(6, text(6)?)?,
        installed_on: required(7, text(7)?)?,
        execution_time: required_int(8, int(8)?)?,
        success,
    })
}
