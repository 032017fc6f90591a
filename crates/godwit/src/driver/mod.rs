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
pub mod conn;
pub mod dialect;
pub(crate) mod history_read;
#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "postgres")]
pub mod postgres;
mod probe;
#[cfg(feature = "sqlite")]
pub mod sqlite;

/// The history table: an optional schema and a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryTable {
    /// The schema; the connection's default schema when `None`.
    pub schema: Option<String>,
    /// The table's name.
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

    /// The key of the database lock: the same table always maps to the same lock, and two
    /// history tables never share one. `default_schema` is where an unqualified table lives
    /// (the connection's schema, or on MySQL its database); it belongs in the key because a
    /// MySQL `GET_LOCK` name is server-wide, and PostgreSQL advisory locks span schemas.
    pub fn lock_key(&self, default_schema: &str) -> String {
        let schema = self.schema.as_deref().unwrap_or(default_schema);
        if schema.is_empty() {
            format!("godwit:{}", self.name)
        } else {
            format!("godwit:{schema}.{}", self.name)
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
    /// The database user (empty on SQLite).
    pub user: String,
    /// The database's name (the file on SQLite).
    pub database: String,
    /// The schema unqualified names resolve to (empty on SQLite).
    pub schema: String,
    /// The server's version string, for messages.
    pub server_version: String,
    /// PostgreSQL: the `role` setting when the connection opened (`none` unless a default role
    /// is set), restored after each migration.
    pub role: Option<String>,
    /// PostgreSQL: the `search_path` when the connection opened, restored after each migration
    /// (unless godwit sets its own from the managed schemas).
    pub search_path: Option<String>,
}

/// What went wrong inside a driver.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct DriverError {
    /// What kind of failure it was.
    pub kind: DriverErrorKind,
    /// The database's own message.
    pub message: String,
    /// SQLSTATE or the server's error code, where there is one.
    pub code: Option<String>,
}

/// The kinds of [`DriverError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverErrorKind {
    /// The server could not be reached or refused the login.
    Connection,
    /// The server rejected a statement.
    Statement,
    /// The lock was not obtained in time.
    LockTimeout,
    /// The URL is not one godwit can use (unknown scheme, unparsable): bad configuration.
    Config,
    /// The database could not write or read its files: disk full, a read-only file or
    /// directory, an I/O error.
    Storage,
    /// The statement was cancelled because godwit was interrupted (Ctrl-C, SIGTERM, or the
    /// caller's [`crate::Interrupt`]).
    Interrupted,
    /// The transaction lost a conflict with another node of a multi-primary cluster and was
    /// rolled back: a Galera certification failure (error 1213, at commit, or while a statement
    /// ran when another node's write aborted it) or a MySQL group replication rollback (3101).
    Conflict,
}

impl DriverError {
    /// A statement error with this message and no code.
    pub fn statement(message: impl Into<String>) -> DriverError {
        DriverError {
            kind: DriverErrorKind::Statement,
            message: message.into(),
            code: None,
        }
    }
}

