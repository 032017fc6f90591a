//! Flyway's configuration, read as Flyway reads it and mapped onto godwit's settings, so that a
//! Flyway project runs under godwit with no edits (docs/flyway.md):
//!
//! - the files: `flyway.toml` (with `[environments.<name>]`, `environment = …` and
//!   `${env.VAR}`) or, when no TOML file is found, `flyway.conf` (Java properties, `${VAR}`), from
//!   the user's home directory and the working directory, or exactly those of `configFiles`
//!   (`-configFiles=`, `FLYWAY_CONFIG_FILES`);
//! - the `FLYWAY_*` environment variables;
//! - the arguments of `godwit flyway` (`-url=… -locations=… migrate`).
//!
//! A project configured through any of them starts from Flyway's defaults (the history table
//! `flyway_schema_history`, the location `sql`, …). The layers, lowest first: godwit's defaults,
//! Flyway's defaults, Flyway's files, `FLYWAY_*`, godwit's files, `GODWIT_*`, `godwit flyway`'s
//! arguments, godwit's flags. Every Flyway setting either takes effect or is refused by name
//! ([`settings`]).

mod properties;
mod settings;
mod toml_file;

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::args::ConfigArgs;
use super::discover::read_config;
use super::env::Env;
use super::errors::{invalid, ConfigError, Origin, Problem};
use super::keys;
use super::layers::set_from_env;
use super::values::{check_placeholder_name, non_empty, quote};
use super::Settings;
use settings::Mapping;

/// The arguments of `godwit flyway` that are settings (`-url=…` as `("url", "…")`), in order.
#[derive(Clone, Default)]
pub struct FlywayCommandLine {
    /// The settings, by Flyway's name (without `-` and `flyway.`), with their values.
    pub settings: Vec<(String, String)>,
}

/// One Flyway setting as a source gives it.
#[derive(Debug, Clone)]
struct Entry {
    /// Flyway's name, without `flyway.`: `url`, `placeholders.owner`.
    name: String,
    /// The name as the source wrote it, for messages: `flyway.url`, `-url`.
    written: String,
    value: String,
    origin: Origin,
}

/// Where Flyway's settings come from, gathered before any is applied.
pub(super) struct Sources {
    /// Files, then `FLYWAY_*`: below godwit's own files.
    below: Vec<Entry>,
    /// `godwit flyway`'s arguments: above godwit's files and variables.
    command_line: Vec<Entry>,
    /// Whether the project is configured through Flyway (its defaults apply).
    configured: bool,
    /// Whether this is `godwit flyway` (where `outputType` is honoured).
    command: bool,
}

/// The history table Flyway writes.
pub(super) const FLYWAY_TABLE: &str = "flyway_schema_history";

/// What godwit's `--json` is asked for by Flyway's settings: `outputType=json` in any source.
pub fn wants_json(args: &ConfigArgs) -> Result<bool, ConfigError> {
    let env = Env::from_process();
    let cwd = std::env::current_dir().map_err(|source| ConfigError::WorkingDir { source })?;
    let sources = gather(args, &env, &cwd)?;
    Ok(sources
        .below
        .iter()
        .chain(&sources.command_line)
        .rfind(|e| e.name == "outputType")
        .is_some_and(|e| e.value.trim().eq_ignore_ascii_case("json")))
}

impl Sources {
    /// Flyway's defaults, files and variables, when the project is configured through Flyway.
    pub(super) fn apply_below(&self, settings: &mut Settings) -> Result<(), ConfigError> {
        if self.configured {
            apply_defaults(settings);
        }
        self.below
            .iter()
            .try_for_each(|entry| apply(settings, entry, self.command))
    }

    /// `godwit flyway`'s arguments.
    pub(super) fn apply_command_line(&self, settings: &mut Settings) -> Result<(), ConfigError> {
        self.command_line
            .iter()
            .try_for_each(|entry| apply(settings, entry, self.command))
    }
}

