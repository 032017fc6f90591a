//! Versions, migration kinds, checksums and history rows: the nouns every other module uses.
//!
//! Nothing in here performs I/O except [`Source::open`] and [`checksum_reader`], which only reads
//! the reader it is given.

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
    inner: Arc<VersionRepr>,
}

struct VersionRepr {
    /// The normalised text: parts joined by `.` exactly as written (`2_0_1` becomes `2.0.1`).
    text: Box<str>,
    /// The sort key, computed once: each part without its leading zeros, as a 4-byte big-endian
    /// length followed by its digits, trailing zero parts left out. Comparing keys byte by byte
    /// compares versions numerically (a longer part is a larger number; a key that is a prefix of
    /// another is the smaller version), and equal keys are equal versions (`1.0` = `1`).
    key: Box<[u8]>,
}

impl Version {
    /// Parses a version; `_` and `.` both separate parts.
    pub fn parse(input: &str) -> Result<Version, VersionError> {
        Version::parse_text(input).map_err(VersionError)
    }

    fn parse_text(input: &str) -> Result<Version, String> {
        if input.is_empty() {
            return Err("the version is empty".into());
        }
        let text = input.replace('_', ".");
        let mut key = Vec::with_capacity(text.len() + 8);
        let mut kept = 0;
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
            let digits = part.trim_start_matches('0');
            let Ok(len) = u32::try_from(digits.len()) else {
                return Err(format!("`{input}` is too long to be a version"));
            };
            key.extend_from_slice(&len.to_be_bytes());
            key.extend_from_slice(digits.as_bytes());
            if !digits.is_empty() {
                kept = key.len();
            }
        }
        key.truncate(kept);
        Ok(Version {
            inner: Arc::new(VersionRepr {
                text: text.into_boxed_str(),
                key: key.into_boxed_slice(),
            }),
        })
    }

    /// The normalised text stored in the history table.
    pub fn as_str(&self) -> &str {
        &self.inner.text
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        // Sorting and looking up versions is on the hot path of every run: one byte comparison.
        self.inner.key.cmp(&other.inner.key)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.inner.key == other.inner.key
    }
}

impl Eq for Version {}

impl Hash for Version {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Consistent with `Eq`: equal versions have equal keys.
        self.inner.key.hash(state);
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.text)
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Version({})", self.inner.text)
    }
}

/// Why a text is not a version: what [`Version::parse`] refuses, said so that a user can fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct VersionError(String);

impl FromStr for Version {
    type Err = VersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::parse(s)
    }
}

/// The events a callback script can be attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum CallbackEvent {
    /// Before a migrate starts (after the lock is taken).
    BeforeMigrate,
    /// Before each migration of a migrate.
    BeforeEachMigrate,
    /// After each migration of a migrate.
    AfterEachMigrate,
    /// After a migrate succeeded.
    AfterMigrate,
    /// After a migrate failed.
    AfterMigrateError,
}

impl CallbackEvent {
    /// Every event, in the order they happen.
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

    /// The event a file-name stem names (`beforeMigrate`), if any.
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

impl fmt::Display for MigrationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Serialised as its [`label`](MigrationKind::label): `"Versioned"`, `"Callback"`, ….
impl serde::Serialize for MigrationKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.label())
    }
}

/// Where a migration's text comes from.
#[derive(Clone)]
pub enum Source {
    /// A file read from disk when it runs (streamed, never held whole in memory).
    File(PathBuf),
    /// Text supplied by the caller.
    Text(Arc<str>),
    /// Text embedded into the binary at compile time.
    Embedded(&'static str),
    /// A migration written in Rust: code to call, no text.
    Rust(Arc<crate::rust_migration::RustCode>),
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(p) => write!(f, "File({})", p.display()),
            Source::Text(t) => write!(f, "Text({} bytes)", t.len()),
            Source::Embedded(t) => write!(f, "Embedded({} bytes)", t.len()),
            Source::Rust(_) => f.write_str("Rust"),
        }
    }
}