impl DriverError {
    /// Whether the connection is gone: nothing more can be sent on it, and whether the last
    /// thing sent took effect is unknown.
    pub fn is_connection_lost(&self) -> bool {
        self.kind == DriverErrorKind::Connection
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
            sqlx::Error::WorkerCrashed | sqlx::Error::PoolClosed => DriverError {
                kind: DriverErrorKind::Connection,
                message: format!("connection lost: {e}"),
                code: None,
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
                message: format!("protocol error: {}", without_source_location(&p)),
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

/// A driver's message without the place in the driver's source it came from: sqlx ends its
/// protocol errors with ` (sqlx_postgres::connection::establish:130)`, which means nothing to a
/// user.
fn without_source_location(message: &str) -> &str {
    match message.rsplit_once(" (") {
        Some((text, place))
            if place.ends_with(')')
                && place.contains("::")
                && !place.contains(' ')
                && place
                    .trim_end_matches(')')
                    .rsplit(':')
                    .next()
                    .is_some_and(|line| {
                        !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit())
                    }) =>
        {
            text
        }
        _ => message,
    }
}

/// What driver operations return.
pub type DriverResult<T> = Result<T, DriverError>;

/// Where the data of a `COPY ... FROM STDIN` comes from; see [`Driver::copy_in`].
#[async_trait]
pub trait CopySource: Send {
    /// The next chunk of data (whole lines, each ended with `\n`), or `None` at its end. An
    /// error (the file could not be read) aborts the copy; the source keeps the details.
    async fn next_chunk(&mut self) -> Result<Option<String>, String>;
}

/// The operations godwit needs from a database.
///
/// The lock is held on a connection with no open transaction on PostgreSQL and MySQL, so that
/// statements that refuse to run inside a transaction (and wait for other transactions, like
/// `CREATE INDEX CONCURRENTLY`) never deadlock against godwit's own lock.
#[async_trait]
pub trait Driver: Send {
    /// The database's SQL dialect.
    fn dialect(&self) -> Dialect;

    /// The connected user, database and schema.
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

    /// Opens a migration's transaction.
    async fn begin(&mut self) -> DriverResult<()>;
    /// Opens a migration's transaction whose first statements are `setup` (the limits of the
    /// migration's statements, `SET LOCAL …`), sent with the transaction's first message where
    /// the driver can.
    async fn begin_with(&mut self, setup: &[String]) -> DriverResult<()> {
        self.begin().await?;
        for sql in setup {
            self.execute(sql).await?;
        }
        Ok(())
    }
    /// Commits the migration's transaction.
    async fn commit(&mut self) -> DriverResult<()>;
    /// Rolls the migration's transaction back; a no-op when none is open.
    async fn rollback(&mut self) -> DriverResult<()>;

    /// Called before a migration that must run outside any transaction.
    async fn enter_no_transaction(&mut self) -> DriverResult<()> {
        Ok(())
    }
    /// Called after a migration that ran outside any transaction.
    async fn leave_no_transaction(&mut self) -> DriverResult<()> {
        Ok(())
    }

    /// A comment about what comes next; only a dry run shows it.
    fn note(&mut self, _text: &str) {}

    /// Runs one statement (or several, where the dialect allows it in one message).
    async fn execute(&mut self, sql: &str) -> DriverResult<()>;

    /// Runs statements in order, in as few round trips as the protocol allows, stopping at
    /// the first failure, which it reports with the index of the failing statement. Only
    /// called inside a transaction.
    async fn execute_batch(&mut self, statements: &[&str]) -> Result<(), (usize, DriverError)> {
        for (i, sql) in statements.iter().enumerate() {
            self.execute(sql).await.map_err(|e| (i, e))?;
        }
        Ok(())
    }

    /// Runs a PostgreSQL `COPY ... FROM STDIN` with the data `data` hands out, chunk by chunk
    /// (the executor reads them from the file as they are sent, so memory stays bounded).
    /// Returns the rows copied. On failure, the error comes with the line of the data the
    /// server blamed (1-based, counted from the first data line) when it names one. Only
    /// PostgreSQL has the copy protocol; the other drivers never get such a statement.
    async fn copy_in(
        &mut self,
        sql: &str,
        data: &mut (dyn CopySource + '_),
    ) -> Result<u64, (Option<u32>, DriverError)> {
        let _ = data;
        Err((
            None,
            DriverError::statement(format!(
                "`{}` needs PostgreSQL's copy protocol",
                crate::execute::excerpt(sql)
            )),
        ))
    }

    /// Runs `sql` (a history row) and commits the transaction, in one round trip where the
    /// protocol allows it.
    async fn execute_and_commit(&mut self, sql: &str) -> DriverResult<()> {
        self.execute(sql).await?;
        self.commit().await
    }

    /// Makes every commit so far durable. Drivers that let migration commits defer their disk
    /// flush (PostgreSQL) flush here, once, before a run reports success or failure; drivers
    /// that keep a run's migrations in one transaction (SQLite) commit it here and go on
    /// holding their lock.
    async fn sync(&mut self) -> DriverResult<()> {
        Ok(())
    }

    /// Whether every migration finished so far is committed: kept, and visible to others,
    /// if godwit stopped now. SQLite keeps a run's migrations in one transaction until
    /// [`Driver::sync`] or a migration that must run outside it; the executor reports a
    /// migration as applied only once it is committed.
    fn committed(&self) -> bool {
        true
    }

    /// A handle that cancels the statement this connection is running, from another task;
    /// `None` where the database cannot do that (SQLite runs in-process: its statement
    /// finishes, and the run stops before the next one).
    fn cancel_handle(&self) -> Option<CancelHandle> {
        None
    }

    /// Closes the connection cleanly.
    async fn close(self: Box<Self>) -> DriverResult<()>;
}

/// Cancels the statement a driver's connection is running, over a connection of its own (the
/// running one is busy): PostgreSQL's `pg_cancel_backend`, MySQL's `KILL QUERY`.
#[derive(Clone)]
pub struct CancelHandle {
    inner: CancelTarget,
}

// One per run: the size of the connect options does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
enum CancelTarget {
    #[cfg(feature = "postgres")]
    Postgres {
        options: sqlx::postgres::PgConnectOptions,
        pid: i32,
    },
    #[cfg(feature = "mysql")]
    MySql {
        options: sqlx::mysql::MySqlConnectOptions,
        id: u64,
    },
    /// SQLite runs in-process: a progress handler on the connection checks this flag while a
    /// statement runs and interrupts it (`SQLITE_INTERRUPT`) once it is set.
    Sqlite {
        flag: std::sync::Arc<std::sync::atomic::AtomicBool>,
    },
}

impl fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The options hold the password: show the target only.
        match &self.inner {
            #[cfg(feature = "postgres")]
            CancelTarget::Postgres { pid, .. } => write!(f, "CancelHandle(PostgreSQL pid {pid})"),
            #[cfg(feature = "mysql")]
            CancelTarget::MySql { id, .. } => write!(f, "CancelHandle(MySQL connection {id})"),
            CancelTarget::Sqlite { .. } => f.write_str("CancelHandle(SQLite progress handler)"),
        }
    }
}

impl CancelHandle {
    #[cfg(feature = "postgres")]
    pub(crate) fn postgres(options: sqlx::postgres::PgConnectOptions, pid: i32) -> CancelHandle {
        CancelHandle {
            inner: CancelTarget::Postgres { options, pid },
        }
    }

