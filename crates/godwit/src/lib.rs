//! godwit versions relational database schemas: ordered SQL files, a history table in the
//! database, undo, data migrations and a lock so that a fleet can migrate at once.
//!
//! The crate is the whole engine; the `godwit` binary is a thin shell around it. It never
//! prints or exits, and reads one environment variable only ([`auto_migrate_enabled`]): it
//! returns values and typed errors ([`Error`]).
//!
//! # Migrating a service's database
//!
//! Migrations embedded at compile time ([`embed_migrations!`], with the checksums computed then),
//! migrations written in Rust beside them ([`RustMigration`]), and a start-up migration that the
//! operator can turn off with `GODWIT_AUTO_MIGRATE=false` ([`auto_migrate`]):
//!
//! ```no_run
//! // build.rs holds `println!("cargo:rerun-if-changed=migrations");` so that adding or removing
//! // a file rebuilds the crate (see the `embed` module).
//! static MIGRATIONS: godwit::EmbeddedMigrations = godwit::embed_migrations!("tests/embedded");
//!
//! # async fn start() -> Result<(), godwit::Error> {
//! let migrator = godwit::Migrator::embedded(&MIGRATIONS)?.with_rust_migration(
//!     godwit::RustMigration::new("1.1", "seed people", |ctx| {
//!         Box::pin(async move {
//!             ctx.execute("INSERT INTO person (id, name) VALUES (1, 'Ada')").await?;
//!             Ok(())
//!         })
//!     }),
//! )?;
//! let pool = godwit::sqlx::PgPool::connect_lazy("postgres://app@db/app")
//!     .map_err(|e| godwit::Error::Config(e.to_string()))?;
//! if let Some(report) = godwit::auto_migrate(&pool, &migrator).await? {
//!     for step in &report.steps {
//!         eprintln!("applied {} in {} ms", step.migration, step.duration_ms);
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! Or read the files at run time, on a connection of its own:
//!
//! ```no_run
//! # async fn run() -> Result<(), godwit::Error> {
//! let migrator = godwit::Migrator::from_locations(&["migrations"])?;
//! let mut db = godwit::Database::connect("sqlite://app.db").await?;
//! let report = migrator.migrate(&mut db).await?;
//! println!("applied {} migrations", report.migrations);
//! db.close().await?;
//! # Ok(()) }
//! ```
//!
//! `docs/library.md` in the repository walks through all of it.
//!
//! # Inside
//!
//! The public API is what a service needs: [`Migrator`], [`Database`], [`Config`], the reports
//! and events, [`Error`], embedded and Rust migrations. The engine behind it follows one idea,
//! *decide first, then act*: files are discovered into a [`MigrationSet`] with every naming
//! error at once; a pure planner turns the set, the history and the options into a plan, an
//! info table or every validation problem; an executor runs the plan through one small driver
//! per database, with the lock, transactions and callbacks. `ARCHITECTURE.md` and
//! `docs/design.md` in the repository describe them.

#![warn(missing_docs)]
// A build with some databases left out keeps the code they share, some of it then unused.
#![cfg_attr(
    not(all(feature = "postgres", feature = "mysql", feature = "sqlite")),
    allow(dead_code, unused_imports, unused_variables, irrefutable_let_patterns)
)]

mod auto;
mod checksum_cache;
mod dburl;
mod discover;
mod driver;
mod embed;
mod error;
mod execute;
mod interrupt;
mod limits;
mod model;
mod naming;
mod plan;
mod pool;
mod rust_migration;
mod status;
mod stored_undo;
mod timeouts;
mod util;
mod verify;

pub use godwit_sql as sql;
/// The sqlx godwit is built with, so that an application's pools have the matching version.
pub use sqlx;

