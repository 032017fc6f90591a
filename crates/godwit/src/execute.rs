//! The executor: takes the lock, reads the history once, asks the planner for a plan, checks
//! every file of the plan (placeholders, transaction mode, syntax) before anything runs, then
//! runs the plan step by step through a driver, as `docs/design.md` §11–§14 states.

use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use godwit_sql::checksum::ChecksumReader;
use godwit_sql::{Placeholders, SplitError, Splitter};
use serde::Serialize;

use crate::discover::{FileProblem, MigrationSet};
use crate::driver::dialect::{self, NewRow};
use crate::driver::{
    CancelHandle, Dialect, Driver, DriverError, DriverErrorKind, DriverResult, HistoryTable,
    ObserveHandle, Session,
};
use crate::error::{Error, FailureCause, MigrationFailure};
use crate::interrupt::Interrupt;
use crate::model::{
    CallbackEvent, HistoryRow, HistoryType, Label, Migration, MigrationKind, Source, Version,
};
use crate::naming::{CherryPick, IgnorePattern, Naming};
use crate::plan::{Action, Applied, Catalog, InfoRow, Options, Plan, Problem, Step, Target};
use crate::rust_migration::{RustCode, RustContext};
use crate::stored_undo::{self, NewStored, StoredUndo};
use crate::timeouts::{self, StatementLimits};

/// The history table's default name (the library's and the command-line tool's).
pub(crate) const DEFAULT_HISTORY_TABLE: &str = "godwit_schema_history";

/// The name of Flyway's history table, found when godwit's own does not exist (§2.8).
pub(crate) const FLYWAY_HISTORY_TABLE: &str = "flyway_schema_history";

/// Everything that changes how godwit runs, as the library sees it (the CLI builds it from
/// files, environment and flags).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// The history table, `name` or `schema.name`.
    pub table: String,
    /// Managed schemas; the first one holds the history table and becomes the default schema.
    pub schemas: Vec<String>,
    /// The version to migrate to: `latest` (default), `current`, or a version.
    pub target: Target,
    /// Apply a pending version older than the newest applied one instead of refusing.
    pub out_of_order: bool,
    /// Validate files against history before migrating (default true).
    pub validate_on_migrate: bool,
    /// Baseline a non-empty database without history at `baseline_version` instead of refusing.
    pub baseline_on_migrate: bool,
    /// The version `baseline` and `baseline_on_migrate` mark (default `1`).
    pub baseline_version: Version,
    /// How long to wait for another process's migration lock (default 10 minutes).
    pub lock_timeout: Duration,
    /// How long each statement of a migration may wait for a lock another session holds
    /// (PostgreSQL `lock_timeout`, MySQL `lock_wait_timeout` and `innodb_lock_wait_timeout`,
    /// SQLite's busy timeout); `None` (default) keeps the server's setting. A file's
    /// `-- godwit:statement-lock-timeout=<duration>` directive overrides it.
    pub statement_lock_timeout: Option<Duration>,
    /// How long each statement of a migration may run (PostgreSQL `statement_timeout`, MariaDB
    /// `max_statement_time`, MySQL `max_execution_time`, which limits only `SELECT`; SQLite has
    /// none); `None` (default) keeps the server's setting. A file's
    /// `-- godwit:statement-timeout=<duration>` directive overrides it.
    pub statement_timeout: Option<Duration>,
    /// How many times a migration run in a transaction is retried when it failed because a
    /// statement could not get a lock (lock timeout or deadlock) and nothing of it remained
    /// (default 0: no retry). Retries wait 1 s, 2 s, 4 s, … (at most 30 s), less a random part.
    pub statement_lock_retries: u32,
    /// Allow a file to mix statements that cannot run in a transaction with others.
    pub mixed: bool,
    /// Recorded in `installed_by`; the database user when `None`.
    pub installed_by: Option<String>,
    /// Values for `${name}` placeholders in migrations.
    pub placeholders: BTreeMap<String, String>,
    /// Store the text of each applied version's undo script in the database, in the side
    /// table `<table>_undo` (default true), so that a release without the `U` file can go
    /// down through it (`docs/design.md` §21).
    pub store_undo: bool,
    /// How migration files are named (docs/design.md §1.9); used by discovery.
    pub naming: Naming,
    /// States that validation lets pass, Flyway's `ignoreMigrationPatterns` (§4.6).
    pub ignore_migration_patterns: Vec<IgnorePattern>,
    /// Flyway's `group`: every step of a `migrate` or `undo` run in one transaction, committed
    /// once at the end and rolled back as a whole on failure (PostgreSQL, SQLite); refused on
    /// MySQL/MariaDB and with a file that must run outside a transaction (§5.8.8).
    pub group: bool,
    /// Record pending migrations as applied without running them (§5.8).
    pub skip_executing_migrations: bool,
    /// Only these migrations are considered by `migrate` (§5.8); empty: all of them.
    pub cherry_pick: Vec<CherryPick>,
    /// Create the managed schemas that do not exist (default true, §5.8).
    pub create_schemas: bool,
    /// The schema that holds the history table and that migrations run in; the first of
    /// `schemas` when `None` (§5.8).
    pub default_schema: Option<String>,
    /// Replace `${name}` placeholders (default true, §15).
    pub placeholder_replacement: bool,
    /// What opens a placeholder (`${`, §15).
    pub placeholder_prefix: String,
    /// What closes a placeholder (`}`, §15).
    pub placeholder_suffix: String,
    /// The description of the marker `baseline` writes (`<< Baseline >>`, §2.4).
    pub baseline_description: String,
    /// Do not run the callbacks found in the locations (§5.8).
    pub skip_default_callbacks: bool,
    /// Use an existing `flyway_schema_history` when the history table is left at its default
    /// and does not exist (default true, §2.8).
    pub find_flyway_history: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            table: DEFAULT_HISTORY_TABLE.into(),
            schemas: Vec::new(),
            target: Target::Latest,
            out_of_order: false,
            validate_on_migrate: true,
            baseline_on_migrate: false,
            baseline_version: Version::parse("1").expect("1 is a version"),
            lock_timeout: Duration::from_secs(600),
            statement_lock_timeout: None,
            statement_timeout: None,
            statement_lock_retries: 0,
            mixed: false,
            installed_by: None,
            placeholders: BTreeMap::new(),
            store_undo: true,
            naming: Naming::default(),
            ignore_migration_patterns: Vec::new(),
            group: false,
            skip_executing_migrations: false,
            cherry_pick: Vec::new(),
            create_schemas: true,
            default_schema: None,
            placeholder_replacement: true,
            placeholder_prefix: "${".into(),
            placeholder_suffix: "}".into(),
            baseline_description: BASELINE_DESCRIPTION.into(),
            skip_default_callbacks: false,
            find_flyway_history: true,
        }
    }
}

impl Config {
    /// The configuration as the executor reads it: with `default_schema` set, that schema
    /// comes first in `schemas` (where the history table lives and what
    /// `${godwit:defaultSchema}` is), followed by the others (docs/design.md §5.8).
    pub(crate) fn resolved(mut self) -> Config {
        if let Some(schema) = self.default_schema.clone() {
            self.schemas.retain(|s| *s != schema);
            self.schemas.insert(0, schema);
        }
        self
    }
}

/// Progress, reported while a run goes on (the library never prints; the CLI does).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// Waiting for another process's lock.
    WaitingForLock,
    /// The lock is held and the run is about to start its steps: how many it has (callbacks
    /// and data migrations included; none when nothing is pending).
    Planned {
        /// How many steps will run.
        steps: usize,
    },
    /// The history table is left at its default, which does not exist, and the other
    /// well-known one does in the same schema: Flyway's `flyway_schema_history` instead of
    /// godwit's default, or `godwit_schema_history` instead of the default of a project
    /// configured through Flyway's files. godwit uses the one that exists (docs/design.md
    /// §2.8). Reported once per command, before anything else.
    FoundHistory {
        /// The table used, as `schema.name` where a schema is configured.
        table: String,
        /// The default table, which does not exist.
        instead_of: String,
    },
    /// The history table was created.
    CreatedHistory {
        /// Its name.
        table: String,
    },
    /// A step is about to run.
    Started {
        /// `V3`, `R__views`, `D4`, `beforeMigrate`.
        migration: Label,
        /// From the file name.
        description: String,
    },
    /// A statement of the running step has been running for a while (every
    /// [`HEARTBEAT`], once it has run that long).
    StillRunning {
        /// The step: `V3`, `R__views`, ….
        migration: Label,
        /// How long the statement has run (the step, where the server cannot tell).
        running_for: Duration,
        /// What it waits on, as the server says: `Lock: relation`, `Waiting for table
        /// metadata lock`; `None` when it is working or the server cannot tell.
        waiting_on: Option<String>,
        /// The sessions that block it: process id and the start of their last statement.
        blockers: Vec<(i64, String)>,
    },
    /// A file of the plan holds no statement (it is empty, or only comments) and did not come
    /// from `godwit new`'s template: it runs all the same (a versioned one is recorded as
    /// applied). Reported for every such file once the plan's files are checked, before
    /// anything runs (also by `validate` and dry runs), so that a caller can warn.
    NoStatements {
        /// `V4`, `U4`, `R__views`, `D4`, `beforeMigrate`.
        migration: Label,
        /// The file as the user knows it.
        path: String,
    },
    /// A step finished.
    Finished(StepReport),
    /// A migration run in a transaction could not get a lock, was rolled back, and runs again
    /// after `delay`.
    Retrying {
        /// `V3`, `R__views`.
        migration: Label,
        /// This retry's number, from 1.
        attempt: u32,
        /// How many retries are allowed (`statement_lock_retries`).
        retries: u32,
        /// How long godwit waits before the retry.
        delay: Duration,
        /// The database's message about the lock.
        message: String,
    },
}

/// How long a statement runs before [`Event::StillRunning`] is reported, and how often after.
pub const HEARTBEAT: Duration = Duration::from_secs(10);

/// Called with every [`Event`] of a run; see [`crate::Migrator::with_observer`].
pub type Observer = Arc<dyn Fn(&Event) + Send + Sync>;

/// A check of the migrations a run is about to apply (see [`crate::Migrator::with_pre_run_check`]):
/// given the plan's versioned, baseline, repeatable and data migrations, in order, it returns an
/// error to stop the run before anything is written.
pub type PreRunCheck = Arc<dyn Fn(&[Arc<Migration>]) -> Result<(), Error> + Send + Sync>;

/// The migrations of an upward plan that a pre-run check sees: no callbacks, no undo scripts.
fn checked_migrations(plan: &Plan) -> Vec<Arc<Migration>> {
    if plan.direction != crate::plan::Direction::Up {
        return Vec::new();
    }
    plan.steps
        .iter()
        .filter(|s| {
            matches!(
                s.action,
                Action::Apply | Action::ApplyBaseline | Action::Repeat | Action::Data
            )
        })
        .map(|s| Arc::clone(&s.migration))
        .collect()
}

/// One step that ran.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct StepReport {
    /// `V3`, `R__views`, `U3`, `D4`, `beforeMigrate`.
    pub migration: Label,
    /// What ran (serialised as `Versioned`, `Repeatable`, `Undo`, `Baseline`, `Data` or
    /// `Callback`).
    pub kind: MigrationKind,
    /// The version; `None` for repeatables and callbacks.
    pub version: Option<String>,
    /// From the file name.
    pub description: String,
    /// The path relative to its location, as the history records it.
    pub script: String,
    /// The file as the user knows it.
    pub path: String,
    /// How long it ran, in milliseconds.
    pub duration_ms: u64,
    /// How many statements it ran.
    pub statements: usize,
    /// Whether it ran inside a transaction.
    pub transactional: bool,
}

/// What a `migrate` or `undo` did.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// Every step that ran and is committed (and, when the run ends, durable), in order:
    /// migrations, data migrations and callbacks.
    pub steps: Vec<StepReport>,
    /// Steps that ran but whose survival is unknown: the connection was lost (or the final
    /// commit or flush failed) before godwit could make them durable. `godwit info` tells.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unconfirmed: Vec<StepReport>,
    /// With `group` (docs/design.md §5.8.8): steps that ran in the run's one transaction and
    /// were rolled back with it when the run failed or was interrupted; nothing of them remains.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rolled_back: Vec<StepReport>,
    /// The database's version before the run.
    pub initial_version: Option<String>,
    /// The database's version after the run.
    pub final_version: Option<String>,
    /// How many schema migrations were applied (or undone).
    pub migrations: usize,
    /// Whether nothing was changed (a dry run).
    pub dry_run: bool,
    /// How long the whole run took, in milliseconds.
    pub duration_ms: u64,
}

/// `info` output: the rows plus the current version.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Info {
    /// The database's current version; `None` when nothing is applied.
    pub current_version: Option<String>,
    /// The history table's name.
    pub history_table: String,
    /// Every migration known from files or history, in order.
    pub migrations: Vec<InfoRow>,
    /// The compatibility floor: the highest applied version recorded as breaking for older
    /// releases (`-- godwit:breaking`); a release whose files stop below it refuses to migrate.
    pub floor: Option<String>,
}

/// How a file runs with respect to transactions, decided before anything runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TxMode {
    Transaction,
    NoTransaction,
}

pub(crate) struct Executor<'a> {
    pub set: &'a MigrationSet,
    pub config: &'a Config,
    pub observer: Option<Observer>,
    pub interrupt: Option<Interrupt>,
    pub pre_run: Option<PreRunCheck>,
}

impl Executor<'_> {
    /// Runs the pre-run check, if any, on the plan's migrations (none pending: not called).
    fn pre_run_check(&self, plan: &Plan) -> Result<(), Error> {
        let Some(check) = &self.pre_run else {
            return Ok(());
        };
        let migrations = checked_migrations(plan);
        if migrations.is_empty() {
            return Ok(());
        }
        check(&migrations)
    }
}

/// The one sequence of every command that writes: take the migration lock (`interruptible`:
/// give up when the run is interrupted while waiting), do the work, and release the lock
/// whatever the work's result (the work's error wins over the release's). A macro rather than a
/// function taking an async closure, so that the public futures stay `Send`: rustc cannot
/// prove that of a higher-ranked async closure's future.
macro_rules! with_lock {
    ($executor:expr, $db:expr, $table:expr, interruptible, $work:expr) => {{
        $executor.lock_interruptible($db, $table).await?;
        let result = $work.await;
        $executor.release($db, result).await
    }};
    ($executor:expr, $db:expr, $table:expr, $work:expr) => {{
        $executor.lock($db, $table).await?;
        let result = $work.await;
        $executor.release($db, result).await
    }};
}

/// What every step of a run shares.
struct StepContext<'a> {
    table: &'a HistoryTable,
    /// Sent before every history write: see [`dialect::restore_session`].
    restore: Option<&'a str>,
    /// `group` (§5.8.8): set while the run's one transaction is open; steps open it when it is
    /// not, and leave it open when they finish. `None` without `group`.
    group: Option<&'a AtomicBool>,
    installed_by: &'a str,
    dry_run: bool,
    cancel: Option<&'a CancelHandle>,
}

/// The directive `godwit new` writes on the first line of every file (`-- godwit:template`):
/// while such a file holds no statement it is still the template, and no command runs it
/// (docs/migrations.md, "Files godwit new writes"). Once it holds SQL the line is an ordinary
/// comment.
pub(crate) const TEMPLATE_DIRECTIVE: &str = "template";

