//! The planner: migration files + history rows + options -> a plan, an info table, or every
//! validation problem. Pure: no I/O, no clock, no database. Every ordering and validation rule of
//! godwit lives here, as `docs/design.md` §2–§10 states them, and is tested without a database.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::Serialize;

use crate::discover::MigrationSet;
use crate::model::{
    CallbackEvent, HistoryRow, HistoryType, Label, Migration, MigrationKind, Version,
};
use crate::naming::{CherryPick, IgnorePattern, PatternState};

/// How far `migrate` should go.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Target {
    /// Apply everything pending.
    #[default]
    Latest,
    /// Apply no versioned migration (repeatables and data migrations still run).
    Current,
    /// Go up or down to exactly this version.
    Version(Version),
    /// Go down to an empty database (`none`, what `godwit current` prints for one), undoing
    /// every applied migration; a rollback script can pass back whatever `current` printed.
    Empty,
}

impl FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        match t.to_ascii_lowercase().as_str() {
            "latest" | "" => Ok(Target::Latest),
            "current" => Ok(Target::Current),
            "none" => Ok(Target::Empty),
            _ => Version::parse(t).map(Target::Version).map_err(|e| {
                format!("{e}; a target is `latest`, `current`, `none` or a version such as `3` or `1.2`")
            }),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Latest => f.write_str("latest"),
            Target::Current => f.write_str("current"),
            Target::Empty => f.write_str("none"),
            Target::Version(v) => write!(f, "{v}"),
        }
    }
}

/// The options that change what the planner decides.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The version to migrate to.
    pub target: Target,
    /// Allow applying a pending version older than the newest applied one.
    pub out_of_order: bool,
    /// Validation problems to let pass (Flyway's `ignoreMigrationPatterns`, §4.6).
    pub ignore: Vec<IgnorePattern>,
    /// Only these versions and repeatables are applied (Flyway's `cherryPick`, §5.8); empty:
    /// all of them.
    pub cherry_pick: Vec<CherryPick>,
}

impl Options {
    /// Whether a pattern lets a problem of this kind of migration in this state pass (§4.6).
    fn ignores(&self, repeatable: bool, state: PatternState) -> bool {
        self.ignore.iter().any(|p| p.covers(repeatable, state))
    }

    /// Whether `cherry_pick` lets a schema step run (§5.8).
    fn picks(&self, step: &Step) -> bool {
        if self.cherry_pick.is_empty() {
            return true;
        }
        let m = &step.migration;
        self.cherry_pick
            .iter()
            .any(|pick| match (pick, &m.version) {
                (CherryPick::Version(v), Some(version)) => {
                    m.kind != MigrationKind::Repeatable && v == version
                }
                (CherryPick::Repeatable(d), None) => {
                    m.kind == MigrationKind::Repeatable && *d == m.description
                }
                _ => false,
            })
    }
}

/// The state of one migration, as `info` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum State {
    /// Not applied yet; the next migrate applies it.
    Pending,
    /// Applied.
    Success,
    /// Failed, and recorded so (where DDL is not transactional).
    Failed,
    /// Started without a transaction and never finished (client killed, server crash): how much
    /// of it ran is unknown.
    Interrupted,
    /// Applied, but its file is gone.
    Missing,
    /// Applied, newer than every file: a newer release migrated this database.
    Future,
    /// Older than the newest applied version and not applied (allowed with `--out-of-order`).
    Ignored,
    /// A repeatable whose file changed since it was applied: it will run again.
    Outdated,
    /// Reversed by its undo script; pending again.
    Undone,
    /// The baseline marker, or a baseline migration that was applied.
    Baseline,
    /// At or below the baseline version: never applied, never needed.
    #[serde(rename = "Below Baseline")]
    BelowBaseline,
    /// Not applied because it is above the target.
    #[serde(rename = "Above Target")]
    AboveTarget,
    /// Applied, file gone, but covered by a baseline migration (its release was squashed).
    Squashed,
    /// Removed from the history by `repair` (its file was gone).
    Deleted,
    /// Applied after a higher version had already been applied.
    #[serde(rename = "Out of Order")]
    OutOfOrder,
    /// A data migration the database has reached: it runs on every migrate.
    Recurring,
    /// A data migration above the database's version: it waits for its schema migration.
    Waiting,
    /// A baseline migration that an empty database would not use.
    Available,
}

