//! Turns settings into a library configuration, a migrator and a database connection, in the
//! order that keeps bad input from touching the database: configuration, then files, then the
//! connection.

use std::sync::Arc;

use godwit::{ConnectOptions, Database, Migrator, Target, Version};

use crate::config::{ConfigError, Settings};

/// Anything a command can fail with.
#[derive(Debug)]
pub enum CliError {
    Config(ConfigError),
    /// A setting the library rejects (target, baseline version, …): usage, exit 2.
    Setting {
        message: String,
        hint: String,
    },
    Lib(godwit::Error),
}

impl From<godwit::Error> for CliError {
    fn from(e: godwit::Error) -> Self {
        CliError::Lib(e)
    }
}

impl From<ConfigError> for CliError {
    fn from(e: ConfigError) -> Self {
        CliError::Config(e)
    }
}

/// The library's configuration from the CLI's settings.
pub fn library_config(settings: &Settings) -> Result<godwit::Config, CliError> {
    let target: Target = settings
        .target
        .parse()
        .map_err(|e: String| CliError::Setting {
            message: format!("invalid target `{}`: {e}", settings.target),
            hint: "set --target, GODWIT_TARGET or `target` to `latest`, `current` or a version"
                .into(),
        })?;
    let baseline_version =
        Version::parse(&settings.baseline_version).map_err(|e| CliError::Setting {
            message: format!("invalid baseline version: {e}"),
            hint: "set `baseline_version` to a version such as `1` or `3.2`".into(),
        })?;
    godwit::driver::HistoryTable::parse(&settings.table, None).map_err(|e| CliError::Setting {
        message: e,
        hint: "set --table, GODWIT_TABLE or `table`".into(),
    })?;
    Ok(godwit::Config {
        table: settings.table.clone(),
        schemas: settings.schemas.clone(),
        target,
        out_of_order: settings.out_of_order,
        validate_on_migrate: settings.validate_on_migrate,
        baseline_on_migrate: settings.baseline_on_migrate,
        baseline_version,
        lock_timeout: settings.lock_timeout,
        mixed: settings.mixed,
        installed_by: settings.installed_by.clone(),
        placeholders: settings.placeholders.clone(),
    })
}

/// Reads the migration files; every problem with them is reported before connecting.
pub fn migrator(
    settings: &Settings,
    observer: Option<godwit::Observer>,
) -> Result<Migrator, CliError> {
    let config = library_config(settings)?;
    let mut migrator = Migrator::from_locations(&settings.locations)?.with_config(config);
    if let Some(o) = observer {
        migrator = migrator.with_observer(o);
    }
    Ok(migrator)
}

/// Connects to the configured database. `write` commands may create a missing SQLite file.
pub async fn connect(settings: &Settings, write: bool) -> Result<Database, CliError> {
    let url = settings.require_url()?;
    let options = ConnectOptions {
        lock_timeout: settings.lock_timeout,
        create_if_missing: write,
        ..ConnectOptions::default()
    };
    Ok(Database::connect_with(url, &options).await?)
}

/// An observer that forwards events to a closure (keeps the command code short).
pub fn observer(f: impl Fn(&godwit::Event) + Send + Sync + 'static) -> godwit::Observer {
    Arc::new(f)
}

/// The history table as users should read it: schema-qualified when `schemas` puts it somewhere.
pub fn history_table_name(settings: &Settings) -> String {
    match (settings.table.contains('.'), settings.schemas.first()) {
        (false, Some(schema)) => format!("{schema}.{}", settings.table),
        _ => settings.table.clone(),
    }
}