/// The placeholders godwit sets itself, after `godwit:` (or `flyway:`); see
/// [`Executor::placeholders`] and [`with_filename`].
const BUILT_IN_PLACEHOLDERS: [&str; 6] = [
    "defaultSchema",
    "user",
    "database",
    "timestamp",
    "filename",
    "table",
];

/// Whether a placeholder's name has the prefix of the built-in ones, which no setting may use.
fn is_reserved_placeholder(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("godwit:") || lower.starts_with("flyway:")
}

/// A history table godwit cannot read (a column missing or of another type, a NULL where a
/// value belongs) is refused with the table, the row and the column, and what to do; a lost
/// connection stays one.
fn unreadable_history(table: &HistoryTable, e: DriverError) -> Error {
    if e.kind != DriverErrorKind::Statement {
        return Error::from_driver(e);
    }
    let (what, fix) = if crate::driver::history_read::is_missing_column(&e) {
        ("lacks a column godwit reads", "add the column back")
    } else {
        (
            "holds a value godwit cannot read",
            "give the column its type back (or fix the row)",
        )
    };
    Error::Refused {
        message: format!("the history table `{table}` {what}: {}", e.message),
        hint: format!(
            "godwit reads the layout it creates (Flyway's; docs/migrations.md, \"The history table\"): if `{table}` belongs to another tool, set `table` to another name; if it was changed by hand, {fix}, then run the command again"
        ),
    }
}

/// What to do about a placeholder without a value: set it, unless its name is reserved for the
/// built-in ones (a setting with such a name is refused), where the hint lists those instead.
fn missing_placeholder_hint(name: &str) -> String {
    if is_reserved_placeholder(name) {
        let built_in: Vec<String> = BUILT_IN_PLACEHOLDERS
            .iter()
            .map(|b| format!("`${{godwit:{b}}}`"))
            .collect();
        let bare = name.split_once(':').map_or(name, |(_, rest)| rest);
        format!(
            "`{name}` is not a built-in placeholder, and names beginning `godwit:` or `flyway:` cannot be set: use one of {}, or name it without the prefix (`${{{bare}}}`) and set that",
            built_in.join(", ")
        )
    } else {
        format!(
            "set it with `--placeholder {name}=<value>`, `GODWIT_PLACEHOLDERS_{}=<value>` or `[placeholders]` in godwit.toml",
            name.to_ascii_uppercase().replace([':', '.', '-'], "_")
        )
    }
}

/// Whether a checked file holds any statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Statements {
    Some,
    /// Empty, or only comments: it runs all the same, with [`Event::NoStatements`].
    None,
}

/// What the directives on a file's first lines say.
struct Directives {
    /// The line of `-- godwit:no-transaction`.
    no_transaction: Option<u32>,
    /// The line of `-- godwit:template`.
    template: Option<u32>,
    /// The statement limits, the configuration's overridden by the file's.
    limits: Option<StatementLimits>,
}

/// What the check of a plan's files decided: each step's mode and limits, in order, and the
/// migrations that hold no statement.
#[derive(Default)]
struct CheckedSteps {
    modes: Vec<(TxMode, StatementLimits)>,
    /// The text of each file read whole and kept for the run (see [`keep_text`]).
    texts: Vec<Option<Arc<[u8]>>>,
    without_statements: Vec<Arc<Migration>>,
}

/// The checks every file of a plan gets before anything runs (see [`Executor::check_plan`]):
/// plain values, so that they run on the blocking pool.
#[derive(Clone, Copy)]
struct FileChecks {
    /// `mixed`: a file may mix statements that cannot run in a transaction with others.
    mixed: bool,
    /// The configuration's statement limits, which a file's directives override.
    limits: StatementLimits,
    /// `group`: every step runs in the run's one transaction, so a file that must run
    /// outside a transaction is refused (§5.8.8).
    group: bool,
}

impl FileChecks {
    /// Checks every file the plan will run, before anything runs: syntax that cannot be split,
    /// placeholders without a value, and transaction modes. Returns each step's mode.
    fn check_steps(
        &self,
        steps: &[Step],
        base: &Placeholders,
        dialect: Dialect,
    ) -> Result<CheckedSteps, Error> {
        let mut problems = Vec::new();
        let mut checked = CheckedSteps::default();
        let mut budget = KEPT_BYTES;
        for step in steps {
            let placeholders = with_filename(base, &step.migration);
            let text = match keep_text(&step.migration.source, &mut budget) {
                Ok(text) => text,
                Err(e) => {
                    problems.push(FileProblem {
                        paths: vec![step.migration.display_path.clone()],
                        line: None,
                        message: format!("cannot read: {e}"),
                        hint: None,
                    });
                    checked
                        .modes
                        .push((TxMode::Transaction, StatementLimits::default()));
                    checked.texts.push(None);
                    continue;
                }
            };
            match self.check_file(&step.migration, text.as_deref(), &placeholders, dialect) {
                Ok((mode, limits, statements)) => {
                    checked.modes.push((mode, limits));
                    // A callback runs at several points of a plan: one warning is enough.
                    if statements == Statements::None
                        && !checked
                            .without_statements
                            .iter()
                            .any(|m| m.display_path == step.migration.display_path)
                    {
                        checked.without_statements.push(step.migration.clone());
                    }
                }
                Err(mut more) => {
                    checked
                        .modes
                        .push((TxMode::Transaction, StatementLimits::default()));
                    problems.append(&mut more);
                }
            }
            checked.texts.push(text);
        }
        if problems.is_empty() {
            Ok(checked)
        } else {
            Err(Error::Files(problems))
        }
    }

    fn check_file(
        &self,
        m: &Migration,
        text: Option<&[u8]>,
        placeholders: &Placeholders,
        dialect: Dialect,
    ) -> Result<(TxMode, StatementLimits, Statements), Vec<FileProblem>> {
        self.check_file_mode(m, text, placeholders, dialect)
            .map(|(mode, limits, statements)| (mode, limits.unwrap_or(self.limits), statements))
    }

    /// The directives on the first lines of a file (`head`): whether it runs without a
    /// transaction, and its statement limits (the configuration's, overridden by the file's).
    fn directives(
        &self,
        head: &str,
        problem: impl Fn(u32, String, String) -> FileProblem,
    ) -> Result<Directives, Vec<FileProblem>> {
        let mut no_transaction = None;
        let mut template = None;
        let mut limits = self.limits;
        let mut problems = Vec::new();
        for d in godwit_sql::leading_directives(head) {
            let slot = if d.name.eq_ignore_ascii_case("no-transaction") && d.value.is_none() {
                no_transaction = Some(d.line);
                continue;
            } else if d.name.eq_ignore_ascii_case(TEMPLATE_DIRECTIVE) && d.value.is_none() {
                template = Some(d.line);
                continue;
            } else if d.name.eq_ignore_ascii_case(timeouts::LOCK_DIRECTIVE) {
                &mut limits.lock_timeout
            } else if d.name.eq_ignore_ascii_case(timeouts::TIMEOUT_DIRECTIVE) {
                &mut limits.timeout
            } else {
                // Any other `-- godwit:` comment stays a comment, as before directives had values.
                continue;
            };
            let name = d.name.to_ascii_lowercase();
            match d.value.map(timeouts::parse_duration) {
                Some(Ok(value)) => *slot = Some(value),
                Some(Err(why)) => problems.push(problem(
                    d.line,
                    format!("the directive `godwit:{name}`: {why}"),
                    format!("write it as `-- godwit:{name}=30s` on one of the first lines, before any SQL"),
                )),
                None => problems.push(problem(
                    d.line,
                    format!("the directive `godwit:{name}` needs a duration"),
                    format!("write it as `-- godwit:{name}=30s`"),
                )),
            }
        }
        if problems.is_empty() {
            Ok(Directives {
                no_transaction,
                template,
                limits: Some(limits),
            })
        } else {
            Err(problems)
        }
    }

    /// With `group`, refuses a file that must run outside a transaction: the group is one
    /// transaction, which such a file would have to end (§5.8.8).
    fn outside_group(
        &self,
        m: &Migration,
        line: Option<u32>,
        why: &str,
    ) -> Result<(), Vec<FileProblem>> {
        if !self.group {
            return Ok(());
        }
        Err(vec![FileProblem {
            paths: vec![m.display_path.clone()],
            line,
            message: format!(
                "{why}, but `group = true` runs every migration of the run in one transaction"
            ),
            hint: Some(
                "run this migration on its own first (`godwit migrate --target` its version, without `group`), or remove `group = true`".into(),
            ),
        }])
    }

    fn check_file_mode(
        &self,
        m: &Migration,
        text: Option<&[u8]>,
        placeholders: &Placeholders,
        dialect: Dialect,
    ) -> Result<(TxMode, Option<StatementLimits>, Statements), Vec<FileProblem>> {
        if let Source::Rust(code) = &m.source {
            // Code, not text: nothing to split or check before it runs.
            if code.transactional() {
                return Ok((TxMode::Transaction, None, Statements::Some));
            }
            self.outside_group(m, None, "its code runs outside a transaction")?;
            return Ok((TxMode::NoTransaction, None, Statements::Some));
        }
        let problem = |line: Option<u32>, message: String, hint: Option<String>| FileProblem {
            paths: vec![m.display_path.clone()],
            line,
            message,
            hint,
        };
        let mut reader: Box<dyn BufRead + Send + '_> = match text {
            Some(text) => Box::new(text),
            None => m
                .source
                .open()
                .map_err(|e| vec![problem(None, format!("cannot read: {e}"), None)])?,
        };
        let mut head = String::new();
        if let Err(e) = peek_head(&mut reader, &mut head) {
            return Err(vec![problem(None, format!("cannot read: {e}"), None)]);
        }
        let Directives {
            no_transaction: directive,
            template,
            limits,
        } = self.directives(&head, |line, message, hint| {
            problem(Some(line), message, Some(hint))
        })?;
        // Whether the file holds any statement (inline `COPY` data belongs to one).
        let mut any_statement = false;
        let mut first_non_tx: Option<(u32, String)> = None;
        let mut first_tx: Option<u32> = None;
        // `COMMIT`, `BEGIN`, `SAVEPOINT`...: neither kind, but refused if the file runs in a
        // transaction, which they would end or split.
        let mut first_control: Option<(u32, String)> = None;
        // The text is checksummed as it is checked: what runs is what gets recorded, even if
        // the file changed since it was discovered (or its checksum came from the cache).
        let mut tapped = ChecksumReader::new(reader);
        let splitter = Splitter::new(&mut tapped, dialect).with_placeholders(placeholders.clone());
        for statement in splitter {
            match statement {
                Ok(s) => {
                    any_statement = true;
                    if s.kind == godwit_sql::StatementKind::CopyData {
                        continue;
                    }
                    if dialect == Dialect::Postgres
                        && s.kind == godwit_sql::StatementKind::Sql
                        && godwit_sql::is_copy_from_stdin(&s.sql)
                    {
                        return Err(vec![problem(
                            Some(s.line),
                            "`COPY ... FROM STDIN` reads its rows from the client's copy protocol, which only psql speaks; godwit would wait for them forever".into(),
                            Some("load the rows with INSERT statements, or with COPY from a file on the database server".into()),
                        )]);
                    }
                    if s.non_transactional {
                        if first_non_tx.is_none() {
                            first_non_tx = Some((s.line, excerpt(&s.sql)));
                        }
                    } else if godwit_sql::is_transaction_control(dialect, &s.sql) {
                        if first_control.is_none() {
                            first_control = Some((s.line, excerpt(&s.sql)));
                        }
                    } else if first_tx.is_none() {
                        first_tx = Some(s.line);
                    }
                }
                Err(SplitError::MissingPlaceholder { .. }) => {
                    let all = m
                        .source
                        .open()
                        .and_then(|r| godwit_sql::missing_placeholders(r, placeholders))
                        .unwrap_or_default();
                    return Err(all
                        .into_iter()
                        .map(|(line, name)| {
                            problem(
                                Some(line),
                                format!(
                                    "the placeholder `{}` has no value",
                                    placeholders.written(&name)
                                ),
                                Some(missing_placeholder_hint(&name)),
                            )
                        })
                        .collect());
                }
                Err(e) => {
                    let line = e.line();
                    let hint = matches!(e, SplitError::NulByte { .. })
                        .then(|| "remove the NUL byte: migrations must be UTF-8 text".to_string());
                    return Err(vec![problem(Some(line), e.to_string(), hint)]);
                }
            }
        }
        if matches!(m.source, Source::File(_)) {
            let rest = std::io::copy(&mut tapped, &mut std::io::sink());
            let checksum = tapped.finish();
            if rest.is_err() || checksum != m.checksum {
                return Err(vec![problem(
                    None,
                    "the file changed while godwit was reading it".into(),
                    Some("run the command again once the file is saved".into()),
                )]);
            }
        }
        let statements = if any_statement {
            Statements::Some
        } else if let Some(line) = template {
            return Err(vec![problem(
                Some(line),
                format!(
                    "is still the template that `godwit new` (or `godwit init`) wrote: it holds no SQL, only comments (the `-- godwit:{TEMPLATE_DIRECTIVE}` line marks it)"
                ),
                Some(
                    "write the migration's SQL in it, or delete the file; to keep it without statements on purpose, delete its `-- godwit:template` line".into(),
                ),
            )]);
        } else {
            Statements::None
        };
        // `-- godwit:no-transaction`, or `executeInTransaction=false` in the file's `.conf`
        // (docs/design.md §1.10).
        if let Some(line) = directive {
            self.outside_group(
                m,
                Some(line),
                "`-- godwit:no-transaction` runs it outside a transaction",
            )?;
            return Ok((TxMode::NoTransaction, limits, statements));
        }
        if m.execute_in_transaction == Some(false) {
            self.outside_group(
                m,
                None,
                "`executeInTransaction=false` in its `.conf` file runs it outside a transaction",
            )?;
            return Ok((TxMode::NoTransaction, limits, statements));
        }
        if let Some((line, sql)) = &first_non_tx {
            if first_tx.is_none() || self.mixed {
                self.outside_group(
                    m,
                    Some(*line),
                    &format!("`{sql}` cannot run inside a transaction"),
                )?;
            }
        }
        let with = |mode: TxMode| (mode, limits, statements);
        match (first_non_tx, first_tx) {
            (None, _) => match first_control {
                None => Ok(with(TxMode::Transaction)),
                Some((line, sql)) => Err(vec![problem(
                    Some(line),
                    format!(
                        "`{sql}` controls transactions, but godwit runs this file in a transaction of its own: the statement would end or split it, and what ran before it could no longer be rolled back"
                    ),
                    Some(
                        "remove the statement (godwit commits each migration itself), or put `-- godwit:no-transaction` on the first line if the file manages its own transactions".into(),
                    ),
                )]),
            },
            (Some(_), None) => Ok(with(TxMode::NoTransaction)),
            (Some(_), Some(_)) if self.mixed => Ok(with(TxMode::NoTransaction)),
            (Some((line, sql)), Some(other)) => Err(vec![problem(
                Some(line),
                format!(
                    "`{sql}` cannot run inside a transaction, but this file also has statements that should (line {other})"
                ),
                Some(
                    "move the statements that cannot run in a transaction into a migration of their own, or set `mixed = true` to run the whole file without a transaction".into(),
                ),
            )]),
        }
    }
}

