//! The layers as a user meets them: precedence, every key's parsing and its errors.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, CommandFactory, Parser};
use godwit::redact_url;

use super::args::parse_placeholder_arg;
use super::env::{Env, PLACEHOLDER_ENV_PREFIX};
use super::errors::{at, missing_url_hint};
use super::file::{apply_file, line_of, raw_value_text};
use super::keys::{key_doc, normalise_key, suggest_key, DOCS};
use super::layers::load;
use super::urls::resolve_sqlite_url;
use super::values::{parse_duration_text, parse_location};
use super::{ConfigArgs, ConfigError, Settings};

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

fn load_args(flags: &[&str]) -> Result<Settings, ConfigError> {
    Fixture::new().load(&args(flags), &[])
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
    assert_eq!(settings.cli.url, None);
    assert_eq!(settings.cli.locations, vec![PathBuf::from("migrations")]);
    assert_eq!(settings.config.table, "godwit_schema_history");
    assert!(settings.config.schemas.is_empty());
    assert_eq!(settings.config.target.to_string(), "latest");
    assert!(!settings.config.out_of_order);
    assert!(settings.config.validate_on_migrate);
    assert!(!settings.config.baseline_on_migrate);
    assert_eq!(settings.config.baseline_version.to_string(), "1");
    assert!(settings.cli.clean_disabled);
    assert_eq!(settings.config.lock_timeout, Duration::from_secs(600));
    assert!(!settings.config.mixed);
    assert_eq!(settings.config.installed_by, None);
    assert!(settings.config.placeholders.is_empty());
}

