//! The layers, applied in order: defaults < files < environment < flags.

use std::path::{Path, PathBuf};

use super::args::ConfigArgs;
use super::discover::{implicit_files, read_config, user_config_base};
use super::env::Env;
use super::errors::{invalid, ConfigError, Origin, Problem};
use super::file::apply_file;
use super::keys::{Key, Slot, KEYS};
use super::values::{
    check_lock_timeout, check_placeholder_name, check_positive, check_table, non_empty,
    parse_baseline_version, parse_bool, parse_count, parse_duration_text, parse_level,
    parse_lint_rules, parse_locations, parse_statement_limit, parse_target, split_list,
    PlaceholderNames,
};
use super::Settings;

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
pub(super) fn load(
    args: &ConfigArgs,
    env: &Env,
    cwd: &Path,
    exe_dir: Option<&Path>,
    user_config_dir: Option<&Path>,
) -> Result<Settings, ConfigError> {
    let mut settings = Settings::default();
    let flyway = super::flyway::gather(args, env, cwd)?;
    flyway.apply_below(&mut settings)?;
    let files: Vec<(PathBuf, bool)> = implicit_files(exe_dir, user_config_dir)
        .into_iter()
        .map(|path| (path, false))
        .chain(args.config.iter().map(|path| (path.clone(), true)))
        .collect();
    for (path, required) in &files {
        if let Some(text) = read_config(cwd, path, *required)? {
            apply_file(&mut settings, path, &text)?;
        }
    }
    apply_env(&mut settings, env)?;
    flyway.apply_command_line(&mut settings)?;
    apply_flags(&mut settings, args)?;
    Ok(settings)
}