#[cfg(feature = "embed")]
pub use godwit_macros::embed_migrations;

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub use dburl::{check_url, redact_url, UrlFacts, UrlProblem};
pub use dburl::{is_jdbc_url, jdbc_to_url, native_url, with_user};
pub use discover::{discover, discover_cached, discover_with, FileProblem, MigrationSet};
use driver::Driver;
pub use driver::{dialect_of, ConnectOptions, ConnectRetry, Dialect, HistoryTable, Session};
pub use error::{Category, Error, FailureCause, MigrationFailure};
pub use execute::{Config, Event, Info, Observer, PreRunCheck, Report, StepReport, HEARTBEAT};
pub use interrupt::Interrupt;
pub use model::{
    checksum_str, CallbackEvent, HistoryRow, HistoryType, Label, Migration, MigrationKind, Source,
    Version, VersionError, INTERRUPTED_EXECUTION_TIME,
};
pub use plan::UndoSource;
pub use plan::{
    InfoRow, InterruptedMigration, PlanError, Problem, ProblemKind, RepairAction, State, Target,
};
pub use status::{MigrationState, MigrationStatus};
pub use timeouts::StatementLimits;
pub use util::utc_timestamp;
pub use verify::{ScratchDatabase, UndoCheck, UndoVerification};
// The CLI's spelling of durations and booleans, so that it has no second one.
#[doc(hidden)]
pub use util::{format_duration, parse_bool};

pub use auto::{
    auto_migrate, auto_migrate_enabled, parse_auto_migrate, AutoMigrateTarget, AUTO_MIGRATE_VAR,
};
#[doc(hidden)]
pub use embed::EmbeddedFile;
pub use embed::EmbeddedMigrations;
pub use naming::{CherryPick, IgnorePattern, Naming, PatternKind, PatternState};
pub use pool::SqlxPool;
pub use rust_migration::{BoxError, BoxFuture, RustContext, RustMigration};

/// The planner's inner types, for godwit's own planner fixtures (`tests/planner.rs`): not part
/// of the API, and may change in any release.
#[doc(hidden)]
pub mod testing {
    pub use crate::discover::migration_from_text;
    pub use crate::plan::{Action, Catalog, Direction, Options, Plan, Step};
    pub use crate::stored_undo::StoredUndo;

    /// The PostgreSQL advisory lock number godwit takes for a lock key (`godwit:<schema>.<table>`),
    /// for tests that hold godwit's lock from outside.
    #[cfg(feature = "postgres")]
    pub fn postgres_advisory_key(key: &str) -> i64 {
        crate::driver::postgres::advisory_key(key)
    }
}

use execute::{Executor, RunKind};

/// A connection to the database being migrated.
pub struct Database {
    driver: Box<dyn Driver>,
    /// Set when a run on this connection was dropped before it ended.
    abandoned: Arc<AtomicBool>,
}

/// Watches one run on a [`Database`]: dropped before [`RunGuard::finish`] (the run's future was
/// dropped while it ran), it asks the server to cancel the statement that was running and
/// marks the `Database` as abandoned: its connection may still hold an open transaction and the
/// migration lock, so it refuses further runs, and dropping or closing it lets the server roll
/// back and release both.
struct RunGuard {
    abandoned: Arc<AtomicBool>,
    cancel: Option<driver::CancelHandle>,
    finished: bool,
}

impl RunGuard {
    fn finish(mut self) {
        self.finished = true;
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        self.abandoned.store(true, Ordering::SeqCst);
        if let (Some(cancel), Ok(runtime)) =
            (self.cancel.take(), tokio::runtime::Handle::try_current())
        {
            runtime.spawn(async move {
                let _ = cancel.cancel().await;
            });
        }
    }
}

impl Database {
    /// Connects with default options (creating a missing SQLite file).
    pub async fn connect(url: &str) -> Result<Database, Error> {
        let options = ConnectOptions {
            create_if_missing: true,
            ..ConnectOptions::default()
        };
        Database::connect_with(url, &options).await
    }

