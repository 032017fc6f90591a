//! MySQL and MariaDB.
//!
//! DDL commits implicitly, so a migration that fails after changing something cannot be rolled
//! back: the executor records it with `success = false` and later runs refuse until `repair`.
//! The lock is `GET_LOCK`, a named lock held by the session until `RELEASE_LOCK` or disconnect.
//! `GET_LOCK` is local to one server, so on a node of a multi-primary cluster (Galera, whose
//! nodes say `wsrep_on = ON`; MySQL group replication in multi-primary mode), or when
//! `lock_lease` is set, the lock is a lease row instead: a `godwit_lease` table in the history
//! table's database, written in single committed statements that the cluster certifies like any
//! other write, and renewed by a heartbeat on a second connection (as the PostgreSQL driver
//! does behind PgBouncer).

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::mysql::{MySql, MySqlConnectOptions, MySqlDatabaseError, MySqlPool};
use sqlx::{ConnectOptions as _, Executor as _, Row};
use tokio::task::JoinHandle;

use super::conn::Conn;
use super::dialect;
use super::{
    connection_error, ConnectOptions, Dialect, Driver, DriverError, DriverErrorKind, DriverResult,
    HistoryTable, LockWait, Session,
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
    /// How to open a second connection, to cancel this one's statement (and to renew a lease).
    cancel_options: Option<MySqlConnectOptions>,
    /// The server is a node of a multi-primary cluster: its deadlocks are certification
    /// conflicts, and `GET_LOCK` holds on this node only.
    cluster: Option<Cluster>,
    /// `Some(expiry)`: the migration lock is a lease row, not `GET_LOCK`.
    lease: Option<Duration>,
    /// The lease this driver holds, with its heartbeat.
    held_lease: Option<HeldLease>,
}

/// A multi-primary cluster the server is a node of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cluster {
    /// MariaDB Galera Cluster (or Percona XtraDB Cluster): `wsrep_on = ON`.
    Galera,
    /// MySQL group replication in multi-primary mode.
    GroupReplication,
}

/// How long a lease lasts without renewal when the server is a cluster node and `lock_lease` is
/// not set. A holder killed without releasing it keeps the others out this long; but on MySQL a
/// holder killed during a migration leaves its history row marked running, which needs `repair`
/// anyway, so a long lease costs little. And it must outlast the longest DDL statement: Galera
/// runs DDL in total order isolation, during which no renewal commits.
pub const CLUSTER_LEASE: Duration = Duration::from_secs(120);

/// A lease row this process holds, renewed by a task on a second connection.
struct HeldLease {
    table: String,
    key: String,
    owner: String,
    heartbeat: JoinHandle<()>,
}

impl Drop for HeldLease {
    /// A driver dropped without `unlock` stops renewing: its lease then expires.
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}

macro_rules! session_query {
    () => {
        "SELECT CAST(SUBSTRING_INDEX(USER(), '@', 1) AS CHAR), CAST(DATABASE() AS CHAR), CAST(VERSION() AS CHAR), CONNECTION_ID()"
    };
}

/// The server variables that say whether the server is a node of a multi-primary cluster. Both
/// MySQL and MariaDB answer this `SHOW`, with no row for a variable the server does not have.
macro_rules! cluster_query {
    () => {
        "SHOW VARIABLES WHERE Variable_name IN ('wsrep_on', 'group_replication_group_name', 'group_replication_single_primary_mode')"
    };
}

/// The session facts godwit reads on connecting.
const SESSION_QUERY: &str = concat!(session_query!(), ";\n", cluster_query!());

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
    session_query!(),
    ";\n",
    cluster_query!()
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
        let mut conn = super::connect_retrying(
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
        if let Some(sql) = &options.init_sql {
            conn.execute(sqlx::raw_sql(sql))
                .await
                .map_err(|e| super::init_sql_failed(mysql_error(e)))?;
        }
        let mut driver = MySqlDriver::with_session(Conn::Owned(conn), OWN_SESSION_QUERY)
            .await
            .map_err(connection_error)?;
        driver.cancel_options = Some(opts);
        driver.lease = options.lock_lease.or(driver.cluster.map(|_| CLUSTER_LEASE));
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
        driver.lease = driver.cluster.map(|_| CLUSTER_LEASE);
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
            cluster: None,
            lease: None,
            held_lease: None,
        };
        let rows = driver.conn.fetch_all(sqlx::raw_sql(query)).await?;
        let row = rows.first().ok_or(sqlx::Error::RowNotFound)?;
        // The rows after the session's are the cluster variables the server has.
        let variables: Vec<(String, String)> = rows[1..]
            .iter()
            .filter_map(|r| Some((r.try_get(0).ok()?, r.try_get(1).ok()?)))
            .collect();
        driver.cluster = cluster_of(&variables);
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
        let cluster = self.cluster;
        self.conn
            .execute(sqlx::raw_sql(sql))
            .await
            .map_err(|e| classify(cluster, e))?;
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