/// Flyway's defaults where they differ from godwit's (docs/flyway.md, "Defaults").
fn apply_defaults(settings: &mut Settings) {
    settings.config.table = FLYWAY_TABLE.to_owned();
    settings.cli.locations = vec![PathBuf::from("sql")];
    // Keys the engine defines (docs/configuration.md); left alone by a build without them.
    for (name, value) in [
        ("baseline_description", "<< Flyway Baseline >>"),
        ("validate_migration_naming", "false"),
    ] {
        if let Some(key) = keys::key(name) {
            let _ = set_from_env(settings, key, value);
        }
    }
}

/// Gathers the Flyway sources: `godwit flyway`'s arguments, `FLYWAY_*`, and the files they (or
/// the defaults) name.
pub(super) fn gather(args: &ConfigArgs, env: &Env, cwd: &Path) -> Result<Sources, ConfigError> {
    let command = args.flyway.is_some();
    let command_line: Vec<Entry> = args
        .flyway
        .iter()
        .flat_map(|line| &line.settings)
        .map(|(name, value)| Entry {
            name: name.strip_prefix("flyway.").unwrap_or(name).to_owned(),
            written: format!("-{name}"),
            value: value.clone(),
            origin: Origin::Flag {
                flag: format!("-{name}"),
            },
        })
        .collect();
    let from_env: Vec<Entry> = env
        .flyway_vars()
        .filter_map(|(var, value)| {
            settings::setting_of_env(var).map(|name| Entry {
                name,
                written: var.to_owned(),
                value: value.to_owned(),
                origin: Origin::Env {
                    var: var.to_owned(),
                },
            })
        })
        .collect();
    let last = |name: &str| -> Option<&Entry> {
        command_line
            .iter()
            .rev()
            .find(|e| e.name == name)
            .or_else(|| from_env.iter().rev().find(|e| e.name == name))
    };
    if let Some(entry) = last("configFileEncoding") {
        let value = entry.value.trim();
        if !["UTF-8", "UTF8"]
            .iter()
            .any(|v| v.eq_ignore_ascii_case(value))
        {
            return Err(invalid(
                entry.origin.clone(),
                &entry.written,
                Problem::new(format!(
                    "is {}, but godwit reads configuration files as UTF-8",
                    quote(value)
                ))
                .hint("save the file as UTF-8 and remove the setting"),
            ));
        }
    }
    let (files, required) = match last("configFiles") {
        Some(entry) => (
            entry
                .value
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
                .collect::<Vec<_>>(),
            true,
        ),
        None => (implicit_files(env, cwd), false),
    };
    let is_toml = |p: &PathBuf| {
        p.extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
    };
    if required && files.iter().any(is_toml) && !files.iter().all(is_toml) {
        let entry = last("configFiles").expect("configFiles was given");
        return Err(invalid(
            entry.origin.clone(),
            &entry.written,
            Problem::new("names both TOML and .conf files, which Flyway does not read together")
                .hint("name the flyway.toml files, or the flyway.conf files"),
        ));
    }
    let mut read = Vec::new();
    for path in &files {
        if let Some(text) = read_config(cwd, path, required)? {
            read.push((path.clone(), text));
        }
    }
    // Flyway reads TOML when it finds any, and then no .conf file.
    let toml_mode = read.iter().any(|(p, _)| is_toml(p));
    let parsed: Vec<toml_file::TomlFile> = read
        .iter()
        .filter(|(p, _)| toml_mode && is_toml(p))
        .map(|(p, text)| toml_file::TomlFile::parse(p, text))
        .collect::<Result<_, _>>()?;
    let environment = match last("environment") {
        Some(entry) => {
            non_empty(&entry.value).map_err(|p| invalid(entry.origin.clone(), &entry.written, p))?
        }
        None => parsed
            .iter()
            .rev()
            .find_map(toml_file::TomlFile::environment)
            .unwrap_or_else(|| "default".to_owned()),
    };
    let defined = parsed.iter().any(|f| f.defines(&environment))
        || command_line
            .iter()
            .any(|e| e.name.starts_with(&format!("environments.{environment}.")));
    if !defined && environment != "default" {
        let origin = last("environment").map_or_else(
            || Origin::File {
                path: parsed.last().map(|f| f.path.clone()).unwrap_or_default(),
                line: None,
            },
            |e| e.origin.clone(),
        );
        return Err(invalid(
            origin,
            "environment",
            Problem::new(format!(
                "names the environment {}, which no flyway.toml defines",
                quote(&environment)
            ))
            .hint(format!(
                "add [environments.{environment}] with its url to flyway.toml, or name an environment it defines"
            )),
        ));
    }
    let mut below = Vec::new();
    if toml_mode {
        for file in &parsed {
            below.extend(file.entries(&environment, env)?);
        }
    } else {
        for (path, text) in &read {
            below.extend(conf_entries(path, text, env)?);
        }
    }
    let command_line = select_environment(command_line, &environment);
    let configured = command || !read.is_empty() || !from_env.is_empty();
    below.extend(from_env);
    Ok(Sources {
        below,
        command_line,
        configured,
        command,
    })
}