    /// Connects with explicit options.
    ///
    /// A JDBC URL (`jdbc:postgresql://…`, `jdbc:mysql://…`, `jdbc:mariadb://…`,
    /// `jdbc:sqlite:…`) is accepted too, converted by [`jdbc_to_url`].
    pub async fn connect_with(url: &str, options: &ConnectOptions) -> Result<Database, Error> {
        let native = dburl::native_url(url).map_err(|p| Error::Config(p.to_string()))?;
        let url = native.as_ref();
        if let Err(p) = dburl::check_url(url) {
            return Err(Error::Config(p.to_string()));
        }
        let scrub = |message: &str| {
            let message = util::scrub(message, url);
            match &options.password {
                Some(password) => dburl::scrub_secrets(&message, &[password]),
                None => message,
            }
        };
        match driver::connect(url, options).await {
            Ok(driver) => Ok(Database::from_driver(driver)),
            // A URL godwit cannot use is bad configuration, not an unreachable server.
            Err(e) if e.kind == driver::DriverErrorKind::Config => Err(Error::Config(format!(
                "{} (URL `{}`)",
                scrub(&e.message),
                redact_url(url)
            ))),
            // The connection is up, but `init_sql` failed: the statement's error.
            Err(e)
                if e.kind == driver::DriverErrorKind::Statement
                    && e.message.starts_with(driver::INIT_SQL_FAILED) =>
            {
                Err(Error::Database(driver::DriverError {
                    message: scrub(&e.message),
                    ..e
                }))
            }
            Err(e) => Err(Error::Connect {
                url: redact_url(url),
                message: scrub(&e.message),
            }),
        }
    }

    /// Migrates through a pool the application already has: one connection is checked out for
    /// as long as the `Database` lives, and the migration lock is held on it during a run. The
    /// pool's own connection settings apply.
    ///
    /// [`Database::close`] gives the connection back to the pool. A `Database` dropped without
    /// `close` closes its connection instead (a run cancelled part way may have left the lock
    /// or a transaction on it; closing it makes the server release both).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = godwit::sqlx::PgPool::connect("postgres://app@db/app").await?;
    /// let migrator = godwit::Migrator::from_locations(&["migrations"])?;
    /// let mut db = godwit::Database::from_pool(&pool).await?;
    /// let report = migrator.migrate(&mut db).await?;
    /// db.close().await?;
    /// # Ok(()) }
    /// ```
    pub async fn from_pool<P: SqlxPool>(pool: &P) -> Result<Database, Error> {
        Database::from_dyn_pool(pool).await
    }

    pub(crate) async fn from_dyn_pool(pool: &dyn SqlxPool) -> Result<Database, Error> {
        match pool.__driver().await {
            Ok(driver) => Ok(Database::from_driver(driver)),
            Err(e) => Err(Error::Connect {
                url: match pool.dialect() {
                    Dialect::Postgres => "the PostgreSQL pool",
                    Dialect::MySql => "the MySQL pool",
                    Dialect::Sqlite => "the SQLite pool",
                }
                .into(),
                message: e.message,
            }),
        }
    }

