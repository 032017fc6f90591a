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
        let Some(mut found) = find_placeholder(bytes, 0) else {
            return Ok(Cow::Borrowed(line));
        };
        let mut out = String::with_capacity(line.len() + 32);
        let mut copied = 0;
        loop {
            let value = self.value_of(line, found)?;
            out.push_str(line.get(copied..found.start).unwrap_or_default());
            out.push_str(value);
            copied = found.end;
            match find_placeholder(bytes, found.end) {
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
            .get(found.name_start..found.end - 1)
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
        while let Some(found) = find_placeholder(&line, from) {
            from = found.end;
            let name = line
                .get(found.name_start..found.end - 1)
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
    /// Index of the `$`.
    start: usize,
    /// Index of the first character of the name.
    name_start: usize,
    /// Index just after the closing `}`.
    end: usize,
}

/// Finds the first well-formed `${name}` at or after `from`.
///
/// Every index returned points at an ASCII byte or the end of the line, so slicing a `str` with
/// them never falls inside a multi-byte character.
fn find_placeholder(line: &[u8], mut from: usize) -> Option<Found> {
    loop {
        let rest = line.get(from..)?;
        let dollar =
            from + memchr::memchr_iter(b'$', rest).find(|&at| rest.get(at + 1) == Some(&b'{'))?;
        let name_start = dollar + 2;
        let name_len = line
            .get(name_start..)?
            .iter()
            .take_while(|&&b| is_name_byte(b))
            .count();
        let close = name_start + name_len;
        if name_len > 0 && line.get(close) == Some(&b'}') {
            return Some(Found {
                start: dollar,
                name_start,
                end: close + 1,
            });
        }
        from = dollar + 1;
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
