//! PostgreSQL.
//!
//! The lock is a session-level advisory lock taken with `pg_try_advisory_lock` in a polling loop,
//! on the migration connection itself while no transaction is open. Waiting inside a blocking
//! `pg_advisory_lock` call would hold a snapshot that `CREATE INDEX CONCURRENTLY` run by the lock
//! holder waits for: the classic deadlock. Polling never holds a transaction open.

use std::borrow::Cow;
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
use crate::model::{HistoryRow, HistoryType};

/// The PostgreSQL driver.
pub struct PgDriver {
    conn: Conn<Postgres>,
    session: Session,
    lock_key: Option<i64>,
    /// `begin` was called: the next message starts the transaction (saves a round trip).
    pending_begin: bool,
    /// Statements `begin_with` asked to send right after `BEGIN` (a migration's `SET LOCAL`s).
    begin_setup: Vec<String>,
    /// A migration committed without waiting for its WAL flush; `sync` makes it durable.
    deferred: bool,
    /// The server process serving this connection, for cancelling its statement.
    backend_pid: i32,
    /// What `sync` sends.
    sync_sql: &'static str,
    /// How to open a second connection, to cancel this one's statement.
    cancel_options: Option<PgConnectOptions>,
    /// `Some(expiry)`: the migration lock is a lease row, not an advisory lock.
    lease: Option<Duration>,
    /// The lease this driver holds, with its heartbeat.
    held_lease: Option<HeldLease>,
}