/// What [`Executor::check_plan`] found, step by step (the plan's steps, then its `on_error`
/// callbacks): each one's transaction mode and statement limits, and the text of each file it
/// read whole and kept for the run.
struct Checked {
    modes: Vec<(TxMode, StatementLimits)>,
    texts: Vec<Option<Arc<[u8]>>>,
}

/// How much file text a run keeps in memory between checking its files and running them; the
/// files beyond it are read again when they run.
const KEPT_BYTES: u64 = 64 << 20;

/// A file's whole text, when it is at most [`PIPELINE_BYTES`] and fits in what is left of
/// `budget`: checked and run from the same bytes, read once. `None` for other sources and for
/// larger files (read again, or streamed, when they run).
fn keep_text(source: &Source, budget: &mut u64) -> std::io::Result<Option<Arc<[u8]>>> {
    let Source::File(path) = source else {
        return Ok(None);
    };
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    if len > PIPELINE_BYTES || len > *budget {
        return Ok(None);
    }
    let mut text = Vec::with_capacity(len as usize);
    std::io::Read::read_to_end(&mut file, &mut text)?;
    *budget = budget.saturating_sub(text.len() as u64);
    Ok(Some(Arc::from(text)))
}

/// One step to run, as the run loop decided it.
#[derive(Clone, Copy)]
struct StepRun<'a> {
    step: &'a Step,
    /// In a transaction or not, decided by [`Executor::check_plan`].
    mode: TxMode,
    /// What its statements may wait and run.
    limits: &'a StatementLimits,
    /// With `${flyway:filename}` and friends for this file.
    placeholders: &'a Placeholders,
    /// Its row was written before it ran, marked as running, and is finished here.
    running_row: bool,
    /// The file's text, when [`Executor::check_plan`] kept it.
    text: Option<&'a Arc<[u8]>>,
    /// The next step, when it needs a running row: written with this step's row.
    next: Option<&'a Step>,
    /// What it writes to the undo side table with its history row (§21.1).
    sidecar: &'a [String],
}

/// A step's failure before it becomes a [`MigrationFailure`].
#[derive(Debug)]
struct StepError {
    /// The line where the failing statement starts; `None` for godwit's own statements.
    line: Option<u32>,
    /// The start of the failing statement (empty when there is none to show).
    statement: String,
    /// The database's error.
    error: DriverError,
}

impl StepError {
    fn new(line: Option<u32>, statement: String, error: DriverError) -> StepError {
        StepError {
            line,
            statement,
            error,
        }
    }
}

/// The error a step stops with when the run is interrupted between two statements.
fn interrupted_error() -> DriverError {
    DriverError {
        kind: crate::driver::DriverErrorKind::Interrupted,
        message: "interrupted before the next statement".into(),
        code: None,
    }
}

/// Stops a step between two statements once the run is interrupted.
fn check_interrupt(interrupt: Option<&Interrupt>) -> Result<(), StepError> {
    match interrupt {
        Some(i) if i.is_triggered() => {
            Err(StepError::new(None, String::new(), interrupted_error()))
        }
        _ => Ok(()),
    }
}

/// Whether a step needs its history row written before it runs, marked as running: it records
/// a row, and what it changes may outlive a failure (it runs outside a transaction, or on a
/// database whose DDL commits by itself). A row still marked running later tells that the step
/// was interrupted (see [`HistoryRow::is_interrupted`]).
fn needs_running_row(step: &Step, mode: TxMode, transactional_ddl: bool) -> bool {
    recorded_type(step).is_some()
        && (mode == TxMode::NoTransaction || (!transactional_ddl && step.action != Action::Data))
}

