//! Configuration of the `godwit` command-line tool.
//!
//! Settings come from layers, lowest precedence first: `godwit.toml` beside the binary, the
//! user's `godwit/godwit.toml` in their config directory, `./godwit.toml`, each `--config` file in
//! order, environment variables, and command-line flags. A later layer overrides an earlier one
//! key by key; placeholders merge name by name.
//!
//! Every key is declared once, in `KEYS`: its name in `godwit.toml`, its environment variables,
//! its flag, its default, its documentation and the [`Settings`] field it fills. The unknown-key
//! suggestions and `docs/configuration.md` are both derived from that table (a unit test keeps
//! the committed page in step with it).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::builder::NonEmptyStringValueParser;
use godwit::redact_url;
use toml::Spanned;

/// The name of the configuration file that godwit looks for in each implicit location.
pub const CONFIG_FILE_NAME: &str = "godwit.toml";

/// Environment variables whose names start with this prefix set placeholders.
const PLACEHOLDER_ENV_PREFIX: &str = "GODWIT_PLACEHOLDERS_";

/// The longest lock timeout accepted, so that later deadline arithmetic cannot overflow.
const MAX_LOCK_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 60 * 60);

const BOOL_HINT: &str = "use true or false (yes/no, on/off and 1/0 work too)";
const DURATION_HINT: &str =
    "write a duration such as \"30s\", \"10m\" or \"1h 30m\", or a whole number of seconds";

/// Global flags shared by every subcommand.
///
/// The CLI flattens this struct into its top-level parser with `#[command(flatten)]`; every flag
/// is `global`, so it may appear before or after the subcommand name. Flags are the highest layer
/// of configuration: see [`load`].
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
}

impl fmt::Debug for ConfigArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigArgs")
            .field("config", &self.config)
            .field("url", &self.url.as_deref().map(redact_url))
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

/// Parses the value of `--placeholder NAME=VALUE` for clap; the name is lowercased.
fn parse_placeholder_arg(text: &str) -> Result<(String, String), String> {
    let Some((name, value)) = text.split_once('=') else {
        return Err(format!(
            "expected NAME=VALUE, e.g. --placeholder owner=app, not {}",
            quote(text)
        ));
    };
    let name = check_placeholder_name(name).map_err(|problem| problem.for_clap())?;
    Ok((name, value.to_owned()))
}

/// The configuration a command runs with, after every layer has been applied.
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    /// The database URL; `None` when no layer sets one (see [`Settings::require_url`]).
    pub url: Option<String>,
    /// The database password, when it is not in the URL. Never printed.
    pub password: Option<String>,
    /// A file holding the database password (its trailing newline dropped); relative paths in a
    /// file are relative to that file's directory. Set by a layer, it replaces a `password` set
    /// by a lower layer, and the other way round.
    pub password_file: Option<PathBuf>,
    /// Directories searched for migrations; relative paths are relative to the working directory.
    pub locations: Vec<PathBuf>,
    /// The history table, possibly schema-qualified (`app.history`).
    pub table: String,
    /// The managed schemas; empty means the connection's default schema.
    pub schemas: Vec<String>,
    /// The target as written: `latest`, `current` or a version, parsed by the library.
    pub target: String,
    /// Whether pending migrations older than the newest applied one may be applied.
    pub out_of_order: bool,
    /// Whether `migrate` validates files against the history first.
    pub validate_on_migrate: bool,
    /// Whether `migrate` baselines a non-empty database that has no history table.
    pub baseline_on_migrate: bool,
    /// The version recorded by a baseline, as written.
    pub baseline_version: String,
    /// Whether `clean` is refused.
    pub clean_disabled: bool,
    /// How long `migrate` waits for the database lock.
    pub lock_timeout: Duration,
    /// `Some(expiry)`: the migration lock is a lease row (PostgreSQL); `None`: advisory lock.
    pub lock_lease: Option<Duration>,
    /// How long a migration's statement may wait for a lock; `None`: the server's setting.
    pub statement_lock_timeout: Option<Duration>,
    /// How long a migration's statement may run; `None`: the server's setting.
    pub statement_timeout: Option<Duration>,
    /// How many times a migration that could not get a lock is retried.
    pub statement_lock_retries: u32,
    /// How long one attempt to connect may take.
    pub connect_timeout: Duration,
    /// How many times to try connecting again while the database is not up.
    pub connect_retries: u32,
    /// The longest wait between two connection attempts.
    pub connect_retries_interval: Duration,
    /// Whether a migration may mix non-transactional statements with others.
    pub mixed: bool,
    /// Whether file checksums are cached between runs.
    pub checksum_cache: bool,
    /// The name recorded in `installed_by`; `None` means the database user.
    pub installed_by: Option<String>,
    /// Placeholder values by lowercased name.
    pub placeholders: BTreeMap<String, String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            url: None,
            password: None,
            password_file: None,
            locations: vec![PathBuf::from("migrations")],
            table: "godwit_schema_history".to_owned(),
            schemas: Vec::new(),
            target: "latest".to_owned(),
            out_of_order: false,
            validate_on_migrate: true,
            baseline_on_migrate: false,
            baseline_version: "1".to_owned(),
            clean_disabled: true,
            lock_timeout: Duration::from_secs(10 * 60),
            lock_lease: None,
            statement_lock_timeout: None,
            statement_timeout: None,
            statement_lock_retries: 0,
            connect_timeout: Duration::from_secs(10),
            connect_retries: 0,
            connect_retries_interval: Duration::from_secs(120),
            mixed: false,
            checksum_cache: true,
            installed_by: None,
            placeholders: BTreeMap::new(),
        }
    }
}

impl Settings {
    /// Returns the database URL, or [`ConfigError::MissingUrl`] (which says how to set one).
    pub fn require_url(&self) -> Result<&str, ConfigError> {
        self.url.as_deref().ok_or(ConfigError::MissingUrl)
    }

    /// Returns the database URL with any password replaced by `***`, for display.
    pub fn redacted_url(&self) -> Option<String> {
        self.url.as_deref().map(redact_url)
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("url", &self.redacted_url())
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("password_file", &self.password_file)
            .field("locations", &self.locations)
            .field("table", &self.table)
            .field("schemas", &self.schemas)
            .field("target", &self.target)
            .field("out_of_order", &self.out_of_order)
            .field("validate_on_migrate", &self.validate_on_migrate)
            .field("baseline_on_migrate", &self.baseline_on_migrate)
            .field("baseline_version", &self.baseline_version)
            .field("clean_disabled", &self.clean_disabled)
            .field("lock_timeout", &self.lock_timeout)
            .field("statement_lock_timeout", &self.statement_lock_timeout)
            .field("lock_lease", &self.lock_lease)
            .field("statement_timeout", &self.statement_timeout)
            .field("statement_lock_retries", &self.statement_lock_retries)
            .field("connect_timeout", &self.connect_timeout)
            .field("connect_retries", &self.connect_retries)
            .field("connect_retries_interval", &self.connect_retries_interval)
            .field("mixed", &self.mixed)
            .field("checksum_cache", &self.checksum_cache)
            .field("installed_by", &self.installed_by)
            .field("placeholders", &self.placeholders)
            .finish()
    }
}

/// A snapshot of the environment variables that configure godwit.
///
/// [`load`] reads the environment only through this type, so tests can inject variables without
/// touching the process environment. A variable whose value is empty (or only whitespace) counts
/// as unset.
#[derive(Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// Captures the process environment's `GODWIT_*` variables and `DATABASE_URL`.
    ///
    /// A value that is not valid UTF-8 is kept with its invalid bytes replaced.
    pub fn from_process() -> Self {
        let vars = std::env::vars_os()
            .filter_map(|(name, value)| {
                let name = name.into_string().ok()?;
                let relevant = name.starts_with("GODWIT_") || name == "DATABASE_URL";
                relevant.then(|| (name, value.to_string_lossy().into_owned()))
            })
            .collect();
        Env { vars }
    }

    /// Builds an environment from name/value pairs, for tests.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let vars = pairs
            .into_iter()
            .map(|(name, value)| (name.into(), value.into()))
            .collect();
        Env { vars }
    }

    /// Returns the value of `name`, treating an empty or all-whitespace value as unset.
    fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.trim().is_empty())
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values may hold passwords; show the names only.
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

/// Where a setting came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A configuration file, with the 1-based line of the offending key when known.
    File {
        /// The file, as godwit refers to it (a `--config` path as given).
        path: PathBuf,
        /// The 1-based line.
        line: Option<usize>,
    },
    /// An environment variable.
    Env {
        /// The variable's name.
        var: String,
    },
    /// A command-line flag.
    Flag {
        /// The flag, e.g. `--locations`.
        flag: String,
    },
}

/// A configuration problem; nothing has been written to any database when one is returned.
///
/// [`Display`](fmt::Display) gives a single self-contained line (location, what is wrong and the
/// hint). A CLI that renders errors in parts should use [`ConfigError::message`],
/// [`ConfigError::location`] and [`ConfigError::hint`] instead. No message contains a password
/// from a URL or a placeholder value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file named with `--config` does not exist.
    #[error("config file {} does not exist; {}", .path.display(), MISSING_FILE_HINT)]
    MissingFile {
        /// The path as given.
        path: PathBuf,
    },
    /// A configuration file exists but could not be read.
    #[error("cannot read config file {}: {source}{}", .path.display(), read_hint_suffix(.source))]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A configuration file is not valid TOML.
    #[error("{}invalid TOML: {message}{}", at(.path, .line), suffix(.hint))]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The 1-based line of the error.
        line: Option<usize>,
        /// The TOML parser's message.
        message: String,
        /// A suggestion, for the most common mistakes.
        hint: Option<String>,
    },
    /// A configuration file sets a key godwit does not know.
    #[error("{}unknown key `{key}`; {hint}", at(.path, .line))]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// The 1-based line of the key.
        line: Option<usize>,
        /// The key as written.
        key: String,
        /// The valid key it most likely meant.
        suggestion: Option<&'static str>,
        /// "did you mean …?" or the list of valid keys.
        hint: String,
    },
    /// A setting has a value of the wrong type or form.
    #[error("{}{message}{}", origin_prefix(.origin), suffix(.hint))]
    Invalid {
        /// Where the value came from.
        origin: Origin,
        /// The key (`placeholders.NAME` for a placeholder).
        key: String,
        /// What is wrong, naming the key, variable or flag.
        message: String,
        /// How to fix it.
        hint: Option<String>,
    },
    /// The working directory could not be determined.
    #[error("cannot determine the working directory: {source}")]
    WorkingDir {
        /// The I/O error.
        source: io::Error,
    },
    /// No layer sets a database URL (returned by [`Settings::require_url`]).
    #[error("no database URL is configured; {}", missing_url_hint())]
    MissingUrl,
}

const MISSING_FILE_HINT: &str =
    "check the path given with --config (a relative path is taken from the working directory)";

impl ConfigError {
    /// What is wrong, without the location and the hint.
    pub fn message(&self) -> String {
        match self {
            ConfigError::MissingFile { path } => {
                format!("config file {} does not exist", path.display())
            }
            ConfigError::Read { path, source } => {
                format!("cannot read config file {}: {source}", path.display())
            }
            ConfigError::Syntax { message, .. } => format!("invalid TOML: {message}"),
            ConfigError::UnknownKey { key, .. } => format!("unknown key `{key}`"),
            ConfigError::Invalid { message, .. } => message.clone(),
            ConfigError::WorkingDir { source } => {
                format!("cannot determine the working directory: {source}")
            }
            ConfigError::MissingUrl => "no database URL is configured".to_owned(),
        }
    }

    /// The file and 1-based line the error is about, when it is about a place in a file.
    pub fn location(&self) -> Option<(&Path, Option<usize>)> {
        match self {
            ConfigError::Read { path, .. } => Some((path, None)),
            ConfigError::Syntax { path, line, .. } | ConfigError::UnknownKey { path, line, .. } => {
                Some((path, *line))
            }
            ConfigError::Invalid {
                origin: Origin::File { path, line },
                ..
            } => Some((path, *line)),
            _ => None,
        }
    }

    /// A suggestion for fixing the error, when there is one.
    pub fn hint(&self) -> Option<String> {
        match self {
            ConfigError::MissingFile { .. } => Some(MISSING_FILE_HINT.to_owned()),
            ConfigError::Read { source, .. } => read_hint(source).map(str::to_owned),
            ConfigError::Syntax { hint, .. } | ConfigError::Invalid { hint, .. } => hint.clone(),
            ConfigError::UnknownKey { hint, .. } => Some(hint.clone()),
            ConfigError::WorkingDir { .. } => None,
            ConfigError::MissingUrl => Some(missing_url_hint().to_owned()),
        }
    }
}

/// Formats `path:line: ` (or `path: `) as a message prefix.
fn at(path: &Path, line: &Option<usize>) -> String {
    match line {
        Some(line) => format!("{}:{line}: ", path.display()),
        None => format!("{}: ", path.display()),
    }
}

fn origin_prefix(origin: &Origin) -> String {
    match origin {
        Origin::File { path, line } => at(path, line),
        Origin::Env { .. } | Origin::Flag { .. } => String::new(),
    }
}

fn suffix(hint: &Option<String>) -> String {
    hint.as_ref().map(|h| format!("; {h}")).unwrap_or_default()
}

fn read_hint(source: &io::Error) -> Option<&'static str> {
    (source.kind() == io::ErrorKind::InvalidData).then_some("save the file as UTF-8")
}

fn read_hint_suffix(source: &io::Error) -> String {
    read_hint(source)
        .map(|h| format!("; {h}"))
        .unwrap_or_default()
}

/// Tells the user how to configure a database URL.
pub fn missing_url_hint() -> &'static str {
    "set one with --url, the GODWIT_URL environment variable (DATABASE_URL is read when \
     GODWIT_URL is not set), or `url = \"postgres://user@localhost:5432/app\"` in godwit.toml"
}

/// Loads the settings of the running process.
///
/// This is [`load`] with the process environment, the current directory, the directory of the
/// running executable and the user's config directory (`$XDG_CONFIG_HOME`, else `$HOME/.config`).
pub fn load_from_process(args: &ConfigArgs) -> Result<Settings, ConfigError> {
    let cwd = std::env::current_dir().map_err(|source| ConfigError::WorkingDir { source })?;
    let exe = std::env::current_exe().ok();
    let exe_dir = exe.as_deref().and_then(Path::parent);
    let user_dir = user_config_base(|name| std::env::var_os(name));
    load(
        args,
        &Env::from_process(),
        &cwd,
        exe_dir,
        user_dir.as_deref(),
    )
}

/// Finds the user's config directory: `$XDG_CONFIG_HOME` when it is an absolute path, else
/// `$HOME/.config`, else (on Windows) `%APPDATA%`.
fn user_config_base(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let non_empty = |name: &str| {
        var(name)
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
    };
    if let Some(xdg) = non_empty("XDG_CONFIG_HOME").filter(|dir| dir.is_absolute()) {
        return Some(xdg);
    }
    if let Some(home) = non_empty("HOME") {
        return Some(home.join(".config"));
    }
    if cfg!(windows) {
        return non_empty("APPDATA");
    }
    None
}

