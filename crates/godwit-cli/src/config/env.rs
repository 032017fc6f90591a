//! The environment variables that configure godwit, captured once.

use std::collections::BTreeMap;
use std::fmt;

/// Environment variables whose names start with this prefix set placeholders.
pub(super) const PLACEHOLDER_ENV_PREFIX: &str = "GODWIT_PLACEHOLDERS_";

/// A snapshot of the environment variables that configure godwit.
///
/// The layers read the environment only through this type, so tests can inject variables
/// without touching the process environment. A variable whose value is empty (or only
/// whitespace) counts as unset.
#[derive(Clone, Default)]
pub(super) struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// Captures the process environment: the `GODWIT_*` variables and `DATABASE_URL`, and, for
    /// Flyway's configuration, `FLYWAY_*`, `HOME` and the variables its files refer to
    /// (`${env.NAME}`), which may be any.
    ///
    /// A value that is not valid UTF-8 is kept with its invalid bytes replaced.
    pub(super) fn from_process() -> Self {
        let vars = std::env::vars_os()
            .filter_map(|(name, value)| {
                let name = name.into_string().ok()?;
                Some((name, value.to_string_lossy().into_owned()))
            })
            .collect();
        Env { vars }
    }

    /// The value of any variable, as set (an empty value included), for `${env.NAME}` in
    /// Flyway's files.
    pub(super) fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The `FLYWAY_*` variables that are set (not empty), in name order.
    pub(super) fn flyway_vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars
            .iter()
            .filter(|(var, value)| var.starts_with("FLYWAY_") && !value.trim().is_empty())
            .map(|(var, value)| (var.as_str(), value.as_str()))
    }

    /// Builds an environment from name/value pairs, for tests.
    #[cfg(test)]
    pub(super) fn from_pairs<I, K, V>(pairs: I) -> Self
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
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.trim().is_empty())
    }

    /// The variables that set placeholders, in name order: the name after the prefix, the
    /// variable and its value (unset ones left out).
    pub(super) fn placeholders(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.vars.iter().filter_map(|(var, value)| {
            let name = var.strip_prefix(PLACEHOLDER_ENV_PREFIX)?;
            (!value.trim().is_empty()).then_some((name, var.as_str(), value.as_str()))
        })
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values may hold passwords; show the names only.
        f.debug_set().entries(self.vars.keys()).finish()
    }
}
