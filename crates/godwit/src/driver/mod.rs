//! One small trait between the executor and a database, with one implementation per database.
//!
//! Drivers are thin: they run the SQL they are given, read the history table, and take the lock.
//! Every SQL text godwit itself writes (history DDL and rows) is rendered by [`dialect`], a pure
//! module, so that `--dry-run` prints exactly what a real run sends.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use crate::model::HistoryRow;
pub use godwit_sql::Dialect;

pub mod clean;
pub mod dialect;
pub mod mysql;
pub mod postgres;
pub mod sqlite;

/// The history table: an optional schema and a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryTable {
    pub schema: Option<String>,
    pub name: String,
}

impl HistoryTable {
    /// Parses `name` or `schema.name`; `default_schema` applies when the name has none.
    pub fn parse(text: &str, default_schema: Option<&str>) -> Result<HistoryTable, String> {
        let text = text.trim();
        let (schema, name) = match text.split_once('.') {
            Some((s, n)) => (Some(s.to_string()), n.to_string()),
            None => (default_schema.map(str::to_string), text.to_string()),
        };
        let valid = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
        };
        if !valid(&name) || schema.as_deref().is_some_and(|s| !valid(s)) {
            return Err(format!(
                "`{text}` is not a valid history table name: use letters, digits and `_`, optionally as `schema.table`"
            ));
        }
        Ok(HistoryTable { schema, name })
    }

    /// The key of the database lock: the same table always maps to the same lock.
    pub fn lock_key(&self) -> String {
        match &self.schema {
            Some(s) => format!("godwit:{s}.{}", self.name),
            None => format!("godwit:{}", self.name),
        }
    }
}

impl fmt::Display for HistoryTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{s}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// Facts about the connection, used for placeholders and the `installed_by` column.
#[derive(Debug, Clone, Default)]
pub struct Session {
    pub user: String,
    pub database: String,
    /// The schema unqualified names resolve to (empty on SQLite).
    pub schema: String,
    /// The server's version string, for messages.
    pub server_version: String,
}

/// What went wrong inside a driver.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct DriverError {
    pub kind: DriverErrorKind,
    /// The database's own message.
    pub message: String,
    /// SQLSTATE or the server's error code, where there is one.
    pub code: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverErrorKind {
    /// The server could not be reached or refused the login.
    Connection,
    /// The server rejected a statement.
    Statement,
    /// The lock was not obtained in time.
    LockTimeout,
}

impl DriverError {
    pub fn statement(message: impl Into<String>) -> DriverError {
        DriverError {
            kind: DriverErrorKind::Statement,
            message: message.into(),
            code: None,
        }
    }
}

impl From<sqlx::Error> for DriverError {
    fn from(e: sqlx::Error) -> DriverError {
        match e {
            sqlx::Error::Database(db) => DriverError {
                kind: DriverErrorKind::Statement,
                message: db.message().to_string(),
                code: db.code().map(|c| c.to_string()),
            },
            sqlx::Error::Io(io) => DriverError {
                kind: DriverErrorKind::Connection,
                message: format!("connection lost: {io}"),
                code: None,
            },
            sqlx::Error::Tls(tls) => DriverError {
                kind: DriverErrorKind::Connection,
                message: format!("TLS error: {tls}"),
                code: None,
            },
            sqlx::Error::Protocol(p) => DriverError {
                kind: DriverErrorKind::Connection,
                message: format!("protocol error: {p}"),
                code: None,
            },
            other => DriverError {
                kind: DriverErrorKind::Statement,
                message: other.to_string(),
                code: None,
            },
        }
    }
}

pub type DriverResult<T> = Result<T, DriverError>;

/// The operations godwit needs from a database.
///
/// The lock is held on a connection with no open transaction on PostgreSQL and MySQL, so that
/// statements that refuse to run inside a transaction (and wait for other transactions, like
/// `CREATE INDEX CONCURRENTLY`) never deadlock against godwit's own lock.
#[async_trait]
pub trait Driver: Send {
    fn dialect(&self) -> Dialect;

    fn session(&self) -> &Session;

    /// Whether DDL is transactional: where it is not (MySQL), a failed migration may leave
    /// changes behind and is recorded with `success = false`.
    fn transactional_ddl(&self) -> bool {
        self.dialect() != Dialect::MySql
    }

    /// Takes the database-wide migration lock named `key`, waiting at most `timeout`.
    async fn lock(&mut self, key: &str, timeout: Duration) -> DriverResult<()>;

    /// Releases the lock taken by [`Driver::lock`]; a no-op when not held.
    async fn unlock(&mut self) -> DriverResult<()>;

    /// Whether the history table exists.
    async fn history_exists(&mut self, table: &HistoryTable) -> DriverResult<bool>;

    /// Every history row, in `installed_rank` order.
    async fn read_history(&mut self, table: &HistoryTable) -> DriverResult<Vec<HistoryRow>>;