impl State {
    /// How `info` shows the state.
    pub fn label(self) -> &'static str {
        match self {
            State::Pending => "Pending",
            State::Success => "Success",
            State::Failed => "Failed",
            State::Interrupted => "Interrupted",
            State::Missing => "Missing",
            State::Future => "Future",
            State::Ignored => "Ignored",
            State::Outdated => "Outdated",
            State::Undone => "Undone",
            State::Baseline => "Baseline",
            State::BelowBaseline => "Below Baseline",
            State::AboveTarget => "Above Target",
            State::Squashed => "Squashed",
            State::Deleted => "Deleted",
            State::OutOfOrder => "Out of Order",
            State::Recurring => "Recurring",
            State::Waiting => "Waiting",
            State::Available => "Available",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What the history says about one version, after replaying every row in rank order.
#[derive(Debug, Clone)]
struct VersionRecord {
    status: Status,
    /// The row that applied it (or tried to).
    applied: Arc<HistoryRow>,
    /// The newest row about this version: `applied`, or a later undo or delete row.
    latest: Arc<HistoryRow>,
    out_of_order: bool,
}

impl VersionRecord {
    /// Whether its newest row is a failure that was interrupted while it ran.
    fn interrupted(&self) -> bool {
        matches!(self.status, Status::Failed | Status::UndoFailed) && self.latest.is_interrupted()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Applied,
    Failed,
    Undone,
    /// An undo script failed (only possible where DDL is not transactional).
    UndoFailed,
    Deleted,
    BaselineMarker,
}

/// The history replayed: what is applied now.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    versions: BTreeMap<Version, VersionRecord>,
    repeatables: BTreeMap<String, (Status, Arc<HistoryRow>)>,
    baseline_marker: Option<Version>,
    invalid_rows: Vec<Arc<HistoryRow>>,
    next_rank: i32,
}

/// History rows shared, sorted by rank.
fn ranked(rows: &[HistoryRow]) -> Vec<Arc<HistoryRow>> {
    let mut rows: Vec<Arc<HistoryRow>> = rows.iter().cloned().map(Arc::new).collect();
    rows.sort_by_key(|r| r.installed_rank);
    rows
}

impl Applied {
    /// Replays history rows, in rank order.
    pub fn from_history(rows: &[HistoryRow]) -> Applied {
        Applied::replay(&ranked(rows))
    }

    /// Replays history rows already sorted by rank.
    fn replay(rows: &[Arc<HistoryRow>]) -> Applied {
        let mut applied = Applied {
            next_rank: rows
                .last()
                .map_or(1, |r| r.installed_rank.saturating_add(1)),
            ..Applied::default()
        };
        // The highest version applied so far, kept up to date row by row.
        let mut highest: Option<Version> = None;
        for row in rows {
            if row.kind == HistoryType::Schema {
                continue;
            }
            let version_text = row.version.as_deref().unwrap_or("");
            if version_text.is_empty() {
                let status = match (&row.kind, row.success) {
                    (HistoryType::Delete, _) => Status::Deleted,
                    (_, true) => Status::Applied,
                    (_, false) => Status::Failed,
                };
                applied
                    .repeatables
                    .insert(row.description.clone(), (status, row.clone()));
                continue;
            }
            let Ok(version) = Version::parse(version_text) else {
                applied.invalid_rows.push(row.clone());
                continue;
            };
            match &row.kind {
                kind if kind.is_undo() => {
                    if let Some(rec) = applied.versions.get_mut(&version) {
                        rec.status = if row.success {
                            Status::Undone
                        } else {
                            Status::UndoFailed
                        };
                        rec.latest = row.clone();
                        highest = applied.current().cloned();
                    }
                }
                HistoryType::Delete => {
                    if let Some(rec) = applied.versions.get_mut(&version) {
                        rec.status = Status::Deleted;
                        rec.latest = row.clone();
                        highest = applied.current().cloned();
                    }
                }
                kind => {
                    let status = if *kind == HistoryType::Baseline {
                        applied.baseline_marker = Some(version.clone());
                        Status::BaselineMarker
                    } else if row.success {
                        Status::Applied
                    } else {
                        Status::Failed
                    };
                    let out_of_order =
                        status == Status::Applied && highest.as_ref().is_some_and(|h| *h > version);
                    let counts = matches!(status, Status::Applied | Status::BaselineMarker);
                    let replaced = applied.versions.insert(
                        version.clone(),
                        VersionRecord {
                            status,
                            applied: row.clone(),
                            latest: row.clone(),
                            out_of_order,
                        },
                    );
                    if replaced.is_some() {
                        highest = applied.current().cloned();
                    } else if counts && highest.as_ref().is_none_or(|h| version > *h) {
                        highest = Some(version);
                    }
                }
            }
        }
        applied
    }

    /// The highest version applied now, or `None` for a database with nothing applied.
    pub fn current(&self) -> Option<&Version> {
        self.versions
            .iter()
            .rev()
            .find(|(_, r)| matches!(r.status, Status::Applied | Status::BaselineMarker))
            .map(|(v, _)| v)
    }

    fn has_any_applied(&self) -> bool {
        self.current().is_some()
            || self
                .repeatables
                .values()
                .any(|(s, _)| *s == Status::Applied)
    }

    /// The rank the next history row gets.
    pub fn next_rank(&self) -> i32 {
        self.next_rank
    }
}

/// One line of `godwit info`.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct InfoRow {
    /// `Versioned`, `Repeatable`, `Undo`, `Baseline`, `Data` or `Callback`.
    pub kind: MigrationKind,
    /// The version; `None` for repeatables.
    pub version: Option<String>,
    /// From the file name or the history.
    pub description: String,
    /// Where it stands.
    pub state: State,
    /// The path relative to its location.
    pub script: String,
    /// The history row's rank, when applied.
    pub installed_rank: Option<i32>,
    /// When it was applied.
    pub installed_on: Option<String>,
    /// Who applied it.
    pub installed_by: Option<String>,
    /// How long it ran, in milliseconds.
    pub execution_time: Option<i32>,
    /// The checksum, from the history when applied, else from the file.
    pub checksum: Option<i32>,
    /// An undo script exists for it.
    pub undoable: bool,
}

/// What `validate` found wrong, one per disagreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Problem {
    /// What kind of disagreement.
    pub kind: ProblemKind,
    /// `V3`, `R__views`: which migration.
    pub migration: String,
    /// The file concerned, where there is one.
    pub path: Option<String>,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub hint: String,
}

/// The kinds of validation [`Problem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProblemKind {
    /// A file changed after it was applied.
    ChecksumMismatch,
    /// A file was renamed after it was applied.
    DescriptionMismatch,
    /// An applied migration's file is gone.
    Missing,
    /// A pending migration is older than the newest applied one.
    OutOfOrder,
    /// The history records a failed migration.
    Failed,
    /// The history records a migration that was interrupted while it ran.
    Interrupted,
    /// A history row godwit cannot read (a bad version).
    InvalidHistory,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{p}: {}", self.message),
            None => write!(f, "{}: {}", self.migration, self.message),
        }
    }
}

/// Everything the planner knows, computed once and reused for info, validate and plans.
pub struct Catalog<'a> {
    set: &'a MigrationSet,
    applied: Applied,
    versioned: BTreeMap<Version, Arc<Migration>>,
    undo: HashMap<Version, Arc<Migration>>,
    baselines: BTreeMap<Version, Arc<Migration>>,
    /// The highest version of any V or B file.
    max_file_version: Option<Version>,
    /// Every history row, in rank order.
    rows: Vec<Arc<HistoryRow>>,
    /// The highest baseline the history records: a baseline marker, or an applied baseline
    /// migration. Versions up to it are covered and never pending.
    baseline_reached: Option<Version>,
}