    #[cfg(feature = "mysql")]
    pub(crate) fn mysql(options: sqlx::mysql::MySqlConnectOptions, id: u64) -> CancelHandle {
        CancelHandle {
            inner: CancelTarget::MySql { options, id },
        }
    }

    pub(crate) fn sqlite(flag: std::sync::Arc<std::sync::atomic::AtomicBool>) -> CancelHandle {
        CancelHandle {
            inner: CancelTarget::Sqlite { flag },
        }
    }

    /// Withdraws a cancel request that no statement consumed (the statement had finished):
    /// SQLite's flag would otherwise interrupt the next statement, such as the rollback.
    pub fn reset(&self) {
        if let CancelTarget::Sqlite { flag } = &self.inner {
            flag.store(false, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// Asks the server to cancel the running statement; a no-op when none runs. Gives up after
    /// five seconds (the server's own end of the connection then stops the statement when it
    /// notices the client is gone).
    pub async fn cancel(&self) -> DriverResult<()> {
        if let CancelTarget::Sqlite { flag } = &self.inner {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            return Ok(());
        }
        let limit = Duration::from_secs(5);
        let work = async {
            match &self.inner {
                #[cfg(feature = "postgres")]
                CancelTarget::Postgres { options, pid } => postgres::cancel(options, *pid).await,
                #[cfg(feature = "mysql")]
                CancelTarget::MySql { options, id } => mysql::cancel(options, *id).await,
                CancelTarget::Sqlite { .. } => Ok(()),
            }
        };
        match tokio::time::timeout(limit, work).await {
            Ok(result) => result.map_err(connection_error),
            Err(_) => Err(DriverError {
                kind: DriverErrorKind::Connection,
                message: "no answer to the cancel request within 5 s".into(),
                code: None,
            }),
        }
    }
}

/// Looks at what the statement on a driver's connection is doing, over a connection of its
/// own (the running one is busy), as [`CancelHandle`] does: PostgreSQL's `pg_stat_activity` and
/// `pg_blocking_pids`, MySQL's `information_schema.PROCESSLIST`.
#[derive(Clone, Debug)]
pub struct ObserveHandle {
    target: CancelHandle,
}

/// What the statement godwit runs is doing, as the server sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Activity {
    /// How long the current statement has run; `None` when the connection is idle.
    pub running_for: Option<Duration>,
    /// What it waits on, e.g. `Lock: relation` (PostgreSQL's wait event type and name) or
    /// `Waiting for table metadata lock` (MySQL's process state); `None` when it is working.
    pub waiting_on: Option<String>,
    /// The sessions that block it: process id and the start of their last statement.
    pub blockers: Vec<(i64, String)>,
}

impl ObserveHandle {
    /// The handle for the connection a [`CancelHandle`] cancels statements on.
    pub fn new(target: CancelHandle) -> ObserveHandle {
        ObserveHandle { target }
    }

    /// Asks the server what the statement is doing. Gives up after five seconds.
    pub async fn activity(&self) -> DriverResult<Activity> {
        let limit = Duration::from_secs(5);
        let work = async {
            match &self.target.inner {
                #[cfg(feature = "postgres")]
                CancelTarget::Postgres { options, pid } => postgres::activity(options, *pid).await,
                #[cfg(feature = "mysql")]
                CancelTarget::MySql { options, id } => mysql::activity(options, *id).await,
                // No server to ask: the caller falls back to how long the migration has run.
                CancelTarget::Sqlite { .. } => Err(sqlx::Error::Protocol(
                    "SQLite has no server to ask what a statement waits on".into(),
                )),
            }
        };
        match tokio::time::timeout(limit, work).await {
            Ok(result) => result.map_err(connection_error),
            Err(_) => Err(DriverError {
                kind: DriverErrorKind::Connection,
                message: "no answer to the activity query within 5 s".into(),
                code: None,
            }),
        }
    }
}

/// Opens a driver for a URL: `postgres://`, `postgresql://`, `mysql://`, `mariadb://`,
/// `sqlite://path` or `sqlite::memory:`.
pub async fn connect(url: &str, options: &ConnectOptions) -> DriverResult<Box<dyn Driver>> {
    let facts = crate::dburl::check_url(url).map_err(|p| DriverError {
        kind: DriverErrorKind::Config,
        message: p.to_string(),
        code: None,
    })?;
    if options.password.is_some() && facts.dialect == Dialect::Sqlite {
        return Err(DriverError {
            kind: DriverErrorKind::Config,
            message:
                "a password is set, but SQLite databases have none; remove the password setting"
                    .into(),
            code: None,
        });
    }
    let scheme = url.split(':').next().unwrap_or("").to_ascii_lowercase();
    match scheme.as_str() {
        #[cfg(feature = "postgres")]
        "postgres" | "postgresql" => match postgres::PgDriver::connect(url, options).await {
            Ok(driver) => Ok(Box::new(driver)),
            Err(e) => Err(probe::explain(url, Dialect::Postgres, e).await),
        },
        #[cfg(feature = "mysql")]
        "mysql" | "mariadb" => match mysql::MySqlDriver::connect(url, options).await {
            Ok(driver) => Ok(Box::new(driver)),
            Err(e) => Err(probe::explain(url, Dialect::MySql, e).await),
        },
        #[cfg(feature = "sqlite")]
        "sqlite" => Ok(Box::new(sqlite::SqliteDriver::connect(url, options).await?)),
        // A database this build left out (the arms above take those it has).
        #[allow(unreachable_patterns)]
        "postgres" | "postgresql" | "mysql" | "mariadb" | "sqlite" => Err(DriverError {
            kind: DriverErrorKind::Config,
            message: format!(
                "this build of godwit has no {} support: build it with the `{}` feature",
                match facts.dialect {
                    Dialect::Postgres => "PostgreSQL",
                    Dialect::MySql => "MySQL",
                    Dialect::Sqlite => "SQLite",
                },
                match facts.dialect {
                    Dialect::Postgres => "postgres",
                    Dialect::MySql => "mysql",
                    Dialect::Sqlite => "sqlite",
                }
            ),
            code: None,
        }),
        _ => Err(DriverError {
            kind: DriverErrorKind::Config,
            message: format!(
                "unsupported URL scheme `{scheme}`: use postgres://, mysql://, mariadb:// or sqlite://"
            ),
            code: None,
        }),
    }
}

/// The owner id of a lease lock (`lock_lease`, Galera): unique to this process and moment.
pub(crate) fn lease_owner() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("godwit pid {} at {nanos}", std::process::id())
}

/// A stable 64-bit hash of a lock key (FNV-1a): PostgreSQL's advisory lock number, and the
/// suffix of a MySQL `GET_LOCK` name too long to use whole. Frozen: two godwit releases must
/// compute the same lock for the same table.
pub(crate) fn lock_hash(key: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The dialect a URL names, without connecting.
pub fn dialect_of(url: &str) -> Option<Dialect> {
    // A JDBC URL's database is its sub-protocol: `jdbc:postgresql:…`.
    let url = match crate::dburl::is_jdbc_url(url) {
        true => &url[5..],
        false => url,
    };
    let scheme = url.split(':').next().unwrap_or("").to_ascii_lowercase();
    match scheme.as_str() {
        "postgres" | "postgresql" => Some(Dialect::Postgres),
        "mysql" | "mariadb" => Some(Dialect::MySql),
        "sqlite" => Some(Dialect::Sqlite),
        _ => None,
    }
}

/// How to connect.
#[derive(Clone)]
#[non_exhaustive]
pub struct ConnectOptions {
    /// How long to wait for the server before giving up.
    pub connect_timeout: Duration,
    /// How long a statement may wait for a lock held by someone else (SQLite busy timeout).
    pub lock_timeout: Duration,
    /// Create a missing SQLite file (commands that write); reading commands never create one.
    pub create_if_missing: bool,
    /// The password, when it is not in the URL (PostgreSQL and MySQL; SQLite has none). Never
    /// shown: `Debug` prints `***`, and messages are scrubbed of it.
    pub password: Option<String>,
    /// How many times to try again when the server cannot be reached yet (Flyway's
    /// `connectRetries`): refused, reset or timed-out connections and servers that are starting
    /// up or shutting down. A refused login (wrong password, unknown user or database) is never
    /// retried. 0: one attempt.
    pub connect_retries: u32,
    /// The longest wait between two attempts (Flyway's `connectRetriesInterval`): the first
    /// wait is one second, each next one twice as long, up to this.
    pub connect_retries_interval: Duration,
    /// Told about each retry before its wait (the CLI prints a line). Also a `tracing` event.
    pub on_retry: Option<RetryObserver>,
    /// The migration lock's kind. `None`: a session advisory lock (PostgreSQL, MySQL) or the
    /// database file's lock (SQLite). `Some(expiry)`: on PostgreSQL, a lease row in the
    /// `godwit_lease` table, written in short committed transactions and renewed by a
    /// heartbeat on a second connection; it works through a pooler in transaction mode
    /// (PgBouncer), and a holder that dies lets the next one in once `expiry` has passed. On
    /// MySQL and MariaDB, the same kind of lease in the history table's database: a lock that
    /// holds across a multi-primary cluster (Galera, group replication), where `GET_LOCK` is
    /// local to one node; it is taken there with a default expiry when the server says it is
    /// such a node (`wsrep_on`), unless set. Ignored on SQLite.
    pub lock_lease: Option<Duration>,
    /// SQL run on the connection as soon as it is open, before godwit reads the session
    /// (Flyway's `initSql`, docs/design.md §5.8): a role or session setting it sets is the
    /// session godwit works in and gives back to itself before each history write.
    pub init_sql: Option<String>,
}

/// How the error of `init_sql` begins: [`init_sql_failed`].
pub(crate) const INIT_SQL_FAILED: &str = "`init_sql` failed: ";

/// An error of `init_sql`, named as such: a statement's failure (exit 1), not a connection's.
pub(crate) fn init_sql_failed(e: DriverError) -> DriverError {
    DriverError {
        kind: DriverErrorKind::Statement,
        message: format!("{INIT_SQL_FAILED}{}", e.message),
        ..e
    }
}

/// Called before each connection retry: see [`ConnectOptions::on_retry`].
pub type RetryObserver = std::sync::Arc<dyn Fn(&ConnectRetry) + Send + Sync>;

/// A connection attempt failed in a way that may pass (the server is not up yet); another
/// follows after `wait`.
#[derive(Debug, Clone)]
pub struct ConnectRetry {
    /// Which retry comes next: 1 for the first.
    pub retry: u32,
    /// How many retries are allowed in all.
    pub retries: u32,
    /// How long godwit waits before it.
    pub wait: Duration,
    /// Why the last attempt failed (no password in it).
    pub error: String,
}

impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("connect_timeout", &self.connect_timeout)
            .field("lock_timeout", &self.lock_timeout)
            .field("create_if_missing", &self.create_if_missing)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("connect_retries", &self.connect_retries)
            .field("connect_retries_interval", &self.connect_retries_interval)
            .field("lock_lease", &self.lock_lease)
            .field("init_sql", &self.init_sql)
            .finish_non_exhaustive()
    }
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            connect_timeout: Duration::from_secs(10),
            lock_timeout: Duration::from_secs(600),
            create_if_missing: false,
            password: None,
            connect_retries: 0,
            connect_retries_interval: Duration::from_secs(120),
            on_retry: None,
            lock_lease: None,
            init_sql: None,
        }
    }
}