/// [`mysql_error`], on a server that is `cluster`'s node: a deadlock there is how a transaction
/// that lost a certification conflict ends (Galera reports it as error 1213, at commit, or on
/// the statement running when another node's write aborted the transaction), and group
/// replication rolls such a transaction back with error 3101.
fn classify(cluster: Option<Cluster>, e: sqlx::Error) -> DriverError {
    let mut d = mysql_error(e);
    if is_conflict(cluster, d.code.as_deref()) {
        d.kind = DriverErrorKind::Conflict;
    }
    d
}

/// Whether an error code (`1213 (40001)`) says the transaction lost a conflict with another
/// node of `cluster`.
fn is_conflict(cluster: Option<Cluster>, code: Option<&str>) -> bool {
    let number = code.and_then(|c| c.split_whitespace().next()).unwrap_or("");
    match number {
        // ER_TRANSACTION_ROLLBACK_DURING_COMMIT: group replication only.
        "3101" => true,
        // ER_LOCK_DEADLOCK
        "1213" => cluster.is_some(),
        _ => false,
    }
}

/// Which multi-primary cluster, if any, the server variables (`SHOW VARIABLES` rows) say the
/// server is a node of. Group replication in single-primary mode is not one: writes go to the
/// primary, where `GET_LOCK` works.
fn cluster_of(variables: &[(String, String)]) -> Option<Cluster> {
    let value = |name: &str| {
        variables
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    };
    if value("wsrep_on").is_some_and(|v| v.eq_ignore_ascii_case("ON") || v == "1") {
        return Some(Cluster::Galera);
    }
    let group = value("group_replication_group_name").is_some_and(|v| !v.is_empty());
    let multi_primary = value("group_replication_single_primary_mode")
        .is_some_and(|v| v.eq_ignore_ascii_case("OFF") || v == "0");
    (group && multi_primary).then_some(Cluster::GroupReplication)
}

/// Errors of godwit's own short statements that pass when the statement runs again: a
/// certification conflict or deadlock (1213), a row lock wait that timed out (1205), a Galera
/// node not ready for queries for a moment (1047), a group replication rollback (3101), and a
/// table that another node created at the same moment (1050).
fn transient(e: &DriverError) -> bool {
    let number = e.code.as_deref().and_then(|c| c.split_whitespace().next());
    matches!(number, Some("1213" | "1205" | "1047" | "3101" | "1050"))
}

/// How many times godwit runs one of its own statements again after a [`transient`] failure.
const OWN_RETRIES: u32 = 8;

/// The pause before retry `attempt` (from 1) of one of godwit's own statements: 25 ms doubled
/// each time, at most 1 s, less a part that differs between processes, so that the nodes that
/// conflicted do not meet again.
fn own_retry_pause(attempt: u32) -> Duration {
    let full = Duration::from_millis(25)
        .saturating_mul(1 << attempt.saturating_sub(1).min(6))
        .min(Duration::from_secs(1));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let spread = (u64::from(nanos) ^ u64::from(std::process::id())) % 1000;
    full - full.mul_f64(spread as f64 / 2000.0)
}

/// The lease lock's table.
const LEASE_TABLE: &str = "godwit_lease";

/// The database the lease table lives in: the history table's, which the lock key names
/// (`godwit:<database>.<table>`, see [`HistoryTable::lock_key`]), else the connection's.
fn lease_database(key: &str, session_database: &str) -> Option<String> {
    let named = key
        .strip_prefix("godwit:")
        .and_then(|rest| rest.rsplit_once('.'))
        .map(|(database, _)| database.to_string());
    named.or_else(|| (!session_database.is_empty()).then(|| session_database.to_string()))
}

/// Creates the lease table where it is missing. Lock keys and owners are compared byte for
/// byte; 190 characters of utf8mb4 fit the oldest InnoDB index limit (767 bytes).
fn lease_create_sql(table: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {table} (\n    lock_key VARCHAR(190) NOT NULL,\n    owner VARCHAR(190) NOT NULL,\n    expires_at DATETIME(6) NOT NULL,\n    PRIMARY KEY (lock_key)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
    )
}

/// When a lease taken or renewed now expires, in UTC (the same on every node, whatever their
/// time zones).
fn lease_until(expiry: Duration) -> String {
    format!(
        "UTC_TIMESTAMP(6) + INTERVAL {} MICROSECOND",
        expiry.as_micros()
    )
}