impl<'a> Catalog<'a> {
    /// Files and history side by side.
    pub fn new(set: &'a MigrationSet, history: &[HistoryRow]) -> Catalog<'a> {
        let by_version = |kind: MigrationKind| -> BTreeMap<Version, Arc<Migration>> {
            set.of_kind(kind)
                .filter_map(|m| m.version.clone().map(|v| (v, m.clone())))
                .collect()
        };
        let versioned = by_version(MigrationKind::Versioned);
        let baselines = by_version(MigrationKind::Baseline);
        let undo = by_version(MigrationKind::Undo).into_iter().collect();
        let max_file_version = versioned
            .keys()
            .next_back()
            .into_iter()
            .chain(baselines.keys().next_back())
            .max()
            .cloned();
        let rows = ranked(history);
        let applied = Applied::replay(&rows);
        let baseline_reached = applied
            .versions
            .iter()
            .filter(|(_, r)| r.applied.kind.is_baseline_migration() && r.status == Status::Applied)
            .map(|(v, _)| v)
            .chain(applied.baseline_marker.as_ref())
            .max()
            .cloned();
        Catalog {
            set,
            applied,
            baseline_reached,
            versioned,
            undo,
            baselines,
            max_file_version,
            rows,
        }
    }

    /// The history replayed.
    pub fn applied(&self) -> &Applied {
        &self.applied
    }

    /// The database's current version; `None` when nothing is applied.
    pub fn current(&self) -> Option<&Version> {
        self.applied.current()
    }

    /// The highest baseline migration file.
    fn max_baseline(&self) -> Option<&Version> {
        self.baselines.keys().next_back()
    }

    fn is_future(&self, v: &Version) -> bool {
        self.max_file_version.as_ref().is_none_or(|max| v > max)
    }

    fn is_squashed(&self, v: &Version) -> bool {
        self.max_baseline().is_some_and(|b| v <= b)
    }

    /// Whether an empty database would start from a baseline migration, and which.
    fn baseline_for_empty(&self, target: &Target) -> Option<&Arc<Migration>> {
        if self.applied.has_any_applied() || self.applied.baseline_marker.is_some() {
            return None;
        }
        match target {
            Target::Latest => self.baselines.values().next_back(),
            Target::Current | Target::Empty => None,
            Target::Version(t) => self
                .baselines
                .range(..=t.clone())
                .next_back()
                .map(|(_, m)| m),
        }
    }

    /// Every problem `validate` reports, in version order.
    pub fn validate(&self, options: &Options) -> Vec<Problem> {
        let mut problems = Vec::new();
        for row in &self.applied.invalid_rows {
            problems.push(Problem {
                kind: ProblemKind::InvalidHistory,
                migration: format!("rank {}", row.installed_rank),
                path: None,
                message: format!(
                    "the history row with installed_rank {} has version `{}`, which is not a version",
                    row.installed_rank,
                    row.version.as_deref().unwrap_or("")
                ),
                hint: "fix or delete that row of the history table by hand".into(),
            });
        }
        for (version, rec) in &self.applied.versions {
            let is_baseline = rec.applied.kind.is_baseline_migration();
            let label = Label::of_row(&rec.applied).to_string();
            let applied_file = if is_baseline {
                self.baselines.get(version)
            } else {
                self.versioned.get(version)
            };
            match rec.status {
                Status::Failed | Status::UndoFailed if rec.interrupted() => {
                    let it = self.interrupted_migration(version, rec);
                    let path = if it.undo {
                        self.undo.get(version)
                    } else {
                        applied_file
                    };
                    problems.push(Problem {
                        kind: ProblemKind::Interrupted,
                        migration: label.clone(),
                        path: path.map(|m| m.display_path.clone()),
                        message: format!(
                            "{} was interrupted while it ran: how much of it ran is unknown",
                            it.what()
                        ),
                        hint: validate_hint(&it),
                    });
                    continue;
                }
                Status::Failed | Status::UndoFailed => {
                    let what = if rec.status == Status::Failed {
                        "failed"
                    } else {
                        "failed to undo"
                    };
                    problems.push(Problem {
                        kind: ProblemKind::Failed,
                        migration: label.clone(),
                        path: applied_file.map(|m| m.display_path.clone()),
                        message: format!(
                            "migration {label} ({}) {what} and left the database partly changed",
                            rec.applied.script
                        ),
                        hint: "finish or revert its changes by hand, then run `godwit repair` to remove the failed row".into(),
                    });
                    continue;
                }
                Status::Applied => {}
                Status::Undone | Status::Deleted | Status::BaselineMarker => continue,
            }
            match applied_file {
                Some(file) => self.check_same(&label, file, &rec.applied, &mut problems),
                None => {
                    // A baseline migration whose B file is gone is still covered by its V files.
                    if is_baseline && self.versioned.contains_key(version) {
                        continue;
                    }
                    if self.is_future(version)
                        || self.is_squashed(version)
                        || rec.applied.kind.is_flyway_code()
                    {
                        continue;
                    }
                    if options.ignores(false, PatternState::Missing) {
                        continue;
                    }
                    problems.push(Problem {
                        kind: ProblemKind::Missing,
                        migration: label.clone(),
                        path: None,
                        message: format!(
                            "migration {label} ({}) was applied but its file is not in any location",
                            rec.applied.script
                        ),
                        hint: "restore the file, or run `godwit repair` to mark it as deleted".into(),
                    });
                }
            }
        }
        if let Some(newest) = self.current() {
            // Whatever the target: an older file left behind is a problem of the files.
            let any_target = Options {
                target: Target::Latest,
                out_of_order: options.out_of_order,
                ..Options::default()
            };
            for (version, file) in self.versioned.range(..newest.clone()) {
                // Undone and deleted versions are pending again, not out of order (§20.1).
                let never_applied = self
                    .applied
                    .versions
                    .get(version)
                    .is_none_or(|r| matches!(r.status, Status::Failed | Status::UndoFailed));
                if never_applied
                    && self.unapplied_state(version, Some(newest), &any_target, None)
                        == State::Ignored
                    && !options.ignores(false, PatternState::Ignored)
                {
                    problems.push(Problem {
                        kind: ProblemKind::OutOfOrder,
                        migration: Label::versioned(version).to_string(),
                        path: Some(file.display_path.clone()),
                        message: format!(
                            "V{version} has not been applied, but it is older than the newest applied version {newest}"
                        ),
                        hint: "to apply it anyway, run with `--out-of-order` (or set `out_of_order = true`); otherwise give it a version above the newest applied one".into(),
                    });
                }
            }
        }
        for (description, (status, row)) in &self.applied.repeatables {
            let label = Label::repeatable(description).to_string();
            match status {
                Status::Failed if row.is_interrupted() => {
                    let it = interrupted_repeatable(description, row);
                    problems.push(Problem {
                        kind: ProblemKind::Interrupted,
                        migration: label.clone(),
                        path: self
                            .set
                            .of_kind(MigrationKind::Repeatable)
                            .find(|m| &m.description == description)
                            .map(|m| m.display_path.clone()),
                        message: format!(
                            "{} was interrupted while it ran: how much of it ran is unknown",
                            it.what()
                        ),
                        hint: validate_hint(&it),
                    });
                }
                Status::Failed => problems.push(Problem {
                    kind: ProblemKind::Failed,
                    migration: label.clone(),
                    path: None,
                    message: format!("repeatable migration {label} ({}) failed", row.script),
                    hint: "fix it by hand, then run `godwit repair` to remove the failed row"
                        .into(),
                }),
                Status::Applied => {
                    let exists = self
                        .set
                        .of_kind(MigrationKind::Repeatable)
                        .any(|m| &m.description == description);
                    if !exists && !options.ignores(true, PatternState::Missing) {
                        problems.push(Problem {
                            kind: ProblemKind::Missing,
                            migration: label.clone(),
                            path: None,
                            message: format!(
                                "repeatable migration {label} ({}) was applied but its file is not in any location",
                                row.script
                            ),
                            hint: "restore the file, or run `godwit repair` to mark it as deleted".into(),
                        });
                    }
                }
                _ => {}
            }
        }
        problems
    }

    fn check_same(
        &self,
        label: &str,
        file: &Migration,
        row: &HistoryRow,
        problems: &mut Vec<Problem>,
    ) {
        if row.checksum != Some(file.checksum) {
            problems.push(Problem {
                kind: ProblemKind::ChecksumMismatch,
                migration: label.to_string(),
                path: Some(file.display_path.clone()),
                message: format!(
                    "{label} was changed after it was applied (checksum {} applied, {} on disk)",
                    row.checksum
                        .map_or_else(|| "none".to_string(), |c| c.to_string()),
                    file.checksum
                ),
                hint: "revert the file to what was applied and put the change in a new migration; if the edit is harmless (a comment, whitespace), run `godwit repair` to accept it".into(),
            });
        }
        if row.description != file.description {
            problems.push(Problem {
                kind: ProblemKind::DescriptionMismatch,
                migration: label.to_string(),
                path: Some(file.display_path.clone()),
                message: format!(
                    "{label} was applied as `{}` but the file is now named `{}`",
                    row.description, file.description
                ),
                hint: "rename the file back, or run `godwit repair` to record the new description"
                    .into(),
            });
        }
    }

    fn below_baseline(&self, v: &Version) -> bool {
        self.baseline_reached.as_ref().is_some_and(|b| v <= b)
    }

    /// Every migration known from files or history, in order, with its state.
    pub fn info(&self, options: &Options) -> Vec<InfoRow> {
        let mut rows = Vec::new();
        let current = self.current().cloned();
        let empty_baseline = self.baseline_for_empty(&options.target).cloned();
        let mut versions: Vec<Version> = self
            .versioned
            .keys()
            .chain(self.applied.versions.keys())
            .chain(self.baselines.keys())
            .cloned()
            .collect();
        versions.sort();
        versions.dedup();
        for version in versions {
            let file = self.versioned.get(&version);
            let baseline_file = self.baselines.get(&version);
            let rec = self.applied.versions.get(&version);
            let undoable = self.undo.contains_key(&version);
            if let Some(b) = baseline_file {
                let applied_here = rec.is_some_and(|r| r.applied.kind.is_baseline_migration());
                if !applied_here {
                    let state = if empty_baseline.as_ref().is_some_and(|e| Arc::ptr_eq(e, b)) {
                        State::Pending
                    } else {
                        State::Available
                    };
                    rows.push(file_row(b, state, false));
                }
            }
            match (file, rec) {
                (Some(f), None) => {
                    let state = self.unapplied_state(
                        &version,
                        current.as_ref(),
                        options,
                        empty_baseline.as_deref(),
                    );
                    rows.push(file_row(f, state, undoable));
                }
                (f, Some(rec)) => {
                    let is_baseline = rec.status == Status::BaselineMarker
                        || rec.applied.kind.is_baseline_migration();
                    // The file this row applied: the B file for a baseline migration, none for
                    // a baseline marker, the V file otherwise.
                    let applied_file = match rec.status {
                        Status::BaselineMarker => None,
                        _ if is_baseline => baseline_file,
                        _ => f,
                    };
                    let state = match rec.status {
                        Status::Applied if rec.applied.kind.is_baseline_migration() => {
                            State::Baseline
                        }
                        Status::Applied if applied_file.is_none() => {
                            if self.is_future(&version) {
                                State::Future
                            } else if self.is_squashed(&version) {
                                State::Squashed
                            } else if rec.applied.kind.is_flyway_code() {
                                State::Success
                            } else {
                                State::Missing
                            }
                        }
                        Status::Applied if rec.out_of_order => State::OutOfOrder,
                        Status::Applied => State::Success,
                        Status::Failed | Status::UndoFailed if rec.interrupted() => {
                            State::Interrupted
                        }
                        Status::Failed | Status::UndoFailed => State::Failed,
                        Status::Undone => State::Undone,
                        Status::Deleted if applied_file.is_some() => self.unapplied_state(
                            &version,
                            current.as_ref(),
                            options,
                            empty_baseline.as_deref(),
                        ),
                        Status::Deleted => State::Deleted,
                        Status::BaselineMarker => State::Baseline,
                    };
                    let mut row = history_row(&rec.applied, state, undoable && !is_baseline);
                    if let Some(af) = applied_file {
                        row.description = af.description.clone();
                        row.script = af.script.clone();
                    }
                    rows.push(row);
                    // A V file at the version of a baseline was never applied: list it too.
                    if let (true, Some(f)) = (is_baseline, f) {
                        let state = self.unapplied_state(
                            &version,
                            current.as_ref(),
                            options,
                            empty_baseline.as_deref(),
                        );
                        rows.push(file_row(f, state, undoable));
                    }
                }
                (None, None) => {}
            }
        }
        for m in self.set.of_kind(MigrationKind::Repeatable) {
            let state = match self.applied.repeatables.get(&m.description) {
                Some((Status::Applied, row)) if row.checksum == Some(m.applied_checksum) => {
                    State::Success
                }
                Some((Status::Applied, _)) => State::Outdated,
                Some((Status::Failed, row)) if row.is_interrupted() => State::Interrupted,
                Some((Status::Failed, _)) => State::Failed,
                _ => State::Pending,
            };
            match self.applied.repeatables.get(&m.description) {
                Some((Status::Applied | Status::Failed, row)) => {
                    let mut r = history_row(row, state, false);
                    r.script = m.script.clone();
                    rows.push(r);
                }
                _ => rows.push(file_row(m, state, false)),
            }
        }
        for (description, (status, row)) in &self.applied.repeatables {
            let has_file = self
                .set
                .of_kind(MigrationKind::Repeatable)
                .any(|m| &m.description == description);
            if !has_file {
                let state = match status {
                    Status::Deleted => State::Deleted,
                    Status::Failed if row.is_interrupted() => State::Interrupted,
                    Status::Failed => State::Failed,
                    _ => State::Missing,
                };
                rows.push(history_row(row, state, false));
            }
        }
        let reached = self.version_after(options);
        for m in self.set.of_kind(MigrationKind::Data) {
            let state = match (&m.version, &reached) {
                (Some(v), Some(r)) if v <= r => State::Recurring,
                _ => State::Waiting,
            };
            rows.push(file_row(m, state, false));
        }
        rows
    }

    /// The state of a versioned file that is not applied (no row, undone or deleted): the one
    /// rule `info`, `validate` and `migrate` share (docs/design.md §3.1, §5.4). `current` is
    /// [`Catalog::current`] and `empty_baseline` [`Catalog::baseline_for_empty`], passed in so
    /// that a caller asking for every version computes them once.
    fn unapplied_state(
        &self,
        version: &Version,
        current: Option<&Version>,
        options: &Options,
        empty_baseline: Option<&Migration>,
    ) -> State {
        if self.below_baseline(version) {
            return State::BelowBaseline;
        }
        if let Some(b) = empty_baseline.and_then(|b| b.version.as_ref()) {
            if version <= b {
                return State::BelowBaseline;
            }
        }
        match &options.target {
            Target::Current | Target::Empty => return State::AboveTarget,
            Target::Version(t) if version > t => return State::AboveTarget,
            _ => {}
        }
        if current.is_some_and(|c| version < c) && !options.out_of_order {
            return State::Ignored;
        }
        State::Pending
    }

    /// The version the database will be at after `migrate` with these options.
    fn version_after(&self, options: &Options) -> Option<Version> {
        let current = self.current().cloned();
        match &options.target {
            Target::Current => current,
            Target::Empty => None,
            Target::Version(t) => Some(t.clone()),
            Target::Latest => {
                let newest_file = self.versioned.keys().next_back().cloned();
                let baseline = self
                    .baseline_for_empty(&options.target)
                    .and_then(|b| b.version.clone());
                current.into_iter().chain(newest_file).chain(baseline).max()
            }
        }
    }

    /// Checks that a target version names a known version.
    fn check_target(&self, target: &Target) -> Result<(), PlanError> {
        let Target::Version(t) = target else {
            return Ok(());
        };
        let known = self.versioned.contains_key(t)
            || self.baselines.contains_key(t)
            || self.applied.versions.contains_key(t);
        if known {
            return Ok(());
        }
        let mut all: Vec<&Version> = self
            .versioned
            .keys()
            .chain(self.baselines.keys())
            .chain(self.applied.versions.keys())
            .collect();
        all.sort();
        all.dedup();
        Err(PlanError::UnknownTarget {
            target: t.clone(),
            known: all.iter().map(|v| v.to_string()).collect(),
        })
    }

    /// The plan for `migrate`: up (or down when the target is below the current version).
    pub fn plan_migrate(&self, options: &Options) -> Result<Plan, PlanError> {
        self.check_target(&options.target)?;
        let current = self.current().cloned();
        match (&options.target, &current) {
            (Target::Version(t), Some(c)) if t < c => return self.plan_down(t.clone()),
            (Target::Empty, Some(_)) => return self.plan_down_to(None),
            (Target::Empty, None) => {
                return Ok(Plan {
                    steps: Vec::new(),
                    on_error: Vec::new(),
                    current: None,
                    pending: 0,
                    direction: Direction::Down,
                })
            }
            _ => {}
        }
        self.check_failed()?;
        self.check_squashed_away()?;
        let mut steps = Vec::new();
        let callbacks = |event: CallbackEvent| -> Vec<Step> {
            let mut found: Vec<&Arc<Migration>> =
                self.set.of_kind(MigrationKind::Callback(event)).collect();
            // In file name order (`beforeMigrate.sql`, `beforeMigrate__10.sql`,
            // `beforeMigrate__1_b.sql`), not by description, where `_` reads as a space.
            found.sort_by(|a, b| file_name(&a.script).cmp(file_name(&b.script)));
            found
                .into_iter()
                .map(|m| Step {
                    action: Action::Callback(event),
                    migration: m.clone(),
                })
                .collect()
        };
        steps.extend(callbacks(CallbackEvent::BeforeMigrate));
        let mut schema_steps = Vec::new();
        let baseline = self.baseline_for_empty(&options.target).cloned();
        if let Some(b) = &baseline {
            schema_steps.push(Step {
                action: Action::ApplyBaseline,
                migration: b.clone(),
            });
        }
        for (version, m) in &self.versioned {
            // Applied, failed and interrupted versions never run (the run was refused above
            // for the last two); an `Ignored` one is skipped as Flyway does (validation reports
            // it, so with `validate_on_migrate` the run stopped before this).
            let unapplied = self
                .applied
                .versions
                .get(version)
                .is_none_or(|r| matches!(r.status, Status::Undone | Status::Deleted));
            if unapplied
                && self.unapplied_state(version, current.as_ref(), options, baseline.as_deref())
                    == State::Pending
            {
                schema_steps.push(Step {
                    action: Action::Apply,
                    migration: m.clone(),
                });
            }
        }
        for m in self.set.of_kind(MigrationKind::Repeatable) {
            let needed = match self.applied.repeatables.get(&m.description) {
                Some((Status::Applied, row)) => row.checksum != Some(m.applied_checksum),
                _ => true,
            };
            if needed {
                schema_steps.push(Step {
                    action: Action::Repeat,
                    migration: m.clone(),
                });
            }
        }
        schema_steps.retain(|step| options.picks(step));
        let pending = schema_steps.len();
        for step in schema_steps {
            steps.extend(callbacks(CallbackEvent::BeforeEachMigrate));
            steps.push(step);
            steps.extend(callbacks(CallbackEvent::AfterEachMigrate));
        }
        let reached = self.version_after(options);
        for m in self.set.of_kind(MigrationKind::Data) {
            if let (Some(v), Some(r)) = (&m.version, &reached) {
                if v <= r {
                    steps.push(Step {
                        action: Action::Data,
                        migration: m.clone(),
                    });
                }
            }
        }
        steps.extend(callbacks(CallbackEvent::AfterMigrate));
        Ok(Plan {
            steps,
            on_error: callbacks(CallbackEvent::AfterMigrateError),
            current,
            pending,
            direction: Direction::Up,
        })
    }

    /// The plan for `undo`: the newest applied version, or down to `target`.
    pub fn plan_undo(&self, target: Option<&Version>) -> Result<Plan, PlanError> {
        match target {
            Some(t) => {
                self.check_target(&Target::Version(t.clone()))?;
                match self.current() {
                    None => Err(PlanError::NothingToUndo),
                    Some(c) if t >= c => Err(PlanError::TargetNotBelowCurrent {
                        target: t.clone(),
                        current: c.clone(),
                    }),
                    Some(_) => self.plan_down(t.clone()),
                }
            }
            None => {
                let Some(current) = self.current().cloned() else {
                    return Err(PlanError::NothingToUndo);
                };
                let below = self
                    .applied
                    .versions
                    .iter()
                    .rev()
                    .filter(|(v, r)| {
                        *v < &current
                            && matches!(r.status, Status::Applied | Status::BaselineMarker)
                    })
                    .map(|(v, _)| v.clone())
                    .next();
                match below {
                    Some(b) => self.plan_down(b),
                    None => self.plan_down_to(None),
                }
            }
        }
    }

    fn plan_down(&self, target: Version) -> Result<Plan, PlanError> {
        self.plan_down_to(Some(target))
    }

    fn plan_down_to(&self, target: Option<Version>) -> Result<Plan, PlanError> {
        self.check_failed()?;
        let current = self.current().cloned();
        let mut steps = Vec::new();
        let mut missing = Vec::new();
        for (version, rec) in self.applied.versions.iter().rev() {
            if target.as_ref().is_some_and(|t| version <= t) {
                break;
            }
            if rec.status != Status::Applied && rec.status != Status::BaselineMarker {
                continue;
            }
            if rec.status == Status::BaselineMarker || rec.applied.kind.is_baseline_migration() {
                return Err(PlanError::UndoBaseline {
                    version: version.clone(),
                });
            }
            match self.undo.get(version) {
                Some(u) => steps.push(Step {
                    action: Action::Undo,
                    migration: u.clone(),
                }),
                None => missing.push(version.clone()),
            }
        }
        if !missing.is_empty() {
            return Err(PlanError::MissingUndo { versions: missing });
        }
        let pending = steps.len();
        Ok(Plan {
            steps,
            on_error: Vec::new(),
            current,
            pending,
            direction: Direction::Down,
        })
    }

    /// Every migration the history records as interrupted while it ran, in version order, then
    /// the repeatables.
    pub fn interrupted(&self) -> Vec<InterruptedMigration> {
        self.applied
            .versions
            .iter()
            .filter(|(_, r)| r.interrupted())
            .map(|(v, r)| self.interrupted_migration(v, r))
            .chain(
                self.applied
                    .repeatables
                    .iter()
                    .filter(|(_, (s, r))| *s == Status::Failed && r.is_interrupted())
                    .map(|(d, (_, r))| interrupted_repeatable(d, r)),
            )
            .collect()
    }

    fn interrupted_migration(
        &self,
        version: &Version,
        rec: &VersionRecord,
    ) -> InterruptedMigration {
        let kind = if rec.applied.kind.is_baseline_migration() {
            MigrationKind::Baseline
        } else {
            MigrationKind::Versioned
        };
        InterruptedMigration {
            migration: Label::new(kind, Some(version), ""),
            script: rec.latest.script.clone(),
            version: Some(version.to_string()),
            undo: rec.status == Status::UndoFailed,
        }
    }

    /// Refuses a run while the history records a migration that was interrupted while it ran,
    /// naming both ways out. The executor asks this before validating, so that this error, with
    /// its hint, is what a run reports.
    pub fn check_interrupted(&self) -> Result<(), PlanError> {
        let interrupted = self.interrupted();
        if interrupted.is_empty() {
            Ok(())
        } else {
            Err(PlanError::Interrupted {
                migrations: interrupted,
                failed: self.failed_labels(),
            })
        }
    }

    /// Refuses a run while the history records a migration that was interrupted while it ran,
    /// or one that failed.
    fn check_failed(&self) -> Result<(), PlanError> {
        self.check_interrupted()?;
        let failed = self.failed_labels();
        if failed.is_empty() {
            Ok(())
        } else {
            Err(PlanError::FailedPresent { migrations: failed })
        }
    }

    /// The failed (not interrupted) migrations, as `V3 (V3__x.sql)`.
    fn failed_labels(&self) -> Vec<String> {
        self.applied
            .versions
            .iter()
            .filter(|(_, r)| {
                matches!(r.status, Status::Failed | Status::UndoFailed) && !r.interrupted()
            })
            .map(|(_, r)| format!("{} ({})", Label::of_row(&r.applied), r.applied.script))
            .chain(
                self.applied
                    .repeatables
                    .iter()
                    .filter(|(_, (s, r))| *s == Status::Failed && !r.is_interrupted())
                    .map(|(d, (_, r))| format!("{} ({})", Label::repeatable(d), r.script)),
            )
            .collect()
    }

    /// A database behind the versions the files still contain cannot be upgraded by them.
    fn check_squashed_away(&self) -> Result<(), PlanError> {
        let (Some(current), Some(baseline)) = (self.current(), self.max_baseline()) else {
            return Ok(());
        };
        if current >= baseline {
            return Ok(());
        }
        let bridged = self.versioned.keys().any(|v| v > current && v <= baseline);
        if bridged {
            return Ok(());
        }
        Err(PlanError::SquashedAway {
            current: current.clone(),
            baseline: baseline.clone(),
        })
    }
}

/// One change `repair` makes to the history table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RepairAction {
    /// Delete the row of a failed migration (or undo), or of one interrupted while it ran.
    RemoveFailed {
        /// The row's rank.
        installed_rank: i32,
        /// Its label (`V3`, `R__views`); for an undo, the version it undoes.
        migration: Label,
        /// Its script.
        script: String,
        /// The row marks a migration that was interrupted while it ran, rather than one that
        /// failed.
        interrupted: bool,
        /// The row is an undo's (`UNDO_SQL`): removing it leaves the version applied.
        undo: bool,
        /// The next migrate runs the migration again (it is not an undo, and its file exists).
        runs_again: bool,
    },
    /// Record the checksum and description of the file on disk for an applied migration.
    Realign {
        /// The row's rank.
        installed_rank: i32,
        /// Its label (`V3`).
        migration: Label,
        /// The checksum recorded.
        old_checksum: Option<i32>,
        /// The file's checksum, recorded instead.
        checksum: i32,
        /// The description recorded.
        old_description: String,
        /// The file's description, recorded instead.
        description: String,
    },
    /// Record a versioned migration (or an undo) as applied without running it, for one that
    /// was finished by hand: its failed or interrupted row becomes a success row, or a success
    /// row is added for a pending one. Only `repair --mark-applied` plans it.
    MarkApplied {
        /// `V3`, `B3`, or `U3` for an undo whose row failed or was interrupted.
        migration: Label,
        /// The version.
        version: String,
        /// The row turned into a success row; `None` when a row is added.
        installed_rank: Option<i32>,
        /// The row's `type` (`SQL`, `RUST`, `SQL_BASELINE`, `UNDO_SQL`).
        history_type: HistoryType,
        /// What the row records: the file's description when there is a file.
        description: String,
        /// Its script.
        script: String,
        /// What the row records: the file's checksum when there is a file.
        checksum: Option<i32>,
        /// Its state before: `Interrupted`, `Failed`, `Pending` or `Undone`.
        was: State,
    },
    /// Add a `DELETE` row for an applied migration whose file is gone.
    MarkDeleted {
        /// Its label (`V3`).
        migration: Label,
        /// Its version; `None` for a repeatable.
        version: Option<String>,
        /// Its description.
        description: String,
        /// Its script.
        script: String,
    },
}