impl Source {
    /// Opens the text for streaming; a Rust migration has no text to open.
    pub fn open(&self) -> std::io::Result<Box<dyn BufRead + Send + '_>> {
        match self {
            Source::Rust(_) => Err(std::io::Error::other(
                "a migration written in Rust has no text",
            )),
            Source::File(path) => Ok(Box::new(std::io::BufReader::with_capacity(
                64 * 1024,
                std::fs::File::open(path)?,
            ))),
            Source::Text(text) => Ok(Box::new(text.as_bytes())),
            Source::Embedded(text) => Ok(Box::new(text.as_bytes())),
        }
    }
}

/// One migration found in a location.
#[derive(Debug, Clone)]
pub struct Migration {
    /// What it is, from its name.
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
    /// Where its text (or code) comes from.
    pub source: Source,
    /// `executeInTransaction` from the file's `<name>.conf` (Flyway's script configuration,
    /// docs/design.md §1.10): `Some(false)` runs it outside a transaction.
    pub execute_in_transaction: Option<bool>,
    /// `placeholderReplacement` from the file's `<name>.conf`: overrides
    /// `placeholder_replacement` for this file.
    pub placeholder_replacement: Option<bool>,
}

impl Migration {
    /// `V1.2`, `R__views`, `beforeMigrate`: how messages name a migration.
    pub fn label(&self) -> Label {
        Label::new(self.kind, self.version.as_ref(), &self.description)
    }
}

/// How messages, reports and events name a migration: `V1.2`, `U1.2`, `B1`, `D3`, `R__views`,
/// `beforeMigrate`. Built once from the kind, version and description, never parsed back:
/// [`Label::kind`] and [`Label::version`] say what it names.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Label {
    text: Box<str>,
    kind: MigrationKind,
    version: Option<Version>,
}

impl Label {
    /// The label of a migration of `kind` (a repeatable's label is `R__` and its description
    /// with `_` for spaces, as in its file name).
    pub fn new(kind: MigrationKind, version: Option<&Version>, description: &str) -> Label {
        let text = match (kind, version) {
            (MigrationKind::Callback(e), _) => e.name().to_string(),
            (MigrationKind::Repeatable, _) => format!("R__{}", description.replace(' ', "_")),
            (kind, Some(v)) => format!("{}{}", kind.prefix(), v),
            (kind, None) => kind.prefix().to_string(),
        };
        Label {
            text: text.into_boxed_str(),
            kind,
            version: version.cloned(),
        }
    }

    /// A repeatable migration's label, from its description.
    pub fn repeatable(description: &str) -> Label {
        Label::new(MigrationKind::Repeatable, None, description)
    }

    /// A versioned migration's label.
    pub fn versioned(version: &Version) -> Label {
        Label::new(MigrationKind::Versioned, Some(version), "")
    }

    /// The migration a history row records: `B3` for a baseline migration, `V3` for a versioned
    /// one or an undo (the version it undoes), `R__views` for a repeatable. A version text that
    /// does not parse is kept as written.
    pub fn of_row(row: &HistoryRow) -> Label {
        let kind = if row.kind.is_baseline_migration() {
            MigrationKind::Baseline
        } else {
            MigrationKind::Versioned
        };
        match row.version.as_deref() {
            Some(text) if !text.is_empty() => match Version::parse(text) {
                Ok(v) => Label::new(kind, Some(&v), ""),
                Err(_) => Label {
                    text: format!("{}{text}", kind.prefix()).into_boxed_str(),
                    kind,
                    version: None,
                },
            },
            _ => Label::repeatable(&row.description),
        }
    }

    /// What it names.
    pub fn kind(&self) -> MigrationKind {
        self.kind
    }

    /// Its version, for the kinds that have one.
    pub fn version(&self) -> Option<&Version> {
        self.version.as_ref()
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// For an undo (`U3`), the versioned migration it reverses (`V3`); otherwise itself.
    pub fn undone(&self) -> Label {
        match (self.kind, &self.version) {
            (MigrationKind::Undo, Some(v)) => Label::versioned(v),
            _ => self.clone(),
        }
    }

    /// Whether the migration writes a history row (data migrations and callbacks do not, so a
    /// failed one leaves nothing for `repair`).
    pub fn records_history(&self) -> bool {
        !matches!(self.kind, MigrationKind::Data | MigrationKind::Callback(_))
    }
}

impl std::ops::Deref for Label {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.text, f)
    }
}

