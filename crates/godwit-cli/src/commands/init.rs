//! `godwit init`: start a project in the working directory: a commented `godwit.toml` with
//! every key, the migrations directory and a first migration (still the template, which
//! `migrate` refuses until it holds SQL). It never overwrites anything: when `godwit.toml`
//! exists, nothing is written.

use std::path::{Path, PathBuf};

use crate::config::ConfigArgs;
use crate::context::CliError;
use crate::exit::ExitStatus;
use crate::output::Output;

/// The file `init` writes, with `{url}` and `{locations}` to fill in.
const TEMPLATE: &str = include_str!("init.toml");

/// The file name `init` writes, the one godwit reads from the working directory.
const CONFIG_FILE: &str = "godwit.toml";

/// The name of the first migration.
const FIRST_MIGRATION: &str = "V1__init.sql";

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialectArg {
    /// PostgreSQL
    Postgres,
    /// MySQL or MariaDB
    Mysql,
    /// SQLite (a file next to godwit.toml)
    Sqlite,
}

impl DialectArg {
    fn dialect(self) -> godwit::Dialect {
        match self {
            DialectArg::Postgres => godwit::Dialect::Postgres,
            DialectArg::Mysql => godwit::Dialect::MySql,
            DialectArg::Sqlite => godwit::Dialect::Sqlite,
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The kind of database, when no --url is given (postgres and mysql get an example URL to
    /// edit, sqlite a file named app.db)
    #[arg(long, value_enum, value_name = "KIND")]
    pub dialect: Option<DialectArg>,

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

/// A TOML string literal.
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// The `url` line of the new file, and what to tell the user about it.
fn url_line(
    url: Option<&str>,
    dialect: Option<DialectArg>,
) -> Result<(String, Option<String>), CliError> {
    let Some(url) = url else {
        return match dialect {
            Some(DialectArg::Sqlite) => Ok((format!("url = {}", toml_string("sqlite://app.db")), None)),
            Some(DialectArg::Postgres) => Ok((
                format!("# url = {}", toml_string("postgres://app@localhost:5432/app")),
                Some("set `url` in godwit.toml (or GODWIT_URL) to your PostgreSQL database".into()),
            )),
            Some(DialectArg::Mysql) => Ok((
                format!("# url = {}", toml_string("mysql://app@localhost:3306/app")),
                Some("set `url` in godwit.toml (or GODWIT_URL) to your MySQL or MariaDB database".into()),
            )),
            None => Err(usage(
                "`godwit init` needs to know the database: give --url or --dialect",
                "e.g. `godwit init --url postgres://app@localhost:5432/app`, or `godwit init --dialect sqlite` (also postgres or mysql)",
            )),
        };
    };
    let facts = godwit::check_url(url).map_err(|p| usage(p.message, p.hint))?;
    let redacted = godwit::redact_url(url);
    if facts.has_password {
        return Err(usage(
            format!("the URL `{redacted}` holds a password, which godwit.toml (usually committed) should not"),
            "give the URL without the password, and set it in GODWIT_PASSWORD or a `password_file` when you run godwit",
        ));
    }
    if let Some(wanted) = dialect {
        if wanted.dialect() != facts.dialect {
            return Err(usage(
                format!(
                    "`--dialect {}` does not match the URL `{redacted}`",
                    format!("{wanted:?}").to_lowercase()
                ),
                "leave out --dialect: the URL's scheme says which database it is",
            ));
        }
    }
    Ok((format!("url = {}", toml_string(url)), None))
}

pub async fn run(config: &ConfigArgs, args: &Args, out: &Output) -> Result<ExitStatus, CliError> {
    let (url, url_note) = url_line(config.url.as_deref(), args.dialect)?;
    let locations: Vec<&str> = if config.locations.is_empty() {
        vec!["migrations"]
    } else {
        config.locations.iter().map(String::as_str).collect()
    };
    if locations.iter().any(|l| l.trim().is_empty()) {
        return Err(usage(
            "--locations names an empty directory",
            "give directories, e.g. --locations db/migrations",
        ));
    }
    let config_path = PathBuf::from(CONFIG_FILE);
    if config_path.symlink_metadata().is_ok() {
        return Err(usage(
            format!("{CONFIG_FILE} exists already: `godwit init` overwrites nothing"),
            "edit the existing file (`godwit --help` and docs/configuration.md list every key), or run `godwit init` in another directory",
        ));
    }
    let location = Path::new(locations[0]);
    let first = location.join(FIRST_MIGRATION);
    // A directory that holds migrations already (a project moving to godwit) keeps them, and
    // gets no first migration.
    let existing = match location.symlink_metadata() {
        Ok(meta) if meta.is_dir() => godwit::discover(&[location.to_path_buf()])
            .map_err(godwit::Error::Files)?
            .len(),
        Ok(_) => {
            return Err(usage(
                format!("{} exists and is not a directory", location.display()),
                "move it away, or name another directory with --locations",
            ))
        }
        Err(_) => 0,
    };
    let quoted: Vec<String> = locations.iter().map(|l| toml_string(l)).collect();
    let text = TEMPLATE
        .replace("{url}", &url)
        .replace("{locations}", &quoted.join(", "));
    let mut files = vec![(config_path, text)];
    if existing == 0 {
        files.push((first.clone(), super::new::versioned_template("init")));
    }

    if out.json {
        let created: Vec<serde_json::Value> = files
            .iter()
            .map(
                |(p, text)| serde_json::json!({ "path": p.display().to_string(), "content": text }),
            )
            .collect();
        if !args.dry_run {
            write_all(location, &files)?;
        }
        out.json_value(&serde_json::json!({ "created": created, "dry_run": args.dry_run }));
        return Ok(ExitStatus::Ok);
    }
    if args.dry_run {
        for (path, text) in &files {
            out.data(&format!("-- {}\n{text}", path.display()));
        }
        return Ok(ExitStatus::Ok);
    }
    write_all(location, &files)?;
    for (path, _) in &files {
        out.data(&path.display().to_string());
    }
    if existing > 0 {
        out.message(&format!(
            "{} holds {existing} migration{} already: no first migration written",
            location.display(),
            if existing == 1 { "" } else { "s" }
        ));
    }
    if let Some(note) = url_note {
        out.message(&format!("Next: {note}"));
    }
    if existing == 0 {
        out.message(&format!(
            "Next: write your first migration in {}, then run `godwit migrate`",
            first.display()
        ));
    } else {
        out.message("Next: run `godwit info` to see your migrations' states");
    }
    Ok(ExitStatus::Ok)
}

/// Writes the files, creating the location; a file that appeared in the meantime stops it, and
/// what this run wrote is removed again.
fn write_all(location: &Path, files: &[(PathBuf, String)]) -> Result<(), CliError> {
    let created_dir = !location.exists();
    std::fs::create_dir_all(location).map_err(|e| {
        usage(
            format!("cannot create the directory {}: {e}", location.display()),
            "check the path and its permissions",
        )
    })?;
    let mut written: Vec<&Path> = Vec::new();
    for (path, text) in files {
        if let Err(e) = super::new::write_new(path, text) {
            for done in written {
                let _ = std::fs::remove_file(done);
            }
            if created_dir {
                let _ = std::fs::remove_dir(location);
            }
            return Err(e);
        }
        written.push(path);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key godwit knows is in the file `init` writes, so that it shows them all.
    #[test]
    fn the_template_lists_every_key() {
        let (url, _) = url_line(None, Some(DialectArg::Postgres)).unwrap();
        let text = TEMPLATE.replace("{url}", &url);
        for key in crate::config::key_names() {
            let set = format!("\n{key} = ");
            let shown = format!("\n# {key} = ");
            let table = format!("\n[{key}]");
            assert!(
                text.contains(&set) || text.contains(&shown) || text.contains(&table),
                "init.toml lacks `{key}`"
            );
        }
    }

    /// The file `init` writes is read by godwit as written, with the defaults for every key
    /// left commented out; and every commented-out value is a valid setting.
    #[test]
    fn the_written_file_loads() {
        let dir = tempfile::tempdir().unwrap();
        for url in ["sqlite://app.db", "postgres://app@localhost:5432/app"] {
            let text = TEMPLATE
                .replace("{url}", &format!("url = {}", toml_string(url)))
                .replace("{locations}", "\"migrations\"");
            let path = dir.path().join("godwit.toml");
            std::fs::write(&path, &text).unwrap();
            let loaded = crate::config::load_file_for_test(&path).unwrap();
            assert_eq!(loaded.config, godwit::Config::default());
            // A commented-out value that claims to be the default is the default.
            for line in text.lines() {
                let Some((key, value)) = line.strip_prefix("# ").and_then(|l| l.split_once(" = "))
                else {
                    continue;
                };
                if let Some(default) = crate::config::default_toml(key) {
                    assert_eq!(value, default, "the default of `{key}` in init.toml");
                }
            }
            // Every commented-out key, uncommented, is accepted too.
            let uncommented: String = text
                .lines()
                .map(|line| match line.strip_prefix("# ") {
                    Some(rest)
                        if rest.contains(" = ")
                            && rest.split(" = ").next().is_some_and(|k| {
                                k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                            }) =>
                    {
                        rest.replace('…', "x")
                    }
                    _ => line.to_owned(),
                })
                .collect::<Vec<_>>()
                .join("\n");
            let uncommented = uncommented.replace("\npassword = \"x\"\n", "\n");
            std::fs::write(&path, &uncommented).unwrap();
            let loaded = crate::config::load_file_for_test(&path);
            assert!(loaded.is_ok(), "{uncommented}\n{:?}", loaded.err());
        }
    }
}