impl fmt::Display for RepairAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RepairAction::RemoveFailed {
                installed_rank,
                migration,
                script,
                interrupted,
                undo,
                runs_again,
            } => {
                let what = if *interrupted {
                    "interrupted"
                } else {
                    "failed"
                };
                if *undo {
                    write!(
                        f,
                        "remove the {what} undo row of {migration} ({script}, installed_rank {installed_rank}): {migration} stays applied"
                    )
                } else if *runs_again {
                    write!(
                        f,
                        "remove the {what} row of {migration} ({script}, installed_rank {installed_rank}): the next migrate runs {migration} again"
                    )
                } else {
                    write!(
                        f,
                        "remove the {what} row of {migration} ({script}, installed_rank {installed_rank}): its file is gone, so it does not run again"
                    )
                }
            }
            RepairAction::MarkApplied {
                migration,
                installed_rank,
                script,
                was,
                ..
            } => {
                write!(
                    f,
                    "mark {migration} ({script}) as applied without running it: "
                )?;
                match installed_rank {
                    Some(rank) => write!(
                        f,
                        "its {} row (installed_rank {rank}) becomes a success row",
                        was.label().to_lowercase()
                    ),
                    None => f.write_str("a success row is added"),
                }
            }
            RepairAction::Realign {
                migration,
                old_checksum,
                checksum,
                old_description,
                description,
                ..
            } => {
                let mut parts = Vec::new();
                if *old_checksum != Some(*checksum) {
                    parts.push(format!(
                        "checksum {} -> {checksum}",
                        old_checksum.map_or_else(|| "none".into(), |c| c.to_string())
                    ));
                }
                if old_description != description {
                    parts.push(format!(
                        "description `{old_description}` -> `{description}`"
                    ));
                }
                write!(f, "realign {migration}: {}", parts.join(", "))
            }
            RepairAction::MarkDeleted {
                migration, script, ..
            } => write!(
                f,
                "mark {migration} ({script}) as deleted: its file is gone"
            ),
        }
    }
}