/// An error met while connecting. The caller scrubs the URL's password from the message.
pub(crate) fn connection_error(e: sqlx::Error) -> DriverError {
    let message = match &e {
        // rustls reports a failed handshake (unknown issuer, wrong host name) as invalid data
        // on the socket; say it is TLS, since nothing was "lost".
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
            format!("TLS handshake failed: {io}")
        }
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Configuration(c) => format!("invalid connection settings: {c}"),
        // What the driver saw (`unexpected message: CopyData`) tells a user nothing.
        sqlx::Error::Protocol(_) => "the server did not answer as the database the URL's scheme names does: check the URL's scheme and port".into(),
        _ => DriverError::from(e).message,
    };
    DriverError {
        kind: DriverErrorKind::Connection,
        message,
        code: None,
    }
}

/// Whether a failed connection attempt may succeed later without anyone changing anything:
/// the server is not reachable yet (refused, reset, unreachable, no socket file, timed out),
/// or it answered that it is starting up, shutting down or full. A refused login is not.
pub(crate) fn transient_connect_error(e: &sqlx::Error) -> bool {
    use std::io::ErrorKind;
    match e {
        sqlx::Error::Io(io) => io.kind() != ErrorKind::InvalidData,
        sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(db) => matches!(
            db.code().as_deref(),
            // PostgreSQL: cannot_connect_now ("the database system is starting up"),
            // admin_shutdown, crash_shutdown, too_many_connections.
            Some("57P03" | "57P01" | "57P02" | "53300")
            // MySQL/MariaDB: too many connections, server shutdown in progress.
            | Some("1040" | "1053" | "08004" | "08S01")
        ),
        _ => false,
    }
}

