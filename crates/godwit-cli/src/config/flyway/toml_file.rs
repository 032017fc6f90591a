//! `flyway.toml`: the `[flyway]` namespace, the selected `[environments.<name>]` (with its
//! `[environments.<name>.flyway]` overrides), and `${env.VAR}` in values.

use std::path::{Path, PathBuf};

use super::super::env::Env;
use super::super::errors::{invalid, ConfigError, Origin, Problem};
use super::super::file::line_of;
use super::Entry;

/// Flyway Desktop's project keys: they describe the project and change nothing for a migration.
const DESKTOP_KEYS: &[&str] = &[
    "id",
    "name",
    "databaseType",
    "flywayDesktop",
    "redgateCompare",
];

/// The secret managers of Flyway's resolvers, refused (only `env` has a counterpart).
const RESOLVERS: &[&str] = &[
    "localSecret",
    "vault",
    "googlesecrets",
    "dapr",
    "azureKeyVault",
    "localdb",
    "git",
    "clone",
];

/// One flyway.toml, parsed.
pub(super) struct TomlFile {
    pub(super) path: PathBuf,
    text: String,
    table: toml::Table,
}

impl TomlFile {
    pub(super) fn parse(path: &Path, text: &str) -> Result<TomlFile, ConfigError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let table: toml::Table = toml::from_str(text).map_err(|err| ConfigError::Syntax {
            path: path.to_owned(),
            line: err.span().map(|span| line_of(text, span.start)),
            message: err.message().trim().replace('\n', "; "),
            hint: None,
        })?;
        Ok(TomlFile {
            path: path.to_owned(),
            text: text.to_owned(),
            table,
        })
    }

    /// `[flyway] environment = "…"`.
    pub(super) fn environment(&self) -> Option<String> {
        self.table
            .get("flyway")?
            .get("environment")?
            .as_str()
            .map(str::to_owned)
    }

    /// Whether `[environments.<name>]` is in this file.
    pub(super) fn defines(&self, name: &str) -> bool {
        self.table
            .get("environments")
            .and_then(|e| e.get(name))
            .is_some()
    }

    fn origin(&self, path: &[&str]) -> Origin {
        Origin::File {
            path: self.path.clone(),
            line: find_line(&self.text, path),
        }
    }

    /// The settings of this file for `environment`: `[flyway]`, then the environment's connection
    /// settings, then its `flyway` overrides (which win).
    pub(super) fn entries(&self, environment: &str, env: &Env) -> Result<Vec<Entry>, ConfigError> {
        let mut out = Vec::new();
        for (key, value) in &self.table {
            match key.as_str() {
                "flyway" | "environments" => {}
                k if DESKTOP_KEYS.contains(&k) => {}
                other => {
                    return Err(invalid(
                        self.origin(&[other]),
                        other,
                        Problem::new("is not a Flyway setting godwit knows").hint(
                            "Flyway's settings go under [flyway], connections under [environments.<name>]",
                        ),
                    ))
                }
            }
            let _ = value;
        }
        if let Some(flyway) = self.table.get("flyway") {
            self.flatten(flyway, &["flyway"], "", &mut out, env)?;
        }
        if let Some(selected) = self
            .table
            .get("environments")
            .and_then(|e| e.get(environment))
        {
            let Some(table) = selected.as_table() else {
                return Err(invalid(
                    self.origin(&["environments", environment]),
                    &format!("environments.{environment}"),
                    Problem::new("must be a table").hint(format!(
                        "write [environments.{environment}] with url = \"jdbc:…\" under it"
                    )),
                ));
            };
            for (key, value) in table {
                if key == "flyway" {
                    continue;
                }
                let mut single = toml::Table::new();
                single.insert(key.clone(), value.clone());
                self.flatten(
                    &toml::Value::Table(single),
                    &["environments", environment],
                    "",
                    &mut out,
                    env,
                )?;
            }
            if let Some(overrides) = table.get("flyway") {
                self.flatten(
                    overrides,
                    &["environments", environment, "flyway"],
                    "",
                    &mut out,
                    env,
                )?;
            }
        }
        Ok(out)
    }

    /// Flattens a table into settings named by their dotted path under it
    /// (`[flyway.placeholders] x = 1` is `placeholders.x`).
    fn flatten(
        &self,
        value: &toml::Value,
        table_path: &[&str],
        prefix: &str,
        out: &mut Vec<Entry>,
        env: &Env,
    ) -> Result<(), ConfigError> {
        let Some(table) = value.as_table() else {
            return Ok(());
        };
        for (key, value) in table {
            let name = format!("{prefix}{key}");
            if table_path == ["flyway"] && name == "environment" {
                continue;
            }
            if let toml::Value::Table(_) = value {
                self.flatten(value, table_path, &format!("{name}."), out, env)?;
                continue;
            }
            let mut path: Vec<&str> = table_path.to_vec();
            path.extend(name.split('.'));
            let origin = self.origin(&path);
            let written = path.join(".");
            let text = scalar_text(value)
                .and_then(|text| resolve_env(&text, env))
                .map_err(|p| invalid(origin.clone(), &written, p))?;
            out.push(Entry {
                name,
                written,
                value: text,
                origin,
            });
        }
        Ok(())
    }
}