impl Catalog<'_> {
    /// What `repair` changes: failed rows removed, checksums and descriptions of applied files
    /// realigned with the disk, applied migrations whose file is gone marked as deleted.
    pub fn plan_repair(&self) -> Vec<RepairAction> {
        let mut actions = Vec::new();
        for row in self.rows.iter().filter(|r| !r.success) {
            let migration = Label::of_row(row);
            let undo = row.kind.is_undo();
            let has_file = match row.parsed_version() {
                Some(v) if row.kind.is_baseline_migration() => self.baselines.contains_key(&v),
                Some(v) => self.versioned.contains_key(&v),
                None => self
                    .set
                    .of_kind(MigrationKind::Repeatable)
                    .any(|m| m.description == row.description),
            };
            actions.push(RepairAction::RemoveFailed {
                installed_rank: row.installed_rank,
                migration,
                script: row.script.clone(),
                interrupted: row.is_interrupted(),
                undo,
                runs_again: has_file && !undo,
            });
        }
        for (version, rec) in &self.applied.versions {
            if rec.status != Status::Applied {
                continue;
            }
            let file = if rec.applied.kind.is_baseline_migration() {
                self.baselines.get(version)
            } else {
                self.versioned.get(version)
            };
            match file {
                Some(file) => {
                    if rec.applied.checksum != Some(file.checksum)
                        || rec.applied.description != file.description
                    {
                        actions.push(RepairAction::Realign {
                            installed_rank: rec.applied.installed_rank,
                            migration: file.label(),
                            old_checksum: rec.applied.checksum,
                            checksum: file.checksum,
                            old_description: rec.applied.description.clone(),
                            description: file.description.clone(),
                        });
                    }
                }
                None if self.is_future(version)
                    || self.is_squashed(version)
                    || rec.applied.kind.is_flyway_code() => {}
                None => actions.push(RepairAction::MarkDeleted {
                    migration: Label::versioned(version),
                    version: Some(version.to_string()),
                    description: rec.applied.description.clone(),
                    script: rec.applied.script.clone(),
                }),
            }
        }
        for (description, (status, row)) in &self.applied.repeatables {
            let exists = self
                .set
                .of_kind(MigrationKind::Repeatable)
                .any(|m| &m.description == description);
            if *status == Status::Applied && !exists {
                actions.push(RepairAction::MarkDeleted {
                    migration: Label::repeatable(description),
                    version: None,
                    description: description.clone(),
                    script: row.script.clone(),
                });
            }
        }
        actions
    }
}

