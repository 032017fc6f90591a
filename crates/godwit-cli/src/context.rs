//! Turns settings into a migrator and a database connection. Bad configuration is refused
//! before anything else (most of it by the configuration layers already); the files are read
//! while the connection is set up, and problems with them are reported as if they had been read
//! first, with nothing written.

use std::sync::Arc;

use godwit::{ConnectOptions, Database, Migrator};

use crate::config::{ConfigError, Settings};

/// Anything a command can fail with.
#[derive(Debug)]
pub enum CliError {
    Config(ConfigError),
    /// A command's own flag or setting that cannot be used (`clean` while it is disabled, a bad
    /// `--baseline-version`, an unusable URL, …): usage, exit 2.
    Setting {
        message: String,
        hint: String,
    },
    Lib(godwit::Error),
    /// A signal arrived while godwit was still connecting (or waiting to retry): nothing was
    /// done.
    StoppedConnecting,
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

/// Reads the migration files and connects, at the same time: the files are read on other threads
/// while the connection is being set up, so a run waits for the slower of the two, not for both.
///
/// Problems with the files win over a connection failure, as if the files had been read first,
/// and nothing is written for them: the connection is closed unused (a SQLite file it created is
/// removed again).
pub async fn open(
    settings: &Settings,
    observer: Option<godwit::Observer>,
    write: bool,
) -> Result<(Migrator, Database), CliError> {
    // A URL or password godwit refuses is bad configuration: it wins over everything else.
    connection_settings(settings, write)?;
    let locations = settings.cli.locations.clone();
    let cache_dir = settings.cli.checksum_cache.then(cache_dir).flatten();
    let naming = settings.config.naming.clone();
    let discover = move || {
        godwit::discover_with(&locations, cache_dir.as_deref(), &naming)
            .map(Migrator::new)
            .map_err(godwit::Error::Files)
    };
    let reading = std::thread::Builder::new()
        .name("godwit-discover".into())
        .spawn(discover.clone());
    let db = connect(settings, write).await;
    let migrator = match reading {
        Ok(handle) => handle.join().unwrap_or_else(|_| {
            Err(godwit::Error::Config(
                "reading the migration files failed unexpectedly (a bug in godwit: please report it)"
                    .into(),
            ))
        }),
        // No thread to spare: read them here.
        Err(_) => discover(),
    };
    match (migrator, db) {
        (Ok(migrator), Ok(db)) => {
            let migrator = migrator
                .with_config(settings.config.clone())
                .with_interrupt(crate::signals::interrupt())
                .with_observer(with_notices(observer));
            Ok((migrator, db))
        }
        (Err(e), Ok(db)) => {
            let _ = db.close().await;
            Err(e.into())
        }
        (Err(e), Err(_)) => Err(e.into()),
        (Ok(_), Err(e)) => Err(e),
    }
}

/// Reads the migration files without connecting: a migrator with the settings' configuration.
pub fn migrator(settings: &Settings) -> Result<Migrator, CliError> {
    let cache_dir = settings.cli.checksum_cache.then(cache_dir).flatten();
    let migrator = godwit::discover_cached(&settings.cli.locations, cache_dir.as_deref())
        .map(Migrator::new)
        .map_err(godwit::Error::Files)?;
    Ok(migrator
        .with_config(settings.config.clone())
        .with_interrupt(crate::signals::interrupt()))
}

/// Where the checksum cache is kept: `$XDG_CACHE_HOME/godwit`, else `~/.cache/godwit`.
fn cache_dir() -> Option<std::path::PathBuf> {
    let absolute = |v: std::ffi::OsString| {
        let p = std::path::PathBuf::from(v);
        p.is_absolute().then_some(p)
    };
    std::env::var_os("XDG_CACHE_HOME")
        .and_then(absolute)
        .or_else(|| {
            std::env::var_os("HOME")
                .and_then(absolute)
                .map(|h| h.join(".cache"))
        })
        .map(|dir| dir.join("godwit"))
}

/// Connects to the configured database. `write` commands may create a missing SQLite file.
// The options are built from the library's defaults, field by field, so that this keeps
// compiling when they grow (a struct literal could not name fields added later).
#[allow(clippy::field_reassign_with_default)]
pub async fn connect(settings: &Settings, write: bool) -> Result<Database, CliError> {
    let (url, password) = connection_settings(settings, write)?;
    let mut options = ConnectOptions::default();
    options.lock_timeout = settings.config.lock_timeout;
    options.create_if_missing = write;
    options.password = password;
    options.connect_timeout = settings.cli.connect_timeout;
    options.connect_retries = settings.cli.connect_retries;
    options.connect_retries_interval = settings.cli.connect_retries_interval;
    options.init_sql = settings.cli.init_sql.clone();
    options.on_retry = Some(Arc::new(crate::output::connect_retry));
    options.lock_lease = settings.cli.lock_lease;
    // Ctrl-C while waiting for the database stops the wait: nothing has been done yet.
    let interrupt = crate::signals::interrupt();
    tokio::select! {
        db = Database::connect_with(&url, &options) => Ok(db?),
        () = interrupt.triggered() => Err(CliError::StoppedConnecting),
    }
}

fn refuse(message: String, hint: impl Into<String>) -> CliError {
    CliError::Setting {
        message,
        hint: hint.into(),
    }
}

/// The URL and the password to connect with, or why godwit refuses them (exit 2, before
/// anything is read or written): a malformed URL, an unknown parameter, a URL that names no
/// database, an in-memory SQLite database for a command that writes (it would be thrown away at
/// exit), a password given twice or given for SQLite, an unreadable password file.
fn connection_settings(
    settings: &Settings,
    write: bool,
) -> Result<(String, Option<String>), CliError> {
    let url = settings.cli.require_url()?;
    // A user given apart from the URL (`user`, Flyway's `user`) goes into it.
    let url = match &settings.cli.user {
        Some(user) => godwit::with_user(url, user).map_err(|p| refuse(p.message, p.hint))?,
        None => url.to_owned(),
    };
    let url = url.as_str();
    let facts = godwit::check_url(url).map_err(|p| refuse(p.message, p.hint))?;
    let redacted = godwit::redact_url(url);
    let password = password(settings)?;
    if password.is_some() {
        if facts.dialect == godwit::Dialect::Sqlite {
            return Err(refuse(
                format!("a password is set (`password`, `password_file`, GODWIT_PASSWORD or GODWIT_PASSWORD_FILE), but the SQLite database `{redacted}` has none"),
                "remove the password setting: SQLite databases are files, protected by the file's permissions",
            ));
        }
        if facts.has_password {
            return Err(refuse(
                format!("the password is given twice: in the URL `{redacted}` and in a password setting (`password`, `password_file`, GODWIT_PASSWORD or GODWIT_PASSWORD_FILE)"),
                "remove the password from the URL (a URL on the command line can be read by every local user), or remove the password setting",
            ));
        }
    }
    if !facts.names_database {
        match facts.dialect {
            godwit::Dialect::MySql if settings.config.schemas.is_empty() => {
                return Err(refuse(
                    format!("the URL `{redacted}` names no database"),
                    "add the database as the URL's path, e.g. mysql://user@host:3306/app (or name it in `schemas`)",
                ))
            }
            godwit::Dialect::Sqlite => {
                return Err(refuse(
                    format!("the URL `{redacted}` names no SQLite file"),
                    "give the file's path, e.g. sqlite://data/app.db or sqlite:///var/lib/app.db",
                ))
            }
            _ => {}
        }
    }
    if facts.in_memory && write {
        return Err(refuse(
            format!("`{redacted}` is an in-memory database, thrown away when godwit exits: nothing this command writes would last"),
            "name a file, e.g. sqlite://data/app.db; to see what would run without changing anything, use --dry-run",
        ));
    }
    Ok((url.to_owned(), password))
}

/// The password of the `password` or `password_file` setting; the file's trailing newline is
/// dropped. Messages name the file, never its content.
fn password(settings: &Settings) -> Result<Option<String>, CliError> {
    if let Some(password) = &settings.cli.password {
        return Ok(Some(password.clone()));
    }
    let Some(path) = &settings.cli.password_file else {
        return Ok(None);
    };
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| {
        refuse(
            format!("cannot read the password file {shown} (`password_file` or GODWIT_PASSWORD_FILE): {e}"),
            "check the path and the file's permissions; a relative path in godwit.toml is taken from that file's directory",
        )
    })?;
    let Ok(text) = String::from_utf8(bytes) else {
        return Err(refuse(
            format!("the password file {shown} is not UTF-8 text"),
            "write the password as UTF-8 text, on one line",
        ));
    };
    let line = text.strip_suffix('\n').unwrap_or(&text);
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.is_empty() {
        return Err(refuse(
            format!("the password file {shown} is empty"),
            "write the password in it, on one line, or remove the `password_file` setting",
        ));
    }
    if line.contains(['\n', '\r']) {
        return Err(refuse(
            format!("the password file {shown} has more than one line"),
            "the file must hold the password alone, on one line (check that it is the right file)",
        ));
    }
    Ok(Some(line.to_owned()))
}

