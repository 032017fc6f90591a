//! `godwit new <description>`: write the next migration file into the first location.

use std::path::{Path, PathBuf};

use godwit::{MigrationKind, Version};

use crate::config::Settings;
use crate::context::CliError;
use crate::exit::ExitStatus;
use crate::output::Output;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Versioned,
    Repeatable,
    Data,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// What the migration does, in a few words (becomes the file name)
    #[arg(required = true, num_args = 1.., value_name = "DESCRIPTION")]
    pub description: Vec<String>,

    /// Also write the undo script (`U<version>__….sql`)
    #[arg(long)]
    pub undo: bool,

    /// The kind of migration to write
    #[arg(long, value_enum, default_value_t = Kind::Versioned)]
    pub kind: Kind,

    /// Use the current UTC time (yyyyMMddHHmmss) as the version
    #[arg(long, conflicts_with = "version")]
    pub timestamp: bool,

    /// Use this version instead of the next one
    #[arg(long, value_name = "VERSION")]
    pub version: Option<String>,

    /// Print the files and their content, and write nothing
    #[arg(long)]
    pub dry_run: bool,
}

fn usage(message: impl Into<String>, hint: impl Into<String>) -> CliError {
    CliError::Setting {
        message: message.into(),
        hint: hint.into(),
    }
}

/// Refuses flags that do not go together, saying which to drop.
fn check_flags(args: &Args) -> Result<(), CliError> {
    let kind = match args.kind {
        Kind::Versioned => return Ok(()),
        Kind::Repeatable => "repeatable",
        Kind::Data => "data",
    };
    if args.undo {
        return Err(usage(
            format!("`--undo` does not go with `--kind {kind}`: only versioned migrations have undo scripts"),
            format!("leave out `--undo`, or leave out `--kind {kind}` to write a versioned migration and its undo script"),
        ));
    }
    if args.timestamp {
        let why = if args.kind == Kind::Repeatable {
            "a repeatable migration (`R__<description>.sql`) has no version"
        } else {
            "a data migration takes the version of the schema migration it follows (the highest one, or `--version`)"
        };
        return Err(usage(
            format!("`--timestamp` does not go with `--kind {kind}`: {why}"),
            format!("leave out `--timestamp`, or leave out `--kind {kind}` to write a versioned migration named after the current time"),
        ));
    }
    if args.kind == Kind::Repeatable {
        if let Some(version) = &args.version {
            return Err(usage(
                format!("`--version {version}` does not go with `--kind repeatable`: a repeatable migration (`R__<description>.sql`) has no version"),
                format!("leave out `--version` to write a repeatable migration, or leave out `--kind repeatable` to write `V{version}__…`"),
            ));
        }
    }
    Ok(())
}

/// The first line of every file `new` (and `init`) writes: while the file holds no statement it
/// is still the template, and `migrate` and `validate` refuse it (the library's check, see
/// docs/migrations.md, "Files godwit new writes").
pub const TEMPLATE_MARKER: &str = "-- godwit:template";

/// The line after a template's description that says what to do with it.
const TEMPLATE_NOTE: &str = "-- Write the SQL below. Until this file holds a statement, migrate and validate refuse it;\n-- to keep it without statements on purpose, delete the first line.\n";

/// The text of a new versioned migration.
pub fn versioned_template(description: &str) -> String {
    format!(
        "{TEMPLATE_MARKER}\n-- {}\n{TEMPLATE_NOTE}",
        description.replace('_', " ")
    )
}