impl PartialEq<str> for Label {
    fn eq(&self, other: &str) -> bool {
        &*self.text == other
    }
}

impl PartialEq<&str> for Label {
    fn eq(&self, other: &&str) -> bool {
        &*self.text == *other
    }
}

impl PartialEq<String> for Label {
    fn eq(&self, other: &String) -> bool {
        *self.text == **other
    }
}

impl serde::Serialize for Label {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

/// Flyway's checksum: CRC-32 over the UTF-8 bytes of each line without its terminator, a leading
/// BOM dropped, as a signed 32-bit integer (one implementation, in [`godwit_sql::checksum`]).
pub use godwit_sql::checksum::{checksum_reader, checksum_str, LineChecksum};

/// The history table's `type` column: what a row records. godwit writes `SQL`, `SQL_BASELINE`,
/// `BASELINE`, `UNDO_SQL`, `DELETE` and `RUST`; Flyway writes more, and a type godwit does not know
/// is kept as it is ([`HistoryType::Other`]) and read as an applied migration, as Flyway reads it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HistoryType {
    /// `SQL`: an applied versioned or repeatable SQL migration.
    Sql,
    /// `SQL_BASELINE`: an applied baseline migration (`B` file).
    SqlBaseline,
    /// `BASELINE`: the marker `baseline` writes; nothing ran.
    Baseline,
    /// `UNDO_SQL`: an undo script that ran.
    UndoSql,
    /// `DELETE`: `repair` marked an applied migration whose file is gone as deleted.
    Delete,
    /// `SCHEMA`: Flyway's record of the schemas it created (rank 0; ignored).
    Schema,
    /// `RUST`: an applied versioned migration written in Rust.
    Rust,
    /// `JDBC`: a Java migration Flyway applied (read as applied).
    Jdbc,
    /// `JDBC_BASELINE`: a Java baseline migration Flyway applied.
    JdbcBaseline,
    /// `UNDO_JDBC`: a Java undo migration Flyway ran.
    UndoJdbc,
    /// `SCRIPT`: a script migration Flyway applied (read as applied).
    Script,
    /// `SCRIPT_BASELINE`: a script baseline migration Flyway applied.
    ScriptBaseline,
    /// `UNDO_SCRIPT`: a script undo migration Flyway ran.
    UndoScript,
    /// Any other text, kept as it is.
    Other(String),
}

impl HistoryType {
    /// The column text.
    pub fn as_str(&self) -> &str {
        match self {
            HistoryType::Sql => "SQL",
            HistoryType::SqlBaseline => "SQL_BASELINE",
            HistoryType::Baseline => "BASELINE",
            HistoryType::UndoSql => "UNDO_SQL",
            HistoryType::Delete => "DELETE",
            HistoryType::Schema => "SCHEMA",
            HistoryType::Rust => "RUST",
            HistoryType::Jdbc => "JDBC",
            HistoryType::JdbcBaseline => "JDBC_BASELINE",
            HistoryType::UndoJdbc => "UNDO_JDBC",
            HistoryType::Script => "SCRIPT",
            HistoryType::ScriptBaseline => "SCRIPT_BASELINE",
            HistoryType::UndoScript => "UNDO_SCRIPT",
            HistoryType::Other(text) => text,
        }
    }

    /// Reads the column text (exact spelling, as Flyway writes it).
    pub fn parse(text: &str) -> HistoryType {
        match text {
            "SQL" => HistoryType::Sql,
            "SQL_BASELINE" => HistoryType::SqlBaseline,
            "BASELINE" => HistoryType::Baseline,
            "UNDO_SQL" => HistoryType::UndoSql,
            "DELETE" => HistoryType::Delete,
            "SCHEMA" => HistoryType::Schema,
            "RUST" => HistoryType::Rust,
            "JDBC" => HistoryType::Jdbc,
            "JDBC_BASELINE" => HistoryType::JdbcBaseline,
            "UNDO_JDBC" => HistoryType::UndoJdbc,
            "SCRIPT" => HistoryType::Script,
            "SCRIPT_BASELINE" => HistoryType::ScriptBaseline,
            "UNDO_SCRIPT" => HistoryType::UndoScript,
            other => HistoryType::Other(other.to_string()),
        }
    }