#[test]
fn documented_defaults_match_settings_default() {
    for doc in DOCS {
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
            if doc.key == "table" {
                // Setting the table, even to its default, is choosing it: godwit then does not
                // look for Flyway's history table instead (docs/design.md §2.8).
                assert!(!settings.config.find_flyway_history);
                settings.config.find_flyway_history = true;
            }
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
            get: |s| s.cli.url.clone().unwrap_or_default(),
        },
        Case {
            key: "locations",
            env: Some("GODWIT_LOCATIONS"),
            flag: true,
            token: |layer, _| format!("loc{layer}"),
            toml: |t| format!("locations = [\"{t}\"]"),
            flag_args: |t| vec!["--locations".into(), t.into()],
            get: |s| {
                s.cli.locations[0]
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
            get: |s| s.config.table.clone(),
        },
        Case {
            key: "schemas",
            env: Some("GODWIT_SCHEMAS"),
            flag: true,
            token: |layer, _| format!("s{layer}"),
            toml: |t| format!("schemas = [\"{t}\"]"),
            flag_args: |t| vec!["--schemas".into(), t.into()],
            get: |s| s.config.schemas.join(","),
        },
        Case {
            key: "target",
            env: Some("GODWIT_TARGET"),
            flag: true,
            token: |layer, _| format!("{}.0", layer + 2),
            toml: |t| format!("target = \"{t}\""),
            flag_args: |t| vec!["--target".into(), t.into()],
            get: |s| s.config.target.to_string(),
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
            get: |s| s.config.out_of_order.to_string(),
        },
        Case {
            key: "validate_on_migrate",
            env: Some("GODWIT_VALIDATE_ON_MIGRATE"),
            flag: false,
            token: top_false,
            toml: |t| format!("validate_on_migrate = {t}"),
            flag_args: |_| Vec::new(),
            get: |s| s.config.validate_on_migrate.to_string(),
        },
        Case {
            key: "baseline_on_migrate",
            env: Some("GODWIT_BASELINE_ON_MIGRATE"),
            flag: false,
            token: top_true,
            toml: |t| format!("baseline_on_migrate = {t}"),
            flag_args: |_| Vec::new(),
            get: |s| s.config.baseline_on_migrate.to_string(),
        },
        Case {
            key: "baseline_version",
            env: Some("GODWIT_BASELINE_VERSION"),
            flag: false,
            token: |layer, _| format!("1.{layer}"),
            toml: |t| format!("baseline_version = \"{t}\""),
            flag_args: |_| Vec::new(),
            get: |s| s.config.baseline_version.to_string(),
        },
        Case {
            key: "clean_disabled",
            env: Some("GODWIT_CLEAN_DISABLED"),
            flag: false,
            token: top_false,
            toml: |t| format!("clean_disabled = {t}"),
            flag_args: |_| Vec::new(),
            get: |s| s.cli.clean_disabled.to_string(),
        },
        Case {
            key: "lock_timeout",
            env: Some("GODWIT_LOCK_TIMEOUT"),
            flag: true,
            token: |layer, _| format!("{}m", layer + 1),
            toml: |t| format!("lock_timeout = \"{t}\""),
            flag_args: |t| vec!["--lock-timeout".into(), t.into()],
            get: |s| format!("{}m", s.config.lock_timeout.as_secs() / 60),
        },
        Case {
            key: "lock_lease",
            env: Some("GODWIT_LOCK_LEASE"),
            flag: true,
            token: |layer, _| format!("{}s", layer + 1),
            toml: |t| format!("lock_lease = \"{t}\""),
            flag_args: |t| vec!["--lock-lease".into(), t.into()],
            get: |s| format!("{}s", s.cli.lock_lease.unwrap_or_default().as_secs()),
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
                    s.config
                        .statement_lock_timeout
                        .unwrap_or_default()
                        .as_secs()
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
            get: |s| {
                format!(
                    "{}s",
                    s.config.statement_timeout.unwrap_or_default().as_secs()
                )
            },
        },
        Case {
            key: "statement_lock_retries",
            env: Some("GODWIT_STATEMENT_LOCK_RETRIES"),
            flag: true,
            token: |layer, _| format!("{}", layer + 1),
            toml: |t| format!("statement_lock_retries = {t}"),
            flag_args: |t| vec!["--statement-lock-retries".into(), t.into()],
            get: |s| s.config.statement_lock_retries.to_string(),
        },
        Case {
            key: "connect_timeout",
            env: Some("GODWIT_CONNECT_TIMEOUT"),
            flag: true,
            token: |layer, _| format!("{}s", layer + 1),
            toml: |t| format!("connect_timeout = \"{t}\""),
            flag_args: |t| vec!["--connect-timeout".into(), t.into()],
            get: |s| format!("{}s", s.cli.connect_timeout.as_secs()),
        },
        Case {
            key: "connect_retries",
            env: Some("GODWIT_CONNECT_RETRIES"),
            flag: true,
            token: |layer, _| format!("{}", layer + 1),
            toml: |t| format!("connect_retries = {t}"),
            flag_args: |t| vec!["--connect-retries".into(), t.into()],
            get: |s| s.cli.connect_retries.to_string(),
        },
        Case {
            key: "connect_retries_interval",
            env: Some("GODWIT_CONNECT_RETRIES_INTERVAL"),
            flag: true,
            token: |layer, _| format!("{}s", layer + 1),
            toml: |t| format!("connect_retries_interval = \"{t}\""),
            flag_args: |t| vec!["--connect-retries-interval".into(), t.into()],
            get: |s| format!("{}s", s.cli.connect_retries_interval.as_secs()),
        },
        Case {
            key: "mixed",
            env: Some("GODWIT_MIXED"),
            flag: false,
            token: top_true,
            toml: |t| format!("mixed = {t}"),
            flag_args: |_| Vec::new(),
            get: |s| s.config.mixed.to_string(),
        },
        Case {
            key: "checksum_cache",
            env: Some("GODWIT_CHECKSUM_CACHE"),
            flag: false,
            token: top_false,
            toml: |t| format!("checksum_cache = {t}"),
            flag_args: |_| Vec::new(),
            get: |s| s.cli.checksum_cache.to_string(),
        },
        Case {
            key: "password",
            env: Some("GODWIT_PASSWORD"),
            flag: false,
            token: |layer, _| format!("pw{layer}"),
            toml: |t| format!("password = \"{t}\""),
            flag_args: |_| Vec::new(),
            get: |s| s.cli.password.clone().unwrap_or_default(),
        },
        Case {
            key: "password_file",
            env: Some("GODWIT_PASSWORD_FILE"),
            flag: false,
            token: |layer, _| format!("/secrets/pw{layer}"),
            toml: |t| format!("password_file = \"{t}\""),
            flag_args: |_| Vec::new(),
            get: |s| {
                s.cli
                    .password_file
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            },
        },
        Case {
            key: "user",
            env: Some("GODWIT_USER"),
            flag: false,
            token: |layer, _| format!("user{layer}"),
            toml: |t| format!("user = \"{t}\""),
            flag_args: |_| Vec::new(),
            get: |s| s.cli.user.clone().unwrap_or_default(),
        },
        Case {
            key: "installed_by",
            env: Some("GODWIT_INSTALLED_BY"),
            flag: false,
            token: |layer, _| format!("user{layer}"),
            toml: |t| format!("installed_by = \"{t}\""),
            flag_args: |_| Vec::new(),
            get: |s| s.config.installed_by.clone().unwrap_or_default(),
        },
        Case {
            key: "store_undo",
            env: Some("GODWIT_STORE_UNDO"),
            flag: false,
            token: top_false,
            toml: |t| format!("store_undo = {t}"),
            flag_args: |_| Vec::new(),
            get: |s| s.config.store_undo.to_string(),
        },
        Case {
            key: "placeholders",
            env: Some("GODWIT_PLACEHOLDERS_P"),
            flag: true,
            token: |layer, _| format!("value{layer}"),
            toml: |t| format!("[placeholders]\np = \"{t}\""),
            flag_args: |t| vec!["--placeholder".into(), format!("p={t}")],
            get: |s| s.config.placeholders.get("p").cloned().unwrap_or_default(),
        },
        Case {
            key: "lint",
            env: Some("GODWIT_LINT"),
            flag: false,
            token: |layer, top| if layer == top { "error" } else { "off" }.to_owned(),
            toml: |t| format!("lint = \"{t}\""),
            flag_args: |_| Vec::new(),
            get: |s| s.cli.lint.to_string(),
        },
        Case {
            key: "lint_rules",
            env: Some("GODWIT_LINT_RULES"),
            flag: false,
            // Rules merge rule by rule: the top layer's level for the rule wins.
            token: |layer, top| {
                format!(
                    "missing-undo={}",
                    if layer == top { "error" } else { "off" }
                )
            },
            toml: |t| {
                let (rule, level) = t.split_once('=').unwrap();
                format!("[lint_rules]\n{rule} = \"{level}\"")
            },
            flag_args: |_| Vec::new(),
            get: |s| {
                s.cli
                    .lint_rules
                    .iter()
                    .map(|(rule, level)| format!("{rule}={level}"))
                    .collect::<Vec<_>>()
                    .join(",")
            },
        },
        Case {
            key: "sql_migration_prefix",
            env: Some("GODWIT_SQL_MIGRATION_PREFIX"),
            flag: false,
            token: |layer, _| format!("M{layer}"),
            toml: |t| format!("sql_migration_prefix = \"{t}\""),
            flag_args: |_| Vec::new(),
            get: |s| s.config.naming.sql_migration_prefix.clone(),
        },
        Case {
            key: "sql_migration_separator",
            env: Some("GODWIT_SQL_MIGRATION_SEPARATOR"),
            flag: false,
            token: |layer, _| format!("-{layer}"),
            toml: |t| format!("sql_migration_separator = \"{t}\""),
            flag_args: |_| Vec::new(),
            get: |s| s.config.naming.sql_migration_separator.clone(),
        },
        Case {
            key: "sql_migration_suffixes",
            env: Some("GODWIT_SQL_MIGRATION_SUFFIXES"),
            flag: false,
            token: |layer, _| format!(".s{layer}"),
            toml: |t| format!("sql_migration_suffixes = \"{t}\""),
            flag_args: |_| Vec::new(),
            get: |s| s.config.naming.sql_migration_suffixes.join(","),
        },
        Case {
            key: "repeatable_sql_migration_prefix",
            env: Some("GODWIT_REPEATABLE_SQL_MIGRATION_PREFIX"),
            flag: false,
            token: |layer, _| format!("RR{layer}"),
            toml: |t| format!("repeatable_sql_migration_prefix = \"{t}\""),
            flag_args: |_| Vec::new(),
            get: |s| s.config.naming.repeatable_sql_migration_prefix.clone(),
        },
        Case {
            key: "undo_sql_migration_prefix",
            env: Some("GODWIT_UNDO_SQL_MIGRATION_PREFIX"),
            flag: false,
            token: |layer, _| format!("UU{layer}"),
            toml: |t| format!("undo_sql_migration_prefix = \"{t}\""),
            flag_args: |_| Vec::new(),
            get: |s| s.config.naming.undo_sql_migration_prefix.clone(),
        },
        Case {
            key: "baseline_migration_prefix",
            env: Some("GODWIT_BASELINE_MIGRATION_PREFIX"),
            flag: false,
            token: |layer, _| format!("BB{layer}"),
            toml: |t| format!("baseline_migration_prefix = \"{t}\""),
            flag_args: |_| Vec::new(),
            get: |s| s.config.naming.baseline_migration_prefix.clone(),
        },
        Case {
            key: "validate_migration_naming",
            env: Some("GODWIT_VALIDATE_MIGRATION_NAMING"),
            flag: false,
            token: top_false,
            toml: |t| format!("validate_migration_naming = {t}"),
            flag_args: |_| Vec::new(),
            get: |s| s.config.naming.validate_migration_naming.to_string(),
        },
        Case {
            key: "ignore_migration_patterns",
            env: Some("GODWIT_IGNORE_MIGRATION_PATTERNS"),
            flag: false,
            token: |layer, _| {
                ["*:missing", "versioned:future", "repeatable:ignored"][layer % 3].into()
            },
            toml: |t| format!("ignore_migration_patterns = [\"{t}\"]"),
            flag_args: |_| Vec::new(),
            get: |s| {
                s.config
                    .ignore_migration_patterns
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            },
        },
        Case {
            key: "group",
            env: Some("GODWIT_GROUP"),
            flag: false,
            token: top_true,
            toml: |t| format!("group = {t}"),
            flag_args: |_| Vec::new(),
            get: |s| s.config.group.to_string(),
        },
        Case {
            key: "skip_executing_migrations",
            env: Some("GODWIT_SKIP_EXECUTING_MIGRATIONS"),
            flag: false,
            token: top_true,
            toml: |t| format!("skip_executing_migrations = {t}"),
            flag_args: |_| Vec::new(),
            get: |s| s.config.skip_executing_migrations.to_string(),
        },
        Case {
            key: "cherry_pick",
            env: Some("GODWIT_CHERRY_PICK"),
            flag: false,
            token: |layer, _| format!("{}", layer + 1),
            toml: |t| format!("cherry_pick = [\"{t}\"]"),
            flag_args: |_| Vec::new(),
            get: |s| {
                s.config
                    .cherry_pick
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            },
        },
        Case {
            key: "create_schemas",
            env: Some("GODWIT_CREATE_SCHEMAS"),
            flag: false,
            token: top_false,
            toml: |t| format!("create_schemas = {t}"),
            flag_args: |_| Vec::new(),
            get: |s| s.config.create_schemas.to_string(),
        },
        Case {
            key: "default_schema",
            env: Some("GODWIT_DEFAULT_SCHEMA"),
            flag: false,
            token: |layer, _| format!("s{layer}"),
            toml: |t| format!("default_schema = \"{t}\""),
            flag_args: |_| Vec::new(),
            get: |s| s.config.default_schema.clone().unwrap_or_default(),
        },
        Case {
            key: "init_sql",
            env: Some("GODWIT_INIT_SQL"),
            flag: false,
            token: |layer, _| format!("SELECT {layer}"),
            toml: |t| format!("init_sql = \"{t}\""),
            flag_args: |_| Vec::new(),
            get: |s| s.cli.init_sql.clone().unwrap_or_default(),
        },
        Case {
            key: "placeholder_replacement",
            env: Some("GODWIT_PLACEHOLDER_REPLACEMENT"),
            flag: false,
            token: top_false,
            toml: |t| format!("placeholder_replacement = {t}"),
            flag_args: |_| Vec::new(),
            get: |s| s.config.placeholder_replacement.to_string(),
        },
        Case {
            key: "placeholder_prefix",
            env: Some("GODWIT_PLACEHOLDER_PREFIX"),
            flag: false,
            token: |layer, _| format!("#{layer}"),
            toml: |t| format!("placeholder_prefix = \"{t}\""),
            flag_args: |_| Vec::new(),
            get: |s| s.config.placeholder_prefix.clone(),
        },
        Case {
            key: "placeholder_suffix",
            env: Some("GODWIT_PLACEHOLDER_SUFFIX"),
            flag: false,
            token: |layer, _| format!("]{layer}"),
            toml: |t| format!("placeholder_suffix = \"{t}\""),
            flag_args: |_| Vec::new(),
            get: |s| s.config.placeholder_suffix.clone(),
        },
        Case {
            key: "baseline_description",
            env: Some("GODWIT_BASELINE_DESCRIPTION"),
            flag: false,
            token: |layer, _| format!("base {layer}"),
            toml: |t| format!("baseline_description = \"{t}\""),
            flag_args: |_| Vec::new(),
            get: |s| s.config.baseline_description.clone(),
        },
        Case {
            key: "skip_default_callbacks",
            env: Some("GODWIT_SKIP_DEFAULT_CALLBACKS"),
            flag: false,
            token: top_true,
            toml: |t| format!("skip_default_callbacks = {t}"),
            flag_args: |_| Vec::new(),
            get: |s| s.config.skip_default_callbacks.to_string(),
        },
    ]
}