/// Builds the settings from every layer, lowest precedence first.
///
/// - `cwd` is the working directory: `./godwit.toml` and relative `--config` paths are read from
///   it, and relative paths in the returned settings are relative to it.
/// - `exe_dir` is the directory of the `godwit` binary, whose `godwit.toml` is the lowest layer.
/// - `user_config_dir` is the user's config directory (e.g. `~/.config`); the file read there is
///   `godwit/godwit.toml`.
///
/// The implicit files are skipped when absent; a `--config` file that does not exist is an
/// error. Relative locations and SQLite paths in a file are taken from that file's directory.
pub fn load(
    args: &ConfigArgs,
    env: &Env,
    cwd: &Path,
    exe_dir: Option<&Path>,
    user_config_dir: Option<&Path>,
) -> Result<Settings, ConfigError> {
    let mut settings = Settings::default();

    let mut implicit = Vec::new();
    if let Some(dir) = exe_dir {
        implicit.push(dir.join(CONFIG_FILE_NAME));
    }
    if let Some(dir) = user_config_dir {
        implicit.push(dir.join("godwit").join(CONFIG_FILE_NAME));
    }
    implicit.push(PathBuf::from(CONFIG_FILE_NAME));
    for path in &implicit {
        if let Some(text) = read_config(cwd, path, false)? {
            apply_file(&mut settings, path, &text)?;
        }
    }
    for path in &args.config {
        if let Some(text) = read_config(cwd, path, true)? {
            apply_file(&mut settings, path, &text)?;
        }
    }

    apply_env(&mut settings, env)?;
    apply_flags(&mut settings, args)?;
    Ok(settings)
}

/// Reads `path` (relative to `cwd`); `Ok(None)` when an optional file is absent.
fn read_config(cwd: &Path, path: &Path, required: bool) -> Result<Option<String>, ConfigError> {
    match std::fs::read_to_string(cwd.join(path)) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            if required {
                Err(ConfigError::MissingFile {
                    path: path.to_owned(),
                })
            } else {
                Ok(None)
            }
        }
        Err(source) => Err(ConfigError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// The key table
// ---------------------------------------------------------------------------------------------

/// Which [`Settings`] field a key fills, and so how its value is read.
#[derive(Clone, Copy)]
enum Slot {
    /// A database URL; a relative SQLite path in a file is resolved against the file's directory.
    Url(fn(&mut Settings) -> &mut Option<String>),
    /// A non-empty string that may be left unset.
    OptText(fn(&mut Settings) -> &mut Option<String>),
    /// The password: never shown in a message; setting it clears `password_file`.
    Password,
    /// The password file: a path, relative to the file that sets it; setting it clears `password`.
    PasswordFile,
    /// A non-empty string.
    Text(fn(&mut Settings) -> &mut String),
    /// A version: a string, or an integer in a file (a float is refused).
    Version(fn(&mut Settings) -> &mut String),
    /// Directories; relative ones in a file are resolved against the file's directory.
    Paths(fn(&mut Settings) -> &mut Vec<PathBuf>),
    /// A list of names, possibly empty.
    List(fn(&mut Settings) -> &mut Vec<String>),
    /// A boolean.
    Bool(fn(&mut Settings) -> &mut bool),
    /// A duration.
    Duration(fn(&mut Settings) -> &mut Duration),
    /// A duration of at least a millisecond that may be left unset.
    OptDuration(fn(&mut Settings) -> &mut Option<Duration>),
    /// A count: a whole number, 0 or more.
    Count(fn(&mut Settings) -> &mut u32),
    /// The `[placeholders]` table.
    Placeholders,
}

impl Slot {
    /// The value's type, as the documentation names it.
    fn type_name(self) -> &'static str {
        match self {
            Slot::Url(_) => "string (URL)",
            Slot::OptText(_) | Slot::Text(_) | Slot::Password => "string",
            Slot::PasswordFile => "string (path)",
            Slot::Version(_) => "string or integer",
            Slot::Paths(_) | Slot::List(_) => "array of strings, or one string",
            Slot::Bool(_) => "boolean",
            Slot::Duration(_) | Slot::OptDuration(_) => "duration string, or integer seconds",
            Slot::Count(_) => "integer",
            Slot::Placeholders => "table of strings",
        }
    }
}

/// One configuration key, declared once.
struct KeyDoc {
    /// The key in `godwit.toml`.
    key: &'static str,
    /// The environment variables that set it, the first one set winning.
    env: &'static [&'static str],
    /// The command-line flag, if any.
    flag: Option<&'static str>,
    /// The default, as the documentation shows it (markdown).
    default: &'static str,
    /// The default as a TOML value, when it can be written as one (checked by a test).
    #[cfg_attr(not(test), allow(dead_code))]
    default_toml: Option<&'static str>,
    /// One sentence for the key table.
    summary: &'static str,
    /// The rest of the documentation (markdown).
    details: &'static str,
    /// A `godwit.toml` snippet that sets the key.
    example: &'static str,
    /// Where the value goes.
    slot: Slot,
}

/// Every configuration key, in documentation order.
static KEYS: &[KeyDoc] = &[
    KeyDoc {
        key: "url",
        env: &["GODWIT_URL", "DATABASE_URL"],
        flag: Some("--url"),
        default: "none: commands that need a database say how to set one",
        default_toml: None,
        summary: "The database to migrate.",
        details: "`postgres://` or `postgresql://`, `mysql://` or `mariadb://`, `sqlite://path` \
                  (or `sqlite:path`), or `sqlite::memory:`. The user name goes in the URL; the \
                  password too (percent-encoded where it contains `@ / : # ? %`), or, to keep it \
                  out of the process table, in `password` or `password_file`. godwit never prints \
                  a password: messages show the URL as `postgres://user:***@host/db`, and the \
                  values of password-like parameters (`password`, `pass`, `passwd`, `pwd`, \
                  `sslpassword`, `sslkey`, and any name containing `password`, `secret` or \
                  `token`) as `***`. A URL godwit cannot read with certainty, an unknown \
                  parameter (`ssl_mode` for `sslmode`) or value (`charset=bogus`), and a URL that \
                  names no database (`mysql://host:3306` without `schemas`, `sqlite:`) are \
                  refused with exit 2, as is `sqlite::memory:` for a command that writes (the \
                  database would be thrown away at exit); a PostgreSQL URL without a database \
                  connects to the database named after the user, as `psql` does. \
                  `DATABASE_URL` is read only when `GODWIT_URL` is not set.",
        example: "url = \"postgres://app@localhost:5432/app\"",
        slot: Slot::Url(|s| &mut s.url),
    },
    KeyDoc {
        key: "password",
        env: &["GODWIT_PASSWORD"],
        flag: None,
        default: "none: the password in `url`, if any",
        default_toml: None,
        summary: "The database password, kept out of the URL.",
        details: "A password in `--url` can be read by every local user in the process table; \
                  set it here, or better in `GODWIT_PASSWORD` or a `password_file`, and leave it \
                  out of the URL. It is used as written (no percent-encoding) on PostgreSQL and \
                  MySQL/MariaDB. A URL that has a password too is refused (exit 2), as is a \
                  password for SQLite, which has none. `password` and `password_file` are one \
                  setting: a source that sets one replaces the other from earlier sources, and a \
                  source that sets both is refused. godwit never prints it.",
        example: "password = \"change-me\"",
        slot: Slot::Password,
    },
    KeyDoc {
        key: "password_file",
        env: &["GODWIT_PASSWORD_FILE"],
        flag: None,
        default: "none",
        default_toml: None,
        summary: "A file holding the database password.",
        details: "The file's one line is the password; its trailing newline (`\\n` or \
                  `\\r\\n`) is dropped. An empty file, a file of more than one line or one that \
                  is not UTF-8 is refused (exit 2), without showing its content. A relative path \
                  in a file is taken from that file's directory. Suits secrets mounted by \
                  Docker or Kubernetes (`/run/secrets/…`). The same rules as `password` apply.",
        example: "password_file = \"/run/secrets/db_password\"",
        slot: Slot::PasswordFile,
    },
    KeyDoc {
        key: "locations",
        env: &["GODWIT_LOCATIONS"],
        flag: Some("--locations"),
        default: "`[\"migrations\"]`",
        default_toml: Some("[\"migrations\"]"),
        summary: "The directories searched, recursively, for migration files.",
        details: "An array of directories, or one string, which is split at commas like \
                  `GODWIT_LOCATIONS`. Flyway's `filesystem:` prefix is accepted and ignored; a \
                  `classpath:` location is refused, since godwit reads directories. \
                  `godwit new` creates files in the first location.",
        example: "locations = [\"db/migrations\", \"db/reference-data\"]",
        slot: Slot::Paths(|s| &mut s.locations),
    },
    KeyDoc {
        key: "table",
        env: &["GODWIT_TABLE"],
        flag: Some("--table"),
        default: "`godwit_schema_history`",
        default_toml: Some("\"godwit_schema_history\""),
        summary: "The history table, optionally schema-qualified.",
        details: "`app.schema_history` puts it in schema `app`; without a schema it is created in \
                  the connection's default schema. Set `flyway_schema_history` to carry on with a \
                  database that Flyway has been migrating.",
        example: "table = \"flyway_schema_history\"",
        slot: Slot::Text(|s| &mut s.table),
    },
    KeyDoc {
        key: "schemas",
        env: &["GODWIT_SCHEMAS"],
        flag: Some("--schemas"),
        default: "none: the connection's default schema",
        default_toml: Some("[]"),
        summary: "The schemas godwit manages.",
        details: "`godwit clean` drops the objects in these schemas, and the first one is \
                  `${godwit:defaultSchema}`. An array, or one string split at commas; an empty \
                  list means the connection's default schema.",
        example: "schemas = [\"app\", \"audit\"]",
        slot: Slot::List(|s| &mut s.schemas),
    },
    KeyDoc {
        key: "target",
        env: &["GODWIT_TARGET"],
        flag: Some("--target"),
        default: "`latest`",
        default_toml: Some("\"latest\""),
        summary: "The version that `migrate` brings the database to.",
        details: "`latest` (every pending migration), `current` (the database's current \
                  version), `none` (down to an empty database, undoing everything) or a version \
                  such as `\"2.1\"`. A version below the current one makes \
                  `migrate` go down, running undo scripts. Write versions as strings: TOML reads \
                  `1.10` as the number 1.1, so godwit refuses a decimal number here.",
        example: "target = \"2.1\"",
        slot: Slot::Version(|s| &mut s.target),
    },
    KeyDoc {
        key: "out_of_order",
        env: &["GODWIT_OUT_OF_ORDER"],
        flag: Some("--out-of-order"),
        default: "`false`",
        default_toml: Some("false"),
        summary: "Apply pending migrations whose version is below the newest applied one.",
        details: "When it is off, such a migration is a validation error. Turn it on when \
                  branches that each added migrations are merged, leaving versions interleaved.",
        example: "out_of_order = true",
        slot: Slot::Bool(|s| &mut s.out_of_order),
    },
    KeyDoc {
        key: "validate_on_migrate",
        env: &["GODWIT_VALIDATE_ON_MIGRATE"],
        flag: None,
        default: "`true`",
        default_toml: Some("true"),
        summary: "Validate the files against the history before `migrate` changes anything.",
        details: "The checks are those of `godwit validate`: changed checksums, applied \
                  migrations whose files are missing, failed migrations. Leave it on unless you \
                  know why it must be off.",
        example: "validate_on_migrate = false",
        slot: Slot::Bool(|s| &mut s.validate_on_migrate),
    },
    KeyDoc {
        key: "baseline_on_migrate",
        env: &["GODWIT_BASELINE_ON_MIGRATE"],
        flag: None,
        default: "`false`",
        default_toml: Some("false"),
        summary: "Baseline a non-empty database that has no history table, instead of refusing \
                  to migrate it.",
        details:
            "`migrate` then records `baseline_version` first, as `godwit baseline` would, and \
                  applies only the migrations above it.",
        example: "baseline_on_migrate = true",
        slot: Slot::Bool(|s| &mut s.baseline_on_migrate),
    },
    KeyDoc {
        key: "baseline_version",
        env: &["GODWIT_BASELINE_VERSION"],
        flag: None,
        default: "`1`",
        default_toml: Some("\"1\""),
        summary: "The version that a baseline records.",
        details: "Migrations up to and including it count as already applied. Used by \
                  `baseline_on_migrate` and by `godwit baseline` (whose `--baseline-version` \
                  overrides it). A string or an integer; quote versions that have dots.",
        example: "baseline_version = \"3.2\"",
        slot: Slot::Version(|s| &mut s.baseline_version),
    },
    KeyDoc {
        key: "clean_disabled",
        env: &["GODWIT_CLEAN_DISABLED"],
        flag: None,
        default: "`true`",
        default_toml: Some("true"),
        summary: "Refuse to run `godwit clean`.",
        details: "`clean` drops every object in the managed schemas. It runs only when this is \
                  `false` and `--yes` is given; set it to `false` only where losing the data does \
                  not matter.",
        example: "clean_disabled = false",
        slot: Slot::Bool(|s| &mut s.clean_disabled),
    },
    KeyDoc {
        key: "lock_timeout",
        env: &["GODWIT_LOCK_TIMEOUT"],
        flag: Some("--lock-timeout"),
        default: "`10m`",
        default_toml: Some("\"10m\""),
        summary: "How long `migrate` waits for the migration lock held by another process.",
        details: "A duration such as `\"30s\"`, `\"10m\"` or `\"1h 30m\"`, or a whole number of \
                  seconds; at most a year. When it runs out the command fails with exit code 1. \
                  It is not how long a migration's statements wait for the locks of other \
                  sessions: that is `statement_lock_timeout`.",
        example: "lock_timeout = \"2m\"",
        slot: Slot::Duration(|s| &mut s.lock_timeout),
    },
    KeyDoc {
        key: "lock_lease",
        env: &["GODWIT_LOCK_LEASE"],
        flag: Some("--lock-lease"),
        default: "unset (advisory lock)",
        default_toml: None,
        summary: "Makes the migration lock a lease row that expires this long after its holder \
                  stops renewing it (PostgreSQL).",
        details: "Unset, PostgreSQL's migration lock is a session advisory lock, which does not \
                  work through a connection pooler in transaction mode (PgBouncer). Set, godwit \
                  holds a row in a `godwit_lease` table (created in the current schema), taken \
                  and renewed in short committed statements: a heartbeat on a second connection \
                  renews it every third of this duration while the run goes on, and a holder \
                  killed without releasing it lets the next migrator in once it has expired. \
                  Pick a duration well above a network hiccup, such as `\"30s\"`. Ignored on \
                  MySQL and SQLite. See docs/migrations.md, Locking.",
        example: "lock_lease = \"30s\"",
        slot: Slot::OptDuration(|s| &mut s.lock_lease),
    },
    KeyDoc {
        key: "statement_lock_timeout",
        env: &["GODWIT_STATEMENT_LOCK_TIMEOUT"],
        flag: Some("--statement-lock-timeout"),
        default: "unset (the server's setting)",
        default_toml: None,
        summary: "How long each statement of a migration may wait for a table or row lock that \
                  another session holds.",
        details:
            "Not `lock_timeout`, which is godwit's own migration lock. Set for each migration \
                  as it runs: PostgreSQL `SET LOCAL lock_timeout` (`SET`, then `RESET`, for a \
                  migration run outside a transaction); MySQL and MariaDB `lock_wait_timeout` \
                  (metadata locks) and `innodb_lock_wait_timeout` (row locks), in whole seconds \
                  rounded up, restored afterwards; SQLite the busy timeout. A statement that waits \
                  longer fails the migration (PostgreSQL `55P03`, MySQL 1205), so that a migration \
                  stuck behind an application's lock does not make every other session queue \
                  behind it; see `statement_lock_retries`. A file's first lines may override it \
                  with `-- godwit:statement-lock-timeout=<duration>`. A duration such as \
                  `\"5s\"` or `\"500ms\"`, at least 1ms.",
        example: "statement_lock_timeout = \"5s\"",
        slot: Slot::OptDuration(|s| &mut s.statement_lock_timeout),
    },
    KeyDoc {
        key: "statement_timeout",
        env: &["GODWIT_STATEMENT_TIMEOUT"],
        flag: Some("--statement-timeout"),
        default: "unset (the server's setting)",
        default_toml: None,
        summary: "How long each statement of a migration may run.",
        details: "Set for each migration as it runs: PostgreSQL `SET LOCAL statement_timeout`; \
                  MariaDB `max_statement_time`; MySQL `max_execution_time`, which MySQL applies to \
                  `SELECT` statements only (DDL and other writes are not limited there); SQLite \
                  has no statement timeout and ignores it. A statement that runs longer is \
                  stopped and the migration fails. A file's first lines may override it with \
                  `-- godwit:statement-timeout=<duration>` (a long data migration, say). A \
                  duration such as `\"30s\"` or `\"10m\"`, at least 1ms.",
        example: "statement_timeout = \"10m\"",
        slot: Slot::OptDuration(|s| &mut s.statement_timeout),
    },
    KeyDoc {
        key: "statement_lock_retries",
        env: &["GODWIT_STATEMENT_LOCK_RETRIES"],
        flag: Some("--statement-lock-retries"),
        default: "`0`",
        default_toml: Some("0"),
        summary: "How many times a migration is retried when a statement could not get a lock.",
        details: "Only a migration run in a transaction, failed because a statement waited past \
                  its lock timeout or was chosen as a deadlock's victim, and rolled back with \
                  nothing of it left, is retried: never one that ran outside a transaction, and \
                  on MySQL never one that had run a statement before (DDL commits by itself). \
                  Retries wait 1s, 2s, 4s, … (at most 30s), less a random part so that nodes do \
                  not retry together; each one prints a line. Pair it with \
                  `statement_lock_timeout`.",
        example: "statement_lock_retries = 5",
        slot: Slot::Count(|s| &mut s.statement_lock_retries),
    },
    KeyDoc {
        key: "connect_timeout",
        env: &["GODWIT_CONNECT_TIMEOUT"],
        flag: Some("--connect-timeout"),
        default: "`10s`",
        default_toml: Some("\"10s\""),
        summary: "How long one attempt to connect to the database may take.",
        details: "A duration such as `\"5s\"`, or a whole number of seconds. An attempt that gets \
                  no answer in that time counts as a failure to connect, which \
                  `connect_retries` may try again.",
        example: "connect_timeout = \"5s\"",
        slot: Slot::Duration(|s| &mut s.connect_timeout),
    },
    KeyDoc {
        key: "connect_retries",
        env: &["GODWIT_CONNECT_RETRIES"],
        flag: Some("--connect-retries"),
        default: "`0`",
        default_toml: Some("0"),
        summary: "How many times to try connecting again while the database is not up yet \
                  (Flyway's `connectRetries`).",
        details: "Retried: a refused, reset or timed-out connection, a missing socket, and a \
                  server that answers it is starting up, shutting down or full. Never retried: a \
                  refused login (wrong password, unknown user or database), which will not pass \
                  by waiting. Each retry prints a line; the waits start at one second and double, \
                  up to `connect_retries_interval`. When the retries run out the command fails \
                  with exit code 3. `godwit wait` uses the same settings.",
        example: "connect_retries = 10",
        slot: Slot::Count(|s| &mut s.connect_retries),
    },
    KeyDoc {
        key: "connect_retries_interval",
        env: &["GODWIT_CONNECT_RETRIES_INTERVAL"],
        flag: Some("--connect-retries-interval"),
        default: "`120s`",
        default_toml: Some("\"120s\""),
        summary: "The longest wait between two connection attempts (Flyway's \
                  `connectRetriesInterval`).",
        details: "The first wait is one second and each next one twice as long, up to this. \
                  A duration, or a whole number of seconds.",
        example: "connect_retries_interval = \"10s\"",
        slot: Slot::Duration(|s| &mut s.connect_retries_interval),
    },
    KeyDoc {
        key: "mixed",
        env: &["GODWIT_MIXED"],
        flag: None,
        default: "`false`",
        default_toml: Some("false"),
        summary: "Allow a migration to mix statements that cannot run in a transaction with \
                  others.",
        details: "Without it, a file such as one with both `CREATE TABLE` and `CREATE INDEX \
                  CONCURRENTLY` is an error. With it, such a file runs outside a transaction, so a \
                  failure part-way can leave it half applied. A file made only of such statements, \
                  or one whose first line is `-- godwit:no-transaction`, needs no setting.",
        example: "mixed = true",
        slot: Slot::Bool(|s| &mut s.mixed),
    },
    KeyDoc {
        key: "checksum_cache",
        env: &["GODWIT_CHECKSUM_CACHE"],
        flag: None,
        default: "`true`",
        default_toml: Some("true"),
        summary: "Remember the checksums of migration files between runs, so that files that \
                  have not changed are not read again.",
        details: "A file's checksum is reused only while its size, modification time, change \
                  time and inode are all what they were when it was read (git's index works the \
                  same way), and files about to be applied are checksummed again from the text \
                  that runs. The cache lives in `$XDG_CACHE_HOME/godwit` (or \
                  `~/.cache/godwit`), one small file per location; deleting it is always safe. \
                  Turn it off to read every file on every run.",
        example: "checksum_cache = false",
        slot: Slot::Bool(|s| &mut s.checksum_cache),
    },
    KeyDoc {
        key: "installed_by",
        env: &["GODWIT_INSTALLED_BY"],
        flag: None,
        default: "the database user",
        default_toml: None,
        summary: "The name recorded in the history table's `installed_by` column.",
        details: "Useful when every deployment logs in as the same database user.",
        example: "installed_by = \"deploy-pipeline\"",
        slot: Slot::OptText(|s| &mut s.installed_by),
    },
    KeyDoc {
        key: "placeholders",
        env: &["GODWIT_PLACEHOLDERS_<NAME>"],
        flag: Some("--placeholder NAME=VALUE"),
        default: "none",
        default_toml: None,
        summary: "Values for `${NAME}` in migrations.",
        details: "A table of names and string values; integers and booleans are accepted and \
                  written out as text. Names are case-insensitive. See \
                  [Using placeholders](#using-placeholders).",
        example: "[placeholders]\nowner = \"app\"\nretention_days = 30",
        slot: Slot::Placeholders,
    },
];