pub async fn run(settings: &Settings, args: &Args, out: &Output) -> Result<ExitStatus, CliError> {
    let description = file_description(&args.description.join(" "))?;
    check_flags(args)?;
    let Some(location) = settings.cli.locations.first() else {
        return Err(usage("no location is configured", "set `locations`"));
    };
    if !args.dry_run {
        std::fs::create_dir_all(location).map_err(|e| {
            usage(
                format!("cannot create the location {}: {e}", location.display()),
                "check the path and its permissions",
            )
        })?;
    }
    let existing: Vec<PathBuf> = settings
        .cli
        .locations
        .iter()
        .filter(|l| l.exists())
        .cloned()
        .collect();
    let naming = &settings.config.naming;
    let set = godwit::discover_with(&existing, None, naming).map_err(godwit::Error::Files)?;
    // Named as the naming settings say (docs/design.md §1.9); the first ending is the one used.
    let (sep, suffix) = (
        naming.sql_migration_separator.as_str(),
        naming
            .sql_migration_suffixes
            .first()
            .map_or(".sql", String::as_str),
    );
    let versions: Vec<Version> = set
        .iter()
        .filter(|m| matches!(m.kind, MigrationKind::Versioned | MigrationKind::Baseline))
        .filter_map(|m| m.version.clone())
        .collect();
    let explicit = match &args.version {
        Some(v) => Some(Version::parse(v).map_err(|e| {
            usage(
                format!("invalid --version: {e}"),
                "a version is numbers separated by `.` or `_`, such as `4` or `1.2`",
            )
        })?),
        None => None,
    };
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    match args.kind {
        Kind::Repeatable => {
            files.push((
                location.join(format!(
                    "{}{sep}{description}{suffix}",
                    naming.repeatable_sql_migration_prefix
                )),
                format!("{TEMPLATE_MARKER}\n-- Repeatable migration: {}\n-- Runs again whenever this file changes; write it to be re-runnable (CREATE OR REPLACE, DROP ... IF EXISTS).\n{TEMPLATE_NOTE}", description.replace('_', " ")),
            ));
        }
        Kind::Data => {
            let version = match explicit {
                Some(v) => v,
                None => versions.iter().max().cloned().ok_or_else(|| {
                    usage(
                        "there is no versioned migration yet",
                        "a data migration runs once the database reaches its version: write the schema migration first, or pass --version",
                    )
                })?,
            };
            if set
                .of_kind(MigrationKind::Data)
                .any(|m| m.version.as_ref() == Some(&version))
            {
                return Err(usage(
                    format!("a data migration for version {version} exists already"),
                    "add to that file, or pass another --version",
                ));
            }
            files.push((
                location.join(format!("D{version}{sep}{description}{suffix}")),
                format!("{TEMPLATE_MARKER}\n-- Data migration: {}\n-- Runs on EVERY migrate once the database is at version {version} or later,\n-- so it must be idempotent (UPDATE ... WHERE new_col IS NULL, INSERT ... ON CONFLICT DO NOTHING).\n{TEMPLATE_NOTE}", description.replace('_', " ")),
            ));
        }
        Kind::Versioned => {
            let version = match explicit {
                Some(v) => v,
                None if args.timestamp => timestamp_version(),
                None => next_version(&versions),
            };
            if versions.contains(&version) {
                return Err(usage(
                    format!("version {version} exists already"),
                    "leave --version out to take the next free version",
                ));
            }
            files.push((
                location.join(format!(
                    "{}{version}{sep}{description}{suffix}",
                    naming.sql_migration_prefix
                )),
                versioned_template(&description),
            ));
            if args.undo {
                files.push((
                    location.join(format!(
                        "{}{version}{sep}{description}{suffix}",
                        naming.undo_sql_migration_prefix
                    )),
                    format!(
                        "{TEMPLATE_MARKER}\n-- Undo V{version}: reverse what V{version}__{description}.sql does.\n{TEMPLATE_NOTE}"
                    ),
                ));
            }
        }
    }
    for (path, _) in &files {
        if path.exists() {
            return Err(usage(
                format!("{} exists already", path.display()),
                "choose another description",
            ));
        }
    }
    if out.json {
        let created: Vec<serde_json::Value> = files
            .iter()
            .map(
                |(p, text)| serde_json::json!({ "path": p.display().to_string(), "content": text }),
            )
            .collect();
        if !args.dry_run {
            for (path, text) in &files {
                write_new(path, text)?;
            }
        }
        out.json_value(&serde_json::json!({ "created": created, "dry_run": args.dry_run }));
        return Ok(ExitStatus::Ok);
    }
    for (path, text) in &files {
        if args.dry_run {
            out.data(&format!("-- {}\n{text}", path.display()));
        } else {
            write_new(path, text)?;
            out.data(&path.display().to_string());
        }
    }
    Ok(ExitStatus::Ok)
}

pub(crate) fn write_new(path: &Path, text: &str) -> Result<(), CliError> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            usage(
                format!("cannot create {}: {e}", path.display()),
                "check the location's permissions",
            )
        })?;
    file.write_all(text.as_bytes()).map_err(|e| {
        usage(
            format!("cannot write {}: {e}", path.display()),
            "check the disk",
        )
    })
}

/// The description as it goes in a file name: words joined by `_`.
fn file_description(text: &str) -> Result<String, CliError> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let joined = words.join("_");
    if joined.is_empty() {
        return Err(usage(
            "the description is empty",
            "say what the migration does, e.g. `godwit new add email to users`",
        ));
    }
    if let Some(c) = joined
        .chars()
        .find(|c| !(c.is_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(usage(
            format!("the description cannot contain `{c}`"),
            "use letters, digits, spaces, `_` and `-`",
        ));
    }
    Ok(joined)
}

/// One above the first part of the highest version: `1.2` -> `2`, none -> `1`. A project that
/// uses timestamps keeps using them.
fn next_version(versions: &[Version]) -> Version {
    let Some(max) = versions.iter().max() else {
        return Version::parse("1").expect("1 is a version");
    };
    let first = max.as_str().split('.').next().unwrap_or("0");
    if first.len() >= 14 {
        let ts = timestamp_version();
        if &ts > max {
            return ts;
        }
    }
    let next = increment(first.trim_start_matches('0'));
    Version::parse(&next).expect("digits are a version")
}

/// Adds one to a decimal digit string of any length.
fn increment(digits: &str) -> String {
    let mut bytes: Vec<u8> = if digits.is_empty() {
        b"0".to_vec()
    } else {
        digits.as_bytes().to_vec()
    };
    let mut i = bytes.len();
    loop {
        if i == 0 {
            bytes.insert(0, b'1');
            break;
        }
        i -= 1;
        if bytes[i] == b'9' {
            bytes[i] = b'0';
        } else {
            bytes[i] += 1;
            break;
        }
    }
    String::from_utf8(bytes).unwrap_or_else(|_| "1".into())
}

fn timestamp_version() -> Version {
    let now = godwit::utc_timestamp();
    let digits: String = now.chars().filter(char::is_ascii_digit).collect();
    Version::parse(&digits).expect("a timestamp is a version")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn next_version_follows_the_highest_first_part() {
        assert_eq!(next_version(&[]).as_str(), "1");
        assert_eq!(next_version(&[v("1"), v("1.10"), v("2")]).as_str(), "3");
        assert_eq!(next_version(&[v("9.5")]).as_str(), "10");
        assert_eq!(next_version(&[v("099")]).as_str(), "100");
        let ts = next_version(&[v("20200101120000")]);
        assert_eq!(ts.as_str().len(), 14);
        assert!(ts > v("20200101120000"));
    }

    #[test]
    fn descriptions_become_file_names() {
        assert_eq!(
            file_description("add  email to users").ok(),
            Some("add_email_to_users".into())
        );
        assert!(file_description("   ").is_err());
        assert!(file_description("../etc").is_err());
    }
}