const LAYERS: [&str; 7] = ["exe", "user", "cwd", "config 1", "config 2", "env", "flags"];

#[test]
fn each_layer_overrides_the_ones_below() {
    let cases = cases();
    for doc in DOCS {
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
            let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
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
    assert_eq!(settings.cli.url.as_deref(), Some("postgres://h/fallback"));
    let settings = load_env(&[
        ("DATABASE_URL", "postgres://h/fallback"),
        ("GODWIT_URL", "postgres://h/main"),
    ])
    .unwrap();
    assert_eq!(settings.cli.url.as_deref(), Some("postgres://h/main"));
    // An empty GODWIT_URL is unset, so DATABASE_URL applies.
    let settings = load_env(&[
        ("DATABASE_URL", "postgres://h/fallback"),
        ("GODWIT_URL", ""),
    ])
    .unwrap();
    assert_eq!(settings.cli.url.as_deref(), Some("postgres://h/fallback"));
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
    assert_eq!(settings.cli.url.as_deref(), Some("postgres://h/flag"));
    assert_eq!(settings.config.table, "t_flag");
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
        settings.cli.locations,
        vec![PathBuf::from("a"), PathBuf::from("b"), PathBuf::from("c")]
    );
    assert_eq!(settings.config.schemas, vec!["x", "y"]);
}

