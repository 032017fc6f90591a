//! Settings that change which files are migrations and which migrations a command considers:
//! the file-name conventions ([`Naming`], Flyway's `sqlMigrationPrefix` and friends), the states
//! validation lets pass ([`IgnorePattern`], Flyway's `ignoreMigrationPatterns`) and the
//! migrations a run is limited to ([`CherryPick`], Flyway's `cherryPick`). Each is parsed once,
//! here, from the text a setting holds (docs/design.md §1.9, §4.6, §5.8).

use std::fmt;

use crate::model::Version;

/// How migration files are named (docs/design.md §1.9). The defaults are Flyway's and
/// godwit's: `V1__a.sql`, `U1__a.sql`, `B1__a.sql`, `R__a.sql`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Naming {
    /// The prefix of a versioned migration (`V`).
    pub sql_migration_prefix: String,
    /// What separates the version from the description, and a callback's event from its
    /// description (`__`).
    pub sql_migration_separator: String,
    /// The file endings of migrations (`.sql`), compared without regard to case.
    pub sql_migration_suffixes: Vec<String>,
    /// The prefix of a repeatable migration (`R`).
    pub repeatable_sql_migration_prefix: String,
    /// The prefix of an undo script (`U`).
    pub undo_sql_migration_prefix: String,
    /// The prefix of a baseline migration (`B`).
    pub baseline_migration_prefix: String,
    /// A name that starts like a migration but does not parse is an error (`true`, godwit's
    /// default) or is ignored, as Flyway does by default (`false`).
    pub validate_migration_naming: bool,
}

impl Default for Naming {
    fn default() -> Self {
        Naming {
            sql_migration_prefix: "V".into(),
            sql_migration_separator: "__".into(),
            sql_migration_suffixes: vec![".sql".into()],
            repeatable_sql_migration_prefix: "R".into(),
            undo_sql_migration_prefix: "U".into(),
            baseline_migration_prefix: "B".into(),
            validate_migration_naming: true,
        }
    }
}

impl Naming {
    /// Whether these are the default conventions (the fast path of discovery).
    pub fn is_default(&self) -> bool {
        *self == Naming::default()
    }

    /// Refuses conventions under which a name could mean two things: an empty prefix,
    /// separator or suffix, or two kinds sharing a prefix.
    pub fn check(&self) -> Result<(), String> {
        let prefixes = [
            ("sql_migration_prefix", &self.sql_migration_prefix),
            (
                "repeatable_sql_migration_prefix",
                &self.repeatable_sql_migration_prefix,
            ),
            ("undo_sql_migration_prefix", &self.undo_sql_migration_prefix),
            ("baseline_migration_prefix", &self.baseline_migration_prefix),
        ];
        for (key, value) in prefixes {
            if value.is_empty() {
                return Err(format!("`{key}` is empty: give the prefix, such as `V`"));
            }
        }
        for (i, (a, av)) in prefixes.iter().enumerate() {
            for (b, bv) in &prefixes[i + 1..] {
                if av == bv {
                    return Err(format!(
                        "`{a}` and `{b}` are both `{av}`: give each kind of migration its own prefix"
                    ));
                }
            }
        }
        if self.sql_migration_separator.is_empty() {
            return Err("`sql_migration_separator` is empty: use `__`, as Flyway does".into());
        }
        if self.sql_migration_suffixes.is_empty()
            || self.sql_migration_suffixes.iter().any(String::is_empty)
        {
            return Err(
                "`sql_migration_suffixes` needs at least one non-empty ending, such as `.sql`"
                    .into(),
            );
        }
        Ok(())
    }
}

/// The kind of migration an [`IgnorePattern`] applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternKind {
    /// `*`: every kind.
    Any,
    /// `versioned` (versioned and baseline migrations).
    Versioned,
    /// `repeatable`.
    Repeatable,
}

