//! One configuration file as a layer: TOML read with the position of every key, so that a bad
//! value is reported with its file and line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::errors::{invalid, ConfigError, Origin, Problem};
use super::keys::{key, suggest_key, valid_keys, Key, Slot};
use super::urls::resolve_sqlite_url;
use super::values::{
    check_lock_timeout, check_placeholder_name, check_positive, check_statement_limit, check_table,
    non_empty, parse_baseline_version, parse_bool, parse_count, parse_duration_text, parse_level,
    parse_locations, parse_rule, parse_statement_limit, parse_target, quote, resolve_path,
    split_list, PlaceholderNames, BOOL_HINT, DURATION_HINT,
};
use super::Settings;

/// The 1-based line of a byte offset.
pub(super) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The text of the scalar value after `key =`, on the key's line, for quoting it back in a hint.
pub(super) fn raw_value_text(text: &str, key_end: usize) -> Option<String> {
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
pub(super) fn apply_file(
    settings: &mut Settings,
    path: &Path,
    text: &str,
) -> Result<(), ConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let table: BTreeMap<Spanned<String>, toml::Value> =
        toml::from_str(text).map_err(|err| syntax_error(path, text, &err))?;
    let mut entries: Vec<_> = table.into_iter().collect();
    entries.sort_by_key(|(name, _)| name.span().start);
    let base = path.parent().unwrap_or(Path::new(""));
    let mut password_keys = 0;

    for (name, value) in entries {
        let line = line_of(text, name.span().start);
        let Some(found) = key(name.get_ref()) else {
            return Err(unknown_key(path, line, name.get_ref(), &value));
        };
        if matches!(found.slot, Slot::Password | Slot::PasswordFile) {
            password_keys += 1;
            if password_keys > 1 {
                return Err(invalid(
                    Origin::File {
                        path: path.to_owned(),
                        line: Some(line),
                    },
                    found.key,
                    Problem::new(if found.key == "password" {
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
        if let Slot::Placeholders = found.slot {
            if !value.is_table() {
                return Err(invalid(
                    origin,
                    found.key,
                    Problem::new(format!("must be a table, not {}", describe(&value))).hint(
                        "write them under a [placeholders] header, one NAME = \"value\" a line",
                    ),
                ));
            }
            apply_file_placeholders(settings, path, text)?;
            continue;
        }
        if let Slot::LintRules = found.slot {
            if !value.is_table() {
                return Err(invalid(
                    origin,
                    found.key,
                    Problem::new(format!("must be a table, not {}", describe(&value))).hint(
                        "write them under a [lint_rules] header, one rule-id = \"off\" | \"warn\" | \"error\" a line",
                    ),
                ));
            }
            apply_file_lint_rules(settings, path, text)?;
            continue;
        }
        let raw = raw_value_text(text, name.span().end);
        set_from_toml(settings, found, &value, base, raw.as_deref())
            .map_err(|problem| invalid(origin, found.key, problem))?;
    }
    Ok(())
}

/// The entries of the `[lint_rules]` table, with the position of each rule id.
#[derive(serde::Deserialize)]
struct LintRuleEntries {
    #[serde(default)]
    lint_rules: BTreeMap<Spanned<String>, toml::Value>,
}

/// Applies the `[lint_rules]` table of a file, which is known to be a table.
fn apply_file_lint_rules(
    settings: &mut Settings,
    path: &Path,
    text: &str,
) -> Result<(), ConfigError> {
    let parsed: LintRuleEntries =
        toml::from_str(text).map_err(|err| syntax_error(path, text, &err))?;
    for (name, value) in parsed.lint_rules {
        let line = line_of(text, name.span().start);
        let origin = Origin::File {
            path: path.to_owned(),
            line: Some(line),
        };
        let key = format!("lint_rules.{}", name.get_ref());
        let result = parse_rule(name.get_ref()).and_then(|rule| match &value {
            toml::Value::String(s) => parse_level(s).map(|level| (rule, level)),
            other => Err(Problem::new(format!(
                "must be off, warn or error, not {}",
                describe(other)
            ))),
        });
        match result {
            Ok((rule, level)) => {
                settings.cli.lint_rules.insert(rule, level);
            }
            Err(problem) => return Err(invalid(origin, &key, problem)),
        }
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
    let mut names = PlaceholderNames::default();
    for (name, value) in entries {
        let line = line_of(text, name.span().start);
        let key = format!("placeholders.{}", name.get_ref());
        let origin = Origin::File {
            path: path.to_owned(),
            line: Some(line),
        };
        let result = check_placeholder_name(name.get_ref()).and_then(|lower| {
            names.check(name.get_ref(), &lower, format!("on line {line}"))?;
            let raw = raw_value_text(text, name.span().end);
            placeholder_value(&value, name.get_ref(), raw.as_deref()).map(|value| (lower, value))
        });
        match result {
            Ok((name, value)) => {
                settings.config.placeholders.insert(name, value);
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
fn unknown_key(path: &Path, line: usize, written: &str, value: &toml::Value) -> ConfigError {
    let suggestion = suggest_key(written);
    let hint = if let Some(suggestion) = suggestion {
        format!("did you mean `{suggestion}`?")
    } else if let Some(nested) = value
        .as_table()
        .and_then(|table| table.keys().find_map(|name| key(name)))
    {
        format!(
            "godwit's keys go at the top level of the file: move `{}` out of [{written}]",
            nested.key
        )
    } else {
        format!("valid keys are {}", valid_keys())
    };
    ConfigError::UnknownKey {
        path: path.to_owned(),
        line: Some(line),
        key: written.to_owned(),
        suggestion,
        hint,
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

/// A string value, trimmed and not empty.
fn text(value: &toml::Value) -> Result<String, Problem> {
    match value {
        toml::Value::String(s) => non_empty(s),
        other => Err(Problem::new(format!(
            "must be a string, not {}",
            describe(other)
        ))),
    }
}

/// A list: an array of strings, or one string split at commas.
fn list(value: &toml::Value) -> Result<Vec<String>, Problem> {
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
}

/// The text of a version: a string, or an integer. A float is refused: TOML reads `1.10` as the
/// number 1.1.
fn version_text(key: &str, value: &toml::Value, raw: Option<&str>) -> Result<String, Problem> {
    match value {
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Float(f) => {
            let written = raw.map(str::to_owned).unwrap_or_else(|| f.to_string());
            Err(Problem::new(format!(
                "is the decimal number {written}, but a version must be a string"
            ))
            .hint(format!(
                "quote it: {key} = \"{written}\" (as a number, 1.10 would read as 1.1)"
            )))
        }
        other => text(other),
    }
}

/// Stores a value read from a file.
fn set_from_toml(
    settings: &mut Settings,
    key: &Key,
    value: &toml::Value,
    base: &Path,
    raw: Option<&str>,
) -> Result<(), Problem> {
    match key.slot {
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
            settings.cli.password = Some(password.clone());
            settings.cli.password_file = None;
        }
        Slot::PasswordFile => {
            settings.cli.password_file = Some(resolve_path(base, PathBuf::from(text(value)?)));
            settings.cli.password = None;
        }
        Slot::Url => settings.cli.url = Some(resolve_sqlite_url(&text(value)?, base)),
        Slot::OptText(field) => *field(settings) = Some(text(value)?),
        Slot::Table => {
            settings.config.table = check_table(text(value)?)?;
            settings.config.find_flyway_history = false;
        }
        Slot::Target => settings.config.target = parse_target(&version_text(key.key, value, raw)?)?,
        Slot::BaselineVersion => {
            settings.config.baseline_version =
                parse_baseline_version(&version_text(key.key, value, raw)?)?
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
                key.key,
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
        Slot::Placeholders | Slot::LintRules => {}
        Slot::Level(field) => {
            *field(settings) = match value {
                toml::Value::String(s) => parse_level(s)?,
                other => {
                    return Err(Problem::new(format!(
                        "must be off, warn or error, not {}",
                        describe(other)
                    )))
                }
            }
        }
        Slot::Text(field) => *field(settings) = text(value)?,
        Slot::ParsedList(store) => store(settings, &list(value)?).map_err(Problem::new)?,
    }
    Ok(())
}