/// Opens a connection with `attempt`, each try limited to `options.connect_timeout`, trying
/// again (with backoff) on failures that may pass, up to `options.connect_retries` times.
/// `map` turns a failure into the driver's error (scrubbed of the URL's password).
pub(crate) async fn connect_retrying<C, Fut>(
    options: &ConnectOptions,
    mut attempt: impl FnMut() -> Fut,
    map: impl Fn(sqlx::Error) -> DriverError,
) -> DriverResult<C>
where
    Fut: std::future::Future<Output = Result<C, sqlx::Error>>,
{
    let mut retry = 0u32;
    let mut wait = Duration::from_secs(1);
    loop {
        let (error, transient) =
            match tokio::time::timeout(options.connect_timeout, attempt()).await {
                Ok(Ok(conn)) => return Ok(conn),
                Ok(Err(e)) => {
                    let transient = transient_connect_error(&e);
                    (map(e), transient)
                }
                Err(_) => (
                    DriverError {
                        kind: DriverErrorKind::Connection,
                        message: format!(
                            "no answer from the server within {}",
                            crate::util::format_duration(options.connect_timeout)
                        ),
                        code: None,
                    },
                    true,
                ),
            };
        if !transient || retry >= options.connect_retries {
            if retry > 0 && transient {
                let mut error = error;
                error.message = format!(
                    "{} (gave up after {retry} retr{})",
                    error.message,
                    if retry == 1 { "y" } else { "ies" }
                );
                return Err(error);
            }
            return Err(error);
        }
        retry += 1;
        let pause = wait.min(options.connect_retries_interval);
        let message = match &options.password {
            Some(p) => crate::dburl::scrub_secrets(&error.message, &[p]),
            None => error.message.clone(),
        };
        tracing::warn!(
            retry,
            retries = options.connect_retries,
            wait_ms = pause.as_millis() as u64,
            error = %message,
            "cannot connect yet, retrying"
        );
        if let Some(on_retry) = &options.on_retry {
            on_retry(&ConnectRetry {
                retry,
                retries: options.connect_retries,
                wait: pause,
                error: message,
            });
        }
        tokio::time::sleep(pause).await;
        wait = wait.saturating_mul(2);
    }
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

/// Reads every column of every row as text: text columns as they are, integers, floating-point
/// numbers and booleans formatted, binary data as UTF-8 (lossily). Other types (dates, decimals)
/// are an error saying to cast them to text in the query.
pub(crate) fn rows_as_text<R: sqlx::Row>(rows: &[R]) -> DriverResult<Vec<Vec<Option<String>>>>
where
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i32>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i16>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<f64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<f32>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<bool>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<Vec<u8>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    rows.iter()
        .map(|r| (0..r.len()).map(|i| column_as_text(r, i)).collect())
        .collect()
}