/// Finds the key declared under `name`.
fn key_doc(name: &str) -> Option<&'static KeyDoc> {
    KEYS.iter().find(|doc| doc.key == name)
}

// ---------------------------------------------------------------------------------------------
// Reading values
// ---------------------------------------------------------------------------------------------

/// What is wrong with a value, as a predicate that follows the name of the key, variable or flag
/// ("must be true or false, not \"maybe\""), and how to fix it.
struct Problem {
    message: String,
    hint: Option<String>,
}

impl Problem {
    fn new(message: impl Into<String>) -> Self {
        Problem {
            message: message.into(),
            hint: None,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Renders the problem as a clap value-parser error.
    fn for_clap(self) -> String {
        match self.hint {
            Some(hint) => format!("{}; {hint}", self.message),
            None => self.message,
        }
    }
}

/// Builds the error for a bad value, naming its origin as the subject of the message.
fn invalid(origin: Origin, key: &str, problem: Problem) -> ConfigError {
    let subject = match &origin {
        Origin::File { .. } => format!("`{key}`"),
        Origin::Env { var } => format!("environment variable {var}"),
        Origin::Flag { flag } => flag.clone(),
    };
    ConfigError::Invalid {
        message: format!("{subject} {}", problem.message),
        origin,
        key: key.to_owned(),
        hint: problem.hint,
    }
}

/// Quotes a value for a message, shortening a long one.
fn quote(text: &str) -> String {
    const MAX: usize = 60;
    if text.chars().count() > MAX {
        let short: String = text.chars().take(MAX).collect();
        format!("{short:?}…")
    } else {
        format!("{text:?}")
    }
}

/// Describes a TOML value for a type error.
fn describe(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => format!("the string {}", quote(s)),
        toml::Value::Integer(i) => format!("the number {i}"),
        toml::Value::Float(f) => format!("the number {f}"),
        toml::Value::Boolean(b) => format!("`{b}`"),
        toml::Value::Datetime(_) => "a date".to_owned(),
        toml::Value::Array(_) => "an array".to_owned(),
        toml::Value::Table(_) => "a table".to_owned(),
    }
}

fn non_empty(text: &str) -> Result<String, Problem> {
    let text = text.trim();
    if text.is_empty() {
        Err(Problem::new("must not be empty").hint("give a value, or remove the setting"))
    } else {
        Ok(text.to_owned())
    }
}

fn parse_bool(text: &str) -> Result<bool, Problem> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => {
            Err(Problem::new(format!("must be true or false, not {}", quote(text))).hint(BOOL_HINT))
        }
    }
}

fn parse_duration_text(text: &str) -> Result<Duration, Problem> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Problem::new("must not be empty").hint(DURATION_HINT));
    }
    let duration = if text.bytes().all(|b| b.is_ascii_digit()) {
        let secs = text
            .parse::<u64>()
            .map_err(|_| Problem::new(format!("is too large: {text} seconds")))?;
        Duration::from_secs(secs)
    } else {
        humantime::parse_duration(text).map_err(|_| {
            Problem::new(format!("must be a duration, not {}", quote(text))).hint(DURATION_HINT)
        })?
    };
    check_lock_timeout(duration)
}

/// A statement limit: a duration of at least a millisecond (zero means "no limit" on some
/// servers and "fail at once" on others: leaving it unset says what is meant).
fn parse_statement_limit(text: &str) -> Result<Duration, Problem> {
    check_statement_limit(parse_duration_text(text)?)
}

fn check_statement_limit(duration: Duration) -> Result<Duration, Problem> {
    if duration < Duration::from_millis(1) {
        Err(Problem::new("must be at least 1ms")
            .hint("leave it unset to keep the database server's own setting"))
    } else {
        check_lock_timeout(duration)
    }
}

fn check_lock_timeout(duration: Duration) -> Result<Duration, Problem> {
    if duration > MAX_LOCK_TIMEOUT {
        Err(Problem::new("is longer than a year").hint("use a duration of at most 365 days"))
    } else {
        Ok(duration)
    }
}

/// Splits a comma-separated list, trimming entries and dropping empty ones.
fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Strips an ASCII prefix, ignoring case.
fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// Reads one location: strips Flyway's `filesystem:` prefix and refuses the kinds of location
/// godwit cannot read.
fn parse_location(text: &str) -> Result<PathBuf, Problem> {
    let text = text.trim();
    let path = match strip_prefix_ci(text, "filesystem:") {
        Some(rest) => rest.trim(),
        None => text,
    };
    if path.is_empty() {
        return Err(Problem::new(format!(
            "has an empty location {}",
            quote(text)
        )));
    }
    if strip_prefix_ci(path, "classpath:").is_some() {
        return Err(Problem::new(format!(
            "names the Java classpath location {}, but godwit reads migrations from directories",
            quote(path)
        ))
        .hint(
            "give the directory that holds the files, e.g. \"src/main/resources/db/migration\" \
             for classpath:db/migration in a Maven or Gradle project",
        ));
    }
    for scheme in ["s3:", "gcs:"] {
        if strip_prefix_ci(path, scheme).is_some() {
            return Err(Problem::new(format!(
                "names the cloud storage location {}, but godwit reads migrations from local \
                 directories",
                quote(path)
            ))
            .hint("copy the files to a directory first, and name that directory"));
        }
    }
    Ok(PathBuf::from(path))
}

fn parse_locations(entries: &[String]) -> Result<Vec<PathBuf>, Problem> {
    if entries.is_empty() {
        return Err(Problem::new("must name at least one directory")
            .hint("remove the setting to use the default, \"migrations\""));
    }
    entries.iter().map(|entry| parse_location(entry)).collect()
}

/// Checks a placeholder name and lowercases it.
fn check_placeholder_name(name: &str) -> Result<String, Problem> {
    if name.trim().is_empty() {
        return Err(Problem::new("needs a placeholder name")
            .hint("write NAME=VALUE, where ${NAME} appears in the migrations"));
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '{' | '}' | '$'))
    {
        return Err(Problem::new(format!(
            "has the placeholder name {}, which contains a space, `$`, `{{` or `}}`",
            quote(name)
        ))
        .hint("write the name alone: `owner` for ${owner}"));
    }
    let lower = name.to_lowercase();
    if lower.starts_with("godwit:") || lower.starts_with("flyway:") {
        return Err(Problem::new(format!(
            "sets {}, but names beginning `godwit:` and `flyway:` are the built-in placeholders",
            quote(name)
        ))
        .hint("choose a name without the prefix"));
    }
    Ok(lower)
}

/// Resolves a relative path against `base` (the directory of the file that set it).
fn resolve_path(base: &Path, path: PathBuf) -> PathBuf {
    if path.is_relative() && !base.as_os_str().is_empty() {
        base.join(path)
    } else {
        path
    }
}

/// Makes the file of a relative SQLite URL relative to `base` instead of the working directory.
///
/// `sqlite://data/app.db` and `sqlite:data/app.db` are rewritten; `sqlite::memory:`, absolute
/// paths (`sqlite:///var/app.db`) and other databases' URLs are returned unchanged. A query string
/// is kept.
fn resolve_sqlite_url(url: &str, base: &Path) -> String {
    if base.as_os_str().is_empty() {
        return url.to_owned();
    }
    let prefix_len = if strip_prefix_ci(url, "sqlite://").is_some() {
        "sqlite://".len()
    } else if strip_prefix_ci(url, "sqlite:").is_some() {
        "sqlite:".len()
    } else {
        return url.to_owned();
    };
    let rest = &url[prefix_len..];
    let (path, query) = rest.split_at(rest.find('?').unwrap_or(rest.len()));
    if path.is_empty() || path.starts_with(":memory:") || Path::new(path).is_absolute() {
        return url.to_owned();
    }
    // sqlx percent-decodes the path, so characters that a URL would misread are encoded.
    let mut base_text = String::new();
    for c in base.to_string_lossy().chars() {
        match c {
            '%' => base_text.push_str("%25"),
            '?' => base_text.push_str("%3F"),
            '#' => base_text.push_str("%23"),
            _ => base_text.push(c),
        }
    }
    let separator = if base_text.ends_with('/') || base_text.ends_with('\\') {
        ""
    } else {
        "/"
    };
    format!("{}{base_text}{separator}{path}{query}", &url[..prefix_len])
}

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The text of the scalar value after `key =`, on the key's line, for quoting it back in a hint.
fn raw_value_text(text: &str, key_end: usize) -> Option<String> {
    let rest = text.get(key_end..)?;
    let line = rest.split('\n').next()?;
    let (_, value) = line.split_once('=')?;
    let token = value
        .trim_start()
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '}' | ']' | '#'))
        .next()?;
    (!token.is_empty()).then(|| token.to_owned())
}

fn syntax_error(path: &Path, text: &str, err: &toml::de::Error) -> ConfigError {
    let message = err
        .message()
        .lines()
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let hint = (message.contains("invalid string") || message.contains("expected `\"`"))
        .then(|| "quote string values, e.g. url = \"postgres://localhost/app\"".to_owned());
    ConfigError::Syntax {
        path: path.to_owned(),
        line: err.span().map(|span| line_of(text, span.start)),
        message,
        hint,
    }
}

/// The entries of the `[placeholders]` table, with the position of each name.
#[derive(serde::Deserialize)]
struct PlaceholderEntries {
    #[serde(default)]
    placeholders: BTreeMap<Spanned<String>, toml::Value>,
}