impl Executor<'_> {
    fn emit(&self, event: Event) {
        if let Some(o) = &self.observer {
            o(&event);
        }
    }

    fn table(&self) -> Result<HistoryTable, Error> {
        let default_schema = self.config.schemas.first().map(String::as_str);
        HistoryTable::parse(&self.config.table, default_schema).map_err(Error::Config)
    }

    /// The history table a command works on (docs/design.md §2.8): the configured one, or,
    /// when it is left at its default and does not exist, a Flyway history table beside it
    /// (`flyway_schema_history` in the same schema), which is then used instead of creating a
    /// second history table; and the other way round, godwit's own table when the default is
    /// Flyway's (a project configured through Flyway's files) and only godwit's exists. Says
    /// so through [`Event::FoundHistory`].
    pub(crate) async fn find_history_table(
        &self,
        db: &mut dyn Driver,
    ) -> Result<HistoryTable, Error> {
        let table = self.table()?;
        // The other well-known table: Flyway's beside godwit's default, and godwit's beside
        // Flyway's (the default a project configured through Flyway's files gets, §2.8.5).
        let other = match self.config.table.as_str() {
            DEFAULT_HISTORY_TABLE => FLYWAY_HISTORY_TABLE,
            FLYWAY_HISTORY_TABLE => DEFAULT_HISTORY_TABLE,
            _ => return Ok(table),
        };
        if !self.config.find_flyway_history {
            return Ok(table);
        }
        if db
            .history_exists(&table)
            .await
            .map_err(Error::from_driver)?
        {
            return Ok(table);
        }
        let found = HistoryTable {
            schema: table.schema.clone(),
            name: other.into(),
        };
        if !db
            .history_exists(&found)
            .await
            .map_err(Error::from_driver)?
        {
            return Ok(table);
        }
        tracing::info!(table = %found, "using the history table that exists");
        self.emit(Event::FoundHistory {
            table: found.to_string(),
            instead_of: table.to_string(),
        });
        Ok(found)
    }

    /// The history table (see [`Executor::find_history_table`]), once the `afterConnect`
    /// callbacks have run (§5.9): every command starts here.
    async fn history_table(&self, db: &mut dyn Driver) -> Result<HistoryTable, Error> {
        let table = self.find_history_table(db).await?;
        self.run_callbacks(db, &table, CallbackEvent::AfterConnect, false)
            .await?;
        Ok(table)
    }

    fn options(&self) -> Options {
        Options {
            target: self.config.target.clone(),
            out_of_order: self.config.out_of_order,
            ignore: self.config.ignore_migration_patterns.clone(),
            cherry_pick: self.config.cherry_pick.clone(),
        }
    }

    /// Reads the history without creating anything; `None` when there is no history table.
    async fn read_history(
        &self,
        db: &mut dyn Driver,
        table: &HistoryTable,
    ) -> Result<Option<Vec<HistoryRow>>, Error> {
        if db.history_exists(table).await.map_err(Error::from_driver)? {
            db.read_history(table)
                .await
                .map(Some)
                .map_err(|e| unreadable_history(table, e))
        } else {
            Ok(None)
        }
    }

    /// The history (`None` without a history table) and, with it, the stored undo scripts.
    async fn read_history_and_stored(
        &self,
        db: &mut dyn Driver,
        table: &HistoryTable,
    ) -> Result<(Option<Vec<HistoryRow>>, Vec<StoredUndo>), Error> {
        let history = self.read_history(db, table).await?;
        let stored = match &history {
            Some(_) => self.read_stored(db, table).await?.1,
            None => Vec::new(),
        };
        Ok((history, stored))
    }

    /// The baseline marker `migrate` would write first on a database it never managed (no
    /// history table, objects present, `baseline_on_migrate`), for a look at what it would
    /// plan; `None` where it would write none (or refuse, which is `migrate`'s to report).
    async fn baseline_migrate_would_write(
        &self,
        db: &mut dyn Driver,
        table: &HistoryTable,
        history_exists: bool,
    ) -> Result<Option<HistoryRow>, Error> {
        let baseline = !history_exists
            && self.config.baseline_on_migrate
            && db
                .has_objects(&self.config.schemas, table)
                .await
                .map_err(Error::from_driver)?;
        Ok(baseline.then(|| {
            baseline_row(
                &self.config.baseline_version,
                &self.config.baseline_description,
                "",
            )
        }))
    }

    /// What the undo side table stores (§21), and whether it exists; nothing when there is no
    /// history table.
    async fn read_stored(
        &self,
        db: &mut dyn Driver,
        table: &HistoryTable,
    ) -> Result<(bool, Vec<StoredUndo>), Error> {
        let side = stored_undo::side_table(table);
        if !db.history_exists(&side).await.map_err(Error::from_driver)? {
            return Ok((false, Vec::new()));
        }
        let rows = db
            .query_text(&stored_undo::select(db.dialect(), table))
            .await
            .map_err(|e| unreadable_history(&side, e))?;
        let stored = rows
            .iter()
            .map(|row| {
                stored_undo::parse_row(row).map_err(|why| Error::Refused {
                    message: format!("cannot read the undo side table `{side}`: {why}"),
                    hint: format!("fix or delete that row of `{side}` by hand"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((true, stored))
    }

    /// What each `Apply` step of a plan leaves in the side table (§21.1, §22.1): its `U` file's
    /// text (with `store_undo`) and whether it is marked `-- godwit:breaking`. Read before
    /// anything runs, on the blocking pool; a file that cannot be read stops the run.
    /// `texts` are the texts [`Executor::check_plan`] kept, which spare reading a file again.
    async fn sidecars(
        &self,
        plan: &Plan,
        texts: &[Option<Arc<[u8]>>],
    ) -> Result<Vec<Option<Sidecar>>, Error> {
        let undo_files: std::collections::HashMap<&Version, &Arc<Migration>> =
            if self.config.store_undo {
                self.set
                    .of_kind(MigrationKind::Undo)
                    .filter_map(|u| u.version.as_ref().map(|v| (v, u)))
                    .collect()
            } else {
                std::collections::HashMap::new()
            };
        type Wanted = (Arc<Migration>, Option<Arc<[u8]>>, Option<Arc<Migration>>);
        let mut wanted: Vec<Wanted> = Vec::new();
        for (index, step) in plan.steps.iter().enumerate() {
            if step.action != Action::Apply {
                continue;
            }
            let undo = step
                .migration
                .version
                .as_ref()
                .and_then(|v| undo_files.get(v).map(|u| Arc::clone(u)));
            wanted.push((
                step.migration.clone(),
                texts.get(index).cloned().flatten(),
                undo,
            ));
        }
        if wanted.is_empty() {
            return Ok(vec![None; plan.steps.len()]);
        }
        let read = tokio::task::spawn_blocking(move || {
            let mut problems = Vec::new();
            let mut out = Vec::with_capacity(wanted.len());
            for (m, text, undo) in wanted {
                let breaking = match is_breaking(&m, text.as_deref()) {
                    Ok(b) => b,
                    Err(e) => {
                        problems.push(cannot_read(&m, &e));
                        false
                    }
                };
                let undo = match undo {
                    None => None,
                    Some(u) => match read_text(&u) {
                        Ok(text) => Some((u, text)),
                        Err(e) => {
                            problems.push(cannot_read(&u, &e));
                            None
                        }
                    },
                };
                out.push((breaking, undo));
            }
            if problems.is_empty() {
                Ok(out)
            } else {
                Err(Error::Files(problems))
            }
        })
        .await
        .map_err(|e| Error::Io {
            what: "reading the undo scripts stopped".into(),
            source: std::io::Error::other(e),
        })??;
        let mut read = read.into_iter();
        Ok(plan
            .steps
            .iter()
            .map(|step| {
                if step.action != Action::Apply {
                    return None;
                }
                let (breaking, undo) = read.next()?;
                let version = step.migration.version.clone()?;
                (breaking || undo.is_some()).then_some(Sidecar {
                    version,
                    undo,
                    breaking,
                })
            })
            .collect())
    }

    /// The migration set with repeatable checksums taken after placeholder replacement.
    ///
    /// Unless `strict`, a repeatable with a placeholder that has no value keeps its raw checksum
    /// instead of failing here: a run then plans it, and its check of every planned file
    /// reports the missing values of all files at once. `info` is strict: it cannot tell
    /// whether such a repeatable is outdated.
    fn prepared_set(
        &self,
        session: &Session,
        table: &HistoryTable,
        strict: bool,
    ) -> Result<MigrationSet, Error> {
        let mut set = if self.config.skip_default_callbacks {
            self.set.without_callbacks()
        } else {
            self.set.clone()
        };
        let base = self.placeholders(session, table);
        let mut problems = Vec::new();
        for m in set.iter_mut() {
            if m.kind != MigrationKind::Repeatable {
                continue;
            }
            let p = with_filename(&base, m);
            match replaced_checksum(m, &p) {
                Ok(sum) => Arc::make_mut(m).applied_checksum = sum,
                Err(mut more) if strict => problems.append(&mut more),
                Err(_) => {}
            }
        }
        if problems.is_empty() {
            Ok(set)
        } else {
            Err(Error::Files(problems))
        }
    }

    fn placeholders(&self, session: &Session, table: &HistoryTable) -> Placeholders {
        let mut p = Placeholders::new()
            .with_syntax(
                &self.config.placeholder_prefix,
                &self.config.placeholder_suffix,
            )
            .with_replacement(self.config.placeholder_replacement);
        for (k, v) in &self.config.placeholders {
            p.insert(k.clone(), v.clone());
        }
        let schema = self
            .config
            .schemas
            .first()
            .cloned()
            .unwrap_or_else(|| session.schema.clone());
        p.insert("godwit:defaultSchema", schema);
        p.insert("godwit:user", session.user.clone());
        p.insert("godwit:database", session.database.clone());
        p.insert("godwit:timestamp", crate::util::utc_timestamp());
        p.insert("godwit:table", table.name.clone());
        p
    }

    /// Runs the callbacks of `event` outside `migrate`'s and `undo`'s plans (docs/design.md
    /// §5.9): every file checked first as a run checks its files, then each in a transaction of
    /// its own (unless it cannot run in one), in file-name order. A failure is the command's.
    async fn run_callbacks(
        &self,
        db: &mut dyn Driver,
        table: &HistoryTable,
        event: CallbackEvent,
        dry_run: bool,
    ) -> Result<(), Error> {
        if self.config.skip_default_callbacks {
            return Ok(());
        }
        let steps = crate::plan::callback_steps(self.set, event);
        if steps.is_empty() {
            return Ok(());
        }
        let plan = Plan {
            steps,
            on_error: Vec::new(),
            current: None,
            pending: 0,
            direction: crate::plan::Direction::Up,
        };
        let base = self.placeholders(db.session(), table);
        let Checked { modes, texts } = self.check_plan(&plan, &base, db.dialect(), false).await?;
        let ctx = StepContext {
            table,
            restore: None,
            group: None,
            installed_by: "",
            dry_run,
            cancel: None,
        };
        for (index, step) in plan.steps.iter().enumerate() {
            let (mode, limits) = modes[index];
            let placeholders = with_filename(&base, &step.migration);
            let run = StepRun {
                step,
                mode,
                limits: &limits,
                placeholders: &placeholders,
                running_row: false,
                next: None,
                text: texts[index].as_ref(),
                sidecar: &[],
            };
            self.run_step(db, &run, &ctx)
                .await
                .map_err(Error::Migration)?;
        }
        Ok(())
    }

    pub async fn info(&self, db: &mut dyn Driver) -> Result<Info, Error> {
        let table = self.history_table(db).await?;
        self.run_callbacks(db, &table, CallbackEvent::BeforeInfo, false)
            .await?;
        let result = self.info_of(db, &table).await;
        self.after(
            db,
            &table,
            result,
            [CallbackEvent::AfterInfo, CallbackEvent::AfterInfoError],
            false,
        )
        .await
    }

    /// The callbacks after a command's work (§5.9): `after` when it succeeded, else `error`,
    /// whose own failure is ignored; then the work's result.
    async fn after<T>(
        &self,
        db: &mut dyn Driver,
        table: &HistoryTable,
        result: Result<T, Error>,
        [after, error]: [CallbackEvent; 2],
        dry_run: bool,
    ) -> Result<T, Error> {
        match result {
            Ok(value) => {
                self.run_callbacks(db, table, after, dry_run).await?;
                Ok(value)
            }
            Err(e) => {
                let _ = self.run_callbacks(db, table, error, dry_run).await;
                Err(e)
            }
        }
    }

    async fn info_of(&self, db: &mut dyn Driver, table: &HistoryTable) -> Result<Info, Error> {
        let table = table.clone();
        let (history, stored) = self.read_history_and_stored(db, &table).await?;
        let history = history.unwrap_or_default();
        let set = self.prepared_set(db.session(), &table, true)?;
        let catalog = Catalog::new(&set, &history).with_stored(&stored);
        Ok(Info {
            current_version: catalog.current().map(|v| v.to_string()),
            history_table: table.to_string(),
            migrations: catalog.info(&self.options()),
            floor: catalog.floor().map(|v| v.to_string()),
        })
    }

    /// Every disagreement between files and history; when there is none, the files `migrate`
    /// would run get the same checks as in `migrate` (placeholders, splitting, transaction
    /// modes, transaction control, NUL bytes), so that a clean `validate` means `migrate` will
    /// not refuse a file.
    pub async fn validate(&self, db: &mut dyn Driver) -> Result<Vec<Problem>, Error> {
        let table = self.history_table(db).await?;
        self.run_callbacks(db, &table, CallbackEvent::BeforeValidate, false)
            .await?;
        let result = self.validate_of(db, &table).await;
        let events = match &result {
            Ok(problems) if problems.is_empty() => [
                CallbackEvent::AfterValidate,
                CallbackEvent::AfterValidateError,
            ],
            // Problems found: the error callbacks, and the problems are the result.
            _ => [
                CallbackEvent::AfterValidateError,
                CallbackEvent::AfterValidateError,
            ],
        };
        self.after(db, &table, result, events, false).await
    }

    async fn validate_of(
        &self,
        db: &mut dyn Driver,
        table: &HistoryTable,
    ) -> Result<Vec<Problem>, Error> {
        let table = table.clone();
        let (existing, stored) = self.read_history_and_stored(db, &table).await?;
        let exists = existing.is_some();
        let mut history = existing.unwrap_or_default();
        let set = self.prepared_set(db.session(), &table, false)?;
        let options = self.options();
        let catalog = Catalog::new(&set, &history).with_stored(&stored);
        let problems = catalog.validate(&options);
        if !problems.is_empty() {
            return Ok(problems);
        }
        // What migrate would plan: from the baseline it would write on a database it never
        // managed, where it would write one.
        let plan = match self
            .baseline_migrate_would_write(db, &table, exists)
            .await?
        {
            Some(row) => {
                drop(catalog);
                history.push(row);
                Catalog::new(&set, &history).plan_migrate(&options)
            }
            None => catalog.plan_migrate(&options),
        };
        // A plan that cannot be made is `migrate`'s to report; only files are checked here.
        if let Ok(plan) = plan {
            let base = self.placeholders(db.session(), &table);
            self.check_plan(&plan, &base, db.dialect(), self.config.group)
                .await?;
            self.pre_run_check(&plan)?;
        }
        Ok(problems)
    }

    /// What `migrate` would apply now, read-only (see [`crate::Migrator::pending`]).
    pub async fn pending(&self, db: &mut dyn Driver) -> Result<Vec<Arc<Migration>>, Error> {
        let table = self.find_history_table(db).await?;
        let (existing, stored) = self.read_history_and_stored(db, &table).await?;
        let exists = existing.is_some();
        let mut history = existing.unwrap_or_default();
        history.extend(
            self.baseline_migrate_would_write(db, &table, exists)
                .await?,
        );
        let set = self.prepared_set(db.session(), &table, false)?;
        let catalog = Catalog::new(&set, &history).with_stored(&stored);
        Ok(catalog
            .plan_migrate(&self.options())
            .map(|plan| checked_migrations(&plan))
            .unwrap_or_default())
    }

    pub async fn current(&self, db: &mut dyn Driver) -> Result<Option<Version>, Error> {
        let table = self.history_table(db).await?;
        let history = self.read_history(db, &table).await?.unwrap_or_default();
        Ok(Applied::from_history(&history).current().cloned())
    }

    /// `migrate` (up, or down when the target is below the current version) or `undo`.
    /// With `dry_run`, the SQL is written there instead of being run.
    pub async fn run(
        &self,
        db: &mut dyn Driver,
        kind: RunKind,
        dry_run: Option<&mut (dyn Write + Send)>,
    ) -> Result<Report, Error> {
        let mut sink = Sink::new(db, dry_run);
        let dry = sink.is_dry_run();
        let span = tracing::info_span!("run", kind = ?kind, dry_run = dry);
        let result =
            tracing::Instrument::instrument(self.run_locked(&mut sink, kind, dry), span).await;
        sink.finish(result)
    }

    /// Takes the lock for a writing command, saying so when it has to wait.
    async fn lock(&self, db: &mut dyn Driver, table: &HistoryTable) -> Result<(), Error> {
        let key = table.lock_key(&db.session().schema);
        match db.lock(&key, Duration::ZERO).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind == crate::driver::DriverErrorKind::LockTimeout => {
                tracing::info!(key = %key, "waiting for the migration lock");
                self.emit(Event::WaitingForLock);
                db.lock(&key, self.config.lock_timeout)
                    .await
                    .map_err(Error::from_driver)
            }
            Err(e) => Err(Error::from_driver(e)),
        }
    }

    /// Releases the lock taken by [`Executor::lock`] after the work it guarded, whatever its
    /// result (see `with_lock!`).
    async fn release<T>(&self, db: &mut dyn Driver, result: Result<T, Error>) -> Result<T, Error> {
        let unlocked = db.unlock().await;
        match (result, unlocked) {
            (Ok(value), Ok(())) => Ok(value),
            (Ok(_), Err(e)) => Err(Error::from_driver(e)),
            (Err(e), _) => Err(e),
        }
    }

    /// Marks a database godwit never managed as being at `version`.
    pub async fn baseline(
        &self,
        db: &mut dyn Driver,
        version: &Version,
        dry_run: Option<&mut (dyn Write + Send)>,
    ) -> Result<(), Error> {
        let mut sink = Sink::new(db, dry_run);
        let dry = sink.is_dry_run();
        let table = self.history_table(&mut sink).await?;
        let installed_by = self.installed_by(sink.session());
        let result = async {
            let db: &mut dyn Driver = &mut sink;
            self.check_fits(db, &table)?;
            crate::limits::check_baseline_version(version)?;
            with_lock!(self, db, &table, async {
                self.run_callbacks(db, &table, CallbackEvent::BeforeBaseline, dry)
                    .await?;
                let result = async {
                let existing = self.read_history(db, &table).await?;
                let exists = existing.is_some();
                if let Some(rows) = existing {
                    if !rows.is_empty() {
                        let current = Applied::from_history(&rows)
                            .current()
                            .map_or_else(|| "none".to_string(), |v| v.to_string());
                        return Err(Error::Refused {
                            message: format!(
                                "the history table `{table}` already has {} rows (current version {current}): this database is managed already",
                                rows.len()
                            ),
                            hint: "baseline is for databases godwit never managed; run `godwit migrate` to apply what is pending".into(),
                        });
                    }
                }
                let marker = baseline_row(version, &self.config.baseline_description, &installed_by);
                if exists {
                    db.note(&format!("baseline at version {version}"));
                    db.execute(&dialect::insert_history(db.dialect(), &table, &new_marker(&marker)))
                        .await
                        .map_err(Error::from_driver)
                } else {
                    db.note(&format!("create the history table {table} and baseline at version {version}"));
                    self.create_history(db, &table, Some(&marker)).await
                }
            }
                .await;
                self.after(
                    db,
                    &table,
                    result,
                    [CallbackEvent::AfterBaseline, CallbackEvent::AfterBaselineError],
                    dry,
                )
                .await
            })
        }
        .await;
        sink.finish(result)
    }

    /// Removes failed rows, realigns checksums and descriptions, marks missing files deleted;
    /// with `mark_applied`, only records that version as applied without running it.
    pub async fn repair(
        &self,
        db: &mut dyn Driver,
        mark_applied: Option<&Version>,
        dry_run: Option<&mut (dyn Write + Send)>,
    ) -> Result<Vec<crate::plan::RepairAction>, Error> {
        let mut sink = Sink::new(db, dry_run);
        let dry = sink.is_dry_run();
        let table = self.history_table(&mut sink).await?;
        let installed_by = self.installed_by(sink.session());
        let result = async {
            let db: &mut dyn Driver = &mut sink;
            self.check_fits(db, &table)?;
            with_lock!(self, db, &table, async {
                self.run_callbacks(db, &table, CallbackEvent::BeforeRepair, dry)
                    .await?;
                let result = self
                    .repair_locked(db, &table, mark_applied, &installed_by)
                    .await;
                let after = match &result {
                    Ok(_) => CallbackEvent::AfterRepair,
                    Err(_) => CallbackEvent::AfterRepairError,
                };
                let callbacks = self.run_callbacks(db, &table, after, dry).await;
                match (result, callbacks) {
                    (Ok(actions), Ok(())) => Ok(actions),
                    (Ok(_), Err(e)) | (Err(e), _) => Err(e),
                }
            })
        }
        .await;
        sink.finish(result)
    }

    /// `repair`'s work, under the lock (see [`Executor::repair`]).
    async fn repair_locked(
        &self,
        db: &mut dyn Driver,
        table: &HistoryTable,
        mark_applied: Option<&Version>,
        installed_by: &str,
    ) -> Result<Vec<crate::plan::RepairAction>, Error> {
        use crate::plan::RepairAction;
        let table = table.clone();
        let installed_by = installed_by.to_owned();
        let history = self.read_history(db, &table).await?;
        let set = self.prepared_set(db.session(), &table, false)?;
        let actions = match (mark_applied, history) {
            (None, None) => return Ok(Vec::new()),
            (None, Some(history)) => {
                let (_, stored) = self.read_stored(db, &table).await?;
                Catalog::new(&set, &history)
                    .with_stored(&stored)
                    .plan_repair()
            }
            (Some(version), history) => {
                let exists = history.is_some();
                let history = history.unwrap_or_default();
                let action = Catalog::new(&set, &history).plan_mark_applied(version)?;
                if !exists {
                    return Err(Error::Refused {
                                message: format!(
                                    "cannot mark V{version} as applied: there is no history table `{table}`, so godwit has not migrated this database yet"
                                ),
                                hint: "run `godwit migrate`; for a database whose schema is already there, `godwit baseline --baseline-version <version>` records where it stands".into(),
                            });
                }
                vec![reread_checksum(&set, action)?]
            }
        };
        if actions.is_empty() {
            return Ok(actions);
        }
        let dialect = db.dialect();
        // The `U` files whose text is stored again, read before anything is written.
        let mut texts: BTreeMap<String, String> = BTreeMap::new();
        for action in &actions {
            if let RepairAction::StoreUndo { version, .. } = action {
                let file = set
                    .of_kind(MigrationKind::Undo)
                    .find(|u| u.version.as_ref().is_some_and(|v| v.as_str() == version))
                    .cloned();
                if let Some(file) = file {
                    let read = tokio::task::spawn_blocking(move || {
                        read_text(&file).map_err(|e| Error::Files(vec![cannot_read(&file, &e)]))
                    })
                    .await
                    .map_err(|e| Error::Io {
                        what: "reading an undo script stopped".into(),
                        source: std::io::Error::other(e),
                    })??;
                    texts.insert(version.clone(), read);
                }
            }
        }
        db.begin().await.map_err(Error::from_driver)?;
        for action in &actions {
            db.note(&action.to_string());
            let sql = match action {
                RepairAction::ForgetStoredUndo { version, .. } => {
                    stored_undo::forget_script(dialect, &table, version)
                }
                RepairAction::StoreUndo {
                    version,
                    description,
                    script,
                    breaking,
                    ..
                } => {
                    let text = texts.get(version).map(String::as_str).unwrap_or_default();
                    let parsed =
                        Version::parse(version).map_err(|e| Error::Config(e.to_string()))?;
                    stored_undo::write(
                        dialect,
                        &table,
                        &NewStored {
                            version: &parsed,
                            undo: Some((description, script, text)),
                            breaking: *breaking,
                        },
                    )
                    .join("\n;\n")
                }
                RepairAction::RemoveFailed { installed_rank, .. } => {
                    dialect::delete_history_row(dialect, &table, *installed_rank)
                }
                RepairAction::Realign {
                    installed_rank,
                    checksum,
                    description,
                    ..
                } => dialect::realign_history_row(
                    dialect,
                    &table,
                    *installed_rank,
                    *checksum,
                    description,
                ),
                RepairAction::MarkApplied {
                    installed_rank: Some(rank),
                    checksum,
                    description,
                    ..
                } => dialect::mark_applied_history_row(
                    dialect,
                    &table,
                    *rank,
                    *checksum,
                    description,
                ),
                RepairAction::MarkApplied {
                    installed_rank: None,
                    version,
                    history_type,
                    description,
                    script,
                    checksum,
                    ..
                } => dialect::insert_history(
                    dialect,
                    &table,
                    &NewRow {
                        version: Some(version),
                        description,
                        kind: history_type,
                        script,
                        checksum: *checksum,
                        installed_by: &installed_by,
                        execution_time_ms: 0,
                        success: true,
                    },
                ),
                RepairAction::MarkDeleted {
                    version,
                    description,
                    script,
                    ..
                } => dialect::insert_history(
                    dialect,
                    &table,
                    &NewRow {
                        version: version.as_deref(),
                        description,
                        kind: &HistoryType::Delete,
                        script,
                        checksum: None,
                        installed_by: &installed_by,
                        execution_time_ms: 0,
                        success: true,
                    },
                ),
            };
            if let Err(e) = db.execute(&sql).await {
                let _ = db.rollback().await;
                return Err(Error::from_driver(e));
            }
        }
        db.commit().await.map_err(Error::from_driver)?;
        Ok(actions)
    }

    /// Drops every object in the managed schemas, the history table included.
    pub async fn clean(
        &self,
        db: &mut dyn Driver,
        dry_run: Option<&mut (dyn Write + Send)>,
    ) -> Result<Vec<String>, Error> {
        let mut sink = Sink::new(db, dry_run);
        let dry = sink.is_dry_run();
        let table = self.history_table(&mut sink).await?;
        let result = async {
            let db: &mut dyn Driver = &mut sink;
            with_lock!(self, db, &table, async {
                self.run_callbacks(db, &table, CallbackEvent::BeforeClean, dry)
                    .await?;
                let result = async {
                    let mut statements =
                        crate::driver::clean::drop_statements(db, &self.config.schemas)
                            .await
                            .map_err(Error::from_driver)?;
                    // The history table goes too, wherever it lives.
                    statements.push(format!(
                        "DROP TABLE IF EXISTS {}",
                        dialect::qualified(db.dialect(), &table)
                    ));
                    for sql in &statements {
                        db.execute(sql).await.map_err(Error::from_driver)?;
                    }
                    Ok(statements)
                }
                .await;
                self.after(
                    db,
                    &table,
                    result,
                    [CallbackEvent::AfterClean, CallbackEvent::AfterCleanError],
                    dry,
                )
                .await
            })
        }
        .await;
        sink.finish(result)
    }

    /// Refuses, before anything runs, what the history table or the database would not take
    /// as written: an `installed_by` too long for its column, history-table and schema names
    /// too long for the dialect.
    fn check_fits(&self, db: &dyn Driver, table: &HistoryTable) -> Result<(), Error> {
        let len = self.config.baseline_description.chars().count();
        if len > crate::limits::MAX_DESCRIPTION {
            return Err(Error::Config(format!(
                "`baseline_description` is {len} characters long; the history table's `description` column holds {}: shorten it",
                crate::limits::MAX_DESCRIPTION
            )));
        }
        crate::limits::check_run(
            db.dialect(),
            table,
            &self.config.schemas,
            &self.installed_by(db.session()),
            self.config.installed_by.is_some(),
        )
    }

    fn installed_by(&self, session: &Session) -> String {
        self.config
            .installed_by
            .clone()
            .unwrap_or_else(|| session.user.clone())
    }

    async fn run_locked(
        &self,
        db: &mut dyn Driver,
        kind: RunKind,
        dry_run: bool,
    ) -> Result<Report, Error> {
        let table = self.history_table(db).await?;
        self.check_fits(db, &table)?;
        with_lock!(
            self,
            db,
            &table,
            interruptible,
            self.run_inner(db, &table, kind, dry_run)
        )
    }

    fn interrupted(&self) -> bool {
        self.interrupt.as_ref().is_some_and(Interrupt::is_triggered)
    }

    /// Takes the lock, unless the run is interrupted while it waits.
    async fn lock_interruptible(
        &self,
        db: &mut dyn Driver,
        table: &HistoryTable,
    ) -> Result<(), Error> {
        let Some(interrupt) = self.interrupt.clone() else {
            return self.lock(db, table).await;
        };
        let cancel = db.cancel_handle();
        {
            let lock = self.lock(db, table);
            tokio::pin!(lock);
            tokio::select! {
                biased;
                result = &mut lock => return result,
                () = interrupt.triggered() => {}
            }
        }
        // Stop a blocking lock call (MySQL's GET_LOCK) on the server; the connection is
        // closed by the caller, which releases a lock obtained meanwhile.
        if let Some(c) = cancel {
            let _ = c.cancel().await;
        }
        Err(Error::Interrupted(Box::default()))
    }

    /// Runs a step's statements; once the run is interrupted, asks the server to cancel the
    /// statement that is running and lets the step end with that statement's error.
    ///
    /// While a statement runs longer than [`HEARTBEAT`], reports [`Event::StillRunning`] every
    /// [`HEARTBEAT`], with what the server says it waits on (asked over a second connection).
    async fn interruptible<T>(
        &self,
        cancel: Option<&CancelHandle>,
        label: &Label,
        work: impl std::future::Future<Output = T>,
    ) -> T {
        tokio::pin!(work);
        let started = Instant::now();
        let observe = cancel.cloned().map(ObserveHandle::new);
        let mut next_check = HEARTBEAT;
        let mut cancelled = false;
        loop {
            let interrupted = async {
                match &self.interrupt {
                    Some(i) if !cancelled => i.triggered().await,
                    _ => std::future::pending().await,
                }
            };
            let tick =
                tokio::time::sleep_until(tokio::time::Instant::from_std(started + next_check));
            tokio::select! {
                biased;
                out = &mut work => {
                    // A cancel request the statement finished before seeing must not stop
                    // what comes next (SQLite's flag).
                    if let Some(c) = cancel {
                        c.reset();
                    }
                    return out;
                }
                () = interrupted => {
                    cancelled = true;
                    if let Some(c) = cancel {
                        let _ = c.cancel().await;
                    }
                }
                () = tick => {
                    let wait = self.heartbeat(observe.as_ref(), label, started.elapsed()).await;
                    next_check = started.elapsed() + wait;
                }
            }
        }
    }

    /// Reports a statement that has run for [`HEARTBEAT`] or longer; returns how long to wait
    /// before looking again.
    async fn heartbeat(
        &self,
        observe: Option<&ObserveHandle>,
        label: &Label,
        step_elapsed: Duration,
    ) -> Duration {
        let activity = match observe {
            Some(o) => o.activity().await.ok(),
            None => None,
        };
        let activity = activity.unwrap_or_else(|| crate::driver::Activity {
            running_for: Some(step_elapsed),
            ..Default::default()
        });
        let Some(running_for) = activity.running_for else {
            // Between two statements: godwit's own work.
            return HEARTBEAT;
        };
        if running_for < HEARTBEAT {
            return HEARTBEAT - running_for + Duration::from_millis(50);
        }
        tracing::info!(
            migration = label.as_str(),
            running_for_s = running_for.as_secs(),
            waiting_on = activity.waiting_on.as_deref().unwrap_or(""),
            blockers = ?activity.blockers,
            "statement still running"
        );
        self.emit(Event::StillRunning {
            migration: label.clone(),
            running_for,
            waiting_on: activity.waiting_on,
            blockers: activity.blockers,
        });
        HEARTBEAT
    }

    async fn run_inner(
        &self,
        db: &mut dyn Driver,
        table: &HistoryTable,
        kind: RunKind,
        dry_run: bool,
    ) -> Result<Report, Error> {
        let started = Instant::now();
        let dialect = db.dialect();
        if self.config.group && dialect == Dialect::MySql {
            return Err(Error::Config(
                "`group = true` cannot be kept on MySQL/MariaDB: their DDL (CREATE, ALTER, DROP…) commits by itself, so a failure could not roll back the migrations before it in the group; remove the setting, and each migration runs in a transaction of its own (docs/design.md §5.8.8)".into(),
            ));
        }
        // `migrate`'s validation runs the validate callbacks as Flyway's does (§5.9.7), the
        // `beforeValidate` ones before the history is read, so that what they change is seen.
        let validates = matches!(kind, RunKind::Migrate) && self.config.validate_on_migrate;
        if validates {
            self.run_callbacks(db, table, CallbackEvent::BeforeValidate, dry_run)
                .await?;
        }
        let existing = self.read_history(db, table).await?;
        let exists = existing.is_some();
        let (side_exists, stored) = if exists {
            self.read_stored(db, table).await?
        } else {
            (false, Vec::new())
        };
        let mut history = existing.unwrap_or_default();
        let installed_by = self.installed_by(db.session());
        // A database godwit never managed: refuse, or baseline it (in memory for now; the
        // marker row is written with the history table, once every check has passed).
        let baseline_marker = if exists {
            None
        } else {
            self.unmanaged_baseline(db, table, &installed_by).await?
        };
        if let Some(row) = &baseline_marker {
            history.push(row.clone());
        }
        let set = self.prepared_set(db.session(), table, false)?;
        let options = self.options();
        let catalog = Catalog::new(&set, &history).with_stored(&stored);
        // A migration interrupted while it ran comes first, before validation, so that the
        // error names both ways out.
        catalog.check_interrupted()?;
        // A release older than a breaking migration the database holds does not go on (§22).
        if matches!(kind, RunKind::Migrate) {
            catalog.check_floor(&options)?;
        }
        if validates {
            let problems = catalog.validate(&options);
            if !problems.is_empty() {
                let _ = self
                    .run_callbacks(db, table, CallbackEvent::AfterValidateError, dry_run)
                    .await;
                return Err(Error::Validation(problems));
            }
            self.run_callbacks(db, table, CallbackEvent::AfterValidate, dry_run)
                .await?;
        }
        let plan = match &kind {
            RunKind::Migrate => catalog.plan_migrate(&options)?,
            RunKind::Undo(target) => catalog.plan_undo(target.as_ref())?,
        };
        drop(catalog);
        let base = self.placeholders(db.session(), table);
        let Checked { modes, texts } = self
            .check_plan(&plan, &base, dialect, self.config.group)
            .await?;
        if matches!(kind, RunKind::Migrate) {
            self.pre_run_check(&plan)?;
        }
        let sidecars = self.sidecars(&plan, &texts).await?;

        if !exists {
            self.create_history(db, table, baseline_marker.as_ref())
                .await?;
        }
        if !side_exists && sidecars.iter().any(Option::is_some) {
            db.execute(&stored_undo::create(dialect, table))
                .await
                .map_err(Error::from_driver)?;
        }
        if let Some(sql) = dialect::use_schemas(dialect, &self.config.schemas) {
            db.execute(&sql).await.map_err(Error::from_driver)?;
        }
        // From here on, migrations may change the session: godwit's writes name the history
        // table with its schema, and give the session its starting state back first.
        let pinned = dialect::pinned_table(dialect, table, db.session());
        let table = &pinned;
        let restore = dialect::restore_session(dialect, db.session(), &self.config.schemas);
        // What each step writes to the side table with its history row.
        let sidecar_sql: Vec<Vec<String>> = sidecars
            .iter()
            .map(|s| match s {
                Some(s) => stored_undo::write(
                    dialect,
                    table,
                    &NewStored {
                        version: &s.version,
                        undo: s.undo.as_ref().map(|(u, text)| {
                            (u.description.as_str(), u.script.as_str(), text.as_str())
                        }),
                        breaking: s.breaking,
                    },
                ),
                None => Vec::new(),
            })
            .collect();

        let mut report = Report {
            initial_version: plan.current.as_ref().map(|v| v.to_string()),
            dry_run,
            ..Report::default()
        };
        // The rows this run records, for the version it reports at the end.
        let mut applied_rows: Vec<HistoryRow> = Vec::new();
        let mut next_rank = history
            .iter()
            .map(|r| r.installed_rank)
            .max()
            .unwrap_or(0)
            .saturating_add(1);
        let cancel = db.cancel_handle();
        let group_open = AtomicBool::new(false);
        let group = self.config.group.then_some(&group_open);
        let ctx = StepContext {
            table,
            restore: restore.as_deref(),
            group,
            installed_by: &installed_by,
            dry_run,
            cancel: cancel.as_ref(),
        };
        let transactional_ddl = db.transactional_ddl();
        // Steps that finished but are not committed yet (SQLite keeps a run in one
        // transaction): reported as applied once they are.
        let mut uncommitted: Vec<StepReport> = Vec::new();
        // The running row of the step about to run was written (folded into the previous
        // step's history write).
        let mut running_row = false;
        let mut outcome: Result<(), Stop> = Ok(());
        self.emit(Event::Planned {
            steps: plan.steps.len(),
        });
        for (index, step) in plan.steps.iter().enumerate() {
            let (mode, limits) = modes[index];
            let needs_row = needs_running_row(step, mode, transactional_ddl);
            if self.interrupted() {
                if running_row {
                    // The next step's row was written with the previous one; it never started.
                    let _ = db
                        .execute(&dialect::delete_running_row(dialect, table))
                        .await;
                }
                outcome = Err(Stop::Interrupted);
                break;
            }
            let next = plan
                .steps
                .get(index + 1)
                .filter(|next| needs_running_row(next, modes[index + 1].0, transactional_ddl));
            let placeholders = with_filename(&base, &step.migration);
            let mut attempt = 0u32;
            let result = loop {
                if needs_row && !running_row {
                    // Nothing before it in this run could carry the row (or a retry needs it
                    // again): it costs a write of its own.
                    let kind = recorded_type(step).unwrap_or(HistoryType::Other(String::new()));
                    let row = new_row(step, &kind, &installed_by, None, false);
                    let sql = dialect::insert_history(dialect, table, &row);
                    if let Err(e) = db.execute(&with_restore(ctx.restore, &sql)).await {
                        break Err(step_failure(
                            step,
                            None,
                            excerpt(&sql),
                            e,
                            true,
                            FailureCause::Statement,
                        ));
                    }
                    running_row = true;
                }
                let run = StepRun {
                    step,
                    mode,
                    limits: &limits,
                    placeholders: &placeholders,
                    running_row: needs_row && running_row,
                    next,
                    text: texts[index].as_ref(),
                    sidecar: &sidecar_sql[index],
                };
                let result = self.run_step(db, &run, &ctx).await;
                match result {
                    Err(mut failure) if self.retryable(&failure, mode, attempt, dry_run) => {
                        // Rolled back, and its running row (if any) deleted: nothing of it
                        // remains, so it can run again from the start.
                        running_row = false;
                        attempt += 1;
                        let delay = timeouts::backoff(attempt);
                        self.emit(Event::Retrying {
                            migration: failure.migration.clone(),
                            attempt,
                            retries: self.config.statement_lock_retries,
                            delay,
                            message: failure.message.clone(),
                        });
                        if !self.pause(delay).await {
                            failure.cause = FailureCause::Interrupted;
                            break Err(failure);
                        }
                    }
                    Err(mut failure) if attempt > 0 => {
                        failure.message = format!(
                            "{} (after {attempt} {})",
                            failure.message,
                            if attempt == 1 { "retry" } else { "retries" }
                        );
                        break Err(failure);
                    }
                    other => break other,
                }
            };
            match result {
                Ok(step_report) => {
                    running_row = next.is_some();
                    if let Some(t) = recorded_type(step) {
                        report.migrations += 1;
                        applied_rows.push(synthetic_row(next_rank, step, t));
                        next_rank = next_rank.saturating_add(1);
                    }
                    uncommitted.push(step_report);
                    if group.is_none() && db.committed() {
                        self.confirm(&mut uncommitted, &mut report);
                    }
                }
                Err(failure) => {
                    outcome = Err(Stop::Failed(failure));
                    break;
                }
            }
        }
        // A group (§5.8.8) that stops early is rolled back as a whole: nothing of the run's steps
        // remains (a failed step rolled it back already; an interrupt between two steps does
        // here). What ran in it is reported as rolled back, never as applied.
        if let (Some(open), Err(stop)) = (group, &outcome) {
            let lost = matches!(stop, Stop::Failed(f) if f.cause == FailureCause::ConnectionLost);
            if !lost {
                if open.swap(false, Ordering::Relaxed) {
                    let _ = db.rollback().await;
                }
                report.rolled_back.append(&mut uncommitted);
                report.migrations = 0;
                applied_rows.clear();
            }
        }
        let failed = match outcome {
            Ok(()) => None,
            Err(Stop::Interrupted) => Some(Stop::Interrupted),
            Err(Stop::Failed(failure)) => {
                if failure.cause != FailureCause::ConnectionLost {
                    for (i, cb) in plan.on_error.iter().enumerate() {
                        let p = with_filename(&base, &cb.migration);
                        let (mode, limits) = modes[plan.steps.len() + i];
                        let run = StepRun {
                            step: cb,
                            mode,
                            limits: &limits,
                            placeholders: &p,
                            running_row: false,
                            next: None,
                            text: texts[plan.steps.len() + i].as_ref(),
                            sidecar: &[],
                        };
                        let _ = self.run_step(db, &run, &ctx).await;
                    }
                }
                Some(Stop::Failed(failure))
            }
        };
        // Report as applied only what is durable: commit the group (§5.8.8), then flush
        // (PostgreSQL) or commit (SQLite).
        let synced = match &failed {
            Some(Stop::Failed(f)) if f.cause == FailureCause::ConnectionLost => Err(DriverError {
                kind: DriverErrorKind::Connection,
                message: f.message.clone(),
                code: None,
            }),
            _ => match group {
                Some(open) if open.swap(false, Ordering::Relaxed) => match db.commit().await {
                    Ok(()) => db.sync().await,
                    Err(e) => {
                        let _ = db.rollback().await;
                        Err(e)
                    }
                },
                _ => db.sync().await,
            },
        };
        report.duration_ms = started.elapsed().as_millis() as u64;
        match synced {
            Ok(()) => {
                self.confirm(&mut uncommitted, &mut report);
                report.final_version = final_version(&plan, &history, applied_rows);
            }
            Err(e) => {
                // Nothing since the run began is known to be durable.
                report.unconfirmed = std::mem::take(&mut report.steps);
                report.unconfirmed.append(&mut uncommitted);
                report.migrations = 0;
                report.final_version = plan.current.as_ref().map(|v| v.to_string());
                if failed.is_none() {
                    return Err(Error::NotDurable {
                        report: Box::new(report),
                        message: e.message,
                    });
                }
            }
        }
        match failed {
            None => Ok(report),
            Some(Stop::Interrupted) => Err(Error::Interrupted(Box::new(report))),
            Some(Stop::Failed(mut failure)) => {
                failure.report = report;
                Err(Error::Migration(failure))
            }
        }
    }

    /// Whether a failed step runs again: it ran in a transaction, failed because a statement
    /// could not get a lock (or the transaction lost a certification conflict), nothing of it remains (rolled back: on MySQL, nothing had run
    /// before the statement, since DDL commits by itself), and retries are left.
    fn retryable(
        &self,
        failure: &MigrationFailure,
        mode: TxMode,
        attempt: u32,
        dry_run: bool,
    ) -> bool {
        !dry_run
            && !self.config.group
            && mode == TxMode::Transaction
            && attempt < self.config.statement_lock_retries
            && failure.rolled_back
            && (failure.cause == FailureCause::CertificationConflict
                || (failure.cause == FailureCause::Statement
                    && timeouts::is_lock_failure(failure.code.as_deref())))
            && !self.interrupted()
    }

    /// Waits before a retry; `false` when the run is interrupted meanwhile.
    async fn pause(&self, delay: Duration) -> bool {
        match &self.interrupt {
            None => {
                tokio::time::sleep(delay).await;
                true
            }
            Some(interrupt) => tokio::select! {
                biased;
                () = interrupt.triggered() => false,
                () = tokio::time::sleep(delay) => true,
            },
        }
    }

    /// Reports steps that are now committed as applied.
    fn confirm(&self, uncommitted: &mut Vec<StepReport>, report: &mut Report) {
        for step in uncommitted.drain(..) {
            self.emit(Event::Finished(step.clone()));
            report.steps.push(step);
        }
    }

    /// For a database without a history table: `None` when it is empty, a baseline marker row
    /// when it holds objects and `baseline_on_migrate` is set, otherwise a refusal.
    async fn unmanaged_baseline(
        &self,
        db: &mut dyn Driver,
        table: &HistoryTable,
        installed_by: &str,
    ) -> Result<Option<HistoryRow>, Error> {
        let non_empty = db
            .has_objects(&self.config.schemas, table)
            .await
            .map_err(Error::from_driver)?;
        if !non_empty {
            return Ok(None);
        }
        if !self.config.baseline_on_migrate {
            return Err(Error::Refused {
                message: format!(
                    "the database already holds tables but has no history table `{table}`: godwit has never managed it"
                ),
                hint: "mark its current state with `godwit baseline --baseline-version <version>` first, or set `baseline_on_migrate = true`".into(),
            });
        }
        crate::limits::check_baseline_version(&self.config.baseline_version)?;
        Ok(Some(baseline_row(
            &self.config.baseline_version,
            &self.config.baseline_description,
            installed_by,
        )))
    }

    /// Creates the history table (and its schema where needed), with the baseline marker row.
    async fn create_history(
        &self,
        db: &mut dyn Driver,
        table: &HistoryTable,
        baseline_marker: Option<&HistoryRow>,
    ) -> Result<(), Error> {
        let dialect = db.dialect();
        // Like Flyway, the first run creates every managed schema that is missing, so that
        // migrations may use any of them; the history table's own schema comes first.
        let schemas = table.schema.iter().chain(
            self.config
                .schemas
                .iter()
                .filter(|s| table.schema.as_ref() != Some(*s)),
        );
        let mut announced = false;
        for schema in schemas {
            if !db.schema_exists(schema).await.map_err(Error::from_driver)? {
                if !announced && self.config.create_schemas {
                    // The `createSchema` callbacks, once, before the first schema is created.
                    self.run_callbacks(db, table, CallbackEvent::CreateSchema, false)
                        .await?;
                    announced = true;
                }
                if !self.config.create_schemas {
                    return Err(Error::Config(format!(
                        "the schema `{schema}` does not exist, and `create_schemas` is off: create it, or turn `create_schemas` on (docs/design.md §5.8)"
                    )));
                }
                match dialect::create_schema(dialect, schema) {
                    Some(sql) => db.execute(&sql).await.map_err(Error::from_driver)?,
                    None if table.schema.as_ref() == Some(schema) => {
                        return Err(Error::Config(format!(
                            "the schema `{schema}` of the history table does not exist"
                        )))
                    }
                    None => {}
                }
            }
        }
        let statements = dialect::create_history(dialect, table);
        if dialect == Dialect::Postgres {
            // One message is one transaction on PostgreSQL: a crash cannot leave the table
            // without its index (which a later run, finding the table, would never add).
            db.execute(&statements.join(";\n"))
                .await
                .map_err(Error::from_driver)?;
        } else {
            // SQLite: inside the lock's transaction; MySQL: one statement.
            for sql in &statements {
                db.execute(sql).await.map_err(Error::from_driver)?;
            }
        }
        self.emit(Event::CreatedHistory {
            table: table.to_string(),
        });
        if let Some(row) = baseline_marker {
            db.execute(&dialect::insert_history(dialect, table, &new_marker(row)))
                .await
                .map_err(Error::from_driver)?;
        }
        Ok(())
    }

    /// Checks every file the plan will run, before anything runs: syntax that cannot be split,
    /// placeholders without a value, and transaction modes. Returns each step's mode (the
    /// plan's steps, then its `on_error` callbacks), and the texts it keeps for the run. The
    /// files are read on the blocking pool, never on the caller's runtime thread.
    async fn check_plan(
        &self,
        plan: &Plan,
        base: &Placeholders,
        dialect: Dialect,
        group: bool,
    ) -> Result<Checked, Error> {
        let checks = FileChecks {
            mixed: self.config.mixed,
            group,
            limits: StatementLimits {
                lock_timeout: self.config.statement_lock_timeout,
                timeout: self.config.statement_timeout,
            },
        };
        let steps: Vec<Step> = plan.steps.iter().chain(&plan.on_error).cloned().collect();
        let base = base.clone();
        let checked =
            tokio::task::spawn_blocking(move || checks.check_steps(&steps, &base, dialect)).await;
        match checked {
            Ok(result) => {
                let checked = result?;
                for m in &checked.without_statements {
                    self.emit(Event::NoStatements {
                        migration: m.label(),
                        path: m.display_path.clone(),
                    });
                }
                Ok(Checked {
                    modes: checked.modes,
                    texts: checked.texts,
                })
            }
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(Error::Io {
                what: "checking the migration files stopped".into(),
                source: std::io::Error::other(e),
            }),
        }
    }

    /// Runs one step: its statements, then its history row, in its transaction where it has
    /// one; the statements that limit it (`run.limits`) are set before and reset after it.
    async fn run_step(
        &self,
        db: &mut dyn Driver,
        run: &StepRun<'_>,
        ctx: &StepContext<'_>,
    ) -> Result<StepReport, Box<MigrationFailure>> {
        let StepRun {
            step, mode, limits, ..
        } = *run;
        if limits.is_empty() {
            return self.run_step_with(db, run, &[], ctx).await;
        }
        let dialect = db.dialect();
        let busy_ms = if dialect == Dialect::Sqlite {
            // The connection's own busy timeout, given back afterwards.
            db.query_text("PRAGMA busy_timeout")
                .await
                .ok()
                .and_then(|rows| rows.first()?.first()?.as_deref()?.parse::<u64>().ok())
        } else {
            None
        };
        let mariadb = db
            .session()
            .server_version
            .to_ascii_lowercase()
            .contains("mariadb");
        let sql = timeouts::limit_sql(
            dialect,
            mariadb,
            limits,
            mode == TxMode::Transaction && ctx.group.is_none(),
            busy_ms,
        );
        let result = self.run_step_with(db, run, &sql.set, ctx).await;
        let lost = matches!(&result, Err(f) if f.cause == FailureCause::ConnectionLost);
        if !lost {
            for reset in &sql.reset {
                if let Err(e) = db.execute(reset).await {
                    if result.is_ok() {
                        let cause = self.cause_of(&e);
                        return Err(step_failure(step, None, excerpt(reset), e, false, cause));
                    }
                }
            }
        }
        result
    }

    /// [`Executor::run_step`], with the statements that set its limits (`set`), sent at its
    /// start: in its transaction's first message where it has one.
    async fn run_step_with(
        &self,
        db: &mut dyn Driver,
        run: &StepRun<'_>,
        set: &[String],
        ctx: &StepContext<'_>,
    ) -> Result<StepReport, Box<MigrationFailure>> {
        let StepRun {
            step,
            mode,
            placeholders,
            running_row,
            next,
            text,
            ..
        } = *run;
        let m = &step.migration;
        let label = m.label();
        let table = ctx.table;
        tracing::info!(migration = %label, description = %m.description, "migration started");
        self.emit(Event::Started {
            migration: label.clone(),
            description: m.description.clone(),
        });
        db.note(&format!("{label}: {} ({})", m.description, m.display_path));
        let started = Instant::now();
        let transactional = mode == TxMode::Transaction;
        // In a group (§5.8.8), only the first step opens the transaction; the others run on in it.
        let in_group = ctx.group.is_some_and(|open| open.load(Ordering::Relaxed));
        if in_group {
            for sql in set {
                if let Err(e) = db.execute(sql).await {
                    let cause = self.cause_of(&e);
                    if cause != FailureCause::ConnectionLost {
                        let _ = db.rollback().await;
                        close_group(ctx);
                    }
                    let rolled_back = cause != FailureCause::ConnectionLost;
                    return Err(step_failure(
                        step,
                        None,
                        excerpt(sql),
                        e,
                        rolled_back,
                        cause,
                    ));
                }
            }
        } else if transactional {
            db.begin_with(set).await.map_err(|e| {
                step_failure(step, None, "BEGIN".into(), e, true, FailureCause::Statement)
            })?;
            if let Some(open) = ctx.group {
                open.store(true, Ordering::Relaxed);
            }
        } else {
            db.enter_no_transaction().await.map_err(|e| {
                step_failure(step, None, String::new(), e, true, FailureCause::Statement)
            })?;
            for sql in set {
                if let Err(e) = db.execute(sql).await {
                    let _ = db.leave_no_transaction().await;
                    return Err(step_failure(
                        step,
                        None,
                        excerpt(sql),
                        e,
                        true,
                        FailureCause::Statement,
                    ));
                }
            }
        }
        let mut executed = 0usize;
        let interrupt = self.interrupt.as_ref();
        let work = async {
            // Recorded as applied (or undone) without running (§5.8).
            if self.config.skip_executing_migrations && recorded_type(step).is_some() {
                return Ok(());
            }
            if let Source::Rust(code) = &m.source {
                return run_rust(db, code, &label, ctx.dry_run, &mut executed).await;
            }
            let cannot_read = |e: std::io::Error| {
                StepError::new(
                    None,
                    String::new(),
                    DriverError::statement(format!("cannot read: {e}")),
                )
            };
            // A file is read on a blocking-pool thread, never on the caller's runtime thread:
            // whole when small, split by a worker thread as it runs when large.
            let small: Option<Box<dyn BufRead + Send + '_>> = match (&m.source, text) {
                (_, Some(text)) => Some(Box::new(&text[..])),
                (Source::File(path), None) => {
                    match read_small_file(path).await.map_err(cannot_read)? {
                        Some(text) => Some(Box::new(std::io::Cursor::new(text))),
                        None => {
                            return run_pipelined(
                                db,
                                m,
                                placeholders,
                                transactional,
                                &mut executed,
                                interrupt,
                            )
                            .await
                        }
                    }
                }
                _ => None,
            };
            let reader = match small {
                Some(reader) => reader,
                None => m.source.open().map_err(cannot_read)?,
            };
            let splitter =
                Splitter::new(reader, db.dialect()).with_placeholders(placeholders.clone());
            let mut items = Items::Split(Box::new(splitter));
            run_items(db, &mut items, transactional, &mut executed, interrupt).await
        };
        let outcome: Result<(), StepError> = self
            .interruptible(
                ctx.cancel,
                &label,
                tracing::Instrument::instrument(
                    work,
                    tracing::info_span!("migration", migration = %label),
                ),
            )
            .await;
        // Interrupted while its last statement ran, which ended without an error (MySQL's
        // `SLEEP` returns early when killed): a migration in a transaction is rolled back
        // rather than committed, as if the interrupt had come a moment earlier.
        let outcome = match outcome {
            Ok(()) if transactional && self.interrupted() => {
                Err(StepError::new(None, String::new(), interrupted_error()))
            }
            other => other,
        };
        let elapsed = started.elapsed();
        if let Err(StepError {
            line,
            statement,
            error: e,
        }) = outcome
        {
            let cause = self.cause_of(&e);
            if cause == FailureCause::ConnectionLost {
                // Nothing more can be sent, and whether the last message took effect is unknown.
                return Err(step_failure(step, line, statement, e, false, cause));
            }
            let transactional_ddl = db.transactional_ddl();
            if transactional {
                let _ = db.rollback().await;
                close_group(ctx);
            } else {
                let _ = db.leave_no_transaction().await;
            }
            // A data migration changes rows, which every database rolls back (MySQL included).
            // Outside a transaction even the failing statement may leave something behind
            // (a failed CREATE INDEX CONCURRENTLY leaves an INVALID index), so the failure is
            // recorded whatever ran before it.
            let rows_only = step.action == Action::Data;
            let changed = !transactional || (executed > 0 && !transactional_ddl && !rows_only);
            if let Some(t) = recorded_type(step) {
                let sql = match (running_row, changed) {
                    (true, true) => Some(dialect::finish_running_row(
                        db.dialect(),
                        table,
                        elapsed.as_millis() as i64,
                        false,
                    )),
                    // Rolled back: the row written before it ran goes too.
                    (true, false) => Some(dialect::delete_running_row(db.dialect(), table)),
                    (false, true) => Some(dialect::insert_history(
                        db.dialect(),
                        table,
                        &new_row(step, &t, ctx.installed_by, Some(elapsed), false),
                    )),
                    (false, false) => None,
                };
                if let Some(sql) = sql {
                    let _ = db.execute(&with_restore(ctx.restore, &sql)).await;
                }
            }
            return Err(step_failure(step, line, statement, e, !changed, cause));
        }
        let recorded = recorded_type(step);
        if !transactional {
            db.leave_no_transaction().await.map_err(|e| {
                let cause = self.cause_of(&e);
                step_failure(step, None, String::new(), e, false, cause)
            })?;
        }
        // The step's own row, and the next step's running row, in one message.
        let mut writes: Vec<String> = Vec::new();
        if let Some(t) = recorded {
            let time = if ctx.dry_run { Duration::ZERO } else { elapsed };
            writes.push(if running_row {
                dialect::finish_running_row(db.dialect(), table, time.as_millis() as i64, true)
            } else {
                dialect::insert_history(
                    db.dialect(),
                    table,
                    &new_row(step, &t, ctx.installed_by, Some(time), true),
                )
            });
            // The side table's row of the version, tied to the row just written (§21.1).
            writes.extend(run.sidecar.iter().cloned());
        }
        if let Some(next) = next {
            let kind = recorded_type(next).unwrap_or(HistoryType::Other(String::new()));
            writes.push(dialect::insert_history(
                db.dialect(),
                table,
                &new_row(next, &kind, ctx.installed_by, None, false),
            ));
        }
        let mut message: Vec<&str> = Vec::with_capacity(writes.len() + 1);
        message.extend(ctx.restore);
        message.extend(writes.iter().map(String::as_str));
        let written = match (message.is_empty(), transactional) {
            // In a group the writes join the group's transaction, committed once at its end.
            (true, true) if ctx.group.is_some() => Ok(()),
            (false, true) if ctx.group.is_some() => db.execute(&message.join("\n;\n")).await,
            (true, true) => db.commit().await,
            (true, false) => Ok(()),
            (false, true) => db.execute_and_commit(&message.join("\n;\n")).await,
            (false, false) => db.execute(&message.join("\n;\n")).await,
        };
        if let Err(e) = written {
            let cause = self.cause_of(&e);
            let lost = cause == FailureCause::ConnectionLost;
            if transactional && !lost {
                let _ = db.rollback().await;
                close_group(ctx);
            }
            let mut rolled_back = transactional && !lost;
            if rolled_back && running_row {
                // The commit failed (a certification conflict on a cluster): the migration's
                // row, written before it ran, is still marked running. As after a failed
                // statement, a migration whose statements may have committed by themselves
                // (MySQL DDL) is recorded as failed; otherwise the row goes.
                let changed =
                    executed > 0 && !db.transactional_ddl() && step.action != Action::Data;
                let sql = if changed {
                    dialect::finish_running_row(
                        db.dialect(),
                        table,
                        elapsed.as_millis() as i64,
                        false,
                    )
                } else {
                    dialect::delete_running_row(db.dialect(), table)
                };
                let _ = db.execute(&with_restore(ctx.restore, &sql)).await;
                rolled_back = !changed;
            }
            let statement = writes
                .first()
                .map_or_else(|| "COMMIT".to_string(), |w| excerpt(w));
            return Err(step_failure(step, None, statement, e, rolled_back, cause));
        }
        Ok(StepReport {
            migration: label,
            kind: match step.action {
                Action::Callback(event) => MigrationKind::Callback(event),
                Action::Undo => MigrationKind::Undo,
                _ => m.kind,
            },
            version: m.version.as_ref().map(|v| v.to_string()),
            description: m.description.clone(),
            script: m.script.clone(),
            path: m.display_path.clone(),
            duration_ms: elapsed.as_millis() as u64,
            statements: executed,
            transactional,
        })
    }

    /// Why a statement failed, as far as the user is concerned.
    fn cause_of(&self, e: &DriverError) -> FailureCause {
        match e.kind {
            DriverErrorKind::Connection => FailureCause::ConnectionLost,
            _ if self.interrupted() || e.kind == DriverErrorKind::Interrupted => {
                FailureCause::Interrupted
            }
            DriverErrorKind::Storage => FailureCause::Storage,
            DriverErrorKind::Conflict => FailureCause::CertificationConflict,
            _ => FailureCause::Statement,
        }
    }
}

/// Marks the group's transaction (§5.8.8) as ended: rolled back, or committed at the run's end.
fn close_group(ctx: &StepContext<'_>) {
    if let Some(open) = ctx.group {
        open.store(false, Ordering::Relaxed);
    }
}

/// A history write, after the statement that restores the session where there is one.
fn with_restore(restore: Option<&str>, sql: &str) -> String {
    match restore {
        Some(r) => format!("{r}\n;\n{sql}"),
        None => sql.to_string(),
    }
}

/// A step's failure, with an empty report (the run fills it in).
fn step_failure(
    step: &Step,
    line: Option<u32>,
    statement: String,
    e: DriverError,
    rolled_back: bool,
    cause: FailureCause,
) -> Box<MigrationFailure> {
    let m = &step.migration;
    Box::new(MigrationFailure {
        migration: m.label(),
        path: m.display_path.clone(),
        line,
        statement,
        message: e.message,
        code: e.code,
        rolled_back,
        cause,
        report: Report::default(),
    })
}

/// The description and script of the marker row a baseline writes (Flyway writes
/// `<< Flyway Baseline >>`; godwit reads both).
pub(crate) const BASELINE_DESCRIPTION: &str = "<< Baseline >>";

/// The marker row of a baseline at `version`.
fn baseline_row(version: &Version, description: &str, installed_by: &str) -> HistoryRow {
    HistoryRow {
        installed_rank: 1,
        version: Some(version.to_string()),
        description: description.into(),
        kind: HistoryType::Baseline,
        script: description.into(),
        checksum: None,
        installed_by: installed_by.into(),
        installed_on: String::new(),
        execution_time: 0,
        success: true,
    }
}

/// The `INSERT` form of a marker row.
fn new_marker(row: &HistoryRow) -> NewRow<'_> {
    NewRow {
        version: row.version.as_deref(),
        description: &row.description,
        kind: &row.kind,
        script: &row.script,
        checksum: None,
        installed_by: &row.installed_by,
        execution_time_ms: 0,
        success: true,
    }
}

/// What an applied version leaves in the undo side table.
#[derive(Debug, Clone)]
struct Sidecar {
    version: Version,
    /// The `U` file and its text, when it is stored.
    undo: Option<(Arc<Migration>, String)>,
    breaking: bool,
}

/// A file that could not be read, as a file problem.
fn cannot_read(m: &Migration, e: &std::io::Error) -> FileProblem {
    FileProblem {
        paths: vec![m.display_path.clone()],
        line: None,
        message: format!("cannot read: {e}"),
        hint: None,
    }
}

/// The whole text of an undo script, to store it.
fn read_text(m: &Migration) -> std::io::Result<String> {
    let mut text = String::new();
    m.source.open()?.read_to_string(&mut text)?;
    Ok(text)
}

/// Whether a migration is marked `-- godwit:breaking` on one of its first lines (§22.1); `text`
/// is its text when it was kept, else it is read.
fn is_breaking(m: &Migration, text: Option<&[u8]>) -> std::io::Result<bool> {
    if matches!(m.source, Source::Rust(_)) {
        return Ok(false);
    }
    let mut reader: Box<dyn BufRead + Send + '_> = match text {
        Some(text) => Box::new(text),
        None => m.source.open()?,
    };
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let directive = !godwit_sql::leading_directives(&line).is_empty();
        head.push_str(&line);
        if !directive {
            break;
        }
    }
    Ok(godwit_sql::leading_directives(&head)
        .iter()
        .any(|d| d.name.eq_ignore_ascii_case(godwit_sql::BREAKING_DIRECTIVE) && d.value.is_none()))
}

