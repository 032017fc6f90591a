//! Reading one value: every parser a layer uses, returning the value's type or a [`Problem`]
//! that the layer turns into a [`super::ConfigError`] naming where the value came from.

use std::path::{Path, PathBuf};
use std::time::Duration;

use godwit::{Target, Version};

use super::errors::Problem;

/// The longest lock timeout accepted, so that later deadline arithmetic cannot overflow.
const MAX_LOCK_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 60 * 60);

pub(super) const BOOL_HINT: &str = "use true or false (yes/no, on/off and 1/0 work too)";
pub(super) const DURATION_HINT: &str =
    "write a duration such as \"30s\", \"10m\" or \"1h 30m\", or a whole number of seconds";

/// Quotes a value for a message, shortening a long one.
pub(super) fn quote(text: &str) -> String {
    const MAX: usize = 60;
    if text.chars().count() > MAX {
        let short: String = text.chars().take(MAX).collect();
        format!("{short:?}…")
    } else {
        format!("{text:?}")
    }
}

pub(super) fn non_empty(text: &str) -> Result<String, Problem> {
    let text = text.trim();
    if text.is_empty() {
        Err(Problem::new("must not be empty").hint("give a value, or remove the setting"))
    } else {
        Ok(text.to_owned())
    }
}

/// A boolean, spelled as the library reads `GODWIT_AUTO_MIGRATE` (one parser for both).
pub(super) fn parse_bool(text: &str) -> Result<bool, Problem> {
    godwit::parse_bool(text).ok_or_else(|| {
        Problem::new(format!("must be true or false, not {}", quote(text))).hint(BOOL_HINT)
    })
}

pub(super) fn parse_duration_text(text: &str) -> Result<Duration, Problem> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Problem::new("must not be empty").hint(DURATION_HINT));
    }
    let duration = if text.bytes().all(|b| b.is_ascii_digit()) {
        let secs = text
            .parse::<u64>()
            .map_err(|_| Problem::new(format!("is too large: {text} seconds")))?;
        Duration::from_secs(secs)
    } else {
        humantime::parse_duration(text).map_err(|_| {
            Problem::new(format!("must be a duration, not {}", quote(text))).hint(DURATION_HINT)
        })?
    };
    check_lock_timeout(duration)
}

/// A statement limit: a duration of at least a millisecond (zero means "no limit" on some
/// servers and "fail at once" on others: leaving it unset says what is meant).
pub(super) fn parse_statement_limit(text: &str) -> Result<Duration, Problem> {
    check_statement_limit(parse_duration_text(text)?)
}

pub(super) fn check_statement_limit(duration: Duration) -> Result<Duration, Problem> {
    if duration < Duration::from_millis(1) {
        Err(Problem::new("must be at least 1ms")
            .hint("leave it unset to keep the database server's own setting"))
    } else {
        check_lock_timeout(duration)
    }
}

pub(super) fn check_lock_timeout(duration: Duration) -> Result<Duration, Problem> {
    if duration > MAX_LOCK_TIMEOUT {
        Err(Problem::new("is longer than a year").hint("use a duration of at most 365 days"))
    } else {
        Ok(duration)
    }
}

/// The connection durations must be longer than zero: no attempt could succeed in no time.
pub(super) fn check_positive(key: &str, duration: Duration) -> Result<Duration, Problem> {
    if duration.is_zero() && key.starts_with("connect_") {
        Err(Problem::new("must be longer than zero").hint("use a duration such as \"5s\""))
    } else {
        Ok(duration)
    }
}

/// A count such as `connect_retries` or `statement_lock_retries`: a whole number from 0 to 10,000.
pub(super) fn parse_count(text: &str) -> Result<u32, Problem> {
    let text = text.trim();
    match text.parse::<u32>() {
        Ok(n) if n <= 10_000 => Ok(n),
        Ok(_) => Err(Problem::new(format!("is too large: {text}")).hint("use at most 10000")),
        Err(_) if text.starts_with('-') => {
            Err(Problem::new(format!("must not be negative, but is {text}")))
        }
        Err(_) => Err(
            Problem::new(format!("must be a whole number, not {}", quote(text)))
                .hint("write a number such as 10"),
        ),
    }
}

/// The version `migrate` goes to: `latest`, `current`, `none` or a version, as the library
/// reads it.
pub(super) fn parse_target(text: &str) -> Result<Target, Problem> {
    text.parse()
        .map_err(|e: String| Problem::new(format!("sets an invalid target: {e}")))
}

/// The version a baseline records.
pub(super) fn parse_baseline_version(text: &str) -> Result<Version, Problem> {
    Version::parse(text).map_err(|e| {
        Problem::new(format!("sets an invalid baseline version: {e}"))
            .hint("use a version such as `1` or `3.2`")
    })
}

/// The history table, `name` or `schema.name`, checked as the library will read it.
pub(super) fn check_table(text: String) -> Result<String, Problem> {
    match godwit::HistoryTable::parse(&text, None) {
        Ok(_) => Ok(text),
        Err(e) => Err(Problem::new(format!("is invalid: {e}"))),
    }
}