/// The files Flyway reads when `configFiles` is not given, lowest precedence first: in the
/// user's home directory, then in the working directory. Flyway reads the TOML ones when there
/// are any, and otherwise the .conf ones.
fn implicit_files(env: &Env, cwd: &Path) -> Vec<PathBuf> {
    let home = env.var("HOME").filter(|h| !h.is_empty()).map(PathBuf::from);
    let mut files = Vec::new();
    for name in ["flyway.toml", "flyway.user.toml", "flyway.conf"] {
        if let Some(home) = &home {
            if home != cwd {
                files.push(home.join(name));
            }
        }
        files.push(PathBuf::from(name));
    }
    files
}

/// Keeps the command line's `environments.<selected>.…` settings, as the names they set, and drops
/// other environments' (Flyway does not read them either).
fn select_environment(entries: Vec<Entry>, selected: &str) -> Vec<Entry> {
    let prefix = format!("environments.{selected}.");
    entries
        .into_iter()
        .filter_map(|mut entry| {
            if let Some(rest) = entry.name.strip_prefix(&prefix) {
                entry.name = rest.strip_prefix("flyway.").unwrap_or(rest).to_owned();
                Some(entry)
            } else if entry.name.starts_with("environments.") {
                None
            } else {
                Some(entry)
            }
        })
        .collect()
}

/// The settings of one `flyway.conf`, with `${VAR}` replaced by the environment variable's value.
fn conf_entries(path: &Path, text: &str, env: &Env) -> Result<Vec<Entry>, ConfigError> {
    properties::parse(text)
        .into_iter()
        .map(|property| {
            let origin = Origin::File {
                path: path.to_owned(),
                line: Some(property.line),
            };
            let Some(name) = property.key.strip_prefix("flyway.") else {
                return Err(invalid(
                    origin,
                    &property.key,
                    Problem::new("is not a Flyway setting (they start with `flyway.`)").hint(
                        match settings::find(&property.key) {
                            Some(s) => format!("write it as flyway.{}", s.name),
                            None => "remove it, or spell it flyway.<setting>".to_owned(),
                        },
                    ),
                ));
            };
            let value = expand_conf_variables(&property.value, env)
                .map_err(|p| invalid(origin.clone(), &property.key, p))?;
            Ok(Entry {
                name: name.to_owned(),
                written: property.key.clone(),
                value,
                origin,
            })
        })
        .collect()
}

/// Replaces `${NAME}` (letters, digits, `_`) with the environment variable's value, as Flyway
/// does in .conf files. An unset variable is refused rather than read as empty.
fn expand_conf_variables(value: &str, env: &Env) -> Result<String, Problem> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            out.push_str(&rest[..start + 2]);
            rest = after;
            continue;
        }
        let Some(found) = env.var(name) else {
            return Err(Problem::new(format!(
                "refers to the environment variable {name} (`${{{name}}}`), which is not set"
            ))
            .hint(format!("set {name}, or write the value in the file")));
        };
        out.push_str(&rest[..start]);
        out.push_str(found);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The problem for a setting that is refused.
