//! The configuration flags, as clap reads them. Flags are the highest layer (see
//! [`super::layers`]); durations and placeholders are parsed here, by the value parsers of
//! [`super::values`].

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::NonEmptyStringValueParser;

use super::values::{check_placeholder_name, parse_duration_text, parse_statement_limit, quote};

/// Global flags shared by every subcommand.
///
/// The CLI flattens this struct into its top-level parser with `#[command(flatten)]`; every flag
/// is `global`, so it may appear before or after the subcommand name.
#[derive(Clone, Default, clap::Args)]
#[command(about = None, long_about = None, next_help_heading = "Configuration")]
pub struct ConfigArgs {
    /// Read settings from this TOML file too (repeatable; later files win)
    #[arg(long = "config", value_name = "FILE", global = true)]
    pub config: Vec<PathBuf>,

    /// Migrate the database at this URL
    #[arg(
        long,
        value_name = "URL",
        global = true,
        value_parser = NonEmptyStringValueParser::new()
    )]
    pub url: Option<String>,

    /// Read migrations from these directories (comma-separated or repeated)
    #[arg(long, value_name = "DIR", value_delimiter = ',', global = true)]
    pub locations: Vec<String>,

    /// Record applied migrations in this table (may be schema-qualified)
    #[arg(
        long,
        value_name = "TABLE",
        global = true,
        value_parser = NonEmptyStringValueParser::new()
    )]
    pub table: Option<String>,

    /// Manage these schemas (comma-separated)
    #[arg(long, value_name = "SCHEMA", value_delimiter = ',', global = true)]
    pub schemas: Vec<String>,

    /// Migrate to this version: latest, current, none (empty) or a version number
    #[arg(
        long,
        value_name = "VERSION",
        global = true,
        value_parser = NonEmptyStringValueParser::new()
    )]
    pub target: Option<String>,

    /// Apply pending migrations older than the newest applied one
    #[arg(long, global = true)]
    pub out_of_order: bool,

    /// Wait at most this long for the migration lock (e.g. 30s, 10m)
    #[arg(long, value_name = "DURATION", global = true, value_parser = parse_lock_timeout_arg)]
    pub lock_timeout: Option<Duration>,

    /// Use a lease row as the migration lock, expiring this long after its holder dies (e.g. 30s)
    #[arg(long, value_name = "DURATION", global = true, value_parser = parse_statement_limit_arg)]
    pub lock_lease: Option<Duration>,

    /// Let each migration statement wait at most this long for a table or row lock (e.g. 5s)
    #[arg(long, value_name = "DURATION", global = true, value_parser = parse_statement_limit_arg)]
    pub statement_lock_timeout: Option<Duration>,

    /// Let each migration statement run at most this long (e.g. 10m)
    #[arg(long, value_name = "DURATION", global = true, value_parser = parse_statement_limit_arg)]
    pub statement_timeout: Option<Duration>,

    /// Retry a migration this many times when it could not get a lock
    #[arg(long, value_name = "COUNT", global = true)]
    pub statement_lock_retries: Option<u32>,
    /// Give up on an attempt to connect after this long (e.g. 5s)
    #[arg(long, value_name = "DURATION", global = true, value_parser = parse_lock_timeout_arg)]
    pub connect_timeout: Option<Duration>,

    /// Try to connect again this many times while the database is not up yet
    #[arg(long, value_name = "N", global = true)]
    pub connect_retries: Option<u32>,

    /// Wait at most this long between two connection attempts (they back off from 1s)
    #[arg(long, value_name = "DURATION", global = true, value_parser = parse_lock_timeout_arg)]
    pub connect_retries_interval: Option<Duration>,

    /// Set placeholder NAME to VALUE (repeatable)
    #[arg(
        long = "placeholder",
        value_name = "NAME=VALUE",
        global = true,
        value_parser = parse_placeholder_arg
    )]
    pub placeholders: Vec<(String, String)>,

    /// `godwit flyway`'s settings (`-url=…`), parsed by that command, not by clap.
    #[arg(skip)]
    pub flyway: Option<super::FlywayCommandLine>,
}

impl fmt::Debug for ConfigArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigArgs")
            .field("config", &self.config)
            .field("url", &self.url.as_deref().map(godwit::redact_url))
            .field("locations", &self.locations)
            .field("table", &self.table)
            .field("schemas", &self.schemas)
            .field("target", &self.target)
            .field("out_of_order", &self.out_of_order)
            .field("lock_timeout", &self.lock_timeout)
            .field("statement_lock_timeout", &self.statement_lock_timeout)
            .field("lock_lease", &self.lock_lease)
            .field("statement_timeout", &self.statement_timeout)
            .field("statement_lock_retries", &self.statement_lock_retries)
            .field("connect_timeout", &self.connect_timeout)
            .field("connect_retries", &self.connect_retries)
            .field("connect_retries_interval", &self.connect_retries_interval)
            .field("placeholders", &self.placeholders)
            // Values may hold a password: the names only.
            .field(
                "flyway",
                &self.flyway.as_ref().map(|f| {
                    f.settings
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>()
                }),
            )
            .finish()
    }
}

/// Parses the value of `--lock-timeout` for clap.
fn parse_lock_timeout_arg(text: &str) -> Result<Duration, String> {
    parse_duration_text(text).map_err(|problem| problem.for_clap())
}

/// Parses the value of `--statement-lock-timeout` and `--statement-timeout` for clap.
fn parse_statement_limit_arg(text: &str) -> Result<Duration, String> {
    parse_statement_limit(text).map_err(|problem| problem.for_clap())
}

/// Parses the value of `--placeholder NAME=VALUE` for clap; the name is kept as written (the
/// flags' layer lowercases it, once it has checked that no other flag spells it differently).
pub(super) fn parse_placeholder_arg(text: &str) -> Result<(String, String), String> {
    let Some((name, value)) = text.split_once('=') else {
        return Err(format!(
            "expected NAME=VALUE, e.g. --placeholder owner=app, not {}",
            quote(text)
        ));
    };
    check_placeholder_name(name).map_err(|problem| problem.for_clap())?;
    Ok((name.to_owned(), value.to_owned()))
}
