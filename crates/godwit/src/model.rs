//! Versions, migration kinds, checksums and history rows: the nouns every other module uses.
//!
//! Nothing in here performs I/O except [`checksum_reader`], which only reads the reader it is given.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::io::BufRead;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

/// A migration version such as `1`, `1.2`, `2_0_1` or `20260101120000`.
///
/// Versions compare numerically part by part, so `1.10` is above `1.9`, and trailing zero parts are
/// ignored, so `1.0` equals `1`. Parts may be arbitrarily long: they are compared as digit strings,
/// never parsed into a fixed-width integer that could overflow.
#[derive(Clone)]
pub struct Version {
    /// The normalised text: parts joined by `.` exactly as written (`2_0_1` becomes `2.0.1`).
    text: String,
}

impl Version {
    /// Parses a version; `_` and `.` both separate parts.
    pub fn parse(input: &str) -> Result<Version, String> {
        if input.is_empty() {
            return Err("the version is empty".into());
        }
        let text = input.replace('_', ".");
        for part in text.split('.') {
            if part.is_empty() {
                return Err(format!(
                    "`{input}` has an empty part; versions are integers separated by `.` or `_`"
                ));
            }
            if !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "`{input}` is not a version; versions are integers separated by `.` or `_`"
                ));
            }
        }
        Ok(Version { text })
    }

    /// The normalised text stored in the history table.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The parts that matter for comparison: leading zeros of each part stripped, trailing zero
    /// parts dropped.
    fn significant_parts(&self) -> impl Iterator<Item = &str> + Clone {
        let parts: Vec<&str> = self
            .text
            .split('.')
            .map(|p| {
                let t = p.trim_start_matches('0');
                if t.is_empty() {
                    "0"
                } else {
                    t
                }
            })
            .collect();
        let keep = parts.iter().rposition(|p| *p != "0").map_or(0, |i| i + 1);
        parts.into_iter().take(keep)
    }
}

fn compare_digits(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let mut a = self.significant_parts();
        let mut b = other.significant_parts();
        loop {
            match (a.next(), b.next()) {
                (None, None) => return Ordering::Equal,
                (Some(_), None) => return Ordering::Greater,
                (None, Some(_)) => return Ordering::Less,
                (Some(x), Some(y)) => match compare_digits(x, y) {
                    Ordering::Equal => continue,
                    other => return other,
                },
            }
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl Hash for Version {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for part in self.significant_parts() {
            part.hash(state);
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Version({})", self.text)
    }
}

impl FromStr for Version {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::parse(s)
    }
}

/// The events a callback script can be attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CallbackEvent {
    BeforeMigrate,
    BeforeEachMigrate,
    AfterEachMigrate,
    AfterMigrate,
    AfterMigrateError,
}

impl CallbackEvent {
    pub const ALL: [CallbackEvent; 5] = [
        CallbackEvent::BeforeMigrate,
        CallbackEvent::BeforeEachMigrate,
        CallbackEvent::AfterEachMigrate,
        CallbackEvent::AfterMigrate,
        CallbackEvent::AfterMigrateError,
    ];

    /// The file-name stem of the event, as Flyway spells it.
    pub fn name(self) -> &'static str {
        match self {
            CallbackEvent::BeforeMigrate => "beforeMigrate",
            CallbackEvent::BeforeEachMigrate => "beforeEachMigrate",
            CallbackEvent::AfterEachMigrate => "afterEachMigrate",
            CallbackEvent::AfterMigrate => "afterMigrate",
            CallbackEvent::AfterMigrateError => "afterMigrateError",
        }
    }

    pub fn from_name(name: &str) -> Option<CallbackEvent> {
        CallbackEvent::ALL.into_iter().find(|e| e.name() == name)
    }
}

/// What a migration file is, decided by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MigrationKind {
    /// `V<version>__<description>.sql`: applied once, in version order.
    Versioned,
    /// `U<version>__<description>.sql`: reverses `V<version>`.
    Undo,
    /// `R__<description>.sql`: applied after the versioned ones, again whenever it changes.
    Repeatable,
    /// `B<version>__<description>.sql`: on an empty database, replaces every `V` up to its version.
    Baseline,
    /// `D<version>__<description>.sql`: re-run by every migrate once the database reached its version.
    Data,
    /// `beforeMigrate.sql` and friends: run at an event, never recorded.
    Callback(CallbackEvent),
}