/// Why a run stopped before its last step.
enum Stop {
    /// A step failed.
    Failed(Box<MigrationFailure>),
    /// The run was interrupted between steps: nothing was left half-done.
    Interrupted,
}

/// What `run` does.
#[derive(Debug, Clone)]
pub(crate) enum RunKind {
    Migrate,
    Undo(Option<Version>),
}

/// A step's history row; `elapsed` is `None` for the row written before the step runs, marked
/// as running.
fn new_row<'a>(
    step: &'a Step,
    kind: &'a HistoryType,
    installed_by: &'a str,
    elapsed: Option<Duration>,
    success: bool,
) -> NewRow<'a> {
    let m = &step.migration;
    NewRow {
        version: m.version.as_ref().map(Version::as_str),
        description: &m.description,
        kind,
        script: &m.script,
        checksum: Some(if step.action == Action::Repeat {
            m.applied_checksum
        } else {
            m.checksum
        }),
        installed_by,
        execution_time_ms: elapsed
            .map_or(i64::from(crate::model::INTERRUPTED_EXECUTION_TIME), |e| {
                e.as_millis() as i64
            }),
        success,
    }
}

/// A checksum `repair --mark-applied` records, read again from its file: discovery may have
/// taken it from the checksum cache, and a checksum from the cache never reaches the history.
fn reread_checksum(
    set: &MigrationSet,
    mut action: crate::plan::RepairAction,
) -> Result<crate::plan::RepairAction, Error> {
    let crate::plan::RepairAction::MarkApplied {
        version,
        script,
        checksum: Some(checksum),
        ..
    } = &mut action
    else {
        return Ok(action);
    };
    let file = set.iter().find(|m| {
        m.script == *script
            && matches!(m.source, Source::File(_))
            && m.version
                .as_ref()
                .is_some_and(|v| v.to_string() == *version)
    });
    if let Some(m) = file {
        let read = m
            .source
            .open()
            .and_then(crate::model::checksum_reader)
            .map_err(|e| {
                Error::Files(vec![FileProblem {
                    paths: vec![m.display_path.clone()],
                    line: None,
                    message: format!("cannot read: {e}"),
                    hint: None,
                }])
            })?;
        *checksum = read;
    }
    Ok(action)
}