    /// Wraps a driver.
    pub(crate) fn from_driver(driver: Box<dyn Driver>) -> Database {
        Database {
            driver,
            abandoned: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Starts a run, unless an earlier one on this connection was abandoned.
    fn start_run(&self) -> Result<RunGuard, Error> {
        if self.abandoned.load(Ordering::SeqCst) {
            return Err(Error::Refused {
                message: "an earlier run on this connection was dropped while it ran: the connection may still hold an open transaction and the migration lock".into(),
                hint: "drop or close this Database (the server then rolls back and releases the lock) and connect again".into(),
            });
        }
        Ok(RunGuard {
            abandoned: Arc::clone(&self.abandoned),
            cancel: self.driver.cancel_handle(),
            finished: false,
        })
    }

    /// The database's SQL dialect.
    pub fn dialect(&self) -> Dialect {
        self.driver.dialect()
    }

    /// The connected user, database and schema.
    pub fn session(&self) -> &driver::Session {
        self.driver.session()
    }

    /// Closes the connection (releasing any lock it still holds); a connection checked out of a
    /// pool ([`Database::from_pool`]) goes back to the pool instead.
    pub async fn close(self) -> Result<(), Error> {
        self.driver.close().await.map_err(Error::Database)
    }
}

/// The engine: a migration set and a configuration.
pub struct Migrator {
    migrations: MigrationSet,
    config: Config,
    observer: Option<Observer>,
    interrupt: Option<Interrupt>,
    status: Option<MigrationStatus>,
    pre_run: Option<PreRunCheck>,
}

impl std::fmt::Debug for Migrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migrator")
            .field("migrations", &self.migrations)
            .field("config", &self.config)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

impl Migrator {
    /// A migrator over a migration set, with the default [`Config`].
    pub fn new(migrations: MigrationSet) -> Migrator {
        Migrator {
            migrations,
            config: Config::default(),
            observer: None,
            interrupt: None,
            status: None,
            pre_run: None,
        }
    }

    /// Reads migrations from directories, recursively.
    pub fn from_locations<P: Into<PathBuf> + Clone>(locations: &[P]) -> Result<Migrator, Error> {
        let locations: Vec<PathBuf> = locations.iter().cloned().map(Into::into).collect();
        let set = discover::discover(&locations).map_err(Error::Files)?;
        Ok(Migrator::new(set))
    }

    /// The migrations embedded by [`embed_migrations!`]; naming problems are
    /// [`Error::Files`].
    ///
    /// ```
    /// static MIGRATIONS: godwit::EmbeddedMigrations = godwit::embed_migrations!("tests/embedded");
    ///
    /// let migrator = godwit::Migrator::embedded(&MIGRATIONS)?;
    /// assert_eq!(migrator.migrations().len(), 2);
    /// # Ok::<(), godwit::Error>(())
    /// ```
    pub fn embedded(migrations: &EmbeddedMigrations) -> Result<Migrator, Error> {
        Ok(Migrator::new(migrations.to_set()?))
    }

    /// Registers a migration written in Rust beside the others, ordered with them by version.
    /// A version another migration of the same kind already has, or one that does not parse, is
    /// [`Error::Files`].
    ///
    /// ```
    /// use godwit::{Migrator, MigrationSet, RustMigration};
    ///
    /// let migrator = Migrator::new(MigrationSet::default()).with_rust_migration(
    ///     RustMigration::new("1", "seed", |ctx| {
    ///         Box::pin(async move {
    ///             ctx.execute("INSERT INTO settings (name) VALUES ('x')").await?;
    ///             Ok(())
    ///         })
    ///     }),
    /// )?;
    /// assert_eq!(migrator.migrations().iter().next().unwrap().label(), "V1");
    /// # Ok::<(), godwit::Error>(())
    /// ```
    pub fn with_rust_migration(mut self, migration: RustMigration) -> Result<Migrator, Error> {
        let migration = migration
            .into_migration()
            .map_err(|p| Error::Files(vec![p]))?;
        self.migrations.extend([migration]).map_err(Error::Files)?;
        Ok(self)
    }

    /// Replaces the configuration (history table, target, placeholders, lock timeout, …).
    ///
    /// ```
    /// use godwit::{Config, Migrator, MigrationSet};
    ///
    /// let mut config = Config::default();
    /// config.table = "flyway_schema_history".into();
    /// config.placeholders.insert("owner".into(), "app".into());
    /// let migrator = Migrator::new(MigrationSet::default()).with_config(config);
    /// assert_eq!(migrator.config().table, "flyway_schema_history");
    /// ```
    pub fn with_config(mut self, config: Config) -> Migrator {
        self.config = config.resolved();
        self
    }

    /// Calls `check` with the migrations a `migrate` (or its dry run) is about to apply, in
    /// order, once they are planned and their files checked, under the lock and before anything
    /// is written; an error it returns stops the run and is the run's error. `validate` calls it
    /// on the migrations `migrate` would apply, once files and history agree. Not called when
    /// nothing is pending. The CLI lints pending files this way (`docs/lint.md`).
    pub fn with_pre_run_check(mut self, check: PreRunCheck) -> Migrator {
        self.pre_run = Some(check);
        self
    }

    /// Calls `observer` with progress events while a run goes on.
    pub fn with_observer(mut self, observer: Observer) -> Migrator {
        self.observer = Some(observer);
        self
    }

    /// Keeps `status` up to date while [`Migrator::migrate`] runs (and [`auto_migrate`], which
    /// also reports a connection failure and `GODWIT_AUTO_MIGRATE=false` there): waiting for the
    /// lock, step k of n, done, failed. Keep a clone for a readiness endpoint; see
    /// [`MigrationStatus`]. Works alongside [`Migrator::with_observer`].
    pub fn with_status(mut self, status: MigrationStatus) -> Migrator {
        self.status = Some(status);
        self
    }

    /// The status handle given to [`Migrator::with_status`], if any.
    pub fn status(&self) -> Option<&MigrationStatus> {
        self.status.as_ref()
    }

    /// Lets `interrupt` stop a running `migrate` or `undo` cleanly: see [`Interrupt`]. (Dropping
    /// the future of a run instead stops it wherever it is: see "Stopping a run" in the crate's
    /// `docs/library.md`.)
    pub fn with_interrupt(mut self, interrupt: Interrupt) -> Migrator {
        self.interrupt = Some(interrupt);
        self
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The migrations: files, embedded texts and Rust migrations, in order.
    pub fn migrations(&self) -> &MigrationSet {
        &self.migrations
    }

    fn executor(&self) -> Executor<'_> {
        Executor {
            set: &self.migrations,
            config: &self.config,
            observer: match (&self.status, &self.observer) {
                (None, observer) => observer.clone(),
                (Some(status), None) => {
                    let status = status.clone();
                    Some(Arc::new(move |e: &Event| status.observe(e)) as Observer)
                }
                (Some(status), Some(observer)) => {
                    let status = status.clone();
                    let observer = observer.clone();
                    Some(Arc::new(move |e: &Event| {
                        status.observe(e);
                        observer(e);
                    }) as Observer)
                }
            },
            interrupt: self.interrupt.clone(),
            pre_run: self.pre_run.clone(),
        }
    }

    /// Validates, locks, applies what is pending (or goes down to a lower target), unlocks.
    pub async fn migrate(&self, db: &mut Database) -> Result<Report, Error> {
        if let Some(status) = &self.status {
            status.begin();
        }
        let result = self.migrate_inner(db).await;
        if let Some(status) = &self.status {
            status.end(&result);
        }
        result
    }

    async fn migrate_inner(&self, db: &mut Database) -> Result<Report, Error> {
        let guard = db.start_run()?;
        let result = self
            .executor()
            .run(db.driver.as_mut(), RunKind::Migrate, None)
            .await;
        guard.finish();
        result
    }

    /// Writes the SQL `migrate` would run to `out`, changing nothing.
    pub async fn migrate_dry_run(
        &self,
        db: &mut Database,
        out: &mut (dyn Write + Send),
    ) -> Result<Report, Error> {
        let guard = db.start_run()?;
        let result = self
            .executor()
            .run(db.driver.as_mut(), RunKind::Migrate, Some(out))
            .await;
        guard.finish();
        result
    }

    /// Undoes the newest applied migration, or every one above `target`.
    pub async fn undo(&self, db: &mut Database, target: Option<Version>) -> Result<Report, Error> {
        let guard = db.start_run()?;
        let result = self
            .executor()
            .run(db.driver.as_mut(), RunKind::Undo(target), None)
            .await;
        guard.finish();
        result
    }

    /// Writes the SQL `undo` would run to `out`, changing nothing.
    pub async fn undo_dry_run(
        &self,
        db: &mut Database,
        target: Option<Version>,
        out: &mut (dyn Write + Send),
    ) -> Result<Report, Error> {
        let guard = db.start_run()?;
        let result = self
            .executor()
            .run(db.driver.as_mut(), RunKind::Undo(target), Some(out))
            .await;
        guard.finish();
        result
    }

    /// Marks a database godwit never managed as being at `version` (the configured
    /// `baseline_version` when `None`). With `dry_run`, writes the SQL there instead.
    pub async fn baseline(
        &self,
        db: &mut Database,
        version: Option<&Version>,
        dry_run: Option<&mut (dyn Write + Send)>,
    ) -> Result<Version, Error> {
        let version = version.unwrap_or(&self.config.baseline_version).clone();
        self.executor()
            .baseline(db.driver.as_mut(), &version, dry_run)
            .await?;
        Ok(version)
    }

    /// Removes failed rows, realigns checksums and descriptions of applied files with the disk,
    /// and marks applied migrations whose file is gone as deleted. Returns every change.
    pub async fn repair(
        &self,
        db: &mut Database,
        dry_run: Option<&mut (dyn Write + Send)>,
    ) -> Result<Vec<plan::RepairAction>, Error> {
        let guard = db.start_run()?;
        let result = self
            .executor()
            .repair(db.driver.as_mut(), None, dry_run)
            .await;
        guard.finish();
        result
    }

    /// Records the versioned migration `version` as applied without running it, for a
    /// migration that was interrupted (or failed) and then finished by hand, or one whose
    /// changes are in the database already. Its failed or interrupted row becomes a success row
    /// (for an undo's row, the undo is recorded as applied), or a success row is added for a
    /// pending one; nothing else changes. Returns the change; with `dry_run`, writes its SQL
    /// there instead.
    ///
    /// An unknown version is [`Error::Plan`] with [`plan::PlanError::UnknownVersion`]
    /// ([`Category::Usage`]); an applied version, a baseline, or one whose file is gone is
    /// [`plan::PlanError::CannotMarkApplied`] ([`Category::Failed`]). Nothing is written then.
    pub async fn repair_mark_applied(
        &self,
        db: &mut Database,
        version: &Version,
        dry_run: Option<&mut (dyn Write + Send)>,
    ) -> Result<plan::RepairAction, Error> {
        let guard = db.start_run()?;
        let actions = self
            .executor()
            .repair(db.driver.as_mut(), Some(version), dry_run)
            .await;
        guard.finish();
        let mut actions = actions?;
        // The executor plans exactly one change for a version, or fails.
        actions.pop().ok_or_else(|| Error::Refused {
            message: format!("marking V{version} as applied planned no change"),
            hint: "`godwit info` shows the version's state".into(),
        })
    }

    /// Drops every object in the managed schemas, the history table included. Returns the
    /// statements it ran. Guarding against accidents (`clean_disabled`) is the caller's job.
    pub async fn clean(
        &self,
        db: &mut Database,
        dry_run: Option<&mut (dyn Write + Send)>,
    ) -> Result<Vec<String>, Error> {
        let guard = db.start_run()?;
        let result = self.executor().clean(db.driver.as_mut(), dry_run).await;
        guard.finish();
        result
    }

    /// Every migration known from files or history, with its state.
    pub async fn info(&self, db: &mut Database) -> Result<Info, Error> {
        let guard = db.start_run()?;
        let result = self.executor().info(db.driver.as_mut()).await;
        guard.finish();
        result
    }

    /// Every disagreement between files and history; empty when they agree. When they agree,
    /// the files `migrate` would run are also checked as `migrate` checks them before running
    /// anything (placeholders, splitting, transaction modes and control, NUL bytes): a problem
    /// there is an [`Error::Files`].
    pub async fn validate(&self, db: &mut Database) -> Result<Vec<Problem>, Error> {
        let guard = db.start_run()?;
        let result = self.executor().validate(db.driver.as_mut()).await;
        guard.finish();
        result
    }

    /// The database's current version; `None` when nothing is applied.
    pub async fn current(&self, db: &mut Database) -> Result<Option<Version>, Error> {
        let guard = db.start_run()?;
        let result = self.executor().current(db.driver.as_mut()).await;
        guard.finish();
        result
    }
    /// Checks every undo script on `scratch`, an empty database: each versioned migration is
    /// applied, its undo script run and the schema compared with the one before (through the
    /// database's catalog), then it is applied again (`docs/design.md` §23). The scratch
    /// database is left at the newest version; [`ScratchDatabase`] makes one to drop after.
    pub async fn verify_undo(&self, scratch: &mut Database) -> Result<UndoVerification, Error> {
        let guard = scratch.start_run()?;
        let result = self.executor().verify_undo(scratch.driver.as_mut()).await;
        guard.finish();
        result
    }

    /// The history table commands will use, as `schema.name` where a schema is configured:
    /// the configured one, or an existing `flyway_schema_history` found instead of an absent
    /// default (docs/design.md §2.8). Reads only whether the tables exist; reports no event.
    pub async fn history_table(&self, db: &mut Database) -> Result<String, Error> {
        let guard = db.start_run()?;
        let mut executor = self.executor();
        executor.observer = None;
        let result = executor
            .find_history_table(db.driver.as_mut())
            .await
            .map(|t| t.to_string());
        guard.finish();
        result
    }

    /// The migrations `migrate` would apply now (versioned, baseline, repeatable and data, in
    /// order: what [`Migrator::with_pre_run_check`] would be given), read-only: no lock, no
    /// callback, nothing written. Empty when the plan cannot be made (`migrate` says why).
    pub async fn pending(&self, db: &mut Database) -> Result<Vec<Arc<Migration>>, Error> {
        let guard = db.start_run()?;
        let result = self.executor().pending(db.driver.as_mut()).await;
        guard.finish();
        result
    }
}
