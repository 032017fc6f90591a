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
//! The code follows one idea, *decide first, then act*:
//!
//! - [`model`]: versions, kinds, checksums, history rows.
//! - [`discover`]: locations to a [`MigrationSet`], with every naming error at once.
//! - [`embed`]: migrations embedded at compile time.
//! - [`rust_migration`]: migrations written in Rust.
//! - [`plan`]: migration set + history + options to a plan, an info table or every validation
//!   problem. Pure.
//! - [`sql`]: dialect-aware statement splitting and placeholders (the `godwit-sql` crate).
//! - [`execute`]: runs a plan through a driver, with the lock, transactions and callbacks.
//! - [`driver`]: one small trait, one implementation per database.

#![warn(missing_docs)]

mod auto;
mod checksum_cache;
pub mod discover;
pub mod driver;
pub mod embed;
mod error;
pub mod execute;
mod limits;
pub mod model;
pub mod plan;
mod pool;
pub mod rust_migration;
mod util;

pub use godwit_sql as sql;
/// The sqlx godwit is built with, so that an application's pools have the matching version.
pub use sqlx;

pub use godwit_macros::embed_migrations;

use std::io::Write;
use std::path::PathBuf;

pub use discover::{FileProblem, MigrationSet};
pub use driver::{ConnectOptions, Dialect, Driver};
pub use error::{Category, Error, MigrationFailure};
pub use execute::{Config, Event, Info, Observer, Report, StepReport};
pub use model::{checksum_str, HistoryRow, Migration, MigrationKind, Version};
pub use plan::{InfoRow, Problem, State, Target};
pub use util::{redact_url, utc_timestamp};

pub use auto::{
    auto_migrate, auto_migrate_enabled, parse_auto_migrate, AutoMigrateTarget, AUTO_MIGRATE_VAR,
};
pub use embed::EmbeddedMigrations;
pub use pool::SqlxPool;
pub use rust_migration::{BoxError, BoxFuture, RustContext, RustMigration};

use execute::{Executor, RunKind};

/// A connection to the database being migrated.
pub struct Database {
    driver: Box<dyn Driver>,
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
    pub async fn connect_with(url: &str, options: &ConnectOptions) -> Result<Database, Error> {
        match driver::connect(url, options).await {
            Ok(driver) => Ok(Database { driver }),
            // A URL godwit cannot use is bad configuration, not an unreachable server.
            Err(e) if e.kind == driver::DriverErrorKind::Config => Err(Error::Config(format!(
                "{} (URL `{}`)",
                util::scrub(&e.message, url),
                redact_url(url)
            ))),
            Err(e) => Err(Error::Connect {
                url: redact_url(url),
                message: util::scrub(&e.message, url),
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
            Ok(driver) => Ok(Database { driver }),
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

    /// Wraps a driver built by the caller.
    pub fn from_driver(driver: Box<dyn Driver>) -> Database {
        Database { driver }
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
        self.config = config;
        self
    }

    /// Calls `observer` with progress events while a run goes on.
    pub fn with_observer(mut self, observer: Observer) -> Migrator {
        self.observer = Some(observer);
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
            observer: self.observer.clone(),
        }
    }

    /// Validates, locks, applies what is pending (or goes down to a lower target), unlocks.
    pub async fn migrate(&self, db: &mut Database) -> Result<Report, Error> {
        self.executor()
            .run(db.driver.as_mut(), RunKind::Migrate, None)
            .await
    }

    /// Writes the SQL `migrate` would run to `out`, changing nothing.
    pub async fn migrate_dry_run(
        &self,
        db: &mut Database,
        out: &mut (dyn Write + Send),
    ) -> Result<Report, Error> {
        self.executor()
            .run(db.driver.as_mut(), RunKind::Migrate, Some(out))
            .await
    }

    /// Undoes the newest applied migration, or every one above `target`.
    pub async fn undo(&self, db: &mut Database, target: Option<Version>) -> Result<Report, Error> {
        self.executor()
            .run(db.driver.as_mut(), RunKind::Undo(target), None)
            .await
    }

    /// Writes the SQL `undo` would run to `out`, changing nothing.
    pub async fn undo_dry_run(
        &self,
        db: &mut Database,
        target: Option<Version>,
        out: &mut (dyn Write + Send),
    ) -> Result<Report, Error> {
        self.executor()
            .run(db.driver.as_mut(), RunKind::Undo(target), Some(out))
            .await
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
        self.executor().repair(db.driver.as_mut(), dry_run).await
    }

    /// Drops every object in the managed schemas, the history table included. Returns the
    /// statements it ran. Guarding against accidents (`clean_disabled`) is the caller's job.
    pub async fn clean(
        &self,
        db: &mut Database,
        dry_run: Option<&mut (dyn Write + Send)>,
    ) -> Result<Vec<String>, Error> {
        self.executor().clean(db.driver.as_mut(), dry_run).await
    }

    /// Every migration known from files or history, with its state.
    pub async fn info(&self, db: &mut Database) -> Result<Info, Error> {
        self.executor().info(db.driver.as_mut()).await
    }

    /// Every disagreement between files and history; empty when they agree. When they agree,
    /// the files `migrate` would run are also checked as `migrate` checks them before running
    /// anything (placeholders, splitting, transaction modes and control, NUL bytes): a problem
    /// there is an [`Error::Files`].
    pub async fn validate(&self, db: &mut Database) -> Result<Vec<Problem>, Error> {
        self.executor().validate(db.driver.as_mut()).await
    }

    /// The database's current version; `None` when nothing is applied.
    pub async fn current(&self, db: &mut Database) -> Result<Option<Version>, Error> {
        self.executor().current(db.driver.as_mut()).await
    }
}
