//! `godwit lint`: finds the migrations that break a rolling upgrade (the previous release still
//! runs while the new one migrates: docs/rolling-upgrades.md) or that lock a table for long.
//!
//! The crate is pure: it takes the files (their text, kind and version), the dialect, the
//! server's version when known and the godwit settings that matter (a statement lock timeout),
//! and returns findings. It reads, connects and prints nothing.
//!
//! Each file is cut into statements by godwit's own splitter (`godwit-sql`), exactly as
//! `migrate` will send them, and godwit's knowledge of the file decides which rules apply: its
//! kind (an undo or baseline migration is not checked for compatibility, a data migration is
//! checked for being safe to re-run), whether it runs in a transaction (a transaction-control
//! statement, a `VALIDATE CONSTRAINT` in the same transaction as its `NOT VALID`), the lock
//! timeout in force, and the files linted with it (a contract step in the same release as its
//! expand step). On PostgreSQL the statements are also parsed and checked by
//! [squawk](https://squawkhq.com) (`squawk-linter`), whose findings for the rules it knows
//! replace godwit's own recognizer's; the other dialects, and the rules squawk does not have,
//! use godwit's recognizer (`scan`).
//!
//! ```
//! use godwit_lint::{lint, File, FileKind, Settings, Rule};
//! use godwit_sql::Dialect;
//!
//! let files = [File {
//!     path: "V2__drop_name.sql".into(),
//!     kind: FileKind::Versioned,
//!     version: Some("2".into()),
//!     text: "ALTER TABLE users DROP COLUMN name;\n".into(),
//! }];
//! let report = lint(&files, &Default::default(), &Settings::new(Dialect::Postgres)).unwrap();
//! assert!(report.findings.iter().any(|f| f.rule == Rule::DropColumn && f.line == 1));
//! ```

mod directives;
mod pg;
mod rules;
mod scan;

use std::collections::{BTreeMap, BTreeSet};

pub use godwit_sql::Dialect;
pub use rules::{Family, Level, Rule};

use scan::{Alter, Constraint, Stmt};

/// What a file is, from its name (docs/design.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Versioned,
    Undo,
    Repeatable,
    Baseline,
    Data,
    Callback,
}

/// One migration file to check.
#[derive(Debug, Clone)]
pub struct File {
    /// How messages name it (the path as discovered).
    pub path: String,
    pub kind: FileKind,
    /// The normalised version (`2.0.1`), for versioned, undo, baseline and data migrations.
    pub version: Option<String>,
    pub text: String,
}

/// The database server's version, as far as the rules need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerVersion {
    pub mariadb: bool,
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl ServerVersion {
    /// Reads a version as servers report it (`15.4`, `PostgreSQL 15.4 on …`, `8.0.36`,
    /// `10.11.6-MariaDB`, `10.11-mariadb`); `None` when there is no number in it.
    pub fn parse(text: &str) -> Option<ServerVersion> {
        let start = text.find(|c: char| c.is_ascii_digit())?;
        let mut parts = text[start..]
            .split(|c: char| !c.is_ascii_digit())
            .take(3)
            .map(|p| p.parse::<u32>().unwrap_or(0));
        Some(ServerVersion {
            mariadb: text.to_ascii_lowercase().contains("mariadb"),
            major: parts.next()?,
            minor: parts.next().unwrap_or(0),
            patch: parts.next().unwrap_or(0),
        })
    }

    fn at_least(&self, major: u32, minor: u32, patch: u32) -> bool {
        (self.major, self.minor, self.patch) >= (major, minor, patch)
    }

    /// MySQL 8.0.12 and MariaDB 10.3.2 add a column with `ALGORITHM=INSTANT`.
    fn instant_add_column(&self) -> bool {
        if self.mariadb {
            self.at_least(10, 3, 2)
        } else {
            self.at_least(8, 0, 12)
        }
    }

    /// MySQL 8.0.29 and MariaDB 10.4 drop a column with `ALGORITHM=INSTANT`.
    fn instant_drop_column(&self) -> bool {
        if self.mariadb {
            self.at_least(10, 4, 0)
        } else {
            self.at_least(8, 0, 29)
        }
    }
}

/// What the lint needs to know besides the files.
#[derive(Debug, Clone)]
pub struct Settings {
    pub dialect: Dialect,
    /// The server's version, when godwit could connect or was told (`--server-version`).
    pub server_version: Option<ServerVersion>,
    /// godwit sets a statement lock timeout for every migration (`statement_lock_timeout`).
    pub statement_lock_timeout: bool,
    /// Each rule's level where it is not the default (`[lint_rules]`).
    pub levels: BTreeMap<Rule, Level>,
}