fn column_as_text<R: sqlx::Row>(row: &R, i: usize) -> DriverResult<Option<String>>
where
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i32>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i16>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<f64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<f32>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<bool>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<Vec<u8>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    let text = match row.try_get::<Option<String>, _>(i) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    fn shown<T: ToString>(v: Option<T>) -> Option<String> {
        v.map(|v| v.to_string())
    }
    if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
        return Ok(shown(v));
    }
    if let Ok(v) = row.try_get::<Option<i32>, _>(i) {
        return Ok(shown(v));
    }
    if let Ok(v) = row.try_get::<Option<i16>, _>(i) {
        return Ok(shown(v));
    }
    if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
        return Ok(shown(v));
    }
    if let Ok(v) = row.try_get::<Option<f32>, _>(i) {
        return Ok(shown(v));
    }
    if let Ok(v) = row.try_get::<Option<bool>, _>(i) {
        return Ok(shown(v));
    }
    if let Ok(v) = row.try_get::<Option<Vec<u8>>, _>(i) {
        return Ok(v.map(|b| String::from_utf8_lossy(&b).into_owned()));
    }
    Err(DriverError::statement(format!(
        "{} (cast the column to text in the query)",
        DriverError::from(text).message
    )))
}

/// Whether a host names this machine (a TCP loopback address or a Unix socket directory).
pub(crate) fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.starts_with('/')
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// What follows a statement in a joined message: `;` right after it, as the database's own
/// client sends it (SQLite keeps the text up to the `;` as a `CREATE INDEX`'s stored SQL, so a
/// newline before it would end up in `sqlite_master`), or, when the statement's last line may
/// end in a `--` or `#` comment that would swallow the `;`, a newline first.
pub(crate) fn separator(sql: &str) -> &'static str {
    let last_line = sql.rsplit('\n').next().unwrap_or(sql);
    if last_line.contains("--") || last_line.contains('#') {
        "\n;\n"
    } else {
        ";\n"
    }
}

