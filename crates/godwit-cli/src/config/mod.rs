//! Configuration of the `godwit` command-line tool.
//!
//! Settings come from layers, lowest precedence first: the defaults (the library's
//! `godwit::Config::default()` and `godwit::ConnectOptions::default()`, and this tool's own),
//! `godwit.toml` beside the binary, the user's `godwit/godwit.toml` in their config directory,
//! `./godwit.toml`, each `--config` file in order, environment variables, and command-line
//! flags. A later layer overrides an earlier one key by key; placeholders merge name by name.
//!
//! Each value is parsed once, where a layer reads it, into the type it ends up in (a
//! [`godwit::Target`], a [`godwit::Version`], a [`Duration`], …): a bad value is reported there,
//! with where it came from (the file and line, the environment variable or the flag), and
//! nothing after this module parses a setting again. The result is [`Settings`]: the library's
//! typed [`godwit::Config`] and [`CliSettings`], what only this tool uses.
//!
//! - `args`: the flags, as clap reads them;
//! - `discover`: which configuration files are read;
//! - `env`: the snapshot of the environment variables;
//! - `keys`: every key, declared once (name, variables, where its value goes, documentation);
//! - `layers`: the layers, applied in order ([`load_from_process`]);
//! - `file`: one TOML file as a layer, keys with their lines;
//! - `values`: reading one value;
//! - `urls`: SQLite files relative to the configuration file that names them;
//! - `flyway`: Flyway's files, `FLYWAY_*` and `godwit flyway`'s arguments, mapped onto these
//!   settings (docs/flyway.md);
//! - `errors`: [`ConfigError`], and where a bad value came from;
//! - `docs` (tests only): `docs/configuration.md`, generated from `keys`.

mod args;
mod discover;
#[cfg(test)]
mod docs;
mod env;
mod errors;
mod file;
mod flyway;
mod keys;
mod layers;
#[cfg(test)]
mod tests;
mod urls;
mod values;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub use args::ConfigArgs;
pub use errors::ConfigError;
pub use flyway::{wants_json as flyway_wants_json, FlywayCommandLine};
pub use layers::load_from_process;

/// Every key of `godwit.toml`, in documentation order (tests).
#[cfg(test)]
pub fn key_names() -> impl Iterator<Item = &'static str> {
    keys::KEYS.iter().map(|key| key.key)
}

/// The environment variables that set keys, with the key each sets, in documentation order
/// (`GODWIT_PLACEHOLDERS_<NAME>` last); for `--help` and the man page.
pub fn environment_variables() -> impl Iterator<Item = (&'static [&'static str], &'static str)> {
    keys::KEYS.iter().map(|key| (key.env, key.key))
}

/// Applies one file on top of the defaults, as the file layer reads it (tests of files that
/// godwit writes).
#[cfg(test)]
pub fn load_file_for_test(path: &std::path::Path) -> Result<Settings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let mut settings = Settings::default();
    file::apply_file(&mut settings, path, &text)?;
    Ok(settings)
}

/// The default of a key as a TOML value, where the documentation gives one (tests).
#[cfg(test)]
pub fn default_toml(key: &str) -> Option<&'static str> {
    keys::key_doc(key).and_then(|doc| doc.default_toml)
}

/// The configuration a command runs with, after every layer has been applied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// What the library runs with: the history table, the managed schemas, the target, the
    /// baseline, the lock and statement limits, the placeholders, …
    pub config: godwit::Config,
    /// What the library does not know about: the database, the files, connecting.
    pub cli: CliSettings,
}

/// The settings only the command-line tool uses.
#[derive(Clone, PartialEq, Eq)]
pub struct CliSettings {
    /// The database URL; `None` when no layer sets one (see [`CliSettings::require_url`]).
    pub url: Option<String>,
    /// The database password, when it is not in the URL. Never printed.
    pub password: Option<String>,
    /// The database user, when it is not in the URL (Flyway's `user`).
    pub user: Option<String>,
    /// A file holding the database password (its trailing newline dropped); relative paths in a
    /// file are relative to that file's directory. Set by a layer, it replaces a `password` set
    /// by a lower layer, and the other way round.
    pub password_file: Option<PathBuf>,
    /// Directories searched for migrations; relative paths are relative to the working directory.
    pub locations: Vec<PathBuf>,
    /// Whether `clean` is refused.
    pub clean_disabled: bool,
    /// Whether file checksums are cached between runs.
    pub checksum_cache: bool,
    /// `Some(expiry)`: the migration lock is a lease row (PostgreSQL, MySQL); `None`: advisory
    /// lock or `GET_LOCK` (a lease on a cluster node, which the driver detects).
    pub lock_lease: Option<Duration>,
    /// How long one attempt to connect may take.
    pub connect_timeout: Duration,
    /// How many times to try connecting again while the database is not up.
    pub connect_retries: u32,
    /// The longest wait between two connection attempts.
    pub connect_retries_interval: Duration,
    /// Whether `migrate` and `validate` lint pending files, and stop on an error-level finding.
    pub lint: godwit_lint::Level,
    /// Each lint rule's level, where the configuration names one.
    pub lint_rules: BTreeMap<godwit_lint::Rule, godwit_lint::Level>,
    /// SQL run on the connection as soon as it is open (`init_sql`).
    pub init_sql: Option<String>,
}

impl Default for CliSettings {
    fn default() -> Self {
        // The connection defaults are the library's.
        let connect = godwit::ConnectOptions::default();
        CliSettings {
            url: None,
            password: None,
            user: None,
            password_file: None,
            locations: vec![PathBuf::from("migrations")],
            clean_disabled: true,
            checksum_cache: true,
            lock_lease: connect.lock_lease,
            connect_timeout: connect.connect_timeout,
            connect_retries: connect.connect_retries,
            connect_retries_interval: connect.connect_retries_interval,
            lint: godwit_lint::Level::Warn,
            lint_rules: BTreeMap::new(),
            init_sql: connect.init_sql,
        }
    }
}

impl CliSettings {
    /// Returns the database URL, or [`ConfigError::MissingUrl`] (which says how to set one).
    pub fn require_url(&self) -> Result<&str, ConfigError> {
        self.url.as_deref().ok_or(ConfigError::MissingUrl)
    }

    /// Returns the database URL with any password replaced by `***`, for display.
    pub fn redacted_url(&self) -> Option<String> {
        self.url.as_deref().map(godwit::redact_url)
    }
}

impl fmt::Debug for CliSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CliSettings")
            .field("url", &self.redacted_url())
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("user", &self.user)
            .field("password_file", &self.password_file)
            .field("locations", &self.locations)
            .field("clean_disabled", &self.clean_disabled)
            .field("checksum_cache", &self.checksum_cache)
            .field("lock_lease", &self.lock_lease)
            .field("connect_timeout", &self.connect_timeout)
            .field("connect_retries", &self.connect_retries)
            .field("connect_retries_interval", &self.connect_retries_interval)
            .field("lint", &self.lint)
            .field("lint_rules", &self.lint_rules)
            .field("init_sql", &self.init_sql)
            .finish()
    }
}