impl Settings {
    pub fn new(dialect: Dialect) -> Settings {
        Settings {
            dialect,
            server_version: None,
            statement_lock_timeout: false,
            levels: BTreeMap::new(),
        }
    }

    /// The level a rule is reported at.
    pub fn level(&self, rule: Rule) -> Level {
        self.levels
            .get(&rule)
            .copied()
            .unwrap_or(rule.default_level())
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub path: String,
    /// The 1-based line where the statement starts (1 for a finding about the whole file).
    pub line: u32,
    pub rule: Rule,
    pub level: Level,
    /// What breaks.
    pub message: String,
    /// How to do it safely.
    pub recipe: &'static str,
    /// The rule's section in the documentation.
    pub docs: String,
}

/// A finding a `-- godwit:lint-allow <rule> <reason>` line accepted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Allowed {
    pub path: String,
    pub line: u32,
    pub rule: Rule,
    /// The reason the directive gives.
    pub reason: String,
}

/// What [`lint`] found.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    /// Findings at level `warn` or `error`, by file (in the order given) and line.
    pub findings: Vec<Finding>,
    /// Findings accepted by a directive.
    pub allowed: Vec<Allowed>,
}

impl Report {
    /// Whether a finding at level `error` remains.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.level == Level::Error)
    }
}

/// A file the lint cannot read: a bad directive, SQL that does not split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct FileError {
    pub path: String,
    pub line: Option<u32>,
    pub message: String,
    pub hint: String,
}

/// A finding before levels and directives are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Raw {
    pub(crate) line: u32,
    pub(crate) rule: Rule,
    pub(crate) detail: String,
}

/// One statement of a file, with what the rules need about it.
pub(crate) struct Seen {
    pub(crate) line: u32,
    pub(crate) stmt: Stmt,
    /// The statement works on a table this file created before it (empty, unseen by any
    /// release): neither compatibility nor locking matter.
    pub(crate) new_table: bool,
}

