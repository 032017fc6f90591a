//! Migrating at start-up, unless the operator said not to.
//!
//! `docs/design.md` §18.2: a service migrates its database when it starts, and
//! `GODWIT_AUTO_MIGRATE=false` turns that off (the operator then runs `godwit migrate` by hand, as
//! in a controlled deployment). [`auto_migrate_enabled`] is the one place the library reads the
//! environment.

use crate::error::Error;
use crate::execute::Report;
use crate::pool::SqlxPool;
use crate::{Database, MigrationState, Migrator};

/// The environment variable [`auto_migrate`] honours.
pub const AUTO_MIGRATE_VAR: &str = "GODWIT_AUTO_MIGRATE";

/// Where [`auto_migrate`] migrates: a URL (connected and closed again), a [`Database`] the
/// caller opened, or a sqlx pool (one connection checked out for the run).
pub enum AutoMigrateTarget<'a> {
    /// A URL, as [`Database::connect`] takes it.
    Url(&'a str),
    /// A database connection the caller opened and keeps.
    Database(&'a mut Database),
    /// A pool the application already has.
    Pool(&'a dyn SqlxPool),
}

impl<'a> From<&'a str> for AutoMigrateTarget<'a> {
    fn from(url: &'a str) -> Self {
        AutoMigrateTarget::Url(url)
    }
}

impl<'a> From<&'a String> for AutoMigrateTarget<'a> {
    fn from(url: &'a String) -> Self {
        AutoMigrateTarget::Url(url)
    }
}

impl<'a> From<&'a mut Database> for AutoMigrateTarget<'a> {
    fn from(db: &'a mut Database) -> Self {
        AutoMigrateTarget::Database(db)
    }
}

#[cfg(feature = "postgres")]
impl<'a> From<&'a sqlx::PgPool> for AutoMigrateTarget<'a> {
    fn from(pool: &'a sqlx::PgPool) -> Self {
        AutoMigrateTarget::Pool(pool)
    }
}

#[cfg(feature = "mysql")]
impl<'a> From<&'a sqlx::MySqlPool> for AutoMigrateTarget<'a> {
    fn from(pool: &'a sqlx::MySqlPool) -> Self {
        AutoMigrateTarget::Pool(pool)
    }
}

#[cfg(feature = "sqlite")]
impl<'a> From<&'a sqlx::SqlitePool> for AutoMigrateTarget<'a> {
    fn from(pool: &'a sqlx::SqlitePool) -> Self {
        AutoMigrateTarget::Pool(pool)
    }
}

/// Migrates at start-up: `Ok(None)` without touching the database when
/// [`auto_migrate_enabled`] says the operator turned it off, otherwise what
/// [`Migrator::migrate`] returns.
///
/// Many instances may call it at the same moment on one database: one migrates while holding
/// the database lock, the others wait for it and then find nothing pending.
///
/// ```no_run
/// static MIGRATIONS: godwit::EmbeddedMigrations = godwit::embed_migrations!("tests/embedded");
///
/// # async fn start() -> Result<(), godwit::Error> {
/// let migrator = godwit::Migrator::embedded(&MIGRATIONS)?;
/// match godwit::auto_migrate("postgres://app@db/app", &migrator).await? {
///     Some(report) => eprintln!("applied {} migrations", report.migrations),
///     None => eprintln!("GODWIT_AUTO_MIGRATE=false: not migrating"),
/// }
/// # Ok(()) }
/// ```
pub async fn auto_migrate<'a>(
    target: impl Into<AutoMigrateTarget<'a>>,
    migrator: &Migrator,
) -> Result<Option<Report>, Error> {
    let result = auto_migrate_inner(target.into(), migrator).await;
    // `Migrator::migrate` already reported its own outcome; this adds what happens around it
    // (a bad `GODWIT_AUTO_MIGRATE`, a connection that fails, auto-migration turned off).
    if let Some(status) = migrator.status() {
        match &result {
            Ok(_) => status.set(MigrationState::Done),
            Err(e) => status.set(MigrationState::Failed(e.to_string())),
        }
    }
    result
}

async fn auto_migrate_inner(
    target: AutoMigrateTarget<'_>,
    migrator: &Migrator,
) -> Result<Option<Report>, Error> {
    if !auto_migrate_enabled()? {
        return Ok(None);
    }
    let report = match target {
        AutoMigrateTarget::Database(db) => migrator.migrate(db).await?,
        AutoMigrateTarget::Url(url) => {
            let mut db = Database::connect(url).await?;
            let migrated = migrator.migrate(&mut db).await;
            finish(db, migrated).await?
        }
        AutoMigrateTarget::Pool(pool) => {
            let mut db = Database::from_dyn_pool(pool).await?;
            let migrated = migrator.migrate(&mut db).await;
            finish(db, migrated).await?
        }
    };
    Ok(Some(report))
}

/// Closes a connection opened for the run; the migration's own error comes first.
async fn finish(db: Database, migrated: Result<Report, Error>) -> Result<Report, Error> {
    match migrated {
        Ok(report) => {
            db.close().await?;
            Ok(report)
        }
        Err(e) => {
            let _ = db.close().await;
            Err(e)
        }
    }
}

/// Whether [`auto_migrate`] should migrate, from the `GODWIT_AUTO_MIGRATE` environment
/// variable: unset or empty means yes; otherwise [`parse_auto_migrate`] decides. This is the only
/// function of the library that reads the environment.
pub fn auto_migrate_enabled() -> Result<bool, Error> {
    match std::env::var(AUTO_MIGRATE_VAR) {
        Ok(value) => parse_auto_migrate(&value),
        Err(std::env::VarError::NotPresent) => Ok(true),
        Err(std::env::VarError::NotUnicode(_)) => Err(Error::Config(format!(
            "{AUTO_MIGRATE_VAR} is not valid text: set it to true or false"
        ))),
    }
}

/// Reads a `GODWIT_AUTO_MIGRATE` value: `false`, `0`, `no` and `off` (any case, spaces around
/// ignored) turn auto-migration off; `true`, `1`, `yes`, `on` and the empty string keep it on;
/// anything else is an error, so that a typo never migrates a database the operator meant to
/// migrate by hand.
///
/// ```
/// assert_eq!(godwit::parse_auto_migrate("FALSE").ok(), Some(false));
/// assert_eq!(godwit::parse_auto_migrate("1").ok(), Some(true));
/// assert!(godwit::parse_auto_migrate("flase").is_err());
/// ```
pub fn parse_auto_migrate(value: &str) -> Result<bool, Error> {
    if value.trim().is_empty() {
        return Ok(true);
    }
    match crate::util::parse_bool(value) {
        Some(on) => Ok(on),
        None => Err(Error::Config(format!(
            "{AUTO_MIGRATE_VAR}={value:?} is not a boolean: set it to false to skip migrating at start-up, or true (the default)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_migrate_values() {
        for off in ["false", "FALSE", " False ", "0", "no", "NO", "off", "Off"] {
            assert!(!parse_auto_migrate(off).unwrap(), "{off:?}");
        }
        for on in ["", "true", "TRUE", "1", "yes", "on", " On"] {
            assert!(parse_auto_migrate(on).unwrap(), "{on:?}");
        }
        for bad in ["flase", "2", "disabled", "nein"] {
            let e = parse_auto_migrate(bad).unwrap_err();
            assert_eq!(e.category(), crate::Category::Usage);
            assert!(e.to_string().contains("GODWIT_AUTO_MIGRATE"), "{e}");
        }
    }
}