/// The state an [`IgnorePattern`] lets pass validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternState {
    /// `*`: every state below.
    Any,
    /// `missing`: applied, and its file is gone.
    Missing,
    /// `pending`: not applied yet (validation never reports it; accepted for Flyway's sake).
    Pending,
    /// `ignored`: not applied, below the current version, and `out_of_order` is off.
    Ignored,
    /// `future`: applied, above every file's version.
    Future,
}

/// One of Flyway's `ignoreMigrationPatterns`: `<kind>:<state>`, such as `*:missing`,
/// `repeatable:ignored` or `versioned:future` (docs/design.md §4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IgnorePattern {
    /// The kind it applies to.
    pub kind: PatternKind,
    /// The state it lets pass.
    pub state: PatternState,
}

impl IgnorePattern {
    /// Reads `<kind>:<state>` (case-insensitive, as Flyway reads it).
    pub fn parse(text: &str) -> Result<IgnorePattern, String> {
        let written = text.trim();
        let Some((kind, state)) = written.split_once(':') else {
            return Err(format!(
                "`{written}` is not a pattern: write `<type>:<state>`, such as `*:missing` or `repeatable:ignored`"
            ));
        };
        let kind = match kind.trim().to_ascii_lowercase().as_str() {
            "*" => PatternKind::Any,
            "versioned" => PatternKind::Versioned,
            "repeatable" => PatternKind::Repeatable,
            other => {
                return Err(format!(
                    "`{other}` in `{written}` is not a migration type: use `*`, `versioned` or `repeatable`"
                ))
            }
        };
        let state = match state.trim().to_ascii_lowercase().as_str() {
            "*" => PatternState::Any,
            "missing" => PatternState::Missing,
            "pending" => PatternState::Pending,
            "ignored" => PatternState::Ignored,
            "future" => PatternState::Future,
            other => {
                return Err(format!(
                    "`{other}` in `{written}` is not a state a pattern can ignore: use `*`, `missing`, `pending`, `ignored` or `future`"
                ))
            }
        };
        Ok(IgnorePattern { kind, state })
    }

    /// Whether the pattern covers a migration of this kind (`repeatable` or not) in this state.
    pub fn covers(&self, repeatable: bool, state: PatternState) -> bool {
        let kind = match self.kind {
            PatternKind::Any => true,
            PatternKind::Versioned => !repeatable,
            PatternKind::Repeatable => repeatable,
        };
        kind && (self.state == PatternState::Any || self.state == state)
    }
}

impl fmt::Display for IgnorePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            PatternKind::Any => "*",
            PatternKind::Versioned => "versioned",
            PatternKind::Repeatable => "repeatable",
        };
        let state = match self.state {
            PatternState::Any => "*",
            PatternState::Missing => "missing",
            PatternState::Pending => "pending",
            PatternState::Ignored => "ignored",
            PatternState::Future => "future",
        };
        write!(f, "{kind}:{state}")
    }
}

/// One entry of `cherry_pick`: a version, or a repeatable's description (docs/design.md §5.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CherryPick {
    /// A versioned (or baseline) migration's version.
    Version(Version),
    /// A repeatable migration's description (`_` read as a space, as in its file name).
    Repeatable(String),
}

impl CherryPick {
    /// A version when the text is one (`2`, `1.1`), else a repeatable's description.
    pub fn parse(text: &str) -> Result<CherryPick, String> {
        let written = text.trim();
        if written.is_empty() {
            return Err(
                "an entry of `cherry_pick` is empty: give a version or a repeatable's description"
                    .into(),
            );
        }
        Ok(match Version::parse(written) {
            Ok(version) => CherryPick::Version(version),
            Err(_) => CherryPick::Repeatable(written.replace('_', " ")),
        })
    }
}

impl fmt::Display for CherryPick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CherryPick::Version(v) => write!(f, "{v}"),
            CherryPick::Repeatable(d) => write!(f, "{d}"),
        }
    }
}