#[test]
fn env_lists_are_comma_separated() {
    let settings = load_env(&[
        ("GODWIT_LOCATIONS", " db/a , db/b ,"),
        ("GODWIT_SCHEMAS", "app,audit"),
    ])
    .unwrap();
    assert_eq!(
        settings.cli.locations,
        vec![PathBuf::from("db/a"), PathBuf::from("db/b")]
    );
    assert_eq!(settings.config.schemas, vec!["app", "audit"]);
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
    assert_eq!(settings.config.placeholders, expected);
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

#[test]
fn placeholder_names_that_differ_only_in_case_are_errors() {
    let err = err_of(load_file("[placeholders]\nWho = \"a\"\nwho = \"b\"\n"));
    assert_eq!(err.location().unwrap().1, Some(3));
    assert!(err.message().contains("\"Who\""), "{err}");
    assert!(err.message().contains("on line 2"), "{err}");
    assert!(err.hint().unwrap().contains("spelt one way"), "{err}");
    assert!(
        !err.to_string().contains("\"b\""),
        "no value in the message: {err}"
    );

    let err = err_of(load_env(&[
        ("GODWIT_PLACEHOLDERS_WHO", "a"),
        ("GODWIT_PLACEHOLDERS_who", "b"),
    ]));
    assert!(err.message().contains("GODWIT_PLACEHOLDERS_"), "{err}");
    assert!(err.message().contains("ignore case"), "{err}");

    let err = err_of(load_args(&[
        "--placeholder",
        "Who=a",
        "--placeholder",
        "who=b",
    ]));
    assert!(err.message().contains("--placeholder"), "{err}");
    assert!(err.message().contains("ignore case"), "{err}");

    // The same spelling twice on the command line: the last one wins, as flags do.
    let settings = load_args(&["--placeholder", "who=a", "--placeholder", "who=b"]).unwrap();
    assert_eq!(
        settings.config.placeholders.get("who").map(String::as_str),
        Some("b")
    );
    // Different layers may spell it differently: the higher layer wins.
    let fixture = Fixture::new();
    fixture.write("cwd/godwit.toml", "[placeholders]\nWho = \"file\"\n");
    let settings = fixture
        .load(&args(&["--placeholder", "WHO=flag"]), &[])
        .unwrap();
    assert_eq!(
        settings.config.placeholders.get("who").map(String::as_str),
        Some("flag")
    );
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
        ("defaultSchema", "default_schema"),
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
        hint.starts_with("valid keys are `url`, `password`, `password_file`, `user`, `locations`"),
        "{hint}"
    );
    assert!(hint.contains("`placeholders`"), "{hint}");

    let err = err_of(load_file("[flyway]\nurl = \"postgres://h/db\"\n"));
    assert!(
        err.hint().unwrap().contains("move `url` out of [flyway]"),
        "{err}"
    );

    let err = err_of(load_file("username = \"app\"\n"));
    assert!(
        err.hint().unwrap().contains("did you mean `user`?"),
        "{err}"
    );
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
        assert_eq!(settings.config.mixed, value, "{text}");
    }
    let settings = load_file("mixed = \"yes\"\n").unwrap();
    assert!(settings.config.mixed);
}

