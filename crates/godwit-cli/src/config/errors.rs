//! Configuration errors: what is wrong, where the value came from, and how to fix it.

use std::io;
use std::path::{Path, PathBuf};

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
/// [`Display`](std::fmt::Display) gives a single self-contained line (location, what is wrong
/// and the hint). A CLI that renders errors in parts should use [`ConfigError::message`],
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
    /// No layer sets a database URL (returned by [`super::CliSettings::require_url`]).
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
pub(super) fn at(path: &Path, line: &Option<usize>) -> String {
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
pub(super) fn missing_url_hint() -> &'static str {
    "set one with --url, the GODWIT_URL environment variable (DATABASE_URL is read when \
     GODWIT_URL is not set), or `url = \"postgres://user@localhost:5432/app\"` in godwit.toml"
}

/// What is wrong with a value, as a predicate that follows the name of the key, variable or flag
/// ("must be true or false, not \"maybe\""), and how to fix it.
pub(super) struct Problem {
    message: String,
    hint: Option<String>,
}

impl Problem {
    pub(super) fn new(message: impl Into<String>) -> Self {
        Problem {
            message: message.into(),
            hint: None,
        }
    }

    pub(super) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Renders the problem as a clap value-parser error.
    pub(super) fn for_clap(self) -> String {
        match self.hint {
            Some(hint) => format!("{}; {hint}", self.message),
            None => self.message,
        }
    }
}

/// Builds the error for a bad value, naming its origin as the subject of the message.
pub(super) fn invalid(origin: Origin, key: &str, problem: Problem) -> ConfigError {
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