/// A lease row this process holds, renewed by a task on a second connection.
struct HeldLease {
    key: String,
    owner: String,
    heartbeat: tokio::task::JoinHandle<()>,
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

/// [`SESSION_QUERY`] behind a pooler in transaction mode (lease lock): no session setting,
/// which would stay on the server connection for the pooler's other clients, and no use for
/// the backend pid, which is not the one the next statement runs on.
const POOLED_SESSION_QUERY: &str =
    "SELECT current_user::text, current_database()::text, current_schema()::text, \
current_setting('server_version'), 0, current_setting('synchronous_commit'), \
NULL, current_setting('role'), current_setting('search_path')";

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
            .disable_statement_logging()
            // PgBouncer refuses unknown startup parameters ("unsupported startup parameter:
            // extra_float_digits"); godwit reads no floating-point values, so it sends none.
            .extra_float_digits(None);
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
        let mut conn =
            super::connect_retrying(options, || opts.connect(), |e| pg_connection_error(e, url))
                .await?;
        if let Some(sql) = &options.init_sql {
            conn.execute(sqlx::raw_sql(sql))
                .await
                .map_err(|e| super::init_sql_failed(pg_error(e)))?;
        }
        let mut driver = PgDriver::with_session(Conn::Owned(conn), options.lock_lease)
            .await
            .map_err(|e| pg_connection_error(e, url))?;
        driver.cancel_options = Some(opts);
        Ok(driver)
    }

    /// Runs on a connection checked out of the caller's pool, for as long as the driver lives.
    pub async fn from_pool(pool: &PgPool) -> DriverResult<PgDriver> {
        let conn = pool.acquire().await.map_err(connection_error)?;
        let mut driver = PgDriver::with_session(Conn::pooled(conn), None)
            .await
            .map_err(connection_error)?;
        driver.cancel_options = Some((*pool.connect_options()).clone());
        Ok(driver)
    }

    /// Reads the session facts on a fresh connection.
    async fn with_session(
        conn: Conn<Postgres>,
        lease: Option<Duration>,
    ) -> Result<PgDriver, sqlx::Error> {
        let pooled = lease.is_some();
        let mut driver = PgDriver {
            conn,
            session: Session::default(),
            lock_key: None,
            pending_begin: false,
            begin_setup: Vec::new(),
            deferred: false,
            backend_pid: 0,
            sync_sql: SYNC,
            cancel_options: None,
            lease,
            held_lease: None,
        };
        let row = if pooled {
            driver
                .conn
                .fetch_one(sqlx::raw_sql(POOLED_SESSION_QUERY))
                .await?
        } else {
            driver.conn.fetch_one(SESSION_QUERY).await?
        };
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

    /// Runs a query and returns its rows. Behind a pooler (lease lock) it goes through the
    /// simple query protocol: PgBouncer before 1.21 does not keep prepared statements in
    /// transaction mode ("prepared statement \"sqlx_s_1\" already exists"). The simple
    /// protocol returns text values, which these queries' types (text, integers, booleans)
    /// decode from.
    async fn fetch_rows(&mut self, sql: &str) -> Result<Vec<sqlx::postgres::PgRow>, sqlx::Error> {
        if self.lease.is_some() {
            self.conn.fetch_all(sqlx::raw_sql(sql)).await
        } else {
            self.conn.fetch_all(sql).await
        }
    }

    /// [`Self::fetch_rows`] for a query of one boolean.
    async fn fetch_bool(&mut self, sql: &str) -> DriverResult<bool> {
        let rows = self.fetch_rows(sql).await.map_err(pg_error)?;
        match rows.first() {
            Some(row) => row.try_get(0).map_err(DriverError::from),
            None => Ok(false),
        }
    }

    async fn run(&mut self, sql: &str) -> DriverResult<()> {
        self.conn
            .execute(sqlx::raw_sql(sql))
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    /// The transaction start still to send, if `begin` was called and nothing sent since, with
    /// the number of statements it holds.
    fn take_begin(&mut self) -> (Cow<'static, str>, usize) {
        let setup = std::mem::take(&mut self.begin_setup);
        if !std::mem::take(&mut self.pending_begin) {
            return (Cow::Borrowed(""), 0);
        }
        if setup.is_empty() {
            return (Cow::Borrowed(BEGIN), BEGIN_STATEMENTS);
        }
        let mut text = String::from(BEGIN);
        for sql in &setup {
            text.push_str(sql);
            text.push_str(";\n");
        }
        (Cow::Owned(text), BEGIN_STATEMENTS + setup.len())
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

/// The lease lock's table, in the session's current schema.
const LEASE_TABLE: &str = "CREATE TABLE IF NOT EXISTS godwit_lease (lock_key text PRIMARY KEY, \
owner text NOT NULL, expires_at timestamptz NOT NULL)";

impl Drop for HeldLease {
    /// A driver dropped without `unlock` stops renewing: its lease then expires.
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}

/// A string literal for the simple query protocol (which poolers in transaction mode support
/// without prepared statements). `standard_conforming_strings` is on in every supported server.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// [`literal`], or `NULL`.
fn opt_literal(text: Option<&str>) -> String {
    text.map_or_else(|| "NULL".to_owned(), literal)
}

/// Takes the lease if it is free or expired, in one committed statement: it writes a row
/// when this owner gets it, none when another holds it.
fn lease_take_sql(key: &str, owner: &str, expiry: Duration) -> String {
    format!(
        "INSERT INTO godwit_lease AS l (lock_key, owner, expires_at) VALUES ({k}, {o}, \
         clock_timestamp() + interval '{ms} milliseconds') ON CONFLICT (lock_key) DO UPDATE \
         SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at \
         WHERE l.expires_at < clock_timestamp() OR l.owner = EXCLUDED.owner",
        k = literal(key),
        o = literal(owner),
        ms = expiry.as_millis()
    )
}

/// Pushes the lease's expiry forward; it writes a row while this owner still holds it.
fn lease_renew_sql(key: &str, owner: &str, expiry: Duration) -> String {
    format!(
        "UPDATE godwit_lease SET expires_at = clock_timestamp() + interval '{ms} milliseconds' \
         WHERE lock_key = {k} AND owner = {o}",
        k = literal(key),
        o = literal(owner),
        ms = expiry.as_millis()
    )
}

/// Renews the lease every third of its expiry on its own connection, so that one long
/// migration keeps it. Stops when the lease is lost (it says so) or when aborted.
async fn lease_heartbeat(options: PgConnectOptions, key: String, owner: String, expiry: Duration) {
    let period = (expiry / 3).max(Duration::from_millis(100));
    let mut conn = None;
    loop {
        tokio::time::sleep(period).await;
        if conn.is_none() {
            conn = options.connect().await.ok();
        }
        let Some(c) = conn.as_mut() else {
            tracing::warn!("cannot connect to renew the migration lease");
            continue;
        };
        let renew = lease_renew_sql(&key, &owner, expiry);
        let result: Result<sqlx::postgres::PgQueryResult, sqlx::Error> =
            c.execute(renew.as_str()).await;
        match result.map(|r| r.rows_affected()) {
            Ok(n) if n > 0 => {}
            Ok(_) => {
                tracing::warn!(key = %key, "the migration lease expired and was taken by another process");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "renewing the migration lease failed; trying again");
                conn = None;
            }
        }
    }
}

impl PgDriver {
    /// Takes the lease lock, polling until `timeout`.
    async fn lock_lease(
        &mut self,
        key: &str,
        expiry: Duration,
        timeout: Duration,
    ) -> DriverResult<()> {
        for attempt in 0..3 {
            match self.conn.execute(sqlx::raw_sql(LEASE_TABLE)).await {
                Ok(_) => break,
                // Two processes creating the table at once: one of them gets a unique
                // violation on the catalog; the table is there afterwards.
                Err(e)
                    if attempt < 2
                        && matches!(pg_error_code(&e).as_deref(), Some("23505" | "42P07")) => {}
                Err(e) => return Err(pg_error(e)),
            }
        }
        let owner = super::lease_owner();
        let take = lease_take_sql(key, &owner, expiry);
        let mut wait = LockWait::new(timeout);
        loop {
            let got = self
                .conn
                .execute(sqlx::raw_sql(&take))
                .await
                .map_err(pg_error)?
                .rows_affected();
            if got > 0 {
                break;
            }
            wait.next().await?;
        }
        let heartbeat = match &self.cancel_options {
            Some(options) => tokio::spawn(lease_heartbeat(
                options.clone(),
                key.to_owned(),
                owner.clone(),
                expiry,
            )),
            None => tokio::spawn(async {}),
        };
        self.held_lease = Some(HeldLease {
            key: key.to_owned(),
            owner,
            heartbeat,
        });
        Ok(())
    }
}

fn pg_error_code(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// The advisory lock number of a lock key: its [`super::lock_hash`], as PostgreSQL's `bigint`.
pub(crate) fn advisory_key(key: &str) -> i64 {
    super::lock_hash(key) as i64
}

/// Cancels the statement running on backend `pid`, over a connection of its own.
pub(crate) async fn cancel(options: &PgConnectOptions, pid: i32) -> Result<(), sqlx::Error> {
    use sqlx::Connection as _;
    let mut c = options.connect().await?;
    sqlx::query("SELECT pg_cancel_backend($1)")
        .bind(pid)
        .execute(&mut c)
        .await?;
    c.close().await
}

/// What backend `pid`'s statement is doing and who blocks it (`pg_stat_activity`,
/// `pg_blocking_pids`), over a connection of its own.
pub(crate) async fn activity(
    options: &PgConnectOptions,
    pid: i32,
) -> Result<super::Activity, sqlx::Error> {
    use sqlx::Connection as _;
    let pid = &pid;
    let mut c = options
        .clone()
        .application_name("godwit-observer")
        .connect()
        .await?;
    let row = sqlx::query(
        "SELECT CASE WHEN state = 'active' THEN EXTRACT(EPOCH FROM clock_timestamp() - query_start)::float8 END, \
         wait_event_type, wait_event FROM pg_catalog.pg_stat_activity WHERE pid = $1",
    )
    .bind(*pid)
    .fetch_optional(&mut c)
    .await?;
    let mut activity = super::Activity::default();
    if let Some(row) = row {
        activity.running_for = row
            .try_get::<Option<f64>, _>(0)?
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64);
        let kind: Option<String> = row.try_get(1)?;
        let event: Option<String> = row.try_get(2)?;
        // A client read is the server waiting for godwit, not a wait of the
        // statement's.
        activity.waiting_on = match (kind, event) {
            (Some(k), _) if k == "Client" => None,
            (Some(k), Some(e)) => Some(format!("{k}: {e}")),
            (Some(k), None) => Some(k),
            _ => None,
        };
        let blockers = sqlx::query(
            "SELECT pid::int8, left(regexp_replace(coalesce(query, ''), '\\s+', ' ', 'g'), 120) \
             FROM pg_catalog.pg_stat_activity \
             WHERE pid = ANY (pg_catalog.pg_blocking_pids($1)) ORDER BY pid",
        )
        .bind(*pid)
        .fetch_all(&mut c)
        .await?;
        for b in blockers {
            activity.blockers.push((b.try_get(0)?, b.try_get(1)?));
        }
    }
    c.close().await?;
    Ok(activity)
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
        if self.lock_key.is_some() || self.held_lease.is_some() {
            return Ok(());
        }
        if let Some(expiry) = self.lease {
            return self.lock_lease(key, expiry, timeout).await;
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
        if let Some(lease) = self.held_lease.take() {
            lease.heartbeat.abort();
            let sql = format!(
                "DELETE FROM godwit_lease WHERE lock_key = {} AND owner = {}",
                literal(&lease.key),
                literal(&lease.owner)
            );
            self.run(&sql).await?;
        }
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
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = COALESCE({}, current_schema()) AND tablename = {})",
            opt_literal(table.schema.as_deref()),
            literal(&table.name)
        );
        self.fetch_bool(&sql).await
    }

    async fn read_history(&mut self, table: &HistoryTable) -> DriverResult<Vec<HistoryRow>> {
        let sql = dialect::select_history(Dialect::Postgres, table);
        let rows = self.fetch_rows(&sql).await.map_err(pg_error)?;
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
                success: at.get(r, 9)?,
            })
        })
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
        let names = schemas
            .iter()
            .map(|s| literal(s))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT EXISTS (
                SELECT 1 FROM pg_catalog.pg_class c
                JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = ANY(ARRAY[{names}]::text[]) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
                  AND NOT (c.relname = {name} AND n.nspname = COALESCE({schema}, current_schema()))
                  {lease}
                  AND NOT (c.relkind = 'S' AND EXISTS (
                      SELECT 1 FROM pg_catalog.pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')))
                UNION ALL
                SELECT 1 FROM pg_catalog.pg_proc p
                JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = ANY(ARRAY[{names}]::text[])
                  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e'))",
            name = literal(&table.name),
            schema = opt_literal(table.schema.as_deref()),
            // The lease lock's own table, created before this check, is not the user's.
            lease = if self.lease.is_some() {
                "AND NOT (c.relname = 'godwit_lease' AND n.nspname = current_schema())"
            } else {
                ""
            },
        );
        self.fetch_bool(&sql).await
    }

    async fn schema_exists(&mut self, schema: &str) -> DriverResult<bool> {
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = {})",
            literal(schema)
        );
        self.fetch_bool(&sql).await
    }

    async fn query_text(&mut self, sql: &str) -> DriverResult<Vec<Vec<Option<String>>>> {
        let (begin, _) = self.take_begin();
        if !begin.is_empty() {
            self.run(&begin).await?;
        }
        let rows = self.fetch_rows(sql).await.map_err(pg_error)?;
        super::rows_as_text(&rows)
    }

    async fn begin(&mut self) -> DriverResult<()> {
        self.pending_begin = true;
        self.begin_setup.clear();
        Ok(())
    }

    async fn begin_with(&mut self, setup: &[String]) -> DriverResult<()> {
        self.pending_begin = true;
        self.begin_setup = setup.to_vec();
        Ok(())
    }

    async fn commit(&mut self) -> DriverResult<()> {
        if std::mem::take(&mut self.pending_begin) {
            self.begin_setup.clear();
            return Ok(());
        }
        self.run("COMMIT").await?;
        self.deferred = true;
        Ok(())
    }

    async fn rollback(&mut self) -> DriverResult<()> {
        if std::mem::take(&mut self.pending_begin) {
            self.begin_setup.clear();
            return Ok(());
        }
        self.run("ROLLBACK").await
    }

    async fn execute(&mut self, sql: &str) -> DriverResult<()> {
        let (begin, _) = self.take_begin();
        if begin.is_empty() {
            self.run(sql).await
        } else {
            self.run(&format!("{begin}{sql}")).await
        }
    }

    async fn execute_batch(&mut self, statements: &[&str]) -> Result<(), (usize, DriverError)> {
        let (begin, skip) = self.take_begin();
        let message = super::join_statements(&begin, statements, "");
        super::run_counted(&mut *self.conn, &message)
            .await
            .map_err(|(done, e)| {
                // PostgreSQL parses the whole message before it runs any of it: a syntax error
                // anywhere fails it with nothing done. The error's position then names the
                // statement.
                let index = error_position(&e)
                    .and_then(|p| super::statement_at(&begin, statements, p))
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
        let (begin, _) = self.take_begin();
        if !begin.is_empty() {
            self.run(&begin).await.map_err(|e| (None, e))?;
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
        let (begin, _) = self.take_begin();
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
        // Behind a pooler the statement may run on any server connection: cancelling by the
        // session's backend pid could stop another client's statement.
        if self.lease.is_some() {
            return None;
        }
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
    use super::{copy_context_line, lease_take_sql, literal, opt_literal};
    use std::time::Duration;

    #[test]
    fn lease_statements_quote_their_values() {
        assert_eq!(literal("godwit:public.t"), "'godwit:public.t'");
        assert_eq!(literal("a'b\\c"), "'a''b\\c'");
        assert_eq!(opt_literal(None), "NULL");
        let sql = lease_take_sql("k'1", "me", Duration::from_secs(3));
        assert!(
            sql.contains("VALUES ('k''1', 'me', clock_timestamp() + interval '3000 milliseconds')"),
            "{sql}"
        );
    }

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