impl MigrationKind {
    /// A short human name, used by `info` and in messages.
    pub fn label(self) -> &'static str {
        match self {
            MigrationKind::Versioned => "Versioned",
            MigrationKind::Undo => "Undo",
            MigrationKind::Repeatable => "Repeatable",
            MigrationKind::Baseline => "Baseline",
            MigrationKind::Data => "Data",
            MigrationKind::Callback(_) => "Callback",
        }
    }

    /// The file-name prefix (`V`, `U`, …); callbacks have none.
    pub fn prefix(self) -> &'static str {
        match self {
            MigrationKind::Versioned => "V",
            MigrationKind::Undo => "U",
            MigrationKind::Repeatable => "R",
            MigrationKind::Baseline => "B",
            MigrationKind::Data => "D",
            MigrationKind::Callback(_) => "",
        }
    }
}

/// Where a migration's text comes from.
#[derive(Clone)]
pub enum Source {
    /// A file read from disk when it runs (streamed, never held whole in memory).
    File(PathBuf),
    /// Text embedded into the binary or supplied by the caller.
    Text(Arc<str>),
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(p) => write!(f, "File({})", p.display()),
            Source::Text(t) => write!(f, "Text({} bytes)", t.len()),
        }
    }
}

impl Source {
    /// Opens the text for streaming.
    pub fn open(&self) -> std::io::Result<Box<dyn BufRead + Send + '_>> {
        match self {
            Source::File(path) => Ok(Box::new(std::io::BufReader::with_capacity(
                64 * 1024,
                std::fs::File::open(path)?,
            ))),
            Source::Text(text) => Ok(Box::new(text.as_bytes())),
        }
    }
}

/// One migration found in a location.
#[derive(Debug, Clone)]
pub struct Migration {
    pub kind: MigrationKind,
    /// Present for versioned, undo, baseline and data migrations.
    pub version: Option<Version>,
    /// From the file name, `_` read as a space.
    pub description: String,
    /// The path relative to its location, `/`-separated: what the history table's `script` holds.
    pub script: String,
    /// Where a user finds the file (the path as discovered); used in every message.
    pub display_path: String,
    /// Flyway's checksum of the raw text.
    pub checksum: i32,
    /// For repeatables: the checksum of the text after placeholder replacement, which decides
    /// whether it runs again. Equal to `checksum` until placeholders are applied.
    pub applied_checksum: i32,
    pub source: Source,
}

impl Migration {
    /// `V1.2`, `R__views`, `beforeMigrate`: how messages name a migration.
    pub fn label(&self) -> String {
        match (&self.kind, &self.version) {
            (MigrationKind::Callback(e), _) => e.name().to_string(),
            (MigrationKind::Repeatable, _) => format!("R__{}", self.description.replace(' ', "_")),
            (kind, Some(v)) => format!("{}{}", kind.prefix(), v),
            (kind, None) => kind.prefix().to_string(),
        }
    }
}

/// Flyway's checksum: CRC-32 over the UTF-8 bytes of each line without its terminator, a leading
/// BOM dropped, as a signed 32-bit integer. Line terminators are `\n`, `\r\n` and a lone `\r`, as
/// Java's `BufferedReader.readLine` sees them, so CRLF and LF files have the same checksum.
pub fn checksum_str(text: &str) -> i32 {
    let mut hasher = LineChecksum::default();
    hasher.update(text.as_bytes());
    hasher.finish()
}

/// Streams [`checksum_str`] over a reader without holding the whole text.
pub fn checksum_reader<R: BufRead>(mut reader: R) -> std::io::Result<i32> {
    let mut hasher = LineChecksum::default();
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let n = buf.len();
        hasher.update(buf);
        reader.consume(n);
    }
    Ok(hasher.finish())
}

/// Incremental line-wise CRC-32 that skips terminators and a leading BOM: [`checksum_str`] fed
/// in pieces of any size.
#[derive(Default)]
pub struct LineChecksum {
    crc: crc32fast::Hasher,
    /// Bytes seen so far at the start of the input, to drop a BOM split across buffers.
    started: bool,
    bom_progress: usize,
}

const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

impl LineChecksum {
    pub fn update(&mut self, mut bytes: &[u8]) {
        if !self.started {
            while self.bom_progress < 3 {
                match bytes.first() {
                    None => return,
                    Some(&b) if b == BOM[self.bom_progress] => {
                        self.bom_progress += 1;
                        bytes = &bytes[1..];
                    }
                    Some(_) => {
                        // Not a BOM after all: feed back the prefix we swallowed.
                        let swallowed = &BOM[..self.bom_progress];
                        self.bom_progress = 3;
                        self.started = true;
                        self.update_body(swallowed);
                        break;
                    }
                }
            }
            self.started = true;
        }
        self.update_body(bytes);
    }