/// The migration files of a command that does not need them but runs callbacks (`baseline`,
/// `clean`, docs/design.md §5.9): read when they can be. When they cannot, a warning says that
/// the callbacks do not run, and the command goes on (§19.19: a broken file never blocks it).
/// Locations that do not exist hold no callbacks.
pub fn callbacks_of(settings: &Settings) -> godwit::MigrationSet {
    let locations: Vec<_> = settings
        .cli
        .locations
        .iter()
        .filter(|l| l.is_dir())
        .cloned()
        .collect();
    match godwit::discover_with(&locations, None, &settings.config.naming) {
        Ok(set) => set,
        Err(problems) => {
            let first = problems
                .first()
                .map(ToString::to_string)
                .unwrap_or_default();
            crate::output::callbacks_unread_warning(problems.len(), &first);
            godwit::MigrationSet::default()
        }
    }
}

/// The command's observer, plus the notices every command gives: that the history table found
/// is Flyway's (docs/design.md §2.8).
pub fn with_notices(observer: Option<godwit::Observer>) -> godwit::Observer {
    Arc::new(move |event: &godwit::Event| {
        if let godwit::Event::FoundHistory { table, instead_of } = event {
            crate::output::found_history(table, instead_of);
        }
        if let Some(o) = &observer {
            o(event);
        }
    })
}

/// An observer that forwards events to a closure (keeps the command code short).
pub fn observer(f: impl Fn(&godwit::Event) + Send + Sync + 'static) -> godwit::Observer {
    Arc::new(f)
}

/// The history table as users should read it: schema-qualified when `schemas` puts it somewhere.
pub fn history_table_name(config: &godwit::Config) -> String {
    match (config.table.contains('.'), config.schemas.first()) {
        (false, Some(schema)) => format!("{schema}.{}", config.table),
        _ => config.table.clone(),
    }
}
