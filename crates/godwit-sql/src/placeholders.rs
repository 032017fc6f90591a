//! `${name}` placeholders, replaced in the raw text before it is split.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::io::{self, BufRead};
use std::sync::Arc;

use crate::lines::LineReader;

/// Values for the `${name}` placeholders of a migration script.
///
/// Placeholders are replaced on each raw line before the line is lexed, exactly as Flyway does,
/// so they also work inside string literals and comments, and a value may itself contain SQL
/// (even `;`). Names are matched case-insensitively, and a name starting with `flyway:` is the
/// same placeholder as the one starting with `godwit:`, so that Flyway scripts run unchanged.
///
/// Cloning is cheap (the values are shared), because the same set is handed to the splitter of
/// every file in a run. `Debug` shows the names only: values often hold passwords.
#[derive(Clone, Default)]
pub struct Placeholders {
    values: Arc<HashMap<String, String>>,
    syntax: Syntax,
}

/// How placeholders are written: `${name}` unless configured otherwise (Flyway's
/// `placeholderPrefix` and `placeholderSuffix`), or not at all (`placeholderReplacement`
/// off: nothing is replaced and nothing is missing).
#[derive(Clone)]
struct Syntax {
    prefix: Arc<str>,
    suffix: Arc<str>,
    enabled: bool,
}

impl Default for Syntax {
    fn default() -> Self {
        Syntax {
            prefix: "${".into(),
            suffix: "}".into(),
            enabled: true,
        }
    }
}

impl Placeholders {
    /// An empty set: every `${name}` in a script is then reported as missing.
    pub fn new() -> Self {
        Placeholders::default()
    }

    /// Sets the value of placeholder `name`, replacing any earlier value for the same name
    /// (compared case-insensitively, with `flyway:` read as `godwit:`).
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let key = normalize(&name.into());
        Arc::make_mut(&mut self.values).insert(key, value.into());
    }

    /// The value of placeholder `name`, if it has one.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(&normalize(name)).map(String::as_str)
    }

    /// Whether no placeholder has a value.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Placeholders written `<prefix>name<suffix>` instead of `${name}` (Flyway's
    /// `placeholderPrefix` and `placeholderSuffix`). Empty texts keep the defaults.
    pub fn with_syntax(mut self, prefix: &str, suffix: &str) -> Self {
        if !prefix.is_empty() {
            self.syntax.prefix = prefix.into();
        }
        if !suffix.is_empty() {
            self.syntax.suffix = suffix.into();
        }
        self
    }

    /// With `false`, no replacement at all (Flyway's `placeholderReplacement = false`): every
    /// line is kept as written and no placeholder is missing. `true` is the default.
    pub fn with_replacement(mut self, replace: bool) -> Self {
        self.syntax.enabled = replace;
        self
    }

    /// Replaces every `${name}` in one line by its value.
    ///
    /// The line is borrowed back untouched when it contains no placeholder, which is the
    /// common case and costs no allocation. Values are inserted verbatim and not scanned again,
    /// so a value containing `${...}` is not expanded recursively. A `${` without a closing `}`
    /// on the same line, or enclosing characters a name cannot contain, is left as it is.
    ///
    /// # Errors
    ///
    /// The name, as written, of the first placeholder that has no value.
    pub fn replace_line<'a>(&self, line: &'a str) -> Result<Cow<'a, str>, String> {
        let bytes = line.as_bytes();
        let Some(mut found) = find_placeholder(bytes, 0, &self.syntax) else {
            return Ok(Cow::Borrowed(line));
        };
        let mut out = String::with_capacity(line.len() + 32);
        let mut copied = 0;
        loop {
            let value = self.value_of(line, found)?;
            out.push_str(line.get(copied..found.start).unwrap_or_default());
            out.push_str(value);
            copied = found.end;
            match find_placeholder(bytes, found.end, &self.syntax) {
                Some(next) => found = next,
                None => break,
            }
        }
        out.push_str(line.get(copied..).unwrap_or_default());
        Ok(Cow::Owned(out))
    }

    /// The value of a placeholder found in `line`, or its name when it has no value.
    fn value_of(&self, line: &str, found: Found) -> Result<&str, String> {
        let name = line
            .get(found.name_start..found.name_end)
            .unwrap_or_default();
        self.get(name).ok_or_else(|| name.to_owned())
    }
}