/// Takes the lease if it is free, expired or already this owner's, in one committed statement,
/// then reads whether this owner holds it (1 or 0). Each assignment reads the row's values as they were, so it means the
/// same whether the server assigns left to right (MySQL) or all at once (MariaDB's
/// `SIMULTANEOUS_ASSIGNMENT`): once `owner` is this owner, the condition of the second holds
/// either way.
fn lease_take_sql(table: &str, key: &str, owner: &str, expiry: Duration) -> String {
    let k = dialect::quote_literal(Dialect::MySql, key);
    let o = dialect::quote_literal(Dialect::MySql, owner);
    let until = lease_until(expiry);
    let free = format!("expires_at < UTC_TIMESTAMP(6) OR owner = {o}");
    format!(
        "INSERT INTO {table} (lock_key, owner, expires_at) VALUES ({k}, {o}, {until}) \
         ON DUPLICATE KEY UPDATE owner = IF({free}, {o}, owner), \
         expires_at = IF({free}, {until}, expires_at);\n\
         SELECT COUNT(*) FROM {table} WHERE lock_key = {k} AND owner = {o}"
    )
}

/// Pushes the lease's expiry forward; it matches a row while this owner still holds it.
fn lease_renew_sql(table: &str, key: &str, owner: &str, expiry: Duration) -> String {
    format!(
        "UPDATE {table} SET expires_at = {} WHERE lock_key = {} AND owner = {}",
        lease_until(expiry),
        dialect::quote_literal(Dialect::MySql, key),
        dialect::quote_literal(Dialect::MySql, owner)
    )
}

/// Gives the lease up.
fn lease_release_sql(table: &str, key: &str, owner: &str) -> String {
    format!(
        "DELETE FROM {table} WHERE lock_key = {} AND owner = {}",
        dialect::quote_literal(Dialect::MySql, key),
        dialect::quote_literal(Dialect::MySql, owner)
    )
}

/// Renews the lease every third of its expiry on its own connection, so that one long
/// migration keeps it. Stops when the lease is lost (it says so) or when aborted.
///
/// On Galera a renewal commits in the cluster's order like any write: while a DDL statement runs
/// (total order isolation, the holder's own included), it waits; the next one is then sent at
/// once.
async fn lease_heartbeat(options: MySqlConnectOptions, renew: String, expiry: Duration) {
    let period = (expiry / 3).max(Duration::from_millis(100));
    let mut conn = None;
    let mut last = Duration::ZERO;
    loop {
        tokio::time::sleep(period.saturating_sub(last)).await;
        let started = std::time::Instant::now();
        if conn.is_none() {
            conn = options.connect().await.ok();
        }
        let Some(c) = conn.as_mut() else {
            tracing::warn!("cannot connect to renew the migration lease");
            last = started.elapsed();
            continue;
        };
        let result = c.execute(sqlx::raw_sql(&renew)).await;
        last = started.elapsed();
        match result.map(|r| r.rows_affected()) {
            Ok(n) if n > 0 => {}
            Ok(_) => {
                tracing::warn!("the migration lease expired and was taken by another process");
                return;
            }
            Err(e) => {
                let e = mysql_error(e);
                tracing::warn!(error = %e, "renewing the migration lease failed; trying again");
                if !transient(&e) {
                    conn = None;
                }
            }
        }
    }
}

impl MySqlDriver {
    /// Runs one of godwit's own statements (that commits by itself) and returns its rows,
    /// running it again after a [`transient`] failure.
    async fn own_statement(&mut self, sql: &str) -> DriverResult<Vec<sqlx::mysql::MySqlRow>> {
        let cluster = self.cluster;
        let mut attempt = 0;
        loop {
            let result = self.conn.fetch_all(sqlx::raw_sql(sql)).await;
            match result.map_err(|e| classify(cluster, e)) {
                Err(e) if transient(&e) && attempt < OWN_RETRIES => {
                    attempt += 1;
                    tracing::debug!(error = %e, attempt, "running godwit's statement again");
                    tokio::time::sleep(own_retry_pause(attempt)).await;
                }
                other => return other,
            }
        }
    }