/// Applies one configuration file (read from `text`) on top of `settings`.
fn apply_file(settings: &mut Settings, path: &Path, text: &str) -> Result<(), ConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let table: BTreeMap<Spanned<String>, toml::Value> =
        toml::from_str(text).map_err(|err| syntax_error(path, text, &err))?;
    let mut entries: Vec<_> = table.into_iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    let base = path.parent().unwrap_or(Path::new(""));
    let mut password_keys = 0;

    for (key, value) in entries {
        let line = line_of(text, key.span().start);
        let Some(doc) = key_doc(key.get_ref()) else {
            return Err(unknown_key(path, line, key.get_ref(), &value));
        };
        if matches!(doc.slot, Slot::Password | Slot::PasswordFile) {
            password_keys += 1;
            if password_keys > 1 {
                return Err(invalid(
                    Origin::File {
                        path: path.to_owned(),
                        line: Some(line),
                    },
                    doc.key,
                    Problem::new(if doc.key == "password" {
                        "is set in the same file as `password_file`"
                    } else {
                        "is set in the same file as `password`"
                    })
                    .hint("keep one of them: they are two ways to give the same password"),
                ));
            }
        }
        let origin = Origin::File {
            path: path.to_owned(),
            line: Some(line),
        };
        if let Slot::Placeholders = doc.slot {
            if !value.is_table() {
                return Err(invalid(
                    origin,
                    doc.key,
                    Problem::new(format!("must be a table, not {}", describe(&value))).hint(
                        "write them under a [placeholders] header, one NAME = \"value\" a line",
                    ),
                ));
            }
            apply_file_placeholders(settings, path, text)?;
            continue;
        }
        let raw = raw_value_text(text, key.span().end);
        set_from_toml(settings, doc, &value, base, raw.as_deref())
            .map_err(|problem| invalid(origin, doc.key, problem))?;
    }
    Ok(())
}

/// Applies the `[placeholders]` table of a file, which is known to be a table.
fn apply_file_placeholders(
    settings: &mut Settings,
    path: &Path,
    text: &str,
) -> Result<(), ConfigError> {
    let parsed: PlaceholderEntries =
        toml::from_str(text).map_err(|err| syntax_error(path, text, &err))?;
    let mut entries: Vec<_> = parsed.placeholders.into_iter().collect();
    entries.sort_by_key(|(name, _)| name.span().start);
    for (name, value) in entries {
        let line = line_of(text, name.span().start);
        let key = format!("placeholders.{}", name.get_ref());
        let origin = Origin::File {
            path: path.to_owned(),
            line: Some(line),
        };
        let result = check_placeholder_name(name.get_ref()).and_then(|lower| {
            let raw = raw_value_text(text, name.span().end);
            placeholder_value(&value, name.get_ref(), raw.as_deref()).map(|value| (lower, value))
        });
        match result {
            Ok((name, value)) => {
                settings.placeholders.insert(name, value);
            }
            Err(problem) => return Err(invalid(origin, &key, problem)),
        }
    }
    Ok(())
}

/// Reads a placeholder's value from a file; the value itself never appears in a message.
fn placeholder_value(
    value: &toml::Value,
    name: &str,
    raw: Option<&str>,
) -> Result<String, Problem> {
    match value {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        toml::Value::Float(_) => {
            let hint = match raw {
                Some(raw) => format!("quote it: {name} = \"{raw}\""),
                None => "quote the number, so that it is kept as written".to_owned(),
            };
            Err(Problem::new("is a decimal number, which TOML may not keep as written").hint(hint))
        }
        other => Err(Problem::new(format!(
            "must be a string, not {}",
            match other {
                toml::Value::Array(_) => "an array",
                toml::Value::Table(_) => "a table",
                _ => "a date",
            }
        ))
        .hint("placeholder values are text; quote the value")),
    }
}

/// Builds the unknown-key error, with the most helpful hint available.
fn unknown_key(path: &Path, line: usize, key: &str, value: &toml::Value) -> ConfigError {
    let suggestion = suggest_key(key);
    let hint = if let Some(suggestion) = suggestion {
        format!("did you mean `{suggestion}`?")
    } else if let Some(nested) = value
        .as_table()
        .and_then(|table| table.keys().find_map(|name| key_doc(name)))
    {
        format!(
            "godwit's keys go at the top level of the file: move `{}` out of [{key}]",
            nested.key
        )
    } else if matches!(normalise_key(key).as_str(), "user" | "username") {
        "the user goes in the url, e.g. url = \"postgres://user@host/db\"; the password can be \
         set with `password` or `password_file`"
            .to_owned()
    } else {
        format!("valid keys are {}", valid_keys())
    };
    ConfigError::UnknownKey {
        path: path.to_owned(),
        line: Some(line),
        key: key.to_owned(),
        suggestion,
        hint,
    }
}

fn valid_keys() -> String {
    KEYS.iter()
        .map(|doc| format!("`{}`", doc.key))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Normalises a key for comparison: camelCase and dashes become snake_case.
fn normalise_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    let mut previous_lower = false;
    for c in key.trim().chars() {
        if c == '-' || c == ' ' || c == '.' {
            out.push('_');
            previous_lower = false;
        } else if c.is_uppercase() {
            if previous_lower {
                out.push('_');
            }
            out.extend(c.to_lowercase());
            previous_lower = false;
        } else {
            out.push(c);
            previous_lower = c.is_lowercase() || c.is_ascii_digit();
        }
    }
    out.strip_prefix("flyway_")
        .map(str::to_owned)
        .unwrap_or(out)
}

/// The valid key an unknown one most likely meant.
fn suggest_key(key: &str) -> Option<&'static str> {
    let wanted = normalise_key(key);
    if let Some(doc) = key_doc(&wanted) {
        return Some(doc.key);
    }
    let aliases = [
        ("default_schema", "schemas"),
        ("schema", "schemas"),
        ("location", "locations"),
        ("placeholder", "placeholders"),
        ("history_table", "table"),
        ("schema_history_table", "table"),
        // The setting that was there first; `connect_timeout` came later.
        ("timeout", "lock_timeout"),
    ];
    if let Some((_, key)) = aliases.iter().find(|(alias, _)| *alias == wanted) {
        return Some(key);
    }
    let limit = if wanted.chars().count() >= 5 { 2 } else { 1 };
    let closest = KEYS
        .iter()
        .map(|doc| (strsim::damerau_levenshtein(&wanted, doc.key), doc.key))
        .min()
        .filter(|(distance, _)| *distance <= limit)
        .map(|(_, key)| key);
    if closest.is_some() {
        return closest;
    }
    if wanted.chars().count() >= 4 {
        let mut containing = KEYS.iter().filter(|doc| doc.key.contains(wanted.as_str()));
        if let (Some(only), None) = (containing.next(), containing.next()) {
            return Some(only.key);
        }
    }
    None
}

/// Stores a value read from a file.
fn set_from_toml(
    settings: &mut Settings,
    doc: &KeyDoc,
    value: &toml::Value,
    base: &Path,
    raw: Option<&str>,
) -> Result<(), Problem> {
    let text = |value: &toml::Value| match value {
        toml::Value::String(s) => non_empty(s),
        other => Err(Problem::new(format!(
            "must be a string, not {}",
            describe(other)
        ))),
    };
    let list = |value: &toml::Value| -> Result<Vec<String>, Problem> {
        match value {
            toml::Value::String(s) => Ok(split_list(s)),
            toml::Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(index, item)| match item {
                    toml::Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
                    toml::Value::String(_) => Err(Problem::new(format!(
                        "has an empty entry (entry {})",
                        index + 1
                    ))),
                    other => Err(Problem::new(format!(
                        "must be an array of strings, but entry {} is {}",
                        index + 1,
                        describe(other)
                    ))),
                })
                .collect(),
            other => Err(Problem::new(format!(
                "must be an array of strings or one string, not {}",
                describe(other)
            ))),
        }
    };
    match doc.slot {
        Slot::Password => {
            let toml::Value::String(password) = value else {
                return Err(
                    Problem::new("must be a string").hint("quote the password: password = \"…\"")
                );
            };
            if password.is_empty() {
                return Err(Problem::new("must not be empty")
                    .hint("give the password, or remove the setting"));
            }
            settings.password = Some(password.clone());
            settings.password_file = None;
        }
        Slot::PasswordFile => {
            settings.password_file = Some(resolve_path(base, PathBuf::from(text(value)?)));
            settings.password = None;
        }
        Slot::Url(field) => *field(settings) = Some(resolve_sqlite_url(&text(value)?, base)),
        Slot::OptText(field) => *field(settings) = Some(text(value)?),
        Slot::Text(field) => *field(settings) = text(value)?,
        Slot::Version(field) => {
            *field(settings) = match value {
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => {
                    let written = raw.map(str::to_owned).unwrap_or_else(|| f.to_string());
                    return Err(Problem::new(format!(
                        "is the decimal number {written}, but a version must be a string"
                    ))
                    .hint(format!(
                        "quote it: {} = \"{written}\" (as a number, 1.10 would read as 1.1)",
                        doc.key
                    )));
                }
                other => text(other)?,
            }
        }
        Slot::Paths(field) => {
            let paths = parse_locations(&list(value)?)?;
            *field(settings) = paths
                .into_iter()
                .map(|path| resolve_path(base, path))
                .collect();
        }
        Slot::List(field) => *field(settings) = list(value)?,
        Slot::Bool(field) => {
            *field(settings) = match value {
                toml::Value::Boolean(b) => *b,
                toml::Value::String(s) => parse_bool(s)?,
                other => {
                    return Err(Problem::new(format!(
                        "must be true or false, not {}",
                        describe(other)
                    ))
                    .hint(BOOL_HINT))
                }
            }
        }
        Slot::Duration(field) => {
            *field(settings) = check_positive(
                doc.key,
                match value {
                    toml::Value::String(s) => parse_duration_text(s)?,
                    toml::Value::Integer(i) => match u64::try_from(*i) {
                        Ok(secs) => check_lock_timeout(Duration::from_secs(secs))?,
                        Err(_) => {
                            return Err(Problem::new(format!("must not be negative, but is {i}")))
                        }
                    },
                    other => {
                        return Err(Problem::new(format!(
                            "must be a duration, not {}",
                            describe(other)
                        ))
                        .hint(DURATION_HINT))
                    }
                },
            )?
        }
        Slot::Count(field) => {
            *field(settings) = match value {
                toml::Value::Integer(i) => parse_count(&i.to_string())?,
                toml::Value::String(s) => parse_count(s)?,
                other => {
                    return Err(Problem::new(format!(
                        "must be a whole number, not {}",
                        describe(other)
                    )))
                }
            }
        }
        Slot::OptDuration(field) => {
            *field(settings) = Some(match value {
                toml::Value::String(s) => parse_statement_limit(s)?,
                toml::Value::Integer(i) => match u64::try_from(*i) {
                    Ok(secs) => check_statement_limit(Duration::from_secs(secs))?,
                    Err(_) => {
                        return Err(Problem::new(format!("must not be negative, but is {i}")))
                    }
                },
                other => {
                    return Err(Problem::new(format!(
                        "must be a duration, not {}",
                        describe(other)
                    ))
                    .hint(DURATION_HINT))
                }
            })
        }
        Slot::Placeholders => {}
    }
    Ok(())
}

/// The connection durations must be longer than zero: no attempt could succeed in no time.
fn check_positive(key: &str, duration: Duration) -> Result<Duration, Problem> {
    if duration.is_zero() && key.starts_with("connect_") {
        Err(Problem::new("must be longer than zero").hint("use a duration such as \"5s\""))
    } else {
        Ok(duration)
    }
}