    fn update_body(&mut self, bytes: &[u8]) {
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' || b == b'\r' {
                if start < i {
                    self.crc.update(&bytes[start..i]);
                }
                start = i + 1;
            }
        }
        if start < bytes.len() {
            self.crc.update(&bytes[start..]);
        }
    }

    pub fn finish(self) -> i32 {
        if !self.started && self.bom_progress > 0 && self.bom_progress < 3 {
            // A file that is only the first bytes of a BOM: hash them as text.
            let mut crc = self.crc;
            crc.update(&BOM[..self.bom_progress]);
            return crc.finalize() as i32;
        }
        self.crc.finalize() as i32
    }
}

/// The `type` column values godwit writes, and those Flyway writes that godwit understands.
pub mod history_type {
    pub const SQL: &str = "SQL";
    pub const SQL_BASELINE: &str = "SQL_BASELINE";
    pub const BASELINE: &str = "BASELINE";
    pub const UNDO_SQL: &str = "UNDO_SQL";
    pub const DELETE: &str = "DELETE";
    pub const SCHEMA: &str = "SCHEMA";
    pub const RUST: &str = "RUST";
}

/// One row of the history table, as read back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HistoryRow {
    pub installed_rank: i32,
    pub version: Option<String>,
    pub description: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub script: String,
    pub checksum: Option<i32>,
    pub installed_by: String,
    /// The timestamp as text, `YYYY-MM-DD HH:MM:SS`.
    pub installed_on: String,
    pub execution_time: i32,
    pub success: bool,
}

impl HistoryRow {
    /// The parsed version; `None` for repeatables, and for a version text that does not parse
    /// (which validation reports).
    pub fn parsed_version(&self) -> Option<Version> {
        self.version
            .as_deref()
            .filter(|v| !v.is_empty())
            .and_then(|v| Version::parse(v).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn versions_compare_numerically_part_by_part() {
        assert!(v("1.10") > v("1.9"));
        assert!(v("2") > v("1.999"));
        assert!(v("1.1") > v("1"));
        assert!(v("20260101120000") > v("9"));
        assert!(v("123456789012345678901234567890") > v("123456789012345678901234567889"));
        assert_eq!(v("1.0"), v("1"));
        assert_eq!(v("1.0.0"), v("1"));
        assert_eq!(v("01.002"), v("1.2"));
        assert_eq!(v("0"), v("0.0"));
        assert!(v("0.1") > v("0"));
    }

    #[test]
    fn underscores_normalise_to_dots() {
        assert_eq!(v("2_0_1").as_str(), "2.0.1");
        assert_eq!(v("2_0_1"), v("2.0.1"));
        assert_eq!(v("1.01").as_str(), "1.01");
    }

    #[test]
    fn equal_versions_hash_equally() {
        use std::collections::HashSet;
        let set: HashSet<Version> = ["1", "1.0", "1.0.0", "01"].iter().map(|s| v(s)).collect();
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn bad_versions_are_rejected() {
        for bad in ["", "a", "1.", ".1", "1..2", "1.a", "1-2", " 1", "1__2"] {
            assert!(Version::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn checksum_matches_flyway_vectors() {
        assert_eq!(checksum_str("SELECT 1;\n"), 78787420);
        assert_eq!(checksum_str("SELECT\n1;\n"), -713821291);
        assert_eq!(checksum_str("CREATE TABLE person (id INT);\n"), 172184016);
        assert_eq!(checksum_str(""), 0);
    }

    #[test]
    fn checksum_is_blind_to_line_endings_bom_and_final_newline() {
        let lf = checksum_str("SELECT\n1;\n");
        assert_eq!(checksum_str("SELECT\r\n1;\r\n"), lf);
        assert_eq!(checksum_str("SELECT\r1;\r"), lf);
        assert_eq!(checksum_str("SELECT\n1;"), lf);
        assert_eq!(checksum_str("\u{FEFF}SELECT\n1;\n"), lf);
        assert_ne!(checksum_str("SELECT 1;"), checksum_str("SELECT 2;"));
    }

    #[test]
    fn streamed_checksum_equals_whole_text_checksum_across_buffer_splits() {
        let text = "\u{FEFF}CREATE TABLE a (id INT);\r\nINSERT INTO a VALUES (1);\r\n\r\nSELECT 1;";
        let expected = checksum_str(text);
        for cap in 1..8 {
            let reader = std::io::BufReader::with_capacity(cap, text.as_bytes());
            assert_eq!(checksum_reader(reader).unwrap(), expected, "capacity {cap}");
        }
    }

    #[test]
    fn partial_bom_is_hashed_as_text() {
        let bytes = [0xEF, 0xBB, b'x'];
        let reader = std::io::BufReader::with_capacity(1, &bytes[..]);
        let mut crc = crc32fast::Hasher::new();
        crc.update(&bytes);
        assert_eq!(checksum_reader(reader).unwrap(), crc.finalize() as i32);
    }
}