    /// Takes the lease lock, polling until `timeout`.
    async fn lock_lease(
        &mut self,
        key: &str,
        expiry: Duration,
        timeout: Duration,
    ) -> DriverResult<()> {
        let database = lease_database(key, &self.session.database).ok_or_else(|| DriverError {
            kind: DriverErrorKind::Config,
            message: "the lease lock needs a database for its `godwit_lease` table: name one in the URL, or set `schemas`".into(),
            code: None,
        })?;
        let table = format!(
            "{}.{}",
            dialect::quote_ident(Dialect::MySql, &database),
            dialect::quote_ident(Dialect::MySql, LEASE_TABLE)
        );
        let owner = super::lease_owner();
        let take = lease_take_sql(&table, key, &owner, expiry);
        let mut wait = LockWait::new(timeout);
        let mut created = false;
        loop {
            match self.own_statement(&take).await {
                Ok(rows) => {
                    let held: i64 = rows.first().and_then(|r| r.try_get(0).ok()).unwrap_or(0);
                    if held > 0 {
                        break;
                    }
                }
                // ER_NO_SUCH_TABLE: the first lease in this database. Several nodes may create
                // it at once: `IF NOT EXISTS` makes every one but the first a no-op.
                Err(e) if !created && e.code.as_deref().is_some_and(|c| c.starts_with("1146")) => {
                    self.own_statement(&lease_create_sql(&table)).await?;
                    created = true;
                    continue;
                }
                Err(e) => return Err(e),
            }
            wait.next().await?;
        }
        let heartbeat = match &self.cancel_options {
            Some(options) => tokio::spawn(lease_heartbeat(
                options.clone(),
                lease_renew_sql(&table, key, &owner, expiry),
                expiry,
            )),
            None => tokio::spawn(async {}),
        };
        self.held_lease = Some(HeldLease {
            table,
            key: key.to_owned(),
            owner,
            heartbeat,
        });
        Ok(())
    }
}

/// `GET_LOCK` names are at most 64 characters: long keys are shortened with a hash.
fn lock_name(key: &str) -> String {
    if key.len() <= 64 {
        return key.to_string();
    }
    let hash = super::lock_hash(key);
    let prefix: String = key.chars().take(40).collect();
    format!("{prefix}:{hash:016x}")
}

/// Cancels the statement running on connection `id` (`KILL QUERY`), over a connection of its own.
pub(crate) async fn cancel(options: &MySqlConnectOptions, id: u64) -> Result<(), sqlx::Error> {
    use sqlx::Connection as _;
    let mut c = options.connect().await?;
    sqlx::query(&format!("KILL QUERY {id}"))
        .execute(&mut c)
        .await?;
    c.close().await
}