/// The history `type` a step records: the planner's, with `RUST` for a versioned migration
/// written in Rust.
fn recorded_type(step: &Step) -> Option<HistoryType> {
    match (step.action.history_type(), &step.migration.source) {
        (Some(HistoryType::Sql), Source::Rust(_)) => Some(HistoryType::Rust),
        (t, _) => t,
    }
}

/// Calls a Rust migration on the step's connection (in a dry run, only says it would).
async fn run_rust(
    db: &mut dyn Driver,
    code: &RustCode,
    label: &str,
    dry_run: bool,
    executed: &mut usize,
) -> Result<(), StepError> {
    if dry_run {
        db.note(&format!(
            "{label} is written in Rust: a real run calls it here, and the statements it runs are not known in advance"
        ));
        return Ok(());
    }
    let mut ctx = RustContext::new(db);
    let result = code.run(&mut ctx).await;
    *executed = ctx.executed();
    result.map_err(|e| {
        let statement = ctx.last_statement().to_string();
        let error = match e.downcast::<DriverError>() {
            Ok(driver) => *driver,
            Err(other) => DriverError::statement(other.to_string()),
        };
        StepError::new(None, statement, error)
    })
}

/// The version a run leaves the database at: the history it started from replayed with the rows
/// it recorded.
fn final_version(plan: &Plan, history: &[HistoryRow], recorded: Vec<HistoryRow>) -> Option<String> {
    if recorded.is_empty() {
        return plan.current.as_ref().map(|v| v.to_string());
    }
    let mut rows = history.to_vec();
    rows.extend(recorded);
    Applied::from_history(&rows)
        .current()
        .map(|v| v.to_string())
}