#[test]
fn durations() {
    for (text, secs) in [("30s", 30), ("10m", 600), ("1h 30m", 5400), ("45", 45)] {
        let settings = load_env(&[("GODWIT_LOCK_TIMEOUT", text)]).unwrap();
        assert_eq!(
            settings.config.lock_timeout,
            Duration::from_secs(secs),
            "{text}"
        );
    }
    let settings = load_file("lock_timeout = 90\n").unwrap();
    assert_eq!(settings.config.lock_timeout, Duration::from_secs(90));

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
    assert_eq!(settings.config.target.to_string(), "7");
    assert_eq!(settings.config.baseline_version.to_string(), "3");
    let settings = load_file("target = \"1.10\"\n").unwrap();
    assert_eq!(settings.config.target.to_string(), "1.10");
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
    assert_eq!(settings.config.schemas, vec!["app", "audit"]);
    assert_eq!(
        settings.cli.locations,
        vec![PathBuf::from("a"), PathBuf::from("b")]
    );
    let settings = load_file("schemas = []\n").unwrap();
    assert!(settings.config.schemas.is_empty());
}

#[test]
fn connection_waiting_settings() {
    let settings =
        load_file("connect_retries = 5\nconnect_retries_interval = \"10s\"\nconnect_timeout = 3\n")
            .unwrap();
    assert_eq!(settings.cli.connect_retries, 5);
    assert_eq!(
        settings.cli.connect_retries_interval,
        Duration::from_secs(10)
    );
    assert_eq!(settings.cli.connect_timeout, Duration::from_secs(3));
    let defaults = load_file("").unwrap();
    assert_eq!(defaults.cli.connect_retries, 0);
    assert_eq!(defaults.cli.connect_timeout, Duration::from_secs(10));
    assert_eq!(
        defaults.cli.connect_retries_interval,
        Duration::from_secs(120)
    );
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
        load_file("lock_timeout = 0\n").unwrap().config.lock_timeout,
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
    assert_eq!(settings.config.table, "prod");
}