/// Joins statements into one message, each followed by its [`separator`].
pub(crate) fn join_statements(prefix: &str, statements: &[&str], suffix: &str) -> String {
    let len = prefix.len() + suffix.len() + statements.iter().map(|s| s.len() + 3).sum::<usize>();
    let mut message = String::with_capacity(len);
    message.push_str(prefix);
    for sql in statements {
        message.push_str(sql);
        message.push_str(separator(sql));
    }
    message.push_str(suffix);
    message
}

/// The statement of a message built by [`join_statements`] that a 1-based character position
/// in the message (as PostgreSQL reports a syntax error's) falls in; `None` when it falls in
/// the prefix or beyond the statements.
pub(crate) fn statement_at(prefix: &str, statements: &[&str], position: usize) -> Option<usize> {
    let mut end = prefix.chars().count();
    if position <= end {
        return None;
    }
    for (i, sql) in statements.iter().enumerate() {
        end += sql.chars().count() + separator(sql).len();
        if position <= end {
            return Some(i);
        }
    }
    None
}

/// Runs a multi-statement message and counts the statements that completed, so that a failure
/// can be pinned on the statement that caused it.
pub(crate) async fn run_counted<'c, DB, E>(
    executor: E,
    message: &'c str,
) -> Result<(), (usize, sqlx::Error)>
where
    DB: sqlx::Database,
    E: sqlx::Executor<'c, Database = DB>,
{
    use futures_util::TryStreamExt as _;
    let mut stream = executor.fetch_many(sqlx::raw_sql(message));
    let mut done = 0usize;
    loop {
        match stream.try_next().await {
            Ok(Some(sqlx::Either::Left(_))) => done += 1,
            Ok(Some(sqlx::Either::Right(_))) => {}
            Ok(None) => return Ok(()),
            Err(e) => return Err((done, e)),
        }
    }
}

#[cfg(test)]
mod source_location_tests {
    use super::without_source_location;