/// A value as Flyway reads it as text: arrays joined with commas.
fn scalar_text(value: &toml::Value) -> Result<String, Problem> {
    Ok(match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::Array(items) => items
            .iter()
            .map(scalar_text)
            .collect::<Result<Vec<_>, _>>()?
            .join(","),
        toml::Value::Table(_) => {
            return Err(Problem::new("must be a value, not a table"));
        }
    })
}

/// Replaces `${env.NAME}` with the environment variable's value; other resolvers (secret
/// managers) are refused.
fn resolve_env(text: &str, env: &Env) -> Result<String, Problem> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let inner = &after[..end];
        if let Some(name) = inner.strip_prefix("env.") {
            let Some(value) = env.var(name) else {
                return Err(Problem::new(format!(
                    "refers to the environment variable {name} (`${{env.{name}}}`), which is not set"
                ))
                .hint(format!("set {name}, or write the value in the file")));
            };
            out.push_str(&rest[..start]);
            out.push_str(value);
            rest = &after[end + 1..];
            continue;
        }
        if let Some((resolver, _)) = inner.split_once('.') {
            if RESOLVERS.contains(&resolver) {
                return Err(Problem::new(format!(
                    "uses Flyway's `{resolver}` resolver, which godwit does not support"
                ))
                .hint("pass the value in an environment variable and write `${env.VARIABLE}`"));
            }
        }
        out.push_str(&rest[..start + 2]);
        rest = after;
    }
    out.push_str(rest);
    Ok(out)
}

/// The line of the key at `path` (`["flyway", "placeholders", "x"]`), whether it is written under
/// `[flyway.placeholders]` as `x = …`, under `[flyway]` as `placeholders.x = …`, or at the top.
fn find_line(text: &str, path: &[&str]) -> Option<usize> {
    let mut header: Vec<String> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(inner) = line.strip_prefix('[') {
            let inner = inner.trim_start_matches('[');
            let inner = inner.split(']').next().unwrap_or("");
            header = split_dotted(inner);
            if header == path {
                return Some(index + 1);
            }
            continue;
        }
        let Some((key, _)) = line.split_once('=') else {
            continue;
        };
        if key.trim_start().starts_with('#') {
            continue;
        }
        let mut full = header.clone();
        full.extend(split_dotted(key));
        if full == path {
            return Some(index + 1);
        }
    }
    None
}

fn split_dotted(text: &str) -> Vec<String> {
    text.split('.')
        .map(|part| part.trim().trim_matches('"').trim_matches('\'').to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_found_in_every_spelling() {
        let text =
            "[flyway]\nlocations = [\"a\"]\nplaceholders.y = 1\n[flyway.placeholders]\nx = 1\n\
                    [environments.dev]\nurl = \"u\"\n";
        assert_eq!(find_line(text, &["flyway", "locations"]), Some(2));
        assert_eq!(find_line(text, &["flyway", "placeholders", "y"]), Some(3));
        assert_eq!(find_line(text, &["flyway", "placeholders", "x"]), Some(5));
        assert_eq!(find_line(text, &["environments", "dev", "url"]), Some(7));
        assert_eq!(find_line(text, &["environments", "dev"]), Some(6));
        assert_eq!(find_line(text, &["nope"]), None);
    }

    #[test]
    fn env_references_resolve_and_secret_managers_are_refused() {
        let env = Env::from_pairs([("DB_USER", "app")]);
        assert_eq!(
            resolve_env("u=${env.DB_USER}!", &env).ok().unwrap(),
            "u=app!"
        );
        assert_eq!(resolve_env("${other}", &env).ok().unwrap(), "${other}");
        assert!(resolve_env("${env.MISSING}", &env)
            .err()
            .unwrap()
            .for_clap()
            .contains("MISSING"));
        assert!(resolve_env("${vault.key}", &env)
            .err()
            .unwrap()
            .for_clap()
            .contains("`vault`"));
    }
}