#[test]
fn a_bom_is_ignored() {
    let settings = load_file("\u{feff}table = \"h\"\n").unwrap();
    assert_eq!(settings.config.table, "h");
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
        settings.cli.url.as_deref(),
        Some("sqlite://deploy/data/app.db?mode=rwc")
    );
    assert_eq!(
        settings.cli.locations,
        vec![PathBuf::from("deploy/../db"), PathBuf::from("/abs/dir")]
    );

    // The working directory's own file keeps paths relative to it.
    let fixture = Fixture::new();
    fixture.write(
        "cwd/godwit.toml",
        "url = \"sqlite:data/app.db\"\nlocations = \"db\"\n",
    );
    let settings = fixture.load(&ConfigArgs::default(), &[]).unwrap();
    assert_eq!(settings.cli.url.as_deref(), Some("sqlite:data/app.db"));
    assert_eq!(settings.cli.locations, vec![PathBuf::from("db")]);

    // Files elsewhere resolve against their own directory.
    let fixture = Fixture::new();
    fixture.write(
        "user/godwit/godwit.toml",
        "url = \"sqlite:state.db\"\nlocations = [\"m\"]\n",
    );
    let settings = fixture.load(&ConfigArgs::default(), &[]).unwrap();
    let dir = fixture.path("user/godwit");
    assert_eq!(
        settings.cli.url,
        Some(format!("sqlite:{}/state.db", dir.display()))
    );
    assert_eq!(settings.cli.locations, vec![dir.join("m")]);
}