    /// A row of an undo that ran (`UNDO_SQL`, or Flyway's `UNDO_JDBC`/`UNDO_SCRIPT`).
    pub fn is_undo(&self) -> bool {
        matches!(
            self,
            HistoryType::UndoSql | HistoryType::UndoJdbc | HistoryType::UndoScript
        )
    }

    /// A row of an applied baseline migration (`SQL_BASELINE`, or Flyway's `JDBC_BASELINE`/
    /// `SCRIPT_BASELINE`): it stands for every version up to its own.
    pub fn is_baseline_migration(&self) -> bool {
        matches!(
            self,
            HistoryType::SqlBaseline | HistoryType::JdbcBaseline | HistoryType::ScriptBaseline
        )
    }

    /// A row of a migration Flyway ran from code or a script godwit never reads (`JDBC`,
    /// `JDBC_BASELINE`, `SCRIPT`, `SCRIPT_BASELINE`): its having no file is not a problem
    /// (docs/design.md §2.7).
    pub fn is_flyway_code(&self) -> bool {
        matches!(
            self,
            HistoryType::Jdbc
                | HistoryType::JdbcBaseline
                | HistoryType::Script
                | HistoryType::ScriptBaseline
        )
    }
}

impl fmt::Display for HistoryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for HistoryType {
    fn from(text: &str) -> Self {
        HistoryType::parse(text)
    }
}

impl From<String> for HistoryType {
    fn from(text: String) -> Self {
        match HistoryType::parse(&text) {
            HistoryType::Other(_) => HistoryType::Other(text),
            known => known,
        }
    }
}

impl serde::Serialize for HistoryType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One row of the history table, as read back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HistoryRow {
    /// 1, 2, 3 … in the order of application.
    pub installed_rank: i32,
    /// The normalised version; `None` (or empty) for repeatables.
    pub version: Option<String>,
    /// From the file name.
    pub description: String,
    /// The `type` column.
    #[serde(rename = "type")]
    pub kind: HistoryType,
    /// The file's path relative to its location.
    pub script: String,
    /// The checksum; `None` for markers.
    pub checksum: Option<i32>,
    /// Who applied it.
    pub installed_by: String,
    /// The timestamp as text, `YYYY-MM-DD HH:MM:SS`.
    pub installed_on: String,
    /// How long it ran, in milliseconds.
    pub execution_time: i32,
    /// `false` where it failed and could not be rolled back.
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

    /// Whether this row marks a migration that was running outside a transaction when its
    /// process stopped (killed, crashed, connection lost): godwit writes such a row, with
    /// `success = false` and `execution_time = -1`, before a non-transactional migration
    /// starts, and turns it into the real row when the migration ends. A row still in that
    /// state means nobody knows how much of the migration ran. To Flyway it reads as failed.
    pub fn is_interrupted(&self) -> bool {
        !self.success && self.execution_time == INTERRUPTED_EXECUTION_TIME
    }
}

/// The `execution_time` of a row written before a non-transactional migration runs; see
/// [`HistoryRow::is_interrupted`].
pub const INTERRUPTED_EXECUTION_TIME: i32 = -1;

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
        assert!(v("1.0.5") < v("1.5"));
        assert!(v("1.0.5") > v("1"));
        assert!(v("1.0.5") > v("1.0.0"));
        assert!(v("10") > v("9.99.99"));
        assert!(v("0.0.1") > v("0"));
        let mut sorted: Vec<Version> = ["3", "1.10", "1.9", "01.2", "1.0.1", "1", "0.9", "10"]
            .iter()
            .map(|s| v(s))
            .collect();
        sorted.sort();
        let text: Vec<&str> = sorted.iter().map(Version::as_str).collect();
        assert_eq!(
            text,
            ["0.9", "1", "1.0.1", "01.2", "1.9", "1.10", "3", "10"]
        );
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
}