impl Catalog<'_> {
    /// What `repair --mark-applied <version>` changes: a versioned migration finished by hand
    /// is recorded as applied without running it.
    ///
    /// - When the version's newest row failed or was interrupted, that row becomes a success row
    ///   (with the checksum and description of its file, when the file exists). For an undo's
    ///   row, the undo is what is recorded as applied: the version is then undone.
    /// - When the version has no row, or was undone or marked deleted, and a `V` file has it, a
    ///   success row is added with the file's checksum, description and script.
    ///
    /// Anything else is refused: a version nothing knows ([`PlanError::UnknownVersion`]), or one
    /// the history says is applied, a baseline, or below one ([`PlanError::CannotMarkApplied`]).
    pub fn plan_mark_applied(&self, version: &Version) -> Result<RepairAction, PlanError> {
        let refuse = |reason: String, hint: &str| PlanError::CannotMarkApplied {
            version: version.clone(),
            reason,
            hint: hint.into(),
        };
        let latest = self.rows.iter().rev().find(|r| {
            r.kind != HistoryType::Schema && r.parsed_version().as_ref() == Some(version)
        });
        let file = self.versioned.get(version);
        if let Some(row) = latest.filter(|r| !r.success) {
            let (kind, row_file) = match &row.kind {
                kind if kind.is_undo() => (MigrationKind::Undo, self.undo.get(version)),
                kind if kind.is_baseline_migration() => {
                    (MigrationKind::Baseline, self.baselines.get(version))
                }
                _ => (MigrationKind::Versioned, file),
            };
            return Ok(RepairAction::MarkApplied {
                migration: Label::new(kind, Some(version), ""),
                version: version.to_string(),
                installed_rank: Some(row.installed_rank),
                history_type: row.kind.clone(),
                description: row_file
                    .map_or_else(|| row.description.clone(), |f| f.description.clone()),
                script: row_file.map_or_else(|| row.script.clone(), |f| f.script.clone()),
                checksum: row_file.map(|f| f.checksum).or(row.checksum),
                was: if row.is_interrupted() {
                    State::Interrupted
                } else {
                    State::Failed
                },
            });
        }
        let rec = self.applied.versions.get(version);
        match rec.map(|r| r.status) {
            Some(Status::Applied) => {
                return Err(refuse(
                    format!(
                        "it is applied already (installed_rank {})",
                        rec.map_or(0, |r| r.applied.installed_rank)
                    ),
                    "`godwit info` shows every migration's state; only a pending, failed or interrupted migration can be marked",
                ))
            }
            Some(Status::BaselineMarker) => {
                return Err(refuse(
                    "it is the baseline of this database".into(),
                    "versions up to the baseline count as applied already",
                ))
            }
            _ => {}
        }
        let Some(file) = file else {
            if rec.is_none() {
                let mut known: Vec<&Version> = self
                    .versioned
                    .keys()
                    .chain(self.applied.versions.keys())
                    .collect();
                known.sort();
                known.dedup();
                return Err(PlanError::UnknownVersion {
                    version: version.clone(),
                    known: known.iter().map(|v| v.to_string()).collect(),
                });
            }
            return Err(refuse(
                "its file is not in any location, and the history says it is not applied".into(),
                "restore its `V` file first, so that the row records the file's checksum",
            ));
        };
        if let Some(baseline) = self.baseline_reached.as_ref().filter(|b| version <= *b) {
            return Err(refuse(
                format!(
                    "it is at or below the baseline version {baseline}, so it is never applied"
                ),
                "versions up to the baseline count as applied already",
            ));
        }
        let history_type = if matches!(file.source, crate::model::Source::Rust(_)) {
            HistoryType::Rust
        } else {
            HistoryType::Sql
        };
        Ok(RepairAction::MarkApplied {
            migration: file.label(),
            version: version.to_string(),
            installed_rank: None,
            history_type,
            description: file.description.clone(),
            script: file.script.clone(),
            checksum: Some(file.checksum),
            was: if rec.is_some_and(|r| r.status == Status::Undone) {
                State::Undone
            } else {
                State::Pending
            },
        })
    }
}