/// Stores a value read from an environment variable (or from one of Flyway's sources, which are
/// text too).
pub(super) fn set_from_env(settings: &mut Settings, key: &Key, value: &str) -> Result<(), Problem> {
    match key.slot {
        Slot::Password => {
            // Used as given: spaces may be part of a password.
            settings.cli.password = Some(value.to_owned());
            settings.cli.password_file = None;
        }
        Slot::PasswordFile => {
            settings.cli.password_file = Some(PathBuf::from(non_empty(value)?));
            settings.cli.password = None;
        }
        Slot::Url => settings.cli.url = Some(non_empty(value)?),
        Slot::OptText(field) => *field(settings) = Some(non_empty(value)?),
        Slot::Table => {
            settings.config.table = check_table(non_empty(value)?)?;
            settings.config.find_flyway_history = false;
        }
        Slot::Target => settings.config.target = parse_target(&non_empty(value)?)?,
        Slot::BaselineVersion => {
            settings.config.baseline_version = parse_baseline_version(&non_empty(value)?)?
        }
        Slot::Paths(field) => *field(settings) = parse_locations(&split_list(value))?,
        Slot::List(field) => *field(settings) = split_list(value),
        Slot::Bool(field) => *field(settings) = parse_bool(value)?,
        Slot::Duration(field) => {
            *field(settings) = check_positive(key.key, parse_duration_text(value)?)?
        }
        Slot::OptDuration(field) => *field(settings) = Some(parse_statement_limit(value)?),
        Slot::Count(field) => *field(settings) = parse_count(value)?,
        Slot::Placeholders => {}
        Slot::Level(field) => *field(settings) = parse_level(value)?,
        Slot::LintRules => settings.cli.lint_rules.extend(parse_lint_rules(value)?),
        Slot::Text(field) => *field(settings) = non_empty(value)?,
        Slot::ParsedList(store) => store(settings, &split_list(value)).map_err(Problem::new)?,
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
    for key in KEYS {
        if let Slot::Placeholders = key.slot {
            continue;
        }
        let Some((var, value)) = key
            .env
            .iter()
            .find_map(|var| env.get(var).map(|value| (*var, value)))
        else {
            continue;
        };
        set_from_env(settings, key, value).map_err(|problem| {
            invalid(
                Origin::Env {
                    var: var.to_owned(),
                },
                key.key,
                problem,
            )
        })?;
    }
    let mut names = PlaceholderNames::default();
    for (name, var, value) in env.placeholders() {
        let origin = Origin::Env {
            var: var.to_owned(),
        };
        let name = check_placeholder_name(name)
            .and_then(|lower| {
                names.check(name, &lower, format!("by {var}"))?;
                Ok(lower)
            })
            .map_err(|problem| invalid(origin, &format!("placeholders.{name}"), problem))?;
        settings.config.placeholders.insert(name, value.to_owned());
    }
    Ok(())
}

fn apply_flags(settings: &mut Settings, args: &ConfigArgs) -> Result<(), ConfigError> {
    let flag = |flag: &str| Origin::Flag {
        flag: flag.to_owned(),
    };
    if let Some(url) = &args.url {
        settings.cli.url = Some(non_empty(url).map_err(|p| invalid(flag("--url"), "url", p))?);
    }
    if !args.locations.is_empty() {
        let entries: Vec<String> = args.locations.iter().flat_map(|s| split_list(s)).collect();
        settings.cli.locations =
            parse_locations(&entries).map_err(|p| invalid(flag("--locations"), "locations", p))?;
    }
    if let Some(table) = &args.table {
        settings.config.table = non_empty(table)
            .and_then(check_table)
            .map_err(|p| invalid(flag("--table"), "table", p))?;
        settings.config.find_flyway_history = false;
    }
    if !args.schemas.is_empty() {
        settings.config.schemas = args.schemas.iter().flat_map(|s| split_list(s)).collect();
    }
    if let Some(target) = &args.target {
        settings.config.target = non_empty(target)
            .and_then(|text| parse_target(&text))
            .map_err(|p| invalid(flag("--target"), "target", p))?;
    }
    if args.out_of_order {
        settings.config.out_of_order = true;
    }
    if let Some(timeout) = args.lock_timeout {
        settings.config.lock_timeout = check_lock_timeout(timeout)
            .map_err(|p| invalid(flag("--lock-timeout"), "lock_timeout", p))?;
    }
    if let Some(expiry) = args.lock_lease {
        settings.cli.lock_lease = Some(expiry);
    }
    if let Some(timeout) = args.statement_lock_timeout {
        settings.config.statement_lock_timeout = Some(timeout);
    }
    if let Some(timeout) = args.statement_timeout {
        settings.config.statement_timeout = Some(timeout);
    }
    if let Some(retries) = args.statement_lock_retries {
        settings.config.statement_lock_retries =
            parse_count(&retries.to_string()).map_err(|p| {
                invalid(
                    flag("--statement-lock-retries"),
                    "statement_lock_retries",
                    p,
                )
            })?;
    }
    if let Some(timeout) = args.connect_timeout {
        settings.cli.connect_timeout = check_positive("connect_timeout", timeout)
            .map_err(|p| invalid(flag("--connect-timeout"), "connect_timeout", p))?;
    }
    if let Some(retries) = args.connect_retries {
        settings.cli.connect_retries = parse_count(&retries.to_string())
            .map_err(|p| invalid(flag("--connect-retries"), "connect_retries", p))?;
    }
    if let Some(interval) = args.connect_retries_interval {
        settings.cli.connect_retries_interval =
            check_positive("connect_retries_interval", interval).map_err(|p| {
                invalid(
                    flag("--connect-retries-interval"),
                    "connect_retries_interval",
                    p,
                )
            })?;
    }
    let mut names = PlaceholderNames::default();
    for (name, value) in &args.placeholders {
        let name = check_placeholder_name(name)
            .and_then(|lower| {
                names.check(name, &lower, format!("by --placeholder {name}=…"))?;
                Ok(lower)
            })
            .map_err(|p| invalid(flag("--placeholder"), &format!("placeholders.{name}"), p))?;
        settings.config.placeholders.insert(name, value.clone());
    }
    Ok(())
}
