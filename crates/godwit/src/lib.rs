//! godwit versions relational database schemas: ordered SQL files, a history table in the
//! database, undo, data migrations and a lock so that a fleet can migrate at once.
//!
//! The crate is the whole engine; the `godwit` binary is a thin shell around it. It never
//! prints, reads the environment or exits: it returns values and typed errors.
//!
//! The code follows one idea, *decide first, then act*:
//!
//! - [`model`]: versions, kinds, checksums, history rows.
//! - [`discover`]: locations to a [`MigrationSet`], with every naming error at once.
//! - [`plan`]: migration set + history + options to a plan, an info table or every validation
//!   problem. Pure.
//! - [`sql`]: dialect-aware statement splitting and placeholders (the `godwit-sql` crate).
//! - [`execute`]: runs a plan through a driver, with the lock, transactions and callbacks.
//! - [`driver`]: one small trait, one implementation per database.
//!
//! ```no_run
//! # async fn run() -> Result<(), godwit::Error> {
//! let migrator = godwit::Migrator::from_locations(&["migrations"])?;
//! let mut db = godwit::Database::connect("sqlite://app.db").await?;
//! let report = migrator.migrate(&mut db).await?;
//! println!("applied {} migrations", report.migrations);
//! # Ok(()) }
//! ```

pub mod discover;
pub mod driver;
mod error;
pub mod execute;
pub mod model;
pub mod plan;
mod util;

pub use godwit_sql as sql;

use std::io::Write;
use std::path::PathBuf;

pub use discover::{FileProblem, MigrationSet};
pub use driver::{ConnectOptions, Dialect, Driver};
pub use error::{Category, Error, MigrationFailure};
pub use execute::{Config, Event, Info, Observer, Report, StepReport};
pub use model::{checksum_str, HistoryRow, Migration, MigrationKind, Version};
pub use plan::{InfoRow, Problem, State, Target};
pub use util::{redact_url, utc_timestamp};

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
            Err(e) => Err(Error::Connect {
                url: redact_url(url),
                message: util::scrub(&e.message, url),
            }),
        }
    }

    /// Wraps a driver built by the caller.
    pub fn from_driver(driver: Box<dyn Driver>) -> Database {
        Database { driver }
    }

    pub fn dialect(&self) -> Dialect {
        self.driver.dialect()
    }

    /// The connected user, database and schema.
    pub fn session(&self) -> &driver::Session {
        self.driver.session()
    }

    /// Closes the connection (releasing any lock it still holds).
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

impl Migrator {
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

    pub fn with_config(mut self, config: Config) -> Migrator {
        self.config = config;
        self
    }

    /// Calls `observer` with progress events while a run goes on.
    pub fn with_observer(mut self, observer: Observer) -> Migrator {
        self.observer = Some(observer);
        self
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

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

    /// Every disagreement between files and history; empty when they agree.
    pub async fn validate(&self, db: &mut Database) -> Result<Vec<Problem>, Error> {
        self.executor().validate(db.driver.as_mut()).await
    }

    /// The database's current version; `None` when nothing is applied.
    pub async fn current(&self, db: &mut Database) -> Result<Option<Version>, Error> {
        self.executor().current(db.driver.as_mut()).await
    }
}