#[test]
fn env_and_flag_paths_stay_relative_to_the_working_directory() {
    let settings = Fixture::new()
        .load(
            &args(&["--locations", "flag/dir"]),
            &[("GODWIT_URL", "sqlite://data/app.db")],
        )
        .unwrap();
    assert_eq!(settings.cli.url.as_deref(), Some("sqlite://data/app.db"));
    assert_eq!(settings.cli.locations, vec![PathBuf::from("flag/dir")]);
}

#[test]
fn filesystem_prefix_is_stripped_and_classpath_refused() {
    let settings =
        load_file("locations = [\"filesystem:db/migrations\", \"FILESYSTEM:x\"]\n").unwrap();
    assert_eq!(
        settings.cli.locations,
        vec![PathBuf::from("db/migrations"), PathBuf::from("x")]
    );
    let settings = load_env(&[("GODWIT_LOCATIONS", "filesystem:/srv/m")]).unwrap();
    assert_eq!(settings.cli.locations, vec![PathBuf::from("/srv/m")]);
    let settings = Fixture::new()
        .load(&args(&["--locations", "filesystem:f"]), &[])
        .unwrap();
    assert_eq!(settings.cli.locations, vec![PathBuf::from("f")]);

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
    assert_eq!(settings.config.table, "from_file");
    assert!(settings.config.mixed);
    assert_eq!(settings.config.lock_timeout, Duration::from_secs(600));
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
    let mut settings = Settings::default();
    settings.cli.url = Some("postgres://app:s3cret@h/db".to_owned());
    let debug = format!("{settings:?}");
    assert!(!debug.contains("s3cret"), "{debug}");
    assert!(debug.contains("app:***@h"), "{debug}");
    assert_eq!(
        settings.cli.redacted_url().as_deref(),
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
    let err = settings.cli.require_url().unwrap_err();
    let hint = err.hint().unwrap();
    for needle in ["--url", "GODWIT_URL", "DATABASE_URL", "url = "] {
        assert!(hint.contains(needle), "{hint}");
        assert!(missing_url_hint().contains(needle));
    }
    assert!(err.to_string().starts_with("no database URL is configured"));
    let mut settings = Settings::default();
    settings.cli.url = Some("postgres://h/db".into());
    assert_eq!(settings.cli.require_url().unwrap(), "postgres://h/db");
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
    for doc in DOCS {
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
            DOCS.iter().any(|doc| doc
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
    for doc in DOCS {
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

#[test]
fn password_and_password_file_are_one_setting() {
    let fixture = Fixture::new();
    fixture.write("cwd/godwit.toml", "password_file = \"secrets/pw\"\n");
    // A later source that sets the other key replaces it.
    let settings = fixture
        .load(&ConfigArgs::default(), &[("GODWIT_PASSWORD", "from env")])
        .unwrap();
    assert_eq!(settings.cli.password.as_deref(), Some("from env"));
    assert_eq!(settings.cli.password_file, None);
    let settings = fixture.load(&ConfigArgs::default(), &[]).unwrap();
    assert_eq!(
        settings.cli.password_file,
        Some(PathBuf::from("secrets/pw"))
    );
    assert_eq!(settings.cli.password, None);
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
    let mut settings = Settings::default();
    settings.cli.password = Some("s3cret-pw".into());
    assert!(!format!("{settings:?}").contains("s3cret-pw"));
}