/// The history row a step would leave, to compute the version after a run without reading
/// the history again.
fn synthetic_row(installed_rank: i32, step: &Step, kind: HistoryType) -> HistoryRow {
    let m = &step.migration;
    HistoryRow {
        installed_rank,
        version: m.version.as_ref().map(|v| v.to_string()),
        description: m.description.clone(),
        kind,
        script: m.script.clone(),
        checksum: Some(m.checksum),
        installed_by: String::new(),
        installed_on: String::new(),
        execution_time: 0,
        success: true,
    }
}

fn with_filename(base: &Placeholders, m: &Migration) -> Placeholders {
    let mut p = match m.placeholder_replacement {
        // The file's `.conf` decides (docs/design.md §1.10).
        Some(replace) => base.clone().with_replacement(replace),
        None => base.clone(),
    };
    let name = m.script.rsplit('/').next().unwrap_or(&m.script);
    p.insert("godwit:filename", name.to_string());
    p
}

/// The checksum of a repeatable's text after placeholder replacement.
fn replaced_checksum(m: &Migration, p: &Placeholders) -> Result<i32, Vec<FileProblem>> {
    let problem = |line: Option<u32>, message: String| FileProblem {
        paths: vec![m.display_path.clone()],
        line,
        message,
        hint: None,
    };
    let missing_value = |line: u32, name: &str| FileProblem {
        hint: Some(missing_placeholder_hint(name)),
        ..problem(
            Some(line),
            format!("the placeholder `{}` has no value", p.written(name)),
        )
    };
    let mut reader = m
        .source
        .open()
        .map_err(|e| vec![problem(None, format!("cannot read: {e}"))])?;
    let mut hasher = crate::model::LineChecksum::default();
    let mut line = String::new();
    let mut number = 0u32;
    let mut missing = Vec::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => return Err(vec![problem(Some(number + 1), format!("cannot read: {e}"))]),
        }
        number += 1;
        match p.replace_line(&line) {
            Ok(text) => hasher.update(text.as_bytes()),
            Err(name) => missing.push(missing_value(number, &name)),
        }
    }
    if missing.is_empty() {
        Ok(hasher.finish())
    } else {
        Err(missing)
    }
}

fn peek_head(reader: &mut Box<dyn BufRead + Send + '_>, out: &mut String) -> std::io::Result<()> {
    let buf = reader.fill_buf()?;
    *out = String::from_utf8_lossy(buf).into_owned();
    Ok(())
}

/// A batch is sent once it holds this many bytes of SQL or this many statements.
const BATCH_BYTES: usize = 1 << 20;
const BATCH_STATEMENTS: usize = 5_000;

/// Files larger than this are split on a second thread while the server executes the previous
/// batch: for a big data migration, splitting and executing then overlap instead of taking turns.
const PIPELINE_BYTES: u64 = 4 << 20;

/// Reads a file of at most [`PIPELINE_BYTES`] whole, on the blocking pool (off the runtime's
/// threads); `None` for a larger one, which [`run_pipelined`] streams.
async fn read_small_file(path: &std::path::Path) -> std::io::Result<Option<Vec<u8>>> {
    let path = path.to_path_buf();
    let read = tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut file = std::fs::File::open(&path)?;
        let len = file.metadata()?.len();
        if len > PIPELINE_BYTES {
            return Ok(None);
        }
        let mut text = Vec::with_capacity(len as usize);
        file.read_to_end(&mut text)?;
        Ok(Some(text))
    })
    .await;
    match read {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(std::io::Error::other(e)),
    }
}