/// Checks `files` (in the order they run). `undo_versions` are the versions that have an undo
/// script in the project (for `missing-undo`), whether or not they are linted.
pub fn lint(
    files: &[File],
    undo_versions: &BTreeSet<String>,
    settings: &Settings,
) -> Result<Report, Vec<FileError>> {
    let mut errors = Vec::new();
    let mut report = Report::default();
    // For `contract-with-expand`: the tables each non-contract file expands (by file index).
    let mut expanded: Vec<(usize, BTreeSet<String>)> = Vec::new();
    let mut per_file = Vec::new();
    for (index, file) in files.iter().enumerate() {
        let dirs = match directives::read(file) {
            Ok(d) => d,
            Err(e) => {
                errors.extend(e);
                continue;
            }
        };
        let raw = match check_file(file, &dirs, undo_versions, settings) {
            Ok(r) => r,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if !dirs.contract {
            expanded.push((index, raw.expands.clone()));
        }
        per_file.push((index, dirs, raw));
    }
    for (index, dirs, mut raw) in per_file {
        if dirs.contract {
            for (table, line) in &raw.contracts {
                let earlier = expanded
                    .iter()
                    .find(|(i, tables)| *i < index && tables.contains(table));
                if let Some((i, _)) = earlier {
                    raw.findings.push(Raw {
                        line: *line,
                        rule: Rule::ContractWithExpand,
                        detail: format!(
                            "`{table}` is expanded by {} in the same set of pending migrations",
                            files[*i].path
                        ),
                    });
                }
            }
        }
        raw.findings.sort_by_key(|r| (r.line, r.rule));
        raw.findings.dedup_by_key(|r| (r.line, r.rule));
        let file = &files[index];
        for r in raw.findings {
            if let Some(reason) = dirs.allow.get(&r.rule) {
                report.allowed.push(Allowed {
                    path: file.path.clone(),
                    line: r.line,
                    rule: r.rule,
                    reason: reason.clone(),
                });
                continue;
            }
            let level = settings.level(r.rule);
            if level == Level::Off {
                continue;
            }
            let message = if r.detail.is_empty() {
                r.rule.title().to_owned()
            } else {
                format!("{}: {}", r.rule.title(), r.detail)
            };
            report.findings.push(Finding {
                path: file.path.clone(),
                line: r.line,
                rule: r.rule,
                level,
                message,
                recipe: r.rule.recipe(),
                docs: r.rule.docs(),
            });
        }
    }
    if errors.is_empty() {
        Ok(report)
    } else {
        Err(errors)
    }
}

/// What one file gave.
struct FileFindings {
    findings: Vec<Raw>,
    /// Tables it creates or adds columns or constraints to.
    expands: BTreeSet<String>,
    /// In a contract step: the tables it takes away from or tightens, with the line.
    contracts: Vec<(String, u32)>,
}

fn check_file(
    file: &File,
    dirs: &directives::Directives,
    undo_versions: &BTreeSet<String>,
    settings: &Settings,
) -> Result<FileFindings, FileError> {
    let dialect = settings.dialect;
    let statements = godwit_sql::split_str(&file.text, dialect).map_err(|e| FileError {
        path: file.path.clone(),
        line: Some(e.line()),
        message: e.to_string(),
        hint: "fix the SQL: godwit cannot cut this file into statements, so neither the lint nor migrate can run it".into(),
    })?;
    let transactional = !dirs.no_transaction && !statements.iter().any(|s| s.non_transactional);
    let mut out = FileFindings {
        findings: Vec::new(),
        expands: BTreeSet::new(),
        contracts: Vec::new(),
    };
    let mut push = |line: u32, rule: Rule, detail: String| {
        out.findings.push(Raw { line, rule, detail });
    };
    if file.kind == FileKind::Versioned {
        if let Some(v) = &file.version {
            if !undo_versions.contains(v) {
                push(1, Rule::MissingUndo, format!("no U{v}__… file"));
            }
        }
    }
    let mut created: BTreeSet<String> = BTreeSet::new();
    let mut not_valid_added: BTreeSet<String> = BTreeSet::new();
    let mut lock_timeout = settings.statement_lock_timeout || dirs.lock_timeout;
    let mut lock_timeout_reported = false;
    let mut seen = Vec::new();
    for s in statements
        .iter()
        .filter(|s| s.kind != godwit_sql::StatementKind::CopyData)
    {
        let line = s.line;
        if transactional && godwit_sql::is_transaction_control(dialect, &s.sql) {
            push(
                line,
                Rule::TransactionControl,
                format!("`{}`", first_words(&s.sql)),
            );
        }
        if file.kind == FileKind::Data
            && dialect == Dialect::MySql
            && godwit_sql::commits_implicitly(&s.sql)
        {
            push(
                line,
                Rule::DataDdlMysql,
                format!("`{}`", first_words(&s.sql)),
            );
        }
        let stmt = scan::recognize(&s.sql, dialect);
        let new_table = match &stmt {
            Stmt::AlterTable { table, .. }
            | Stmt::CreateIndex { table, .. }
            | Stmt::RenameTable { table } => created.contains(table),
            Stmt::DropTable { tables } => tables.iter().all(|t| created.contains(t)),
            _ => false,
        };
        if file.kind == FileKind::Data {
            match stmt {
                Stmt::Insert { guarded: false } => push(
                    line,
                    Rule::DataNotRerunnable,
                    "an INSERT without ON CONFLICT, IGNORE or NOT EXISTS adds its rows again on every run".into(),
                ),
                Stmt::Update { has_where: false } => push(
                    line,
                    Rule::DataNotRerunnable,
                    "an UPDATE without WHERE changes every row again on every run".into(),
                ),
                _ => {}
            }
        }
        if matches!(stmt, Stmt::SetLockTimeout) {
            lock_timeout = true;
        }
        // Strong locks, for `lock-timeout-missing`.
        let strong = !new_table
            && match &stmt {
                Stmt::AlterTable { actions, .. } => !actions
                    .iter()
                    .all(|a| matches!(a, Alter::ValidateConstraint(_))),
                Stmt::CreateIndex { concurrently, .. } | Stmt::DropIndex { concurrently } => {
                    !concurrently
                }
                Stmt::DropTable { .. } | Stmt::RenameTable { .. } => true,
                _ => false,
            };
        if strong
            && !lock_timeout
            && !lock_timeout_reported
            && dialect != Dialect::Sqlite
            && file.kind != FileKind::Baseline
        {
            lock_timeout_reported = true;
            push(
                line,
                Rule::LockTimeoutMissing,
                format!("`{}`", first_words(&s.sql)),
            );
        }
        own_rules(
            &stmt,
            new_table,
            line,
            settings,
            transactional,
            &mut not_valid_added,
            &mut push,
        );
        match &stmt {
            Stmt::CreateTable { table } => {
                created.insert(table.clone());
                out_expand(&mut out.expands, table);
            }
            Stmt::AlterTable { table, actions } => {
                for a in actions {
                    // What expands a table outside a contract step, and what takes away from it
                    // (or tightens it) in one.
                    match a {
                        Alter::AddColumn { .. } | Alter::AddConstraint { .. } if !dirs.contract => {
                            out_expand(&mut out.expands, table)
                        }
                        Alter::DropColumn
                        | Alter::RenameColumn
                        | Alter::RenameTable
                        | Alter::ChangeType { .. }
                        | Alter::SetNotNull
                        | Alter::DropDefault
                        | Alter::AddConstraint { .. } => out.contracts.push((table.clone(), line)),
                        _ => {}
                    }
                }
            }
            Stmt::DropTable { tables } => {
                for t in tables {
                    out.contracts.push((t.clone(), line));
                }
            }
            Stmt::RenameTable { table } => out.contracts.push((table.clone(), line)),
            _ => {}
        }
        seen.push(Seen {
            line,
            stmt,
            new_table,
        });
    }
    if dialect == Dialect::Postgres {
        if let Some(found) = pg::check(&file.text, transactional, settings, &seen) {
            // squawk decides the rules it has; godwit's recognizer keeps the others (and adds
            // the rewrites squawk does not know about, such as a `bigserial` column).
            out.findings.retain(|r| !pg::COVERED.contains(&r.rule));
            out.findings.extend(found);
        }
    }
    // The families that do not apply to this file.
    let skip_compat = dirs.contract
        || matches!(
            file.kind,
            FileKind::Undo | FileKind::Baseline | FileKind::Callback
        );
    out.findings.retain(|r| match r.rule.family() {
        Family::Compatibility => !skip_compat,
        Family::Locking => file.kind != FileKind::Baseline,
        Family::Godwit => true,
    });
    Ok(out)
}

fn out_expand(set: &mut BTreeSet<String>, table: &str) {
    set.insert(table.to_owned());
}

/// The rules godwit's recognizer checks on one statement.
fn own_rules(
    stmt: &Stmt,
    new_table: bool,
    line: u32,
    settings: &Settings,
    transactional: bool,
    not_valid_added: &mut BTreeSet<String>,
    push: &mut impl FnMut(u32, Rule, String),
) {
    let dialect = settings.dialect;
    let old_pg = dialect == Dialect::Postgres
        && settings
            .server_version
            .is_some_and(|v| !v.at_least(11, 0, 0));
    match stmt {
        Stmt::AlterTable { table, actions } if !new_table => {
            let algorithm = actions.iter().find_map(|a| match a {
                Alter::Algorithm(v) => Some(v.as_str()),
                _ => None,
            });
            let lock = actions.iter().find_map(|a| match a {
                Alter::Lock(v) => Some(v.as_str()),
                _ => None,
            });
            let mut online_capable = true;
            // Whether every change is one the server may do instantly (columns and defaults).
            let mut instant_kind = true;
            let (mut adds_column, mut drops_column) = (false, false);
            for a in actions {
                match a {
                    Alter::AddColumn { not_null, default } => {
                        adds_column = true;
                        if *not_null && *default == scan::Default::None {
                            push(line, Rule::NotNullAdded, format!("on `{table}`"));
                        }
                        if dialect == Dialect::Postgres
                            && (*default == scan::Default::Volatile
                                || (old_pg && *default != scan::Default::None))
                        {
                            push(
                                line,
                                Rule::TableRewrite,
                                format!("the new column's default is computed for every row of `{table}`"),
                            );
                        }
                    }
                    Alter::AddConstraint {
                        kind,
                        not_valid,
                        using_index,
                        name,
                    } => {
                        if *kind != Constraint::Index {
                            push(line, Rule::ConstraintAdded, format!("on `{table}`"));
                        }
                        if dialect == Dialect::Postgres
                            && matches!(kind, Constraint::Unique | Constraint::PrimaryKey)
                            && !using_index
                        {
                            push(
                                line,
                                Rule::IndexNotConcurrent,
                                format!("the constraint builds its index on `{table}` while writes wait: build it first with CREATE UNIQUE INDEX CONCURRENTLY, then add the constraint USING INDEX"),
                            );
                        }
                        if dialect == Dialect::Postgres
                            && matches!(kind, Constraint::ForeignKey | Constraint::Check)
                        {
                            if *not_valid {
                                if let Some(n) = name {
                                    not_valid_added.insert(n.clone());
                                }
                            } else {
                                push(line, Rule::ConstraintNotValid, format!("on `{table}`"));
                            }
                        }
                        if matches!(kind, Constraint::ForeignKey | Constraint::PrimaryKey) {
                            online_capable = false;
                        }
                    }
                    Alter::DropColumn => {
                        drops_column = true;
                        push(line, Rule::DropColumn, format!("from `{table}`"));
                    }
                    Alter::RenameColumn => push(line, Rule::RenameColumn, format!("in `{table}`")),
                    Alter::RenameTable => push(line, Rule::RenameTable, format!("`{table}`")),
                    Alter::ChangeType { not_null, renames } => {
                        push(line, Rule::ColumnTypeChange, format!("in `{table}`"));
                        if *not_null {
                            push(line, Rule::NotNullAdded, format!("on `{table}`"));
                        }
                        if *renames {
                            push(line, Rule::RenameColumn, format!("in `{table}`"));
                        }
                        let declared_online = matches!(algorithm, Some("INPLACE" | "INSTANT"));
                        if dialect == Dialect::Postgres
                            || (dialect == Dialect::MySql && !declared_online)
                        {
                            let detail = if dialect == Dialect::Postgres {
                                format!("changing a column's type rewrites `{table}`")
                            } else {
                                format!("without ALGORITHM=INPLACE or INSTANT the server copies `{table}` whenever it cannot change the column in place")
                            };
                            push(line, Rule::TableRewrite, detail);
                        }
                        online_capable = false;
                    }
                    Alter::SetNotNull => push(line, Rule::NotNullAdded, format!("on `{table}`")),
                    Alter::DropDefault => push(line, Rule::DropDefault, format!("on `{table}`")),
                    Alter::ValidateConstraint(Some(name))
                        if transactional && not_valid_added.contains(name) =>
                    {
                        push(
                            line,
                            Rule::ConstraintNotValid,
                            "VALIDATE CONSTRAINT runs in the same transaction as the ADD … NOT VALID, so the table stays locked while it validates: move it to a later migration".into(),
                        );
                    }
                    Alter::Other => online_capable = false,
                    _ => {}
                }
                if !matches!(
                    a,
                    Alter::AddColumn { .. }
                        | Alter::DropColumn
                        | Alter::RenameColumn
                        | Alter::SetDefault
                        | Alter::DropDefault
                        | Alter::Algorithm(_)
                        | Alter::Lock(_)
                ) {
                    instant_kind = false;
                }
            }
            if dialect == Dialect::MySql && online_capable {
                let online = matches!(algorithm, Some("INSTANT"))
                    || (matches!(algorithm, Some("INPLACE")) && lock == Some("NONE"));
                if !online {
                    // Without the server's version, a recent server is assumed.
                    let instant = instant_kind
                        && settings.server_version.is_none_or(|v| {
                            (!adds_column || v.instant_add_column())
                                && (!drops_column || v.instant_drop_column())
                        });
                    let hint = if instant {
                        "add `, ALGORITHM=INSTANT`"
                    } else {
                        "add `, ALGORITHM=INPLACE, LOCK=NONE`"
                    };
                    push(line, Rule::MysqlOnlineDdl, format!("on `{table}`: {hint}"));
                }
            }
        }
        Stmt::CreateIndex {
            table,
            unique,
            concurrently,
            algorithm,
            lock,
        } if !new_table => {
            if *unique {
                push(
                    line,
                    Rule::ConstraintAdded,
                    format!("a unique index on `{table}`"),
                );
            }
            if dialect == Dialect::Postgres && !concurrently {
                push(line, Rule::IndexNotConcurrent, format!("on `{table}`"));
            }
            if dialect == Dialect::MySql
                && !(algorithm.as_deref() == Some("INPLACE") && lock.as_deref() == Some("NONE"))
            {
                push(
                    line,
                    Rule::MysqlOnlineDdl,
                    format!("CREATE INDEX on `{table}`: add `ALGORITHM=INPLACE LOCK=NONE`"),
                );
            }
        }
        Stmt::DropIndex {
            concurrently: false,
        } if dialect == Dialect::Postgres => {
            push(line, Rule::IndexNotConcurrent, String::new());
        }
        Stmt::DropTable { tables } if !new_table => {
            push(line, Rule::DropTable, format!("`{}`", tables.join("`, `")));
        }
        Stmt::RenameTable { table } if !new_table => {
            push(line, Rule::RenameTable, format!("`{table}`"));
        }
        _ => {}
    }
}

/// The first words of a statement, for messages.
fn first_words(sql: &str) -> String {
    let words: Vec<&str> = sql.split_whitespace().take(4).collect();
    let mut s = words.join(" ");
    if sql.split_whitespace().nth(4).is_some() {
        s.push_str(" …");
    }
    s
}