/// What connection `id`'s statement is doing (`information_schema.PROCESSLIST`), over a
/// connection of its own.
pub(crate) async fn activity(
    options: &MySqlConnectOptions,
    id: u64,
) -> Result<super::Activity, sqlx::Error> {
    use sqlx::Connection as _;
    let id = &id;
    let mut c = options.connect().await?;
    let row = sqlx::query(
        "SELECT CAST(TIME AS SIGNED), STATE, COMMAND FROM information_schema.PROCESSLIST WHERE ID = ?",
    )
    .bind(*id)
    .fetch_optional(&mut c)
    .await?;
    let mut activity = super::Activity::default();
    if let Some(row) = row {
        let command: Option<String> = row.try_get(2)?;
        if command.as_deref() != Some("Sleep") {
            let secs: Option<i64> = row.try_get(0)?;
            activity.running_for = secs.map(|s| Duration::from_secs(s.max(0) as u64));
            let state: Option<String> = row.try_get(1)?;
            activity.waiting_on = state.filter(|s| !s.is_empty());
        }
    }
    c.close().await?;
    Ok(activity)
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
        if self.lock_name.is_some() || self.held_lease.is_some() {
            return Ok(());
        }
        if let Some(expiry) = self.lease {
            return self.lock_lease(key, expiry, timeout).await;
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
        if let Some(lease) = self.held_lease.take() {
            lease.heartbeat.abort();
            let release = lease_release_sql(&lease.table, &lease.key, &lease.owner);
            match self.own_statement(&release).await {
                Ok(_) => {}
                // `clean` dropped the table with everything else: nothing left to release.
                Err(e) if e.code.as_deref().is_some_and(|c| c.starts_with("1146")) => {}
                Err(e) => return Err(e),
            }
        }
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
        // The lease lock's own table, created before this check, is not the user's.
        let lease = if self.lease.is_some() {
            LEASE_TABLE
        } else {
            ""
        };
        let n: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name <> ? AND table_name <> ?)
                  + (SELECT COUNT(*) FROM information_schema.routines WHERE routine_schema = ?)",
        )
        .bind(&schema)
        .bind(&table.name)
        .bind(lease)
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
            let cluster = self.cluster;
            super::run_counted(&mut *self.conn, &message)
                .await
                .map_err(|(done, e)| {
                    let index = (start + done.saturating_sub(skip)).min(end - 1);
                    (index, classify(cluster, e))
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
        let fresh = std::mem::take(&mut self.pending_begin) || ended;
        let begin = if fresh { BEGIN } else { "" };
        let message = format!("{begin}{sql};\nCOMMIT");
        if !fresh {
            return self.run(&message).await;
        }
        // A transaction of godwit's own history writes: one that loses a certification conflict
        // (or a deadlock) was rolled back whole, and runs again.
        let mut attempt = 0;
        loop {
            match self.run(&message).await {
                Err(e) if transient(&e) && attempt < OWN_RETRIES => {
                    let _ = self.run("ROLLBACK").await;
                    attempt += 1;
                    tokio::time::sleep(own_retry_pause(attempt)).await;
                }
                other => return other,
            }
        }
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

    fn variables(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn galera_nodes_and_multi_primary_groups_are_clusters() {
        assert_eq!(
            cluster_of(&variables(&[("wsrep_on", "ON")])),
            Some(Cluster::Galera)
        );
        // MariaDB always has `wsrep_on`; off, it is a plain server. MySQL has none.
        assert_eq!(cluster_of(&variables(&[("wsrep_on", "OFF")])), None);
        assert_eq!(cluster_of(&[]), None);
        let group = |single: &str| {
            cluster_of(&variables(&[
                (
                    "group_replication_group_name",
                    "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                ),
                ("group_replication_single_primary_mode", single),
            ]))
        };
        assert_eq!(group("OFF"), Some(Cluster::GroupReplication));
        // Single-primary: every write goes to the primary, where GET_LOCK holds.
        assert_eq!(group("ON"), None);
        assert_eq!(
            cluster_of(&variables(&[
                ("group_replication_group_name", ""),
                ("group_replication_single_primary_mode", "OFF"),
            ])),
            None
        );
    }

    #[test]
    fn deadlocks_are_certification_conflicts_on_cluster_nodes_only() {
        assert!(is_conflict(Some(Cluster::Galera), Some("1213 (40001)")));
        assert!(!is_conflict(None, Some("1213 (40001)")));
        assert!(is_conflict(None, Some("3101 (40000)")));
        assert!(!is_conflict(Some(Cluster::Galera), Some("1205 (HY000)")));
        assert!(!is_conflict(Some(Cluster::Galera), None));
    }

    #[test]
    fn the_lease_table_lives_in_the_history_tables_database() {
        assert_eq!(
            lease_database("godwit:app.godwit_schema_history", "other"),
            Some("app".into())
        );
        assert_eq!(
            lease_database("godwit:godwit_schema_history", "conn_db"),
            Some("conn_db".into())
        );
        assert_eq!(lease_database("godwit:godwit_schema_history", ""), None);
    }

    #[test]
    fn lease_statements_quote_their_values_and_read_the_old_row() {
        let sql = lease_take_sql("`d`.`godwit_lease`", "k'1", "me", Duration::from_secs(3));
        assert!(
            sql.contains("VALUES ('k''1', 'me', UTC_TIMESTAMP(6) + INTERVAL 3000000 MICROSECOND)"),
            "{sql}"
        );
        // Both assignments test the same condition, so that they agree whether the server
        // assigns left to right or all at once.
        let free = "IF(expires_at < UTC_TIMESTAMP(6) OR owner = 'me', ";
        assert_eq!(sql.matches(free).count(), 2, "{sql}");
        assert!(
            sql.ends_with(
                "SELECT COUNT(*) FROM `d`.`godwit_lease` WHERE lock_key = 'k''1' AND owner = 'me'"
            ),
            "{sql}"
        );
        // A backslash means the same with and without NO_BACKSLASH_ESCAPES.
        let renew = lease_renew_sql("t", "a\\b", "me", Duration::from_millis(1500));
        assert!(renew.contains("INTERVAL 1500000 MICROSECOND"), "{renew}");
        assert!(renew.contains("lock_key = _utf8mb4 X'615C62'"), "{renew}");
        assert_eq!(
            lease_release_sql("t", "k", "o"),
            "DELETE FROM t WHERE lock_key = 'k' AND owner = 'o'"
        );
    }

    #[test]
    fn own_retries_pause_longer_each_time_up_to_a_second() {
        for attempt in 1..20 {
            let pause = own_retry_pause(attempt);
            let full = Duration::from_millis(25)
                .saturating_mul(1 << (attempt - 1).min(6))
                .min(Duration::from_secs(1));
            assert!(pause <= full && pause >= full / 2, "{attempt}: {pause:?}");
        }
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