impl fmt::Debug for Placeholders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.values.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("Placeholders")
            .field("names", &names)
            .finish_non_exhaustive()
    }
}

/// Streams `reader` and returns every placeholder that has no value, as `(line, name)` with the
/// name as written, in the order they appear.
///
/// The splitter stops at the first missing placeholder; this lets the caller report all of them
/// at once, before anything runs, so that the user fixes the configuration in one go. Lines are
/// counted like the splitter counts them (`\n`, `\r\n` or `\r`; a leading BOM ignored). Invalid
/// UTF-8 is not an error here: placeholder names are ASCII, and the splitter reports the
/// encoding problem with its own error.
///
/// # Errors
///
/// Any error from reading `reader`.
pub fn missing_placeholders<R: BufRead>(
    reader: R,
    placeholders: &Placeholders,
) -> io::Result<Vec<(u32, String)>> {
    let mut lines = LineReader::new(reader);
    let mut line = Vec::new();
    let mut missing = Vec::new();
    while lines.read_line(&mut line)? {
        let mut from = 0;
        while let Some(found) = find_placeholder(&line, from, &placeholders.syntax) {
            from = found.end;
            let name = line
                .get(found.name_start..found.name_end)
                .unwrap_or_default();
            // Names only contain ASCII characters, so this conversion cannot fail.
            let name = String::from_utf8_lossy(name);
            if placeholders.get(&name).is_none() {
                missing.push((lines.line_no(), name.into_owned()));
            }
        }
    }
    Ok(missing)
}

/// Where a well-formed `${name}` sits in a line.
#[derive(Debug, Clone, Copy)]
struct Found {
    /// Index of the prefix's first byte.
    start: usize,
    /// Index of the first character of the name.
    name_start: usize,
    /// Index just after the name.
    name_end: usize,
    /// Index just after the suffix.
    end: usize,
}

/// Finds the first well-formed `${name}` (in the configured syntax) at or after `from`.
///
/// Every index returned points at an ASCII byte, the start of the prefix or suffix, or the end
/// of the line, so slicing a `str` with them never falls inside a multi-byte character.
fn find_placeholder(line: &[u8], mut from: usize, syntax: &Syntax) -> Option<Found> {
    if !syntax.enabled {
        return None;
    }
    let prefix = syntax.prefix.as_bytes();
    let suffix = syntax.suffix.as_bytes();
    let (&first, prefix_rest) = prefix.split_first()?;
    loop {
        let rest = line.get(from..)?;
        let start = from
            + memchr::memchr_iter(first, rest).find(|&at| {
                rest.get(at + 1..)
                    .is_some_and(|r| r.starts_with(prefix_rest))
            })?;
        let name_start = start + prefix.len();
        let mut at = name_start;
        let name_end = loop {
            match line.get(at..) {
                Some(tail) if at > name_start && tail.starts_with(suffix) => break Some(at),
                Some([b, ..]) if is_name_byte(*b) => at += 1,
                _ => break None,
            }
        };
        if let Some(name_end) = name_end {
            return Some(Found {
                start,
                name_start,
                name_end,
                end: name_end + suffix.len(),
            });
        }
        from = start + 1;
    }
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b':')
}

/// The key a placeholder is stored under: lower case, with `flyway:` read as `godwit:`.
fn normalize(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    match lower.strip_prefix("flyway:") {
        Some(rest) => format!("godwit:{rest}"),
        None => lower,
    }
}