/// The last component of a script's path.
fn file_name(script: &str) -> &str {
    script.rsplit('/').next().unwrap_or(script)
}

fn file_row(m: &Migration, state: State, undoable: bool) -> InfoRow {
    InfoRow {
        kind: m.kind,
        version: m.version.as_ref().map(|v| v.to_string()),
        description: m.description.clone(),
        state,
        script: m.script.clone(),
        installed_rank: None,
        installed_on: None,
        installed_by: None,
        execution_time: None,
        checksum: Some(m.checksum),
        undoable,
    }
}

fn history_row(row: &HistoryRow, state: State, undoable: bool) -> InfoRow {
    let kind = match &row.kind {
        HistoryType::Baseline => MigrationKind::Baseline,
        kind if kind.is_baseline_migration() => MigrationKind::Baseline,
        _ if row.version.as_deref().unwrap_or("").is_empty() => MigrationKind::Repeatable,
        _ => MigrationKind::Versioned,
    };
    InfoRow {
        kind,
        version: row.version.clone().filter(|v| !v.is_empty()),
        description: row.description.clone(),
        state,
        script: row.script.clone(),
        installed_rank: Some(row.installed_rank),
        installed_on: Some(row.installed_on.clone()),
        installed_by: Some(row.installed_by.clone()),
        // An interrupted row's time is a marker (-1), not a duration.
        execution_time: Some(row.execution_time).filter(|_| !row.is_interrupted()),
        checksum: row.checksum,
        undoable,
    }
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Apply a versioned migration (history type `SQL`).
    Apply,
    /// Apply a baseline migration on an empty database (history type `SQL_BASELINE`).
    ApplyBaseline,
    /// Apply a new or changed repeatable migration.
    Repeat,
    /// Run an undo script (history type `UNDO_SQL`).
    Undo,
    /// Run a data migration (not recorded).
    Data,
    /// Run a callback script (not recorded).
    Callback(CallbackEvent),
}

impl Action {
    /// The history `type` this step records, if it records one.
    pub fn history_type(self) -> Option<HistoryType> {
        match self {
            Action::Apply | Action::Repeat => Some(HistoryType::Sql),
            Action::ApplyBaseline => Some(HistoryType::SqlBaseline),
            Action::Undo => Some(HistoryType::UndoSql),
            Action::Data | Action::Callback(_) => None,
        }
    }
}

/// One step of a plan: an action on a migration.
#[derive(Debug, Clone)]
pub struct Step {
    /// What to do.
    pub action: Action,
    /// With which migration.
    pub migration: Arc<Migration>,
}

/// Whether a plan goes up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Applying migrations.
    Up,
    /// Undoing migrations.
    Down,
}

/// An ordered list of steps: what `migrate` or `undo` will do, decided before anything runs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The steps, in the order they run.
    pub steps: Vec<Step>,
    /// Callbacks to run when a step fails.
    pub on_error: Vec<Step>,
    /// The version before the plan runs.
    pub current: Option<Version>,
    /// How many recorded (schema) migrations the plan applies or undoes.
    pub pending: usize,
    /// Up or down.
    pub direction: Direction,
}