/// A count such as `connect_retries` or `statement_lock_retries`: a whole number from 0 to 10,000.
fn parse_count(text: &str) -> Result<u32, Problem> {
    let text = text.trim();
    match text.parse::<u32>() {
        Ok(n) if n <= 10_000 => Ok(n),
        Ok(_) => Err(Problem::new(format!("is too large: {text}")).hint("use at most 10000")),
        Err(_) if text.starts_with('-') => {
            Err(Problem::new(format!("must not be negative, but is {text}")))
        }
        Err(_) => Err(
            Problem::new(format!("must be a whole number, not {}", quote(text)))
                .hint("write a number such as 10"),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Environment and flags
// ---------------------------------------------------------------------------------------------

/// Stores a value read from an environment variable.
fn set_from_env(settings: &mut Settings, doc: &KeyDoc, value: &str) -> Result<(), Problem> {
    match doc.slot {
        Slot::Password => {
            // Used as given: spaces may be part of a password.
            settings.password = Some(value.to_owned());
            settings.password_file = None;
        }
        Slot::PasswordFile => {
            settings.password_file = Some(PathBuf::from(non_empty(value)?));
            settings.password = None;
        }
        Slot::Url(field) | Slot::OptText(field) => *field(settings) = Some(non_empty(value)?),
        Slot::Text(field) | Slot::Version(field) => *field(settings) = non_empty(value)?,
        Slot::Paths(field) => *field(settings) = parse_locations(&split_list(value))?,
        Slot::List(field) => *field(settings) = split_list(value),
        Slot::Bool(field) => *field(settings) = parse_bool(value)?,
        Slot::Duration(field) => {
            *field(settings) = check_positive(doc.key, parse_duration_text(value)?)?
        }
        Slot::OptDuration(field) => *field(settings) = Some(parse_statement_limit(value)?),
        Slot::Count(field) => *field(settings) = parse_count(value)?,
        Slot::Placeholders => {}
    }
    Ok(())
}

fn apply_env(settings: &mut Settings, env: &Env) -> Result<(), ConfigError> {
    if env.get("GODWIT_PASSWORD").is_some() && env.get("GODWIT_PASSWORD_FILE").is_some() {
        return Err(invalid(
            Origin::Env {
                var: "GODWIT_PASSWORD_FILE".to_owned(),
            },
            "password_file",
            Problem::new("is set, and so is GODWIT_PASSWORD")
                .hint("keep one of them: they are two ways to give the same password"),
        ));
    }
    for doc in KEYS {
        if let Slot::Placeholders = doc.slot {
            continue;
        }
        let Some((var, value)) = doc
            .env
            .iter()
            .find_map(|var| env.get(var).map(|value| (*var, value)))
        else {
            continue;
        };
        set_from_env(settings, doc, value).map_err(|problem| {
            invalid(
                Origin::Env {
                    var: var.to_owned(),
                },
                doc.key,
                problem,
            )
        })?;
    }
    for (var, value) in &env.vars {
        let Some(name) = var.strip_prefix(PLACEHOLDER_ENV_PREFIX) else {
            continue;
        };
        if value.trim().is_empty() {
            continue;
        }
        let origin = Origin::Env { var: var.clone() };
        let name = check_placeholder_name(name)
            .map_err(|problem| invalid(origin, &format!("placeholders.{name}"), problem))?;
        settings.placeholders.insert(name, value.clone());
    }
    Ok(())
}

fn apply_flags(settings: &mut Settings, args: &ConfigArgs) -> Result<(), ConfigError> {
    let flag = |flag: &str| Origin::Flag {
        flag: flag.to_owned(),
    };
    if let Some(url) = &args.url {
        settings.url = Some(non_empty(url).map_err(|p| invalid(flag("--url"), "url", p))?);
    }
    if !args.locations.is_empty() {
        let entries: Vec<String> = args.locations.iter().flat_map(|s| split_list(s)).collect();
        settings.locations =
            parse_locations(&entries).map_err(|p| invalid(flag("--locations"), "locations", p))?;
    }
    if let Some(table) = &args.table {
        settings.table = non_empty(table).map_err(|p| invalid(flag("--table"), "table", p))?;
    }
    if !args.schemas.is_empty() {
        settings.schemas = args.schemas.iter().flat_map(|s| split_list(s)).collect();
    }
    if let Some(target) = &args.target {
        settings.target = non_empty(target).map_err(|p| invalid(flag("--target"), "target", p))?;
    }
    if args.out_of_order {
        settings.out_of_order = true;
    }
    if let Some(timeout) = args.lock_timeout {
        settings.lock_timeout = check_lock_timeout(timeout)
            .map_err(|p| invalid(flag("--lock-timeout"), "lock_timeout", p))?;
    }
    if let Some(expiry) = args.lock_lease {
        settings.lock_lease = Some(expiry);
    }
    if let Some(timeout) = args.statement_lock_timeout {
        settings.statement_lock_timeout = Some(timeout);
    }
    if let Some(timeout) = args.statement_timeout {
        settings.statement_timeout = Some(timeout);
    }
    if let Some(retries) = args.statement_lock_retries {
        settings.statement_lock_retries = parse_count(&retries.to_string()).map_err(|p| {
            invalid(
                flag("--statement-lock-retries"),
                "statement_lock_retries",
                p,
            )
        })?;
    }
    if let Some(timeout) = args.connect_timeout {
        settings.connect_timeout = check_positive("connect_timeout", timeout)
            .map_err(|p| invalid(flag("--connect-timeout"), "connect_timeout", p))?;
    }
    if let Some(retries) = args.connect_retries {
        settings.connect_retries = parse_count(&retries.to_string())
            .map_err(|p| invalid(flag("--connect-retries"), "connect_retries", p))?;
    }
    if let Some(interval) = args.connect_retries_interval {
        settings.connect_retries_interval = check_positive("connect_retries_interval", interval)
            .map_err(|p| {
                invalid(
                    flag("--connect-retries-interval"),
                    "connect_retries_interval",
                    p,
                )
            })?;
    }
    for (name, value) in &args.placeholders {
        let name = check_placeholder_name(name)
            .map_err(|p| invalid(flag("--placeholder"), &format!("placeholders.{name}"), p))?;
        settings.placeholders.insert(name, value.clone());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Documentation
// ---------------------------------------------------------------------------------------------

/// Escapes text for a markdown table cell.
#[cfg_attr(not(test), allow(dead_code))]
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// Renders `docs/configuration.md` from `KEYS`.
#[cfg_attr(not(test), allow(dead_code))]
fn render_markdown() -> String {
    let mut md = String::new();
    md.push_str(DOC_INTRO);

    md.push_str("## Keys\n\n");
    md.push_str("| key | environment variable | flag | default | meaning |\n");
    md.push_str("| --- | --- | --- | --- | --- |\n");
    for doc in KEYS {
        let key = match doc.slot {
            Slot::Placeholders => "placeholders.NAME".to_owned(),
            _ => doc.key.to_owned(),
        };
        let env = doc
            .env
            .iter()
            .map(|var| format!("`{var}`"))
            .collect::<Vec<_>>()
            .join(", else ");
        let flag = doc.flag.map(|f| format!("`{f}`")).unwrap_or_default();
        md.push_str(&format!(
            "| [`{key}`](#{}) | {} | {} | {} | {} |\n",
            doc.key,
            cell(&env),
            cell(&flag),
            cell(doc.default),
            cell(doc.summary)
        ));
    }
    md.push('\n');

    for doc in KEYS {
        md.push_str(&format!("### `{}`\n\n", doc.key));
        md.push_str(&format!("{} {}\n\n", doc.summary, doc.details));
        md.push_str(&format!("- type: {}\n", doc.slot.type_name()));
        md.push_str(&format!("- default: {}\n", doc.default));
        let env = doc
            .env
            .iter()
            .map(|var| format!("`{var}`"))
            .collect::<Vec<_>>()
            .join(", else ");
        md.push_str(&format!("- environment: {env}\n"));
        if let Some(flag) = doc.flag {
            md.push_str(&format!("- flag: `{flag}`\n"));
        }
        md.push_str(&format!("\n```toml\n{}\n```\n\n", doc.example));
    }

    md.push_str(DOC_OUTRO);
    md
}

#[cfg_attr(not(test), allow(dead_code))]
const DOC_INTRO: &str = r#"# Configuration

<!-- Generated from crates/godwit-cli/src/config.rs; do not edit by hand. After changing the
     key table there, run `GODWIT_BLESS=1 cargo test -p godwit-cli config` to update this page. -->

godwit needs to know which database to migrate and where the migration files are; everything else
has a default that suits most projects. Settings come from `godwit.toml` files, environment
variables and command-line flags.

## Where settings come from

godwit reads these sources in order. A later source overrides an earlier one key by key: a key
that a source does not mention keeps the value it had.

1. `godwit.toml` in the directory of the `godwit` binary: defaults for one installation;
2. `$XDG_CONFIG_HOME/godwit/godwit.toml`, or `~/.config/godwit/godwit.toml` when
   `XDG_CONFIG_HOME` is not set (on Windows without `HOME`, `%APPDATA%\godwit\godwit.toml`):
   your own defaults;
3. `godwit.toml` in the working directory: the project's settings, usually committed;
4. each file named with `--config FILE`, in the order given;
5. environment variables (`GODWIT_URL`, `GODWIT_TARGET`, …);
6. command-line flags (`--url`, `--target`, …).

A file from 1–3 that does not exist is skipped. A `--config` file that does not exist is an error;
a relative `--config` path is taken from the working directory.
Placeholders merge name by name: a file can define `${owner}` while the environment supplies
`${password}`.

For example, with this `godwit.toml` in the working directory:

```toml
url = "postgres://app@localhost:5432/app"
locations = ["db/migrations"]
lock_timeout = "2m"

[placeholders]
owner = "app"
```

the command

```sh
GODWIT_URL=postgres://app@db.internal:5432/app godwit migrate --lock-timeout 30s --placeholder owner=admin
```

migrates the database on `db.internal` (the environment beats the file), reads the migrations in
`db/migrations` (from the file), waits at most 30 seconds for the lock (the flag beats the file)
and replaces `${owner}` with `admin`.

`DATABASE_URL` is read when `GODWIT_URL` is not set, so a project that already uses it needs no
extra setting. Like any environment variable it overrides the `url` in every file: when it points
at another database, set `GODWIT_URL` or unset it.

## Relative paths

A relative path in a file is taken from the directory of the file that sets it, not from the
working directory, so a file means the same thing wherever godwit is started. This applies to
`locations` and to the file in an SQLite `url` (`sqlite://data/app.db` or `sqlite:data/app.db`;
a query string such as `?mode=rwc` is kept). With `deploy/prod.toml` containing

```toml
url = "sqlite://../var/app.db"
locations = ["../db/migrations"]
```

`godwit --config deploy/prod.toml migrate` reads `deploy/../db/migrations` and opens
`deploy/../var/app.db`, from whichever directory it runs. `sqlite::memory:`, absolute paths
(`sqlite:///var/lib/app.db`) and the URLs of other databases are used as written. Paths given in
environment variables and flags are relative to the working directory, as usual.

## Files

`godwit.toml` is [TOML](https://toml.io). Strings are quoted; `locations` and `schemas` take an
array or a single string. Keys are written in snake_case at the top level of the file, before any
`[placeholders]` header: a key written after that header sets a placeholder. A key godwit does not
know is an error, never silently ignored, and the message suggests the nearest valid key
(`lock-timeout` → `lock_timeout`, `outOfOrder` → `out_of_order`). Mistakes are reported with the
file and line, stop godwit before it connects to the database, and exit with code 2.

"#;

#[cfg_attr(not(test), allow(dead_code))]
const DOC_OUTRO: &str = r#"## Environment variables

- A variable set to the empty string (or to spaces only) counts as unset.
- Booleans are `true`/`false`, `yes`/`no`, `on`/`off` or `1`/`0`, in any case. Anything else is
  an error that names the variable and its value.
- Lists (`GODWIT_LOCATIONS`, `GODWIT_SCHEMAS`) are comma-separated; spaces around the commas are
  ignored.
- `GODWIT_LOCK_TIMEOUT` is a duration such as `30s`, `10m` or `1h 30m`, or a number of seconds.
- `GODWIT_URL` wins over `DATABASE_URL`.
- `GODWIT_AUTO_MIGRATE` is read by applications that embed the godwit library, not by this tool.

## Flags

- The flags may come before or after the command: `godwit --url … migrate` and
  `godwit migrate --url …` are the same.
- `--locations` and `--schemas` take comma-separated lists and may be repeated:
  `--locations db/schema,db/seed` is `--locations db/schema --locations db/seed`.
- `--config` and `--placeholder` may be repeated.
- `--out-of-order` can only switch out-of-order migration on; to switch it off for one run when a
  file switches it on, set `GODWIT_OUT_OF_ORDER=false` instead.

## Using placeholders

`${name}` in a migration is replaced by the value of placeholder `name` before the migration runs.
Set placeholders in the `[placeholders]` table of a file, with `GODWIT_PLACEHOLDERS_<NAME>`
variables, or with `--placeholder NAME=VALUE` (repeatable); each source overrides earlier ones
name by name.

```toml
[placeholders]
owner = "app"
retention_days = 30
```

```sh
GODWIT_PLACEHOLDERS_OWNER=admin godwit migrate --placeholder retention_days=90
```

- Names are case-insensitive: `GODWIT_PLACEHOLDERS_APP_USER` sets `${app_user}`.
- Values are text. In a file, integers and booleans are accepted and written out (`30`, `true`); a
  decimal number must be quoted, since TOML would not keep it as written.
- An empty value can be set in a file or with `--placeholder name=`, but not through the
  environment, where an empty variable counts as unset.
- Names beginning `godwit:` or `flyway:` are the built-in placeholders (`${godwit:user}`,
  `${godwit:defaultSchema}`, …) and cannot be set.
- Placeholder values are often secrets: configuration errors never print them.

## Coming from Flyway

- Keys are snake_case at the top level (`out_of_order`, not `flyway.outOfOrder` or a `[flyway]`
  table); the error for a Flyway-style key names the godwit key.
- The user is part of `url`; the password may be too, or comes from `password` /
  `password_file` (`GODWIT_PASSWORD` / `GODWIT_PASSWORD_FILE`).
- `filesystem:` locations are accepted; `classpath:` locations are refused with the directory to
  name instead.
- `table = "flyway_schema_history"` carries on with a database that Flyway has been migrating.

## Examples

A PostgreSQL project, with its settings committed in `godwit.toml`:

```toml
url = "postgres://app@localhost:5432/app"
locations = ["db/migrations"]
schemas = ["app"]
table = "app.schema_history"
```

An SQLite database next to the configuration file:

```toml
url = "sqlite://data/app.db?mode=rwc"
```

One file per environment, chosen at deployment, with a secret placeholder from the environment:

```toml
# deploy/prod.toml
url = "postgres://deploy@db.internal:5432/app"
lock_timeout = "30m"
installed_by = "release-pipeline"
```

```sh
GODWIT_PLACEHOLDERS_APP_PASSWORD="$APP_PASSWORD" godwit --config deploy/prod.toml migrate
```

Only environment variables, as in a container:

```sh
DATABASE_URL=mysql://app:secret@db:3306/app GODWIT_LOCATIONS=/migrations GODWIT_BASELINE_ON_MIGRATE=true godwit migrate
```
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args, CommandFactory, Parser};
    use std::fs;

    // A stand-in for the real CLI: the config flags flattened beside a subcommand. (A plain
    // comment: a doc comment would become its `about` text.)
    #[derive(Debug, Parser)]
    #[command(name = "godwit")]
    struct Cli {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(subcommand)]
        command: Option<Command>,
    }

    #[derive(Debug, clap::Subcommand)]
    enum Command {
        Migrate,
    }

    fn args(flags: &[&str]) -> ConfigArgs {
        let argv = std::iter::once("godwit").chain(flags.iter().copied());
        Cli::try_parse_from(argv).expect("flags parse").config
    }

    /// A scratch tree: `exe/` holds the binary's file, `user/godwit/` the user's, `cwd/` the
    /// working directory.
    struct Fixture {
        root: tempfile::TempDir,
    }

    impl Fixture {
        fn new() -> Self {
            let root = tempfile::tempdir().expect("temp dir");
            for dir in ["exe", "user/godwit", "cwd"] {
                fs::create_dir_all(root.path().join(dir)).expect("create dir");
            }
            Fixture { root }
        }

        fn path(&self, rel: &str) -> PathBuf {
            self.root.path().join(rel)
        }

        fn cwd(&self) -> PathBuf {
            self.path("cwd")
        }

        fn write(&self, rel: &str, text: &str) -> PathBuf {
            let path = self.path(rel);
            fs::create_dir_all(path.parent().expect("parent")).expect("create dir");
            fs::write(&path, text).expect("write");
            path
        }

        fn load(&self, args: &ConfigArgs, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
            load(
                args,
                &Env::from_pairs(env.iter().copied()),
                &self.cwd(),
                Some(&self.path("exe")),
                Some(&self.path("user")),
            )
        }
    }

    fn load_file(text: &str) -> Result<Settings, ConfigError> {
        let fixture = Fixture::new();
        fixture.write("cwd/godwit.toml", text);
        fixture.load(&ConfigArgs::default(), &[])
    }

    fn load_env(env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Fixture::new().load(&ConfigArgs::default(), env)
    }

    fn err_of(result: Result<Settings, ConfigError>) -> ConfigError {
        match result {
            Ok(settings) => panic!("expected an error, got {settings:?}"),
            Err(err) => err,
        }
    }

    // -- defaults ------------------------------------------------------------------------------

    #[test]
    fn defaults_when_nothing_is_configured() {
        let settings = Fixture::new().load(&ConfigArgs::default(), &[]).unwrap();
        assert_eq!(settings, Settings::default());
        assert_eq!(settings.url, None);
        assert_eq!(settings.locations, vec![PathBuf::from("migrations")]);
        assert_eq!(settings.table, "godwit_schema_history");
        assert!(settings.schemas.is_empty());
        assert_eq!(settings.target, "latest");
        assert!(!settings.out_of_order);
        assert!(settings.validate_on_migrate);
        assert!(!settings.baseline_on_migrate);
        assert_eq!(settings.baseline_version, "1");
        assert!(settings.clean_disabled);
        assert_eq!(settings.lock_timeout, Duration::from_secs(600));
        assert!(!settings.mixed);
        assert_eq!(settings.installed_by, None);
        assert!(settings.placeholders.is_empty());
    }

    #[test]
    fn documented_defaults_match_settings_default() {
        for doc in KEYS {
            let mut settings = Settings::default();
            apply_file(&mut settings, Path::new("example.toml"), doc.example)
                .unwrap_or_else(|err| panic!("example of `{}` fails: {err}", doc.key));
            assert_ne!(
                settings,
                Settings::default(),
                "the example of `{}` should change something",
                doc.key
            );
            if let Some(default) = doc.default_toml {
                let text = format!("{} = {default}", doc.key);
                apply_file(&mut settings, Path::new("default.toml"), &text).unwrap();
                assert_eq!(
                    settings,
                    Settings::default(),
                    "documented default of `{}`",
                    doc.key
                );
            }
        }
    }

    // -- precedence ----------------------------------------------------------------------------

    /// How one key is written at each layer, for the precedence table.
    struct Case {
        key: &'static str,
        env: Option<&'static str>,
        flag: bool,
        /// The value written at layer `layer` when `top` is the highest layer that sets it.
        token: fn(usize, usize) -> String,
        toml: fn(&str) -> String,
        flag_args: fn(&str) -> Vec<String>,
        get: fn(&Settings) -> String,
    }

    /// Alternating booleans whose top value is `true`.
    fn top_true(layer: usize, top: usize) -> String {
        (top - layer).is_multiple_of(2).to_string()
    }

    /// Alternating booleans whose top value is `false`.
    fn top_false(layer: usize, top: usize) -> String {
        ((top - layer) % 2 == 1).to_string()
    }

    fn cases() -> Vec<Case> {
        vec![
            Case {
                key: "url",
                env: Some("GODWIT_URL"),
                flag: true,
                token: |layer, _| format!("postgres://h/db{layer}"),
                toml: |t| format!("url = \"{t}\""),
                flag_args: |t| vec!["--url".into(), t.into()],
                get: |s| s.url.clone().unwrap_or_default(),
            },
            Case {
                key: "locations",
                env: Some("GODWIT_LOCATIONS"),
                flag: true,
                token: |layer, _| format!("loc{layer}"),
                toml: |t| format!("locations = [\"{t}\"]"),
                flag_args: |t| vec!["--locations".into(), t.into()],
                get: |s| {
                    s.locations[0]
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                },
            },
            Case {
                key: "table",
                env: Some("GODWIT_TABLE"),
                flag: true,
                token: |layer, _| format!("history{layer}"),
                toml: |t| format!("table = \"{t}\""),
                flag_args: |t| vec!["--table".into(), t.into()],
                get: |s| s.table.clone(),
            },
            Case {
                key: "schemas",
                env: Some("GODWIT_SCHEMAS"),
                flag: true,
                token: |layer, _| format!("s{layer}"),
                toml: |t| format!("schemas = [\"{t}\"]"),
                flag_args: |t| vec!["--schemas".into(), t.into()],
                get: |s| s.schemas.join(","),
            },
            Case {
                key: "target",
                env: Some("GODWIT_TARGET"),
                flag: true,
                token: |layer, _| format!("{}.0", layer + 2),
                toml: |t| format!("target = \"{t}\""),
                flag_args: |t| vec!["--target".into(), t.into()],
                get: |s| s.target.clone(),
            },
            Case {
                key: "out_of_order",
                env: Some("GODWIT_OUT_OF_ORDER"),
                flag: true,
                token: top_true,
                toml: |t| format!("out_of_order = {t}"),
                flag_args: |t| {
                    assert_eq!(t, "true", "a flag can only switch it on");
                    vec!["--out-of-order".into()]
                },
                get: |s| s.out_of_order.to_string(),
            },
            Case {
                key: "validate_on_migrate",
                env: Some("GODWIT_VALIDATE_ON_MIGRATE"),
                flag: false,
                token: top_false,
                toml: |t| format!("validate_on_migrate = {t}"),
                flag_args: |_| Vec::new(),
                get: |s| s.validate_on_migrate.to_string(),
            },
            Case {
                key: "baseline_on_migrate",
                env: Some("GODWIT_BASELINE_ON_MIGRATE"),
                flag: false,
                token: top_true,
                toml: |t| format!("baseline_on_migrate = {t}"),
                flag_args: |_| Vec::new(),
                get: |s| s.baseline_on_migrate.to_string(),
            },
            Case {
                key: "baseline_version",
                env: Some("GODWIT_BASELINE_VERSION"),
                flag: false,
                token: |layer, _| format!("1.{layer}"),
                toml: |t| format!("baseline_version = \"{t}\""),
                flag_args: |_| Vec::new(),
                get: |s| s.baseline_version.clone(),
            },
            Case {
                key: "clean_disabled",
                env: Some("GODWIT_CLEAN_DISABLED"),
                flag: false,
                token: top_false,
                toml: |t| format!("clean_disabled = {t}"),
                flag_args: |_| Vec::new(),
                get: |s| s.clean_disabled.to_string(),
            },
            Case {
                key: "lock_timeout",
                env: Some("GODWIT_LOCK_TIMEOUT"),
                flag: true,
                token: |layer, _| format!("{}m", layer + 1),
                toml: |t| format!("lock_timeout = \"{t}\""),
                flag_args: |t| vec!["--lock-timeout".into(), t.into()],
                get: |s| format!("{}m", s.lock_timeout.as_secs() / 60),
            },
            Case {
                key: "lock_lease",
                env: Some("GODWIT_LOCK_LEASE"),
                flag: true,
                token: |layer, _| format!("{}s", layer + 1),
                toml: |t| format!("lock_lease = \"{t}\""),
                flag_args: |t| vec!["--lock-lease".into(), t.into()],
                get: |s| format!("{}s", s.lock_lease.unwrap_or_default().as_secs()),
            },
            Case {
                key: "statement_lock_timeout",
                env: Some("GODWIT_STATEMENT_LOCK_TIMEOUT"),
                flag: true,
                token: |layer, _| format!("{}s", layer + 1),
                toml: |t| format!("statement_lock_timeout = \"{t}\""),
                flag_args: |t| vec!["--statement-lock-timeout".into(), t.into()],
                get: |s| {
                    format!(
                        "{}s",
                        s.statement_lock_timeout.unwrap_or_default().as_secs()
                    )
                },
            },
            Case {
                key: "statement_timeout",
                env: Some("GODWIT_STATEMENT_TIMEOUT"),
                flag: true,
                token: |layer, _| format!("{}s", layer + 1),
                toml: |t| format!("statement_timeout = \"{t}\""),
                flag_args: |t| vec!["--statement-timeout".into(), t.into()],
                get: |s| format!("{}s", s.statement_timeout.unwrap_or_default().as_secs()),
            },
            Case {
                key: "statement_lock_retries",
                env: Some("GODWIT_STATEMENT_LOCK_RETRIES"),
                flag: true,
                token: |layer, _| format!("{}", layer + 1),
                toml: |t| format!("statement_lock_retries = {t}"),
                flag_args: |t| vec!["--statement-lock-retries".into(), t.into()],
                get: |s| s.statement_lock_retries.to_string(),
            },
            Case {
                key: "connect_timeout",
                env: Some("GODWIT_CONNECT_TIMEOUT"),
                flag: true,
                token: |layer, _| format!("{}s", layer + 1),
                toml: |t| format!("connect_timeout = \"{t}\""),
                flag_args: |t| vec!["--connect-timeout".into(), t.into()],
                get: |s| format!("{}s", s.connect_timeout.as_secs()),
            },
            Case {
                key: "connect_retries",
                env: Some("GODWIT_CONNECT_RETRIES"),
                flag: true,
                token: |layer, _| format!("{}", layer + 1),
                toml: |t| format!("connect_retries = {t}"),
                flag_args: |t| vec!["--connect-retries".into(), t.into()],
                get: |s| s.connect_retries.to_string(),
            },
            Case {
                key: "connect_retries_interval",
                env: Some("GODWIT_CONNECT_RETRIES_INTERVAL"),
                flag: true,
                token: |layer, _| format!("{}s", layer + 1),
                toml: |t| format!("connect_retries_interval = \"{t}\""),
                flag_args: |t| vec!["--connect-retries-interval".into(), t.into()],
                get: |s| format!("{}s", s.connect_retries_interval.as_secs()),
            },
            Case {
                key: "mixed",
                env: Some("GODWIT_MIXED"),
                flag: false,
                token: top_true,
                toml: |t| format!("mixed = {t}"),
                flag_args: |_| Vec::new(),
                get: |s| s.mixed.to_string(),
            },
            Case {
                key: "checksum_cache",
                env: Some("GODWIT_CHECKSUM_CACHE"),
                flag: false,
                token: top_false,
                toml: |t| format!("checksum_cache = {t}"),
                flag_args: |_| Vec::new(),
                get: |s| s.checksum_cache.to_string(),
            },
            Case {
                key: "password",
                env: Some("GODWIT_PASSWORD"),
                flag: false,
                token: |layer, _| format!("pw{layer}"),
                toml: |t| format!("password = \"{t}\""),
                flag_args: |_| Vec::new(),
                get: |s| s.password.clone().unwrap_or_default(),
            },
            Case {
                key: "password_file",
                env: Some("GODWIT_PASSWORD_FILE"),
                flag: false,
                token: |layer, _| format!("/secrets/pw{layer}"),
                toml: |t| format!("password_file = \"{t}\""),
                flag_args: |_| Vec::new(),
                get: |s| {
                    s.password_file
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                },
            },
            Case {
                key: "installed_by",
                env: Some("GODWIT_INSTALLED_BY"),
                flag: false,
                token: |layer, _| format!("user{layer}"),
                toml: |t| format!("installed_by = \"{t}\""),
                flag_args: |_| Vec::new(),
                get: |s| s.installed_by.clone().unwrap_or_default(),
            },
            Case {
                key: "placeholders",
                env: Some("GODWIT_PLACEHOLDERS_P"),
                flag: true,
                token: |layer, _| format!("value{layer}"),
                toml: |t| format!("[placeholders]\np = \"{t}\""),
                flag_args: |t| vec!["--placeholder".into(), format!("p={t}")],
                get: |s| s.placeholders.get("p").cloned().unwrap_or_default(),
            },
        ]
    }

    const LAYERS: [&str; 7] = ["exe", "user", "cwd", "config 1", "config 2", "env", "flags"];

    #[test]
    fn each_layer_overrides_the_ones_below() {
        let cases = cases();
        for doc in KEYS {
            assert!(
                cases.iter().any(|case| case.key == doc.key),
                "no precedence case for `{}`",
                doc.key
            );
        }
        for case in &cases {
            let doc = key_doc(case.key).unwrap();
            assert_eq!(case.flag, doc.flag.is_some(), "flag of `{}`", case.key);
            for (top, layer_name) in LAYERS.iter().enumerate() {
                if (top == 5 && case.env.is_none()) || (top == 6 && !case.flag) {
                    continue;
                }
                let fixture = Fixture::new();
                let token = |layer: usize| (case.token)(layer, top);
                let mut env = Vec::new();
                let mut flags: Vec<String> = Vec::new();
                for layer in 0..=top {
                    let text = (case.toml)(&token(layer));
                    match layer {
                        0 => drop(fixture.write("exe/godwit.toml", &text)),
                        1 => drop(fixture.write("user/godwit/godwit.toml", &text)),
                        2 => drop(fixture.write("cwd/godwit.toml", &text)),
                        3 | 4 => {
                            let path = fixture.write(&format!("conf{layer}/c.toml"), &text);
                            flags.push("--config".into());
                            flags.push(path.to_string_lossy().into_owned());
                        }
                        5 => {
                            if let Some(var) = case.env {
                                env.push((var, token(layer)));
                            }
                        }
                        _ => flags.extend((case.flag_args)(&token(layer))),
                    }
                }
                let flag_refs: Vec<&str> = flags.iter().map(String::as_str).collect();
                let env_refs: Vec<(&str, &str)> =
                    env.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let settings = fixture
                    .load(&args(&flag_refs), &env_refs)
                    .unwrap_or_else(|err| panic!("{} at {layer_name}: {err}", case.key));
                assert_eq!(
                    (case.get)(&settings),
                    token(top),
                    "`{}` set up to layer {top} ({layer_name})",
                    case.key,
                );
            }
        }
    }

    #[test]
    fn database_url_is_the_fallback_and_godwit_url_wins() {
        let settings = load_env(&[("DATABASE_URL", "postgres://h/fallback")]).unwrap();
        assert_eq!(settings.url.as_deref(), Some("postgres://h/fallback"));
        let settings = load_env(&[
            ("DATABASE_URL", "postgres://h/fallback"),
            ("GODWIT_URL", "postgres://h/main"),
        ])
        .unwrap();
        assert_eq!(settings.url.as_deref(), Some("postgres://h/main"));
        // An empty GODWIT_URL is unset, so DATABASE_URL applies.
        let settings = load_env(&[
            ("DATABASE_URL", "postgres://h/fallback"),
            ("GODWIT_URL", ""),
        ])
        .unwrap();
        assert_eq!(settings.url.as_deref(), Some("postgres://h/fallback"));
    }

    #[test]
    fn flags_beat_environment() {
        let settings = Fixture::new()
            .load(
                &args(&["--url", "postgres://h/flag", "--table", "t_flag"]),
                &[
                    ("GODWIT_URL", "postgres://h/env"),
                    ("DATABASE_URL", "postgres://h/db"),
                    ("GODWIT_TABLE", "t_env"),
                ],
            )
            .unwrap();
        assert_eq!(settings.url.as_deref(), Some("postgres://h/flag"));
        assert_eq!(settings.table, "t_flag");
    }

    #[test]
    fn flags_work_after_the_subcommand() {
        let cli =
            Cli::try_parse_from(["godwit", "migrate", "--target", "3", "--out-of-order"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Migrate)));
        assert_eq!(cli.config.target.as_deref(), Some("3"));
        assert!(cli.config.out_of_order);
    }

    #[test]
    fn list_flags_accept_commas_and_repetition() {
        let a = args(&[
            "--locations",
            "a,b",
            "--locations",
            "c",
            "--schemas",
            "x, y",
        ]);
        let settings = Fixture::new().load(&a, &[]).unwrap();
        assert_eq!(
            settings.locations,
            vec![PathBuf::from("a"), PathBuf::from("b"), PathBuf::from("c")]
        );
        assert_eq!(settings.schemas, vec!["x", "y"]);
    }

    #[test]
    fn env_lists_are_comma_separated() {
        let settings = load_env(&[
            ("GODWIT_LOCATIONS", " db/a , db/b ,"),
            ("GODWIT_SCHEMAS", "app,audit"),
        ])
        .unwrap();
        assert_eq!(
            settings.locations,
            vec![PathBuf::from("db/a"), PathBuf::from("db/b")]
        );
        assert_eq!(settings.schemas, vec!["app", "audit"]);
        let err = err_of(load_env(&[("GODWIT_LOCATIONS", " , ")]));
        assert!(err.message().contains("GODWIT_LOCATIONS"), "{err}");
    }

    #[test]
    fn placeholders_merge_from_files_env_and_flags() {
        let fixture = Fixture::new();
        fixture.write(
            "user/godwit/godwit.toml",
            "[placeholders]\nfrom_user = \"u\"\nowner = \"user\"\n",
        );
        fixture.write(
            "cwd/godwit.toml",
            "[placeholders]\nOwner = \"project\"\nretries = 3\nverbose = true\nsecret = \"x\"\n",
        );
        let extra = fixture.write("conf/extra.toml", "placeholders.region = \"eu\"\n");
        let settings = fixture
            .load(
                &args(&[
                    "--config",
                    &extra.to_string_lossy(),
                    "--placeholder",
                    "REGION=us",
                    "--placeholder",
                    "empty=",
                ]),
                &[
                    ("GODWIT_PLACEHOLDERS_SECRET", "from-env"),
                    ("GODWIT_PLACEHOLDERS_APP_USER", "app"),
                    ("GODWIT_PLACEHOLDERS_IGNORED", ""),
                ],
            )
            .unwrap();
        let expected: BTreeMap<String, String> = [
            ("from_user", "u"),
            ("owner", "project"),
            ("retries", "3"),
            ("verbose", "true"),
            ("secret", "from-env"),
            ("app_user", "app"),
            ("region", "us"),
            ("empty", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(settings.placeholders, expected);
    }

    #[test]
    fn bad_placeholders_are_errors_without_their_values() {
        let err = err_of(load_file("placeholders = 3\n"));
        assert!(err.message().contains("must be a table"), "{err}");

        let err = err_of(load_file("placeholders = { ratio = 2.5, b = 1 }\n"));
        assert_eq!(err.hint().as_deref(), Some("quote it: ratio = \"2.5\""));

        let err = err_of(load_file("[placeholders]\nratio = 1.50\n"));
        assert_eq!(err.location().unwrap().1, Some(2));
        assert!(err.hint().unwrap().contains("\"1.50\""), "{:?}", err.hint());

        let err = err_of(load_file(
            "[placeholders]\na = \"ok\"\nlist = [\"s3cr3t\"]\n",
        ));
        assert_eq!(err.location().unwrap().1, Some(3));
        assert!(err.message().contains("placeholders.list"), "{err}");
        assert!(!err.to_string().contains("s3cr3t"), "{err}");

        let err = err_of(load_file("[placeholders]\n\"godwit:user\" = \"me\"\n"));
        assert!(err.message().contains("built-in"), "{err}");

        let err = err_of(load_env(&[("GODWIT_PLACEHOLDERS_", "x")]));
        assert!(err.message().contains("GODWIT_PLACEHOLDERS_"), "{err}");

        let parse = Cli::try_parse_from(["godwit", "--placeholder", "novalue"]);
        assert!(parse.is_err());
        let parse = Cli::try_parse_from(["godwit", "--placeholder", "=x"]);
        assert!(parse.is_err());
    }

    // -- file errors ---------------------------------------------------------------------------

    #[test]
    fn unknown_key_names_key_file_line_and_suggestion() {
        let err = err_of(load_file(
            "# comment\ntable = \"h\"\nurll = \"postgres://u:pw@h/db\"\n",
        ));
        match &err {
            ConfigError::UnknownKey {
                key,
                line,
                suggestion,
                ..
            } => {
                assert_eq!(key, "urll");
                assert_eq!(*line, Some(3));
                assert_eq!(*suggestion, Some("url"));
            }
            other => panic!("expected UnknownKey, got {other:?}"),
        }
        assert_eq!(err.message(), "unknown key `urll`");
        assert_eq!(err.hint().as_deref(), Some("did you mean `url`?"));
        let (path, line) = err.location().unwrap();
        assert_eq!(path, Path::new("godwit.toml"));
        assert_eq!(line, Some(3));
        let text = err.to_string();
        assert!(
            text.starts_with("godwit.toml:3: unknown key `urll`"),
            "{text}"
        );
        assert!(text.contains("did you mean `url`?"), "{text}");
        assert!(!text.contains("pw"), "{text}");
    }

    #[test]
    fn unknown_key_suggestions() {
        for (written, meant) in [
            ("urll", "url"),
            ("lock-timeout", "lock_timeout"),
            ("outOfOrder", "out_of_order"),
            ("flyway.outOfOrder", "out_of_order"),
            ("baselineOnMigrate", "baseline_on_migrate"),
            ("CLEAN_DISABLED", "clean_disabled"),
            ("location", "locations"),
            ("schema", "schemas"),
            ("defaultSchema", "schemas"),
            ("tagret", "target"),
            ("installedBy", "installed_by"),
            ("placeholder", "placeholders"),
            ("lockTimeout", "lock_timeout"),
            ("statementTimeout", "statement_timeout"),
            ("statement-lock-timeout", "statement_lock_timeout"),
            ("lockRetries", "statement_lock_retries"),
        ] {
            assert_eq!(suggest_key(written), Some(meant), "{written}");
        }
        assert_eq!(suggest_key("frobnicate"), None);
        assert_eq!(suggest_key("baseline"), None, "ambiguous");
        // Several keys end in `timeout`; a bare `timeout` keeps meaning godwit's own lock, as
        // it always did (an alias, not a guess).
        assert_eq!(suggest_key("timeout"), Some("lock_timeout"));

        let err = err_of(load_file("frobnicate = 1\n"));
        let hint = err.hint().unwrap();
        assert!(
            hint.starts_with("valid keys are `url`, `password`, `password_file`, `locations`"),
            "{hint}"
        );
        assert!(hint.contains("`placeholders`"), "{hint}");

        let err = err_of(load_file("[flyway]\nurl = \"postgres://h/db\"\n"));
        assert!(
            err.hint().unwrap().contains("move `url` out of [flyway]"),
            "{err}"
        );

        let err = err_of(load_file("user = \"app\"\n"));
        assert!(err.hint().unwrap().contains("goes in the url"), "{err}");
    }

    #[test]
    fn syntax_error_has_file_line_and_message() {
        let err = err_of(load_file("table = \"h\"\n\nurl = postgres://h/db\n"));
        match &err {
            ConfigError::Syntax { line, message, .. } => {
                assert_eq!(*line, Some(3));
                assert!(message.contains("invalid string"), "{message}");
                assert!(!message.contains('\n'));
            }
            other => panic!("expected Syntax, got {other:?}"),
        }
        assert!(err.hint().unwrap().contains("quote"), "{err}");
        assert!(
            err.to_string().starts_with("godwit.toml:3: invalid TOML"),
            "{err}"
        );

        let err = err_of(load_file("url = \"a\"\nurl = \"b\"\n"));
        assert!(err.message().contains("duplicate key"), "{err}");
        assert_eq!(err.location().unwrap().1, Some(2));
    }

    #[test]
    fn bad_booleans_name_the_source_and_value() {
        let err = err_of(load_env(&[("GODWIT_OUT_OF_ORDER", "maybe")]));
        let text = err.to_string();
        assert!(text.contains("GODWIT_OUT_OF_ORDER"), "{text}");
        assert!(text.contains("\"maybe\""), "{text}");
        assert!(err.location().is_none());
        assert!(err.hint().unwrap().contains("true or false"));

        let err = err_of(load_file("mixed = \"sometimes\"\n"));
        let text = err.to_string();
        assert!(text.starts_with("godwit.toml:1: `mixed`"), "{text}");
        assert!(text.contains("\"sometimes\""), "{text}");

        let err = err_of(load_file("\nclean_disabled = 0\n"));
        assert_eq!(err.location().unwrap().1, Some(2));
        assert!(err.message().contains("the number 0"), "{err}");
    }

    #[test]
    fn boolean_spellings() {
        for (text, value) in [
            ("true", true),
            ("YES", true),
            ("On", true),
            ("1", true),
            ("false", false),
            ("no", false),
            ("OFF", false),
            (" 0 ", false),
        ] {
            let settings = load_env(&[("GODWIT_MIXED", text)]).unwrap();
            assert_eq!(settings.mixed, value, "{text}");
        }
        let settings = load_file("mixed = \"yes\"\n").unwrap();
        assert!(settings.mixed);
    }

    #[test]
    fn durations() {
        for (text, secs) in [("30s", 30), ("10m", 600), ("1h 30m", 5400), ("45", 45)] {
            let settings = load_env(&[("GODWIT_LOCK_TIMEOUT", text)]).unwrap();
            assert_eq!(settings.lock_timeout, Duration::from_secs(secs), "{text}");
        }
        let settings = load_file("lock_timeout = 90\n").unwrap();
        assert_eq!(settings.lock_timeout, Duration::from_secs(90));

        let err = err_of(load_env(&[("GODWIT_LOCK_TIMEOUT", "soon")]));
        assert!(err.message().contains("GODWIT_LOCK_TIMEOUT"), "{err}");
        assert!(err.message().contains("\"soon\""), "{err}");
        assert!(err.hint().unwrap().contains("30s"));

        let err = err_of(load_file("lock_timeout = -5\n"));
        assert!(err.message().contains("negative"), "{err}");
        let err = err_of(load_file("lock_timeout = 1.5\n"));
        assert!(err.message().contains("duration"), "{err}");
        let err = err_of(load_file("lock_timeout = \"400 days\"\n"));
        assert!(err.message().contains("longer than a year"), "{err}");
        let err = err_of(load_env(&[(
            "GODWIT_LOCK_TIMEOUT",
            "99999999999999999999999",
        )]));
        assert!(err.message().contains("too large"), "{err}");

        assert!(Cli::try_parse_from(["godwit", "--lock-timeout", "later"]).is_err());
        let a = args(&["--lock-timeout", "2m"]);
        assert_eq!(a.lock_timeout, Some(Duration::from_secs(120)));
    }

    #[test]
    fn versions_reject_floats_with_a_quoting_hint() {
        let err = err_of(load_file("target = 1.10\n"));
        assert!(err.message().contains("`target`"), "{err}");
        assert!(err.message().contains("1.10"), "{err}");
        let hint = err.hint().unwrap();
        assert!(hint.contains("target = \"1.10\""), "{hint}");

        let err = err_of(load_file("baseline_version = 2.5 # old\n"));
        assert!(
            err.hint().unwrap().contains("baseline_version = \"2.5\""),
            "{err}"
        );

        let settings = load_file("target = 7\nbaseline_version = 3\n").unwrap();
        assert_eq!(settings.target, "7");
        assert_eq!(settings.baseline_version, "3");
        let settings = load_file("target = \"1.10\"\n").unwrap();
        assert_eq!(settings.target, "1.10");
    }

    #[test]
    fn wrong_types_and_empty_values() {
        let err = err_of(load_file("table = [\"a\"]\n"));
        assert!(err.message().contains("must be a string"), "{err}");
        let err = err_of(load_file("table = \"  \"\n"));
        assert!(err.message().contains("must not be empty"), "{err}");
        let err = err_of(load_file("locations = []\n"));
        assert!(err.message().contains("at least one directory"), "{err}");
        let err = err_of(load_file("locations = [\"a\", 3]\n"));
        assert!(err.message().contains("entry 2 is the number 3"), "{err}");
        let err = err_of(load_file("schemas = 4\n"));
        assert!(err.message().contains("array of strings"), "{err}");
        let settings = load_file("schemas = \"app, audit\"\nlocations = \"a,b\"\n").unwrap();
        assert_eq!(settings.schemas, vec!["app", "audit"]);
        assert_eq!(
            settings.locations,
            vec![PathBuf::from("a"), PathBuf::from("b")]
        );
        let settings = load_file("schemas = []\n").unwrap();
        assert!(settings.schemas.is_empty());
    }

    #[test]
    fn connection_waiting_settings() {
        let settings = load_file(
            "connect_retries = 5\nconnect_retries_interval = \"10s\"\nconnect_timeout = 3\n",
        )
        .unwrap();
        assert_eq!(settings.connect_retries, 5);
        assert_eq!(settings.connect_retries_interval, Duration::from_secs(10));
        assert_eq!(settings.connect_timeout, Duration::from_secs(3));
        let defaults = load_file("").unwrap();
        assert_eq!(defaults.connect_retries, 0);
        assert_eq!(defaults.connect_timeout, Duration::from_secs(10));
        assert_eq!(defaults.connect_retries_interval, Duration::from_secs(120));
        let err = err_of(load_file("connect_retries = -1\n"));
        assert!(err.message().contains("must not be negative"), "{err}");
        let err = err_of(load_file("connect_retries = \"many\"\n"));
        assert!(err.message().contains("must be a whole number"), "{err}");
        let err = err_of(load_file("connect_retries = 1.5\n"));
        assert!(err.message().contains("must be a whole number"), "{err}");
        let err = err_of(load_file("connect_retries = 100000\n"));
        assert!(err.message().contains("too large"), "{err}");
        let err = err_of(load_file("connect_timeout = \"0s\"\n"));
        assert!(err.message().contains("longer than zero"), "{err}");
        // godwit's own lock may be given no time at all: fail at once when it is held.
        assert_eq!(
            load_file("lock_timeout = 0\n").unwrap().lock_timeout,
            Duration::ZERO
        );
    }

    #[test]
    fn missing_config_file_is_an_error() {
        let fixture = Fixture::new();
        let err = err_of(fixture.load(&args(&["--config", "nope.toml"]), &[]));
        assert!(
            matches!(&err, ConfigError::MissingFile { path } if path == Path::new("nope.toml")),
            "{err:?}"
        );
        assert!(err.to_string().contains("nope.toml"), "{err}");
        assert!(err.hint().unwrap().contains("--config"));
    }

    #[test]
    fn unreadable_config_file_is_an_error() {
        let fixture = Fixture::new();
        fs::create_dir_all(fixture.path("cwd/godwit.toml")).unwrap();
        let err = err_of(fixture.load(&ConfigArgs::default(), &[]));
        assert!(matches!(err, ConfigError::Read { .. }), "{err:?}");

        let fixture = Fixture::new();
        fs::write(fixture.path("cwd/godwit.toml"), b"url = \"\xff\"\n").unwrap();
        let err = err_of(fixture.load(&ConfigArgs::default(), &[]));
        assert_eq!(err.hint().as_deref(), Some("save the file as UTF-8"));
    }

    #[test]
    fn config_paths_are_relative_to_the_working_directory() {
        let fixture = Fixture::new();
        fixture.write("cwd/deploy/prod.toml", "table = \"prod\"\n");
        let settings = fixture
            .load(&args(&["--config", "deploy/prod.toml"]), &[])
            .unwrap();
        assert_eq!(settings.table, "prod");
    }

    #[test]
    fn a_bom_is_ignored() {
        let settings = load_file("\u{feff}table = \"h\"\n").unwrap();
        assert_eq!(settings.table, "h");
    }

    // -- paths ---------------------------------------------------------------------------------

    #[test]
    fn relative_paths_in_files_follow_the_file() {
        let fixture = Fixture::new();
        fixture.write(
            "cwd/deploy/prod.toml",
            "url = \"sqlite://data/app.db?mode=rwc\"\nlocations = [\"../db\", \"/abs/dir\"]\n",
        );
        let settings = fixture
            .load(&args(&["--config", "deploy/prod.toml"]), &[])
            .unwrap();
        assert_eq!(
            settings.url.as_deref(),
            Some("sqlite://deploy/data/app.db?mode=rwc")
        );
        assert_eq!(
            settings.locations,
            vec![PathBuf::from("deploy/../db"), PathBuf::from("/abs/dir")]
        );

        // The working directory's own file keeps paths relative to it.
        let fixture = Fixture::new();
        fixture.write(
            "cwd/godwit.toml",
            "url = \"sqlite:data/app.db\"\nlocations = \"db\"\n",
        );
        let settings = fixture.load(&ConfigArgs::default(), &[]).unwrap();
        assert_eq!(settings.url.as_deref(), Some("sqlite:data/app.db"));
        assert_eq!(settings.locations, vec![PathBuf::from("db")]);

        // Files elsewhere resolve against their own directory.
        let fixture = Fixture::new();
        fixture.write(
            "user/godwit/godwit.toml",
            "url = \"sqlite:state.db\"\nlocations = [\"m\"]\n",
        );
        let settings = fixture.load(&ConfigArgs::default(), &[]).unwrap();
        let dir = fixture.path("user/godwit");
        assert_eq!(
            settings.url,
            Some(format!("sqlite:{}/state.db", dir.display()))
        );
        assert_eq!(settings.locations, vec![dir.join("m")]);
    }

    #[test]
    fn env_and_flag_paths_stay_relative_to_the_working_directory() {
        let settings = Fixture::new()
            .load(
                &args(&["--locations", "flag/dir"]),
                &[("GODWIT_URL", "sqlite://data/app.db")],
            )
            .unwrap();
        assert_eq!(settings.url.as_deref(), Some("sqlite://data/app.db"));
        assert_eq!(settings.locations, vec![PathBuf::from("flag/dir")]);
    }

    #[test]
    fn sqlite_url_resolution() {
        let base = Path::new("/etc/app");
        for (url, expected) in [
            ("sqlite://data/app.db", "sqlite:///etc/app/data/app.db"),
            ("sqlite:data/app.db", "sqlite:/etc/app/data/app.db"),
            (
                "sqlite://./x.db?mode=ro",
                "sqlite:///etc/app/./x.db?mode=ro",
            ),
            ("SQLite://x.db", "SQLite:///etc/app/x.db"),
            ("sqlite::memory:", "sqlite::memory:"),
            ("sqlite://:memory:", "sqlite://:memory:"),
            ("sqlite:///var/app.db", "sqlite:///var/app.db"),
            ("sqlite:/var/app.db", "sqlite:/var/app.db"),
            ("sqlite:", "sqlite:"),
            ("sqlite://?mode=memory", "sqlite://?mode=memory"),
            ("postgres://h/db", "postgres://h/db"),
            ("mysql://u@h/db", "mysql://u@h/db"),
        ] {
            assert_eq!(resolve_sqlite_url(url, base), expected, "{url}");
        }
        assert_eq!(
            resolve_sqlite_url("sqlite:a.db", Path::new("")),
            "sqlite:a.db"
        );
        assert_eq!(
            resolve_sqlite_url("sqlite:a.db", Path::new("/odd?dir#1%")),
            "sqlite:/odd%3Fdir%231%25/a.db"
        );
        assert_eq!(
            resolve_sqlite_url("sqlite:a.db", Path::new("/")),
            "sqlite:/a.db"
        );
    }

    #[test]
    fn filesystem_prefix_is_stripped_and_classpath_refused() {
        let settings =
            load_file("locations = [\"filesystem:db/migrations\", \"FILESYSTEM:x\"]\n").unwrap();
        assert_eq!(
            settings.locations,
            vec![PathBuf::from("db/migrations"), PathBuf::from("x")]
        );
        let settings = load_env(&[("GODWIT_LOCATIONS", "filesystem:/srv/m")]).unwrap();
        assert_eq!(settings.locations, vec![PathBuf::from("/srv/m")]);
        let settings = Fixture::new()
            .load(&args(&["--locations", "filesystem:f"]), &[])
            .unwrap();
        assert_eq!(settings.locations, vec![PathBuf::from("f")]);

        let err = err_of(load_file("\nlocations = [\"classpath:db/migration\"]\n"));
        assert_eq!(err.location().unwrap().1, Some(2));
        assert!(err.message().contains("classpath:db/migration"), "{err}");
        assert!(err.message().contains("directories"), "{err}");
        assert!(err
            .hint()
            .unwrap()
            .contains("src/main/resources/db/migration"));

        let err = err_of(Fixture::new().load(&args(&["--locations", "classpath:db"]), &[]));
        assert!(err.message().starts_with("--locations "), "{err}");
        let err = err_of(load_env(&[("GODWIT_LOCATIONS", "s3:bucket/m")]));
        assert!(err.message().contains("cloud storage"), "{err}");
        let err = err_of(load_file("locations = \"filesystem:\"\n"));
        assert!(err.message().contains("empty location"), "{err}");
    }

    #[test]
    fn empty_env_vars_count_as_unset() {
        let fixture = Fixture::new();
        fixture.write("cwd/godwit.toml", "table = \"from_file\"\nmixed = true\n");
        let settings = fixture
            .load(
                &ConfigArgs::default(),
                &[
                    ("GODWIT_TABLE", ""),
                    ("GODWIT_MIXED", "   "),
                    ("GODWIT_LOCK_TIMEOUT", ""),
                    ("GODWIT_OUT_OF_ORDER", ""),
                ],
            )
            .unwrap();
        assert_eq!(settings.table, "from_file");
        assert!(settings.mixed);
        assert_eq!(settings.lock_timeout, Duration::from_secs(600));
    }

    #[test]
    fn user_config_dir_lookup() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        assert_eq!(
            user_config_base(vars(&[("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")])),
            Some(PathBuf::from("/x"))
        );
        assert_eq!(
            user_config_base(vars(&[("XDG_CONFIG_HOME", ""), ("HOME", "/h")])),
            Some(PathBuf::from("/h/.config"))
        );
        assert_eq!(
            user_config_base(vars(&[("XDG_CONFIG_HOME", "relative"), ("HOME", "/h")])),
            Some(PathBuf::from("/h/.config"))
        );
        if !cfg!(windows) {
            assert_eq!(user_config_base(vars(&[])), None);
        }
    }

    #[test]
    fn implicit_files_are_optional_and_absent_dirs_are_fine() {
        let fixture = Fixture::new();
        let settings = load(
            &ConfigArgs::default(),
            &Env::default(),
            &fixture.cwd(),
            None,
            None,
        )
        .unwrap();
        assert_eq!(settings, Settings::default());
    }

    // -- redaction -----------------------------------------------------------------------------

    #[test]
    fn redact_url_hides_passwords() {
        for (url, expected) in [
            (
                "postgres://app:s3cret@localhost:5432/db",
                "postgres://app:***@localhost:5432/db",
            ),
            ("postgres://app@localhost/db", "postgres://app@localhost/db"),
            (
                "postgres://localhost:5432/db",
                "postgres://localhost:5432/db",
            ),
            ("mysql://root:p@ss@db/app", "mysql://root:***@db/app"),
            ("mysql://root:pa/ss@db/app", "mysql://root:***@db/app"),
            // A `?` before the last `@`: what follows the `@` may be part of the secret too.
            ("mysql://root:pa?ss@db/app", "mysql://root:***@***"),
            ("mysql://root:@db/app", "mysql://root@db/app"),
            (
                "postgres://h/db?user=a&password=s3cret&sslmode=require",
                "postgres://h/db?user=a&password=***&sslmode=require",
            ),
            (
                "postgres://h:5432/db?application_name=a&PASSWORD=x",
                "postgres://h:5432/db?application_name=a&PASSWORD=***",
            ),
            // An `@` after the host: everything before it may be a password.
            (
                "postgres://h:5432/db?application_name=a@b&PASSWORD=x",
                "postgres://h:***@***",
            ),
            (
                "sqlite://data/app.db?mode=rwc",
                "sqlite://data/app.db?mode=rwc",
            ),
            ("sqlite::memory:", "sqlite::memory:"),
            ("", ""),
            ("not a url", "not a url"),
        ] {
            assert_eq!(redact_url(url), expected, "{url}");
        }
    }

    #[test]
    fn debug_output_hides_the_password() {
        let settings = Settings {
            url: Some("postgres://app:s3cret@h/db".to_owned()),
            ..Settings::default()
        };
        let debug = format!("{settings:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
        assert!(debug.contains("app:***@h"), "{debug}");
        assert_eq!(
            settings.redacted_url().as_deref(),
            Some("postgres://app:***@h/db")
        );
        let a = args(&["--url", "postgres://app:s3cret@h/db"]);
        assert!(!format!("{a:?}").contains("s3cret"));
        let env = Env::from_pairs([("DATABASE_URL", "postgres://app:s3cret@h/db")]);
        assert!(!format!("{env:?}").contains("s3cret"));
    }

    #[test]
    fn missing_url() {
        let settings = Settings::default();
        let err = settings.require_url().unwrap_err();
        let hint = err.hint().unwrap();
        for needle in ["--url", "GODWIT_URL", "DATABASE_URL", "url = "] {
            assert!(hint.contains(needle), "{hint}");
            assert!(missing_url_hint().contains(needle));
        }
        assert!(err.to_string().starts_with("no database URL is configured"));
        let settings = Settings {
            url: Some("postgres://h/db".into()),
            ..Settings::default()
        };
        assert_eq!(settings.require_url().unwrap(), "postgres://h/db");
    }

    // -- consistency ---------------------------------------------------------------------------

    #[test]
    fn display_is_location_message_and_hint() {
        let errors = vec![
            err_of(load_file("urll = 1\n")),
            err_of(load_file("url = \n")),
            err_of(load_file("mixed = 3\n")),
            err_of(load_env(&[("GODWIT_MIXED", "x")])),
            err_of(Fixture::new().load(&args(&["--config", "x.toml"]), &[])),
            ConfigError::MissingUrl,
        ];
        for err in errors {
            let mut expected = String::new();
            if let Some((path, line)) = err.location() {
                expected.push_str(&at(path, &line));
            }
            expected.push_str(&err.message());
            if let Some(hint) = err.hint() {
                expected.push_str("; ");
                expected.push_str(&hint);
            }
            assert_eq!(err.to_string(), expected);
        }
    }

    #[test]
    fn flags_match_the_key_table() {
        let command = ConfigArgs::augment_args(clap::Command::new("t"));
        let longs: Vec<String> = command
            .get_arguments()
            .filter_map(|arg| arg.get_long().map(str::to_owned))
            .collect();
        for doc in KEYS {
            if let Some(flag) = doc.flag {
                let name = flag
                    .split_whitespace()
                    .next()
                    .and_then(|f| f.strip_prefix("--"))
                    .unwrap();
                assert!(longs.iter().any(|l| l == name), "{flag} is not a flag");
            }
        }
        for long in &longs {
            if long == "config" {
                continue;
            }
            assert!(
                KEYS.iter().any(|doc| doc
                    .flag
                    .is_some_and(|f| f.split_whitespace().next() == Some(&format!("--{long}")))),
                "--{long} is not in the key table"
            );
        }
        for arg in command.get_arguments() {
            assert!(arg.is_global_set(), "{:?} should be global", arg.get_id());
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            assert!(
                !help.is_empty() && !help.ends_with('.'),
                "help of {:?}",
                arg.get_id()
            );
        }
        Cli::command().debug_assert();
    }

    /// The tool.
    #[derive(Debug, Parser)]
    #[command(name = "godwit")]
    struct DocumentedCli {
        #[command(flatten)]
        config: ConfigArgs,
    }

    #[test]
    fn flattening_keeps_the_parent_about_text() {
        let about = DocumentedCli::command().get_about().map(|a| a.to_string());
        assert_eq!(about.as_deref(), Some("The tool"));
        // Without one of its own, the CLI does not inherit this module's documentation.
        assert!(Cli::command().get_about().is_none());
        assert!(Cli::command().get_long_about().is_none());
    }

    #[test]
    fn env_vars_match_the_key_table() {
        for doc in KEYS {
            assert!(
                !doc.env.is_empty(),
                "`{}` has no environment variable",
                doc.key
            );
            for var in doc.env {
                assert!(
                    var.starts_with("GODWIT_") || *var == "DATABASE_URL",
                    "{var}"
                );
            }
        }
        let placeholders = key_doc("placeholders").unwrap();
        assert!(placeholders.env[0].starts_with(PLACEHOLDER_ENV_PREFIX));
    }

    #[test]
    fn never_panics_on_odd_input() {
        let samples = [
            "",
            "=",
            "\u{feff}",
            "é",
            "sqlite",
            "sqlite:é",
            "sqlite://é?",
            "filesystem",
            "ﬁlesystem:x",
            "classpath",
            "https://u:p@",
            "://@",
            "a://:@/@?&=",
            "@@@",
            "?",
            "[placeholders]\n\"\" = 1",
            "placeholders.\"é\" = 1.0",
            "url = \"\"",
            "[[url]]",
            "url = 1979-05-27",
            "target = nan",
            "target = inf",
            "lock_timeout = 9223372036854775807",
            "lock_timeout = \"18446744073709551615s\"",
            "table = 'x'\r\n",
            "x\u{0}",
        ];
        for sample in samples {
            let _ = apply_file(&mut Settings::default(), Path::new("f.toml"), sample);
            let _ = redact_url(sample);
            let _ = resolve_sqlite_url(sample, Path::new("/b"));
            let _ = parse_location(sample);
            let _ = parse_duration_text(sample);
            let _ = parse_placeholder_arg(sample);
            let _ = normalise_key(sample);
            let _ = suggest_key(sample);
            let _ = raw_value_text(sample, 1);
            let _ = line_of(sample, 1000);
        }
        // Random TOML-ish text built from an alphabet that hits the parser's corners.
        let alphabet: Vec<&str> = vec![
            "url",
            "target",
            "placeholders",
            "locations",
            "lock_timeout",
            "=",
            "\"",
            "'",
            "[",
            "]",
            "{",
            "}",
            ".",
            ",",
            "\n",
            " ",
            "1",
            "1.5",
            "#",
            "é",
            "true",
            "sqlite:",
            "@",
            ":",
        ];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..3000 {
            let mut text = String::new();
            for _ in 0..12 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                text.push_str(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            let _ = apply_file(&mut Settings::default(), Path::new("f.toml"), &text);
            let _ = redact_url(&text);
            let _ = resolve_sqlite_url(&text, Path::new("b"));
        }
    }

    // -- documentation -------------------------------------------------------------------------

    fn docs_path() -> PathBuf {
        match std::env::var_os("GODWIT_DOCS_DIR") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("configuration.md"),
            _ => PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../docs/configuration.md"
            )),
        }
    }

    #[test]
    fn docs_configuration_md_is_up_to_date() {
        let path = docs_path();
        let expected = render_markdown();
        if std::env::var_os("GODWIT_BLESS").is_some_and(|v| v == "1") {
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir).expect("create docs dir");
            }
            fs::write(&path, &expected).expect("write docs");
            return;
        }
        let actual = fs::read_to_string(&path).map(|text| text.replace("\r\n", "\n"));
        if actual.as_ref().ok() != Some(&expected) {
            let first_difference = match &actual {
                Err(err) => format!("cannot read it: {err}"),
                Ok(actual) => actual
                    .lines()
                    .zip(expected.lines())
                    .position(|(a, e)| a != e)
                    .map_or_else(
                        || "one is longer than the other".to_owned(),
                        |i| format!("line {} differs", i + 1),
                    ),
            };
            panic!(
                "{} does not match the key table in config.rs ({first_difference}); run \
                 `GODWIT_BLESS=1 cargo test -p godwit-cli config` to update it",
                path.display()
            );
        }
    }

    #[test]
    fn docs_mention_every_key_env_var_and_flag() {
        let md = render_markdown();
        for doc in KEYS {
            assert!(md.contains(&format!("### `{}`", doc.key)), "{}", doc.key);
            for var in doc.env {
                assert!(md.contains(var), "{var}");
            }
            if let Some(flag) = doc.flag {
                assert!(md.contains(flag), "{flag}");
            }
        }
    }

    #[test]
    fn password_and_password_file_are_one_setting() {
        let fixture = Fixture::new();
        fixture.write("cwd/godwit.toml", "password_file = \"secrets/pw\"\n");
        // A later source that sets the other key replaces it.
        let settings = fixture
            .load(&ConfigArgs::default(), &[("GODWIT_PASSWORD", "from env")])
            .unwrap();
        assert_eq!(settings.password.as_deref(), Some("from env"));
        assert_eq!(settings.password_file, None);
        let settings = fixture.load(&ConfigArgs::default(), &[]).unwrap();
        assert_eq!(settings.password_file, Some(PathBuf::from("secrets/pw")));
        assert_eq!(settings.password, None);
        // One source that sets both is refused, without showing the password.
        let err = err_of(load_file(
            "password = \"s3cret-pw\"\npassword_file = \"x\"\n",
        ));
        assert!(err.to_string().contains("same file"), "{err}");
        assert!(!err.to_string().contains("s3cret-pw"), "{err}");
        let err = err_of(load_env(&[
            ("GODWIT_PASSWORD", "s3cret-pw"),
            ("GODWIT_PASSWORD_FILE", "/x"),
        ]));
        assert!(err.to_string().contains("GODWIT_PASSWORD"), "{err}");
        assert!(!err.to_string().contains("s3cret-pw"), "{err}");
        // A password that is not a string is refused without being shown.
        let err = err_of(load_file("password = 987654321\n"));
        assert!(!err.to_string().contains("987654321"), "{err}");
        let settings = Settings {
            password: Some("s3cret-pw".into()),
            ..Settings::default()
        };
        assert!(!format!("{settings:?}").contains("s3cret-pw"));
    }
}