    /// Whether the schemas hold any table, view or other object besides the history table.
    async fn has_objects(&mut self, schemas: &[String], table: &HistoryTable)
        -> DriverResult<bool>;

    /// Whether a schema exists.
    async fn schema_exists(&mut self, schema: &str) -> DriverResult<bool>;

    /// Runs a query and returns every row as text columns; used to introspect for `clean`.
    async fn query_text(&mut self, sql: &str) -> DriverResult<Vec<Vec<Option<String>>>>;

    async fn begin(&mut self) -> DriverResult<()>;
    async fn commit(&mut self) -> DriverResult<()>;
    async fn rollback(&mut self) -> DriverResult<()>;

    /// Called before a migration that must run outside any transaction, and after it.
    async fn enter_no_transaction(&mut self) -> DriverResult<()> {
        Ok(())
    }
    async fn leave_no_transaction(&mut self) -> DriverResult<()> {
        Ok(())
    }

    /// A comment about what comes next; only a dry run shows it.
    fn note(&mut self, _text: &str) {}

    /// Runs one statement (or several, where the dialect allows it in one message).
    async fn execute(&mut self, sql: &str) -> DriverResult<()>;

    /// Closes the connection cleanly.
    async fn close(self: Box<Self>) -> DriverResult<()>;
}

/// Opens a driver for a URL: `postgres://`, `postgresql://`, `mysql://`, `mariadb://`,
/// `sqlite://path` or `sqlite::memory:`.
pub async fn connect(url: &str, options: &ConnectOptions) -> DriverResult<Box<dyn Driver>> {
    let scheme = url.split(':').next().unwrap_or("").to_ascii_lowercase();
    match scheme.as_str() {
        "postgres" | "postgresql" => Ok(Box::new(postgres::PgDriver::connect(url, options).await?)),
        "mysql" | "mariadb" => Ok(Box::new(mysql::MySqlDriver::connect(url, options).await?)),
        "sqlite" => Ok(Box::new(sqlite::SqliteDriver::connect(url, options).await?)),
        _ => Err(DriverError {
            kind: DriverErrorKind::Connection,
            message: format!(
                "unsupported URL scheme `{scheme}`: use postgres://, mysql://, mariadb:// or sqlite://"
            ),
            code: None,
        }),
    }
}

/// The dialect a URL names, without connecting.
pub fn dialect_of(url: &str) -> Option<Dialect> {
    let scheme = url.split(':').next().unwrap_or("").to_ascii_lowercase();
    match scheme.as_str() {
        "postgres" | "postgresql" => Some(Dialect::Postgres),
        "mysql" | "mariadb" => Some(Dialect::MySql),
        "sqlite" => Some(Dialect::Sqlite),
        _ => None,
    }
}

/// How to connect.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// How long to wait for the server before giving up.
    pub connect_timeout: Duration,
    /// How long a statement may wait for a lock held by someone else (SQLite busy timeout).
    pub lock_timeout: Duration,
    /// Create a missing SQLite file (commands that write); reading commands never create one.
    pub create_if_missing: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            connect_timeout: Duration::from_secs(10),
            lock_timeout: Duration::from_secs(600),
            create_if_missing: false,
        }
    }
}

/// A connection error for a URL, with the URL redacted.
pub(crate) fn connection_error(e: sqlx::Error) -> DriverError {
    let mut d = DriverError::from(e);
    d.kind = DriverErrorKind::Connection;
    d
}

/// Paces the attempts of a lock taken by polling: short waits first, at most half a second
/// apart, and a lock-timeout error once `timeout` has passed.
pub(crate) struct LockWait {
    started: std::time::Instant,
    timeout: Duration,
    wait: Duration,
}

impl LockWait {
    pub(crate) fn new(timeout: Duration) -> LockWait {
        LockWait {
            started: std::time::Instant::now(),
            timeout,
            wait: Duration::from_millis(20),
        }
    }

    /// Sleeps before the next attempt, or fails when the time is up.
    pub(crate) async fn next(&mut self) -> DriverResult<()> {
        let elapsed = self.started.elapsed();
        if elapsed >= self.timeout {
            return Err(DriverError {
                kind: DriverErrorKind::LockTimeout,
                message: format!(
                    "another godwit process held the migration lock for longer than {}",
                    crate::util::format_duration(self.timeout)
                ),
                code: None,
            });
        }
        tokio::time::sleep(self.wait.min(self.timeout - elapsed)).await;
        self.wait = (self.wait * 2).min(Duration::from_millis(500));
        Ok(())
    }
}

/// Reads every column of every row as text (the queries that use this cast to text themselves).
pub(crate) fn rows_as_text<R: sqlx::Row>(rows: &[R]) -> DriverResult<Vec<Vec<Option<String>>>>
where
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    rows.iter()
        .map(|r| {
            (0..r.len())
                .map(|i| r.try_get::<Option<String>, _>(i).map_err(DriverError::from))
                .collect()
        })
        .collect()
}