/// Splits a comma-separated list, trimming entries and dropping empty ones.
pub(super) fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Strips an ASCII prefix, ignoring case.
pub(super) fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// Reads one location: strips Flyway's `filesystem:` prefix and refuses the kinds of location
/// godwit cannot read.
pub(super) fn parse_location(text: &str) -> Result<PathBuf, Problem> {
    let text = text.trim();
    let path = match strip_prefix_ci(text, "filesystem:") {
        Some(rest) => rest.trim(),
        None => text,
    };
    if path.is_empty() {
        return Err(Problem::new(format!(
            "has an empty location {}",
            quote(text)
        )));
    }
    if strip_prefix_ci(path, "classpath:").is_some() {
        return Err(Problem::new(format!(
            "names the Java classpath location {}, but godwit reads migrations from directories",
            quote(path)
        ))
        .hint(
            "give the directory that holds the files, e.g. \"src/main/resources/db/migration\" \
             for classpath:db/migration in a Maven or Gradle project",
        ));
    }
    for scheme in ["s3:", "gcs:"] {
        if strip_prefix_ci(path, scheme).is_some() {
            return Err(Problem::new(format!(
                "names the cloud storage location {}, but godwit reads migrations from local \
                 directories",
                quote(path)
            ))
            .hint("copy the files to a directory first, and name that directory"));
        }
    }
    Ok(PathBuf::from(path))
}

pub(super) fn parse_locations(entries: &[String]) -> Result<Vec<PathBuf>, Problem> {
    if entries.is_empty() {
        return Err(Problem::new("must name at least one directory")
            .hint("remove the setting to use the default, \"migrations\""));
    }
    entries.iter().map(|entry| parse_location(entry)).collect()
}

/// The placeholder names one layer (a file, the environment, the flags) sets, to refuse two
/// that differ only in case: names ignore case, so one of them would silently win.
#[derive(Default)]
pub(super) struct PlaceholderNames {
    /// The lowercased name, with the name as written and where.
    seen: std::collections::BTreeMap<String, (String, String)>,
}

impl PlaceholderNames {
    /// Records `written` (lowercased: `lower`), set at `place` (`on line 4`, `by <variable>`,
    /// `by <flag>`).
    /// The same name in another spelling is a problem; the same spelling again is not (a flag
    /// repeated: the last one wins).
    pub(super) fn check(
        &mut self,
        written: &str,
        lower: &str,
        place: String,
    ) -> Result<(), Problem> {
        match self.seen.get(lower) {
            Some((first, first_place)) if first != written => Err(Problem::new(format!(
                "names the placeholder {}, already set as {} {first_place}: placeholder names ignore case, so one value would silently replace the other",
                quote(written),
                quote(first)
            ))
            .hint("keep one of them, spelt one way")),
            _ => {
                self.seen
                    .insert(lower.to_owned(), (written.to_owned(), place));
                Ok(())
            }
        }
    }
}

/// Checks a placeholder name and lowercases it.
pub(super) fn check_placeholder_name(name: &str) -> Result<String, Problem> {
    if name.trim().is_empty() {
        return Err(Problem::new("needs a placeholder name")
            .hint("write NAME=VALUE, where ${NAME} appears in the migrations"));
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '{' | '}' | '$'))
    {
        return Err(Problem::new(format!(
            "has the placeholder name {}, which contains a space, `$`, `{{` or `}}`",
            quote(name)
        ))
        .hint("write the name alone: `owner` for ${owner}"));
    }
    let lower = name.to_lowercase();
    if lower.starts_with("godwit:") || lower.starts_with("flyway:") {
        return Err(Problem::new(format!(
            "sets {}, but names beginning `godwit:` and `flyway:` are the built-in placeholders",
            quote(name)
        ))
        .hint("choose a name without the prefix"));
    }
    Ok(lower)
}

/// Resolves a relative path against `base` (the directory of the file that set it).
pub(super) fn resolve_path(base: &Path, path: PathBuf) -> PathBuf {
    if path.is_relative() && !base.as_os_str().is_empty() {
        base.join(path)
    } else {
        path
    }
}

/// Reads a lint level: `off`, `warn` or `error`.
pub(super) fn parse_level(text: &str) -> Result<godwit_lint::Level, Problem> {
    text.trim().parse().map_err(|_| {
        Problem::new(format!("must be off, warn or error, not {}", quote(text))).hint(
            "off: no lint; warn: print the findings; error: also stop on a finding at level error",
        )
    })
}

/// Reads a lint rule id.
pub(super) fn parse_rule(text: &str) -> Result<godwit_lint::Rule, Problem> {
    text.trim().parse().map_err(|why: String| {
        Problem::new(why)
            .hint("docs/lint.md lists the rules; `godwit lint` prints the id of each finding")
    })
}

/// Reads `rule=level` pairs separated by commas (`GODWIT_LINT_RULES`).
pub(super) fn parse_lint_rules(
    text: &str,
) -> Result<Vec<(godwit_lint::Rule, godwit_lint::Level)>, Problem> {
    split_list(text)
        .iter()
        .map(|pair| {
            let Some((rule, level)) = pair.split_once('=') else {
                return Err(Problem::new(format!(
                    "has {}, which is not rule=level",
                    quote(pair)
                ))
                .hint("write rule=level pairs separated by commas, e.g. missing-undo=off,drop-column=error"));
            };
            Ok((parse_rule(rule)?, parse_level(level)?))
        })
        .collect()
}