impl Plan {
    /// The steps that write a history row.
    pub fn recorded(&self) -> impl Iterator<Item = &Step> {
        self.steps
            .iter()
            .filter(|s| s.action.history_type().is_some())
    }
}

/// A migration the history records as interrupted while it ran: a row written with
/// `success = false` and `execution_time = -1` before a migration without a transaction started,
/// and never turned into its real row (client killed, server crash, lost connection).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct InterruptedMigration {
    /// `V21`, `B3` or `R__views`; for an undo, the version it undoes (`V21`).
    pub migration: Label,
    /// The script the row records.
    pub script: String,
    /// The version, for `repair --mark-applied`; `None` for a repeatable.
    pub version: Option<String>,
    /// Whether it was an undo script (an `UNDO_SQL` row).
    pub undo: bool,
}

impl InterruptedMigration {
    /// `V21`, or `the undo of V21`.
    pub fn what(&self) -> String {
        if self.undo {
            format!("the undo of {}", self.migration)
        } else {
            self.migration.to_string()
        }
    }

    /// The two ways out.
    pub fn hint(&self) -> String {
        match (&self.version, self.undo) {
            (Some(v), false) => format!(
                "either finish {m} by hand, then run `godwit repair --mark-applied {v}`, which records it as applied without running it; or undo whatever part of it ran, then run `godwit repair`, which removes its row so that the next migrate runs it again",
                m = self.migration
            ),
            (Some(v), true) => format!(
                "either finish the undo by hand, then run `godwit repair --mark-applied {v}`, which records the undo as applied without running it ({m} is then undone); or redo whatever part of the undo ran, then run `godwit repair`, which removes its row ({m} stays applied)",
                m = self.migration
            ),
            (None, _) => "undo whatever part of it ran, then run `godwit repair`, which removes its row so that the next migrate runs it again".into(),
        }
    }
}

/// The hint `validate` gives: it takes no lock, so the row may belong to a run still going on.
fn validate_hint(it: &InterruptedMigration) -> String {
    format!(
        "{}. If a godwit process is running it right now, it is not interrupted: let that run end",
        it.hint()
    )
}

fn interrupted_repeatable(description: &str, row: &HistoryRow) -> InterruptedMigration {
    InterruptedMigration {
        migration: Label::repeatable(description),
        script: row.script.clone(),
        version: None,
        undo: false,
    }
}

fn interrupted_message(migrations: &[InterruptedMigration], failed: &[String]) -> String {
    let mut message = match migrations {
        [one] => format!(
            "{} was interrupted while it ran ({}): how much of it ran is unknown",
            one.what(),
            one.script
        ),
        many => format!(
            "{} were interrupted while they ran: how much of each ran is unknown",
            many.iter()
                .map(|m| format!("{} ({})", m.what(), m.script))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    if !failed.is_empty() {
        message.push_str(&format!(
            "; the history also records failed migrations: {}",
            failed.join(", ")
        ));
    }
    message
}

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    #[error("the target {target} names no known version (known: {})", if known.is_empty() { "none".to_string() } else { known.join(", ") })]
    /// The target names no known version.
    UnknownTarget {
        /// The target given.
        target: Version,
        /// The versions known from files and history.
        known: Vec<String>,
    },
    #[error("cannot go down: no undo script for {}", versions.iter().map(|v| format!("V{v}")).collect::<Vec<_>>().join(", "))]
    /// Going down needs undo scripts that do not exist.
    MissingUndo {
        /// The versions without one.
        versions: Vec<Version>,
    },
    #[error("nothing to undo: no versioned migration is applied")]
    /// No versioned migration is applied.
    NothingToUndo,
    #[error(
        "nothing to undo: the database is at version {current}, not above the target {target}"
    )]
    /// An undo target that is not below the current version.
    TargetNotBelowCurrent {
        /// The target given.
        target: Version,
        /// The database's current version.
        current: Version,
    },
    #[error("cannot undo version {version}: it is a baseline")]
    /// Undoing would go below a baseline.
    UndoBaseline {
        /// The baseline's version.
        version: Version,
    },
    #[error("{}", interrupted_message(migrations, failed))]
    /// Migrations that ran without a transaction were interrupted: how much of them ran is
    /// unknown, and the run is refused until `repair` (one of two ways) clears them.
    Interrupted {
        /// Which.
        migrations: Vec<InterruptedMigration>,
        /// Failed migrations recorded as well, as `V3 (V3__x.sql)`.
        failed: Vec<String>,
    },
    #[error("no migration has version {version}: there is no `V{version}__…` file and no history row for it (known: {})", if known.is_empty() { "none".to_string() } else { known.join(", ") })]
    /// `repair --mark-applied` was given a version nothing knows.
    UnknownVersion {
        /// The version given.
        version: Version,
        /// The versions of V files and history rows.
        known: Vec<String>,
    },
    #[error("cannot mark V{version} as applied: {reason}")]
    /// `repair --mark-applied` was given a version the history does not allow to mark.
    CannotMarkApplied {
        /// The version given.
        version: Version,
        /// Why not.
        reason: String,
        /// What to do instead.
        hint: String,
    },
    #[error("the history records failed migrations: {}", migrations.join(", "))]
    /// Failed migrations block the run until `repair`.
    FailedPresent {
        /// Their labels.
        migrations: Vec<String>,
    },
    #[error("the database is at version {current}, but the migrations after it up to version {baseline} are no longer in the files (they were squashed into a baseline migration)")]
    /// The migrations between the current version and a baseline migration are gone.
    SquashedAway {
        /// The database's current version.
        current: Version,
        /// The baseline migration's version.
        baseline: Version,
    },
}

impl PlanError {
    /// What the user should do next.
    pub fn hint(&self) -> String {
        match self {
            PlanError::UnknownTarget { .. } => {
                "pass a version listed by `godwit info`, or `latest` / `current`".into()
            }
            PlanError::MissingUndo { .. } => {
                "add the missing `U<version>__<description>.sql` scripts; nothing was undone".into()
            }
            PlanError::NothingToUndo => "`godwit info` shows what is applied".into(),
            PlanError::TargetNotBelowCurrent { .. } => {
                "pass a version below the current one (`godwit current` prints it), or `godwit migrate --target <version>` to go up".into()
            }
            PlanError::UndoBaseline { .. } => {
                "a baseline marks where godwit's history starts and cannot be reversed".into()
            }
            PlanError::Interrupted { migrations, failed } => {
                let mut hint = match migrations.as_slice() {
                    [one] => one.hint(),
                    many => many
                        .iter()
                        .map(|m| format!("for {}: {}", m.what(), m.hint()))
                        .collect::<Vec<_>>()
                        .join("; "),
                };
                if !failed.is_empty() {
                    hint.push_str("; fix the failed migrations by hand too before `godwit repair` removes their rows");
                }
                hint.push_str(". Nothing was run; `godwit info` shows the state");
                hint
            }
            PlanError::UnknownVersion { .. } => {
                "give the version of a `V` file or of a history row; `godwit info` lists them".into()
            }
            PlanError::CannotMarkApplied { hint, .. } => hint.clone(),
            PlanError::FailedPresent { .. } => {
                "fix the database by hand (the failed migration may be half-applied), then run `godwit repair` to remove the failed rows, and migrate again".into()
            }
            PlanError::SquashedAway { .. } => {
                "upgrade this database first with an earlier release that still has those migrations, then with this one".into()
            }
        }
    }
}