fn unsupported(instead: &str) -> Problem {
    Problem::new("is a Flyway setting godwit does not support").hint(instead)
}

/// Applies one Flyway setting onto godwit's.
fn apply(settings: &mut Settings, entry: &Entry, command: bool) -> Result<(), ConfigError> {
    let fail = |problem: Problem| invalid(entry.origin.clone(), &entry.written, problem);
    let Some(setting) = settings::find(&entry.name) else {
        let hint = match settings::suggest(&entry.name) {
            Some(name) => format!("did you mean `{name}`?"),
            None => "docs/flyway.md lists the settings godwit reads".to_owned(),
        };
        return Err(fail(
            Problem::new("is not a Flyway setting godwit knows").hint(hint),
        ));
    };
    let value = entry.value.as_str();
    match setting.mapping {
        // `flyway.user=` and `flyway.password=` left empty (as templates have them) set nothing:
        // an empty password is no password to JDBC.
        Mapping::Key(name @ ("user" | "password")) if value.is_empty() => match name {
            "user" => settings.cli.user = None,
            _ => settings.cli.password = None,
        },
        Mapping::Key(name) => {
            let Some(key) = keys::key(name) else {
                return Err(fail(unsupported(&format!(
                    "this build of godwit has no `{name}` setting yet; remove it"
                ))));
            };
            set_from_env(settings, key, value).map_err(fail)?;
        }
        Mapping::Url => {
            let url = non_empty(value).map_err(fail)?;
            let native = godwit::native_url(&url).map_err(|p| {
                fail(Problem::new(format!("is refused: {}", p.message)).hint(p.hint))
            })?;
            settings.cli.url = Some(native.into_owned());
        }
        Mapping::LockRetryCount => {
            let retries: i64 = value.trim().parse().map_err(|_| {
                fail(
                    Problem::new(format!("must be a whole number, not {}", quote(value)))
                        .hint("Flyway retries once a second: 60 waits a minute, -1 for ever"),
                )
            })?;
            settings.config.lock_timeout = match retries {
                -1 => Duration::from_secs(365 * 24 * 60 * 60),
                n if n >= 0 => Duration::from_secs(n.unsigned_abs().min(365 * 24 * 60 * 60)),
                _ => {
                    return Err(fail(
                        Problem::new(format!("must be -1 or more, not {retries}"))
                            .hint("-1 waits for ever; 50 (Flyway's default) about 50 seconds"),
                    ))
                }
            };
        }
        Mapping::Placeholder => {
            let name = &entry.name["placeholders.".len()..];
            let lower = check_placeholder_name(name).map_err(fail)?;
            settings.config.placeholders.insert(lower, value.to_owned());
        }
        Mapping::Inherent(why) => {
            tracing::debug!(setting = %entry.written, "accepted, with no effect: {why}");
        }
        Mapping::Sources => {}
        Mapping::Only(allowed, instead) => {
            if !allowed.iter().any(|a| a.eq_ignore_ascii_case(value.trim())) {
                return Err(fail(
                    Problem::new(format!(
                        "is set to {}, which godwit does not support",
                        quote(value.trim())
                    ))
                    .hint(instead),
                ));
            }
        }
        Mapping::Refused(instead) => return Err(fail(unsupported(instead))),
        Mapping::OutputType => {
            let json = value.trim().eq_ignore_ascii_case("json");
            if !json && !value.trim().is_empty() {
                return Err(fail(
                    Problem::new(format!(
                        "is {}, but godwit writes text or JSON",
                        quote(value)
                    ))
                    .hint("use -outputType=json, or leave it out for text"),
                ));
            }
            if !command && json {
                return Err(fail(
                    Problem::new("asks for JSON, which plain godwit commands give with --json")
                        .hint("pass --json, or run the command as `godwit flyway …`"),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