    #[test]
    fn the_driver_source_location_is_dropped() {
        assert_eq!(
            without_source_location(
                "establish: unexpected message: CopyData (sqlx_postgres::connection::establish:130)"
            ),
            "establish: unexpected message: CopyData"
        );
        assert_eq!(without_source_location("a (b) c"), "a (b) c");
        assert_eq!(without_source_location("x (see a::b)"), "x (see a::b)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_that_may_pass_are_retried() {
        use std::io::{Error as IoError, ErrorKind};
        for kind in [
            ErrorKind::ConnectionRefused,
            ErrorKind::ConnectionReset,
            ErrorKind::TimedOut,
            ErrorKind::NotFound,
            ErrorKind::UnexpectedEof,
        ] {
            assert!(
                transient_connect_error(&sqlx::Error::Io(IoError::from(kind))),
                "{kind:?}"
            );
        }
        // A TLS handshake that fails will fail again.
        assert!(!transient_connect_error(&sqlx::Error::Io(IoError::from(
            ErrorKind::InvalidData
        ))));
        assert!(!transient_connect_error(&sqlx::Error::Configuration(
            "bad".into()
        )));
        assert!(transient_connect_error(&sqlx::Error::PoolTimedOut));
    }

    #[tokio::test]
    async fn retries_back_off_up_to_the_interval_and_stop_at_the_limit() {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = seen.clone();
        let options = ConnectOptions {
            connect_retries: 2,
            connect_retries_interval: Duration::from_millis(1200),
            password: Some("s3cret".into()),
            on_retry: Some(std::sync::Arc::new(move |r: &ConnectRetry| {
                record
                    .lock()
                    .unwrap()
                    .push((r.retry, r.wait, r.error.clone()));
            })),
            ..ConnectOptions::default()
        };
        let mut attempts = 0;
        let result: DriverResult<()> = connect_retrying(
            &options,
            || {
                attempts += 1;
                async {
                    Err(sqlx::Error::Io(std::io::Error::new(
                        std::io::ErrorKind::ConnectionRefused,
                        "refused (password s3cret)",
                    )))
                }
            },
            connection_error,
        )
        .await;
        let err = result.unwrap_err();
        assert_eq!(attempts, 3);
        assert!(err.message.contains("gave up after 2 retries"), "{err}");
        let seen = seen.lock().unwrap();
        let waits: Vec<_> = seen.iter().map(|(_, w, _)| w.as_millis()).collect();
        assert_eq!(waits, [1000, 1200]);
        assert!(
            seen.iter().all(|(_, _, e)| !e.contains("s3cret")),
            "{seen:?}"
        );
    }

    #[tokio::test]
    async fn a_refused_login_is_not_retried() {
        let options = ConnectOptions {
            connect_retries: 5,
            ..ConnectOptions::default()
        };
        let mut attempts = 0;
        let result: DriverResult<()> = connect_retrying(
            &options,
            || {
                attempts += 1;
                async {
                    Err(sqlx::Error::Protocol(
                        "password authentication failed".into(),
                    ))
                }
            },
            connection_error,
        )
        .await;
        assert!(result.is_err());
        assert_eq!(attempts, 1);
    }

    #[test]
    fn lock_keys_name_the_schema_where_the_table_lives() {
        let plain = HistoryTable::parse("godwit_schema_history", None).unwrap();
        assert_eq!(
            plain.lock_key("app_db"),
            "godwit:app_db.godwit_schema_history"
        );
        assert_eq!(plain.lock_key(""), "godwit:godwit_schema_history");
        // Two databases on one MySQL server never share a lock; a qualified table keys on
        // its own schema whatever the connection's default.
        assert_ne!(plain.lock_key("a"), plain.lock_key("b"));
        let qualified = HistoryTable::parse("audit.history", None).unwrap();
        assert_eq!(qualified.lock_key("public"), "godwit:audit.history");
    }

    #[test]
    fn statements_are_joined_as_a_client_sends_them_and_positions_map_back() {
        let statements = ["CREATE INDEX i ON t (a)", "SELECT 1 -- one", "SELECT 'é'"];
        let message = join_statements("BEGIN;\n", &statements, "");
        assert_eq!(
            message,
            "BEGIN;\nCREATE INDEX i ON t (a);\nSELECT 1 -- one\n;\nSELECT 'é';\n"
        );
        let at = |needle: &str| message[..message.find(needle).unwrap()].chars().count() + 1;
        assert_eq!(statement_at("BEGIN;\n", &statements, at("BEGIN")), None);
        assert_eq!(statement_at("BEGIN;\n", &statements, at("CREATE")), Some(0));
        assert_eq!(statement_at("BEGIN;\n", &statements, at("(a)")), Some(0));
        assert_eq!(statement_at("BEGIN;\n", &statements, at("1 --")), Some(1));
        assert_eq!(statement_at("BEGIN;\n", &statements, at("'é'")), Some(2));
        assert_eq!(
            statement_at("BEGIN;\n", &statements, message.chars().count() + 5),
            None
        );
    }
}