/// Runs a large file, split by a worker thread into batches that wait in a short queue (two
/// batches at most, so memory stays bounded).
async fn run_pipelined(
    db: &mut dyn Driver,
    m: &Arc<Migration>,
    placeholders: &Placeholders,
    transactional: bool,
    executed: &mut usize,
    interrupt: Option<&Interrupt>,
) -> Result<(), StepError> {
    type Item = Result<Vec<godwit_sql::Statement>, SplitError>;
    let (tx, rx) = tokio::sync::mpsc::channel::<Item>(2);
    let migration = Arc::clone(m);
    let placeholders = placeholders.clone();
    let dialect = db.dialect();
    let worker = std::thread::spawn(move || {
        let reader = match migration.source.open() {
            Ok(r) => r,
            Err(source) => {
                let _ = tx.blocking_send(Err(SplitError::Io { line: 1, source }));
                return;
            }
        };
        let mut batch = Vec::new();
        let mut bytes = 0usize;
        for statement in Splitter::new(reader, dialect).with_placeholders(placeholders) {
            match statement {
                Ok(s) => {
                    bytes += s.sql.len();
                    batch.push(s);
                    if bytes >= BATCH_BYTES || batch.len() >= BATCH_STATEMENTS {
                        // The receiver is gone when a batch failed: stop splitting.
                        if tx.blocking_send(Ok(std::mem::take(&mut batch))).is_err() {
                            return;
                        }
                        bytes = 0;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
        if !batch.is_empty() {
            let _ = tx.blocking_send(Ok(batch));
        }
    });
    let mut items = Items::Channel {
        rx,
        current: Vec::new().into_iter(),
    };
    let result = run_items(db, &mut items, transactional, executed, interrupt).await;
    // The worker stops once its queue is gone.
    drop(items);
    let _ = worker.join();
    result
}

/// The statements of a file, as the executor takes them one by one: straight from the
/// splitter on this thread, or from the worker thread that splits a large file, in batches.
/// (An enum rather than a trait object: no allocation per statement.)
enum Items<'a> {
    Split(Box<Splitter<Box<dyn BufRead + Send + 'a>>>),
    Channel {
        rx: tokio::sync::mpsc::Receiver<Result<Vec<godwit_sql::Statement>, SplitError>>,
        current: std::vec::IntoIter<godwit_sql::Statement>,
    },
}

impl Items<'_> {
    async fn next_item(&mut self) -> Option<Result<godwit_sql::Statement, SplitError>> {
        match self {
            Items::Split(splitter) => splitter.next(),
            Items::Channel { rx, current } => loop {
                if let Some(s) = current.next() {
                    return Some(Ok(s));
                }
                match rx.recv().await? {
                    Ok(batch) => *current = batch.into_iter(),
                    Err(e) => return Some(Err(e)),
                }
            },
        }
    }
}

fn split_failure(e: SplitError) -> StepError {
    StepError::new(
        Some(e.line()),
        String::new(),
        DriverError::statement(e.to_string()),
    )
}

/// Runs a file's statements: inside a transaction in batches (as few round trips as the
/// protocol allows, memory bounded by the batch size), outside one by one; a
/// `COPY ... FROM STDIN` with inline data goes through the copy protocol, its data read from
/// the file as it is sent.
async fn run_items(
    db: &mut dyn Driver,
    items: &mut Items<'_>,
    transactional: bool,
    executed: &mut usize,
    interrupt: Option<&Interrupt>,
) -> Result<(), StepError> {
    let mut batch: Vec<godwit_sql::Statement> = Vec::new();
    let mut batch_bytes = 0usize;
    // An item a COPY's data source read past the end of its data.
    let mut pending = None;
    loop {
        let item = match pending.take() {
            Some(item) => item,
            None => match items.next_item().await {
                Some(item) => item,
                None => break,
            },
        };
        let s = item.map_err(split_failure)?;
        match s.kind {
            godwit_sql::StatementKind::CopyData => continue,
            godwit_sql::StatementKind::CopyFromStdin => {
                check_interrupt(interrupt)?;
                flush_batch(db, &mut batch, executed).await?;
                batch_bytes = 0;
                let mut source = CopyFeed {
                    items: &mut *items,
                    interrupt,
                    first_line: None,
                    rest: None,
                    failure: None,
                };
                let copied = db.copy_in(&s.sql, &mut source).await;
                pending = source.rest.take();
                let first_line = source.first_line;
                if let Some(failure) = source.failure.take() {
                    return Err(failure);
                }
                match copied {
                    Ok(_) => *executed += 1,
                    Err((row, e)) => {
                        // The server counts data lines from 1; point at the row's own line.
                        let line = match (row, first_line) {
                            (Some(row), Some(first)) if row > 0 => first.saturating_add(row - 1),
                            _ => s.line,
                        };
                        return Err(StepError::new(Some(line), excerpt(&s.sql), e));
                    }
                }
            }
            godwit_sql::StatementKind::Sql => {
                if !transactional {
                    check_interrupt(interrupt)
                        .map_err(|f| StepError::new(Some(s.line), excerpt(&s.sql), f.error))?;
                    db.execute(&s.sql)
                        .await
                        .map_err(|e| StepError::new(Some(s.line), excerpt(&s.sql), e))?;
                    *executed += 1;
                    continue;
                }
                batch_bytes += s.sql.len();
                batch.push(s);
                if batch_bytes >= BATCH_BYTES || batch.len() >= BATCH_STATEMENTS {
                    check_interrupt(interrupt)?;
                    flush_batch(db, &mut batch, executed).await?;
                    batch_bytes = 0;
                }
            }
        }
    }
    check_interrupt(interrupt)?;
    flush_batch(db, &mut batch, executed).await
}

/// Hands the inline data of a `COPY` to the driver, chunk by chunk, as the file is read.
struct CopyFeed<'a, 'i> {
    items: &'a mut Items<'i>,
    interrupt: Option<&'a Interrupt>,
    /// The line of the first data row.
    first_line: Option<u32>,
    /// The item after the data, read to find its end.
    rest: Option<Result<godwit_sql::Statement, SplitError>>,
    /// Why the data could not be read, for the step's error.
    failure: Option<StepError>,
}

#[async_trait]
impl crate::driver::CopySource for CopyFeed<'_, '_> {
    async fn next_chunk(&mut self) -> Result<Option<String>, String> {
        if let Err(e) = check_interrupt(self.interrupt) {
            let message = e.error.message.clone();
            self.failure = Some(e);
            return Err(message);
        }
        match self.items.next_item().await {
            Some(Ok(s)) if s.kind == godwit_sql::StatementKind::CopyData => {
                self.first_line.get_or_insert(s.line);
                Ok(Some(s.sql))
            }
            Some(Err(e)) => {
                let failure = split_failure(e);
                let message = failure.error.message.clone();
                self.failure = Some(failure);
                Err(message)
            }
            other => {
                self.rest = other;
                Ok(None)
            }
        }
    }
}

/// Sends the statements collected so far as one batch.
async fn flush_batch(
    db: &mut dyn Driver,
    batch: &mut Vec<godwit_sql::Statement>,
    executed: &mut usize,
) -> Result<(), StepError> {
    if batch.is_empty() {
        return Ok(());
    }
    let texts: Vec<&str> = batch.iter().map(|s| s.sql.as_str()).collect();
    let started = Instant::now();
    let result = db.execute_batch(&texts).await;
    tracing::debug!(
        statements = texts.len(),
        line = batch[0].line,
        ms = started.elapsed().as_millis() as u64,
        ok = result.is_ok(),
        "ran {} statement{} from line {} in {}",
        texts.len(),
        if texts.len() == 1 { "" } else { "s" },
        batch[0].line,
        crate::util::format_duration(started.elapsed()),
    );
    match result {
        Ok(()) => {
            *executed += batch.len();
            batch.clear();
            Ok(())
        }
        Err((index, e)) => {
            *executed += index;
            let failed = &batch[index.min(batch.len() - 1)];
            Err(StepError::new(Some(failed.line), excerpt(&failed.sql), e))
        }
    }
}

/// The first line of a statement, shortened, for messages.
pub(crate) fn excerpt(sql: &str) -> String {
    let first = sql
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    if first.chars().count() > 80 {
        let cut: String = first.chars().take(77).collect();
        format!("{cut}...")
    } else {
        first.to_string()
    }
}

/// The driver every command runs through: it passes everything to the real driver, or, in a
/// dry run, reads from the real database but writes the SQL it would run to `out` (and takes no
/// lock, since it changes nothing).
pub(crate) struct Sink<'a, 'w> {
    inner: &'a mut dyn Driver,
    out: Option<&'w mut (dyn Write + Send)>,
    failed: Option<std::io::Error>,
}

impl<'a, 'w> Sink<'a, 'w> {
    pub(crate) fn new(inner: &'a mut dyn Driver, out: Option<&'w mut (dyn Write + Send)>) -> Self {
        Sink {
            inner,
            out,
            failed: None,
        }
    }

    pub(crate) fn is_dry_run(&self) -> bool {
        self.out.is_some()
    }

    /// The result, unless writing the dry-run output failed.
    pub(crate) fn finish<T>(self, result: Result<T, Error>) -> Result<T, Error> {
        match self.failed {
            Some(source) => Err(Error::Io {
                what: "cannot write the dry-run output".into(),
                source,
            }),
            None => result,
        }
    }

    fn write(&mut self, text: &str) {
        if self.failed.is_some() {
            return;
        }
        if let Some(out) = self.out.as_mut() {
            if let Err(e) = writeln!(out, "{text}") {
                self.failed = Some(e);
            }
        }
    }

    /// Writes a statement as the database's own client reads it.
    fn statement(&mut self, sql: &str) {
        let dialect = self.inner.dialect();
        if dialect == Dialect::MySql && sql.contains(';') {
            // The mysql client splits on `;`: wrap bodies that contain one.
            let delimiter = if sql.contains("$$") { "//" } else { "$$" };
            let text = format!("DELIMITER {delimiter}\n{sql}{delimiter}\nDELIMITER ;");
            self.write(&text);
        } else {
            self.write(&format!("{sql};"));
        }
    }
}

#[async_trait]
impl Driver for Sink<'_, '_> {
    fn dialect(&self) -> Dialect {
        self.inner.dialect()
    }
    fn session(&self) -> &Session {
        self.inner.session()
    }
    fn transactional_ddl(&self) -> bool {
        self.inner.transactional_ddl()
    }
    fn committed(&self) -> bool {
        self.is_dry_run() || self.inner.committed()
    }
    fn cancel_handle(&self) -> Option<CancelHandle> {
        self.inner.cancel_handle()
    }
    async fn lock(&mut self, key: &str, timeout: Duration) -> DriverResult<()> {
        if self.is_dry_run() {
            return Ok(());
        }
        self.inner.lock(key, timeout).await
    }
    async fn unlock(&mut self) -> DriverResult<()> {
        if self.is_dry_run() {
            return Ok(());
        }
        self.inner.unlock().await
    }
    async fn history_exists(&mut self, table: &HistoryTable) -> DriverResult<bool> {
        self.inner.history_exists(table).await
    }
    async fn read_history(&mut self, table: &HistoryTable) -> DriverResult<Vec<HistoryRow>> {
        self.inner.read_history(table).await
    }
    async fn has_objects(
        &mut self,
        schemas: &[String],
        table: &HistoryTable,
    ) -> DriverResult<bool> {
        self.inner.has_objects(schemas, table).await
    }
    async fn schema_exists(&mut self, schema: &str) -> DriverResult<bool> {
        self.inner.schema_exists(schema).await
    }
    async fn query_text(&mut self, sql: &str) -> DriverResult<Vec<Vec<Option<String>>>> {
        self.inner.query_text(sql).await
    }
    async fn begin(&mut self) -> DriverResult<()> {
        if !self.is_dry_run() {
            return self.inner.begin().await;
        }
        let sql = dialect::begin(self.dialect());
        self.write(&format!("{sql};"));
        Ok(())
    }
    async fn begin_with(&mut self, setup: &[String]) -> DriverResult<()> {
        if !self.is_dry_run() {
            return self.inner.begin_with(setup).await;
        }
        self.begin().await?;
        for sql in setup {
            self.statement(sql);
        }
        Ok(())
    }
    async fn commit(&mut self) -> DriverResult<()> {
        if !self.is_dry_run() {
            return self.inner.commit().await;
        }
        self.write("COMMIT;");
        Ok(())
    }
    async fn rollback(&mut self) -> DriverResult<()> {
        if !self.is_dry_run() {
            return self.inner.rollback().await;
        }
        self.write("ROLLBACK;");
        Ok(())
    }
    async fn enter_no_transaction(&mut self) -> DriverResult<()> {
        if self.is_dry_run() {
            return Ok(());
        }
        self.inner.enter_no_transaction().await
    }
    async fn leave_no_transaction(&mut self) -> DriverResult<()> {
        if self.is_dry_run() {
            return Ok(());
        }
        self.inner.leave_no_transaction().await
    }
    async fn execute(&mut self, sql: &str) -> DriverResult<()> {
        if !self.is_dry_run() {
            return self.inner.execute(sql).await;
        }
        self.statement(sql);
        Ok(())
    }
    async fn execute_batch(&mut self, statements: &[&str]) -> Result<(), (usize, DriverError)> {
        if !self.is_dry_run() {
            return self.inner.execute_batch(statements).await;
        }
        for sql in statements {
            self.statement(sql);
        }
        Ok(())
    }
    async fn copy_in(
        &mut self,
        sql: &str,
        data: &mut (dyn crate::driver::CopySource + '_),
    ) -> Result<u64, (Option<u32>, DriverError)> {
        if self.out.is_none() {
            return self.inner.copy_in(sql, data).await;
        }
        // As psql reads it: the statement, its data lines, and the terminator.
        self.write(&format!("{sql};"));
        loop {
            match data.next_chunk().await {
                Ok(Some(chunk)) => self.write(chunk.strip_suffix('\n').unwrap_or(&chunk)),
                Ok(None) => break,
                Err(reason) => return Err((None, DriverError::statement(reason))),
            }
        }
        self.write("\\.");
        Ok(0)
    }

    async fn execute_and_commit(&mut self, sql: &str) -> DriverResult<()> {
        if !self.is_dry_run() {
            return self.inner.execute_and_commit(sql).await;
        }
        self.statement(sql);
        self.write("COMMIT;");
        Ok(())
    }
    async fn sync(&mut self) -> DriverResult<()> {
        if self.is_dry_run() {
            return Ok(());
        }
        self.inner.sync().await
    }
    fn note(&mut self, text: &str) {
        if self.is_dry_run() {
            self.write("");
            self.write(&format!("-- {}", text.replace('\n', " ")));
        }
    }
    async fn close(self: Box<Self>) -> DriverResult<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_from_stdin_is_recognised() {
        assert!(godwit_sql::is_copy_from_stdin("COPY t (a, b) FROM stdin"));
        assert!(godwit_sql::is_copy_from_stdin(
            "copy public.t from STDIN with (format csv)"
        ));
        assert!(!godwit_sql::is_copy_from_stdin("COPY t FROM '/srv/t.csv'"));
        assert!(!godwit_sql::is_copy_from_stdin("COPY t TO STDOUT"));
        assert!(!godwit_sql::is_copy_from_stdin(
            "SELECT 'COPY x FROM STDIN'"
        ));
    }

    #[test]
    fn excerpts_are_one_short_line() {
        assert_eq!(excerpt("\n  SELECT 1\nFROM x"), "SELECT 1");
        let long = "x".repeat(100);
        assert_eq!(excerpt(&long).chars().count(), 80);
    }
}
