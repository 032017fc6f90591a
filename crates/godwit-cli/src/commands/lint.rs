//! `godwit lint`: the findings of `godwit-lint` on the pending migrations (or the files named,
//! or every file with `--all`); and the same check before `migrate` and `validate` run
//! ([`gate`]), as the `lint` setting says.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use anstream::eprintln;
use godwit::{Database, Migration, MigrationKind, Migrator};
use godwit_lint::{Level, Report, ServerVersion};

use crate::config::Settings;
use crate::context::{self, CliError};
use crate::exit::ExitStatus;
use crate::output::{Output, BOLD, DIM, ERROR, HINT, WARNING};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Lint these files instead of the pending migrations
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Lint every migration file in the locations, applied or not
    #[arg(long, conflicts_with = "files")]
    pub all: bool,
    /// Lint for this database without connecting (needs FILE arguments or --all)
    #[arg(long, value_enum, value_name = "DIALECT")]
    pub dialect: Option<DialectArg>,
    /// The server's version, for the rules that depend on it (e.g. 15.4, 8.0.36, 10.11-MariaDB)
    #[arg(long, value_name = "VERSION", requires = "dialect")]
    pub server_version: Option<String>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum DialectArg {
    Postgres,
    /// MySQL and MariaDB
    Mysql,
    Sqlite,
}

impl From<DialectArg> for godwit::Dialect {
    fn from(d: DialectArg) -> godwit::Dialect {
        match d {
            DialectArg::Postgres => godwit::Dialect::Postgres,
            DialectArg::Mysql => godwit::Dialect::MySql,
            DialectArg::Sqlite => godwit::Dialect::Sqlite,
        }
    }
}

fn refuse(message: String, hint: impl Into<String>) -> CliError {
    CliError::Setting {
        message,
        hint: hint.into(),
    }
}

pub async fn run(settings: &Settings, args: &Args, out: &Output) -> Result<ExitStatus, CliError> {
    let explicit = args.all || !args.files.is_empty();
    if args.dialect.is_none() && settings.cli.url.is_none() {
        let hint = if explicit {
            "give the dialect to lint without a database (--dialect postgres, mysql or sqlite), or set a URL with --url, GODWIT_URL or `url` in godwit.toml"
        } else {
            "set a URL with --url, GODWIT_URL or `url` in godwit.toml: the pending migrations are those its history lacks; or lint files without a database: godwit lint --dialect postgres --all"
        };
        return Err(refuse(
            "no database URL is configured, and no --dialect".into(),
            hint,
        ));
    }
    let (dialect, server_version, files, undo) = match args.dialect {
        Some(dialect) => {
            if !explicit {
                return Err(refuse(
                    "without a database, godwit cannot tell which migrations are pending".into(),
                    "name the files to lint (godwit lint migrations/V2__x.sql), or add --all; leave out --dialect to lint the pending ones of the configured database",
                ));
            }
            let version = match &args.server_version {
                None => None,
                Some(text) => Some(ServerVersion::parse(text).ok_or_else(|| {
                    refuse(
                        format!("--server-version `{text}` has no version number"),
                        "give it as the server reports it, e.g. 15.4, 8.0.36 or 10.11-MariaDB",
                    )
                })?),
            };
            let (files, undo) = explicit_files(settings, args)?;
            (dialect.into(), version, files, undo)
        }
        None if explicit => {
            let url = settings.cli.require_url()?;
            let facts = godwit::check_url(url).map_err(|p| refuse(p.message, p.hint))?;
            let (files, undo) = explicit_files(settings, args)?;
            // The server's version makes some rules more precise; without it they assume a
            // recent server.
            let version = match context::connect(settings, false).await {
                Ok(db) => {
                    let v = ServerVersion::parse(&db.session().server_version);
                    let _ = db.close().await;
                    v
                }
                Err(_) => {
                    out.message(
                        "Cannot connect to the database: linting without its server version (give --dialect and --server-version to lint without connecting)",
                    );
                    None
                }
            };
            (facts.dialect, version, files, undo)
        }
        None => {
            let (migrator, mut db) = context::open(settings, None, false).await?;
            let pending = pending(&migrator, &mut db).await;
            let dialect = db.dialect();
            let version = ServerVersion::parse(&db.session().server_version);
            let _ = db.close().await;
            let files = pending?;
            (dialect, version, files, undo_versions(&migrator))
        }
    };
    let Linted { report, skipped } = match lint(settings, dialect, server_version, &files, &undo) {
        Ok(linted) => linted,
        Err(errors) => return Ok(file_errors(out, &errors)),
    };
    skipped_note(out, &skipped);
    if out.json {
        out.json_value(&serde_json::json!({
            "files": files.len() - skipped.len(),
            "errors": count(&report, Level::Error),
            "warnings": count(&report, Level::Warn),
            "findings": report.findings,
            "allowed": report.allowed,
            "skipped": skipped,
        }));
    } else {
        print_findings(&report, false);
    }
    let summary = summary(&report, files.len() - skipped.len());
    if report.has_errors() {
        eprintln!("{ERROR}{summary}{ERROR:#}");
        Ok(ExitStatus::Failed)
    } else {
        out.success(&summary);
        Ok(ExitStatus::Ok)
    }
}

fn count(report: &Report, level: Level) -> usize {
    report.findings.iter().filter(|f| f.level == level).count()
}

fn summary(report: &Report, files: usize) -> String {
    let (errors, warnings) = (count(report, Level::Error), count(report, Level::Warn));
    let mut s = format!(
        "Linted {files} migration file{}: {errors} error{}, {warnings} warning{}",
        plural(files),
        plural(errors),
        plural(warnings)
    );
    if !report.allowed.is_empty() {
        s.push_str(&format!(
            ", {} accepted by -- godwit:lint-allow",
            report.allowed.len()
        ));
    }
    s
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The files named on the command line, or every file with `--all`, and the versions that
/// have an undo script in the locations.
fn explicit_files(
    settings: &Settings,
    args: &Args,
) -> Result<(Vec<Arc<Migration>>, BTreeSet<String>), CliError> {
    let discovered = godwit::discover(&settings.cli.locations);
    if args.all {
        let set = discovered.map_err(|problems| CliError::Lib(godwit::Error::Files(problems)))?;
        let undo = undo_of(set.iter());
        let files = set
            .iter()
            .filter(|m| !matches!(m.source, godwit::Source::Rust(_)))
            .cloned()
            .collect();
        return Ok((files, undo));
    }
    let mut files = Vec::new();
    for path in &args.files {
        let shown = path.display();
        let text = std::fs::read_to_string(path).map_err(|e| {
            refuse(
                format!("cannot read {shown}: {e}"),
                "check the path; a relative path is taken from the working directory",
            )
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let migration = Migration::from_text(&name, Arc::from(text))
            .map_err(|p| refuse(format!("{shown}: {}", p.message), p.hint.unwrap_or_default()))?
            .ok_or_else(|| {
                refuse(
                    format!("{shown} is not named like a migration"),
                    "name it as godwit would run it: V<version>__<description>.sql, U…, R__…, B…, D… (docs/migrations.md)",
                )
            })?;
        let mut migration = migration;
        migration.display_path = shown.to_string();
        files.push(Arc::new(migration));
    }
    // The undo scripts of the project, when its locations can be read; and those named.
    let mut undo = discovered
        .map(|set| undo_of(set.iter()))
        .unwrap_or_default();
    undo.extend(undo_of(files.iter()));
    Ok((files, undo))
}

fn undo_of<'a>(migrations: impl Iterator<Item = &'a Arc<Migration>>) -> BTreeSet<String> {
    migrations
        .filter(|m| m.kind == MigrationKind::Undo)
        .filter_map(|m| m.version.as_ref().map(|v| v.as_str().to_owned()))
        .collect()
}

fn undo_versions(migrator: &Migrator) -> BTreeSet<String> {
    undo_of(migrator.migrations().iter())
}

/// The files the next `migrate` would run: pending versioned, baseline and outdated repeatable
/// migrations, and the data migrations (which run on every migrate). Read-only: no lock, no
/// callback (`info` would run its own).
async fn pending(migrator: &Migrator, db: &mut Database) -> Result<Vec<Arc<Migration>>, CliError> {
    Ok(migrator.pending(db).await?)
}

/// The largest file the lint reads: it holds a file whole (squawk parses it whole), while
/// `migrate` streams large files in bounded memory; larger files (bulk data) are not linted.
const MAX_LINT_BYTES: u64 = 4 * 1024 * 1024;

/// What the lint found, and the files it did not read because they are over [`MAX_LINT_BYTES`].
struct Linted {
    report: Report,
    skipped: Vec<String>,
}

/// Reads the files and lints them.
fn lint(
    settings: &Settings,
    dialect: godwit::Dialect,
    server_version: Option<ServerVersion>,
    migrations: &[Arc<Migration>],
    undo: &BTreeSet<String>,
) -> Result<Linted, Vec<godwit_lint::FileError>> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let mut skipped = Vec::new();
    for m in migrations {
        let mut text = String::new();
        let read = m.source.open().and_then(|r| {
            r.take(MAX_LINT_BYTES + 1)
                .read_to_string(&mut text)
                .map(|n| n as u64)
        });
        if matches!(read, Ok(n) if n > MAX_LINT_BYTES) {
            skipped.push(m.display_path.clone());
            continue;
        }
        if let Err(e) = read {
            errors.push(godwit_lint::FileError {
                path: m.display_path.clone(),
                line: None,
                message: format!("cannot read: {e}"),
                hint: "check the file's permissions".into(),
            });
            continue;
        }
        let kind = match m.kind {
            MigrationKind::Versioned => godwit_lint::FileKind::Versioned,
            MigrationKind::Undo => godwit_lint::FileKind::Undo,
            MigrationKind::Repeatable => godwit_lint::FileKind::Repeatable,
            MigrationKind::Baseline => godwit_lint::FileKind::Baseline,
            MigrationKind::Data => godwit_lint::FileKind::Data,
            MigrationKind::Callback(_) => godwit_lint::FileKind::Callback,
        };
        files.push(godwit_lint::File {
            path: m.display_path.clone(),
            kind,
            version: m.version.as_ref().map(|v| v.as_str().to_owned()),
            text,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut lint_settings = godwit_lint::Settings::new(dialect);
    lint_settings.server_version = server_version;
    lint_settings.statement_lock_timeout = settings.config.statement_lock_timeout.is_some();
    lint_settings.levels = settings.cli.lint_rules.clone();
    godwit_lint::lint(&files, undo, &lint_settings).map(|report| Linted { report, skipped })
}

/// Says which files were not linted.
fn skipped_note(out: &Output, skipped: &[String]) {
    for path in skipped {
        out.message(&format!(
            "{path}: not linted: over {} MiB (the lint reads a file whole; migrate streams it)",
            MAX_LINT_BYTES / 1024 / 1024
        ));
    }
}

/// Prints the files the lint cannot read; exit 2 (nothing was run).
fn file_errors(out: &Output, errors: &[godwit_lint::FileError]) -> ExitStatus {
    for e in errors {
        eprintln!("{ERROR}error{ERROR:#}: {}", e.message);
        let at = match e.line {
            Some(line) => format!("{}:{line}", e.path),
            None => e.path.clone(),
        };
        eprintln!("  {DIM}-->{DIM:#} {at}");
        eprintln!("{HINT}hint{HINT:#}: {}", e.hint);
    }
    if out.json {
        out.json_value(&serde_json::json!({
            "error": {
                "category": "usage",
                "message": errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
                "hint": errors.first().map(|e| e.hint.clone()),
                "details": errors.iter().map(|e| serde_json::json!({
                    "path": e.path, "line": e.line, "message": e.message, "hint": e.hint,
                })).collect::<Vec<_>>(),
            }
        }));
    }
    ExitStatus::Usage
}

/// Prints each finding: where, the rule and its level, what breaks, the safe recipe and the
/// documentation. Before a run (`gate`), every finding reads as a warning unless it stops it.
fn print_findings(report: &Report, before_run: bool) {
    print_some(report.findings.iter(), before_run);
}

/// How many findings that do not stop the run `migrate` and `validate` print in full; the
/// rest are counted by rule in one line (a project without undo scripts would otherwise get
/// four lines for every pending file).
const GATE_SHOWN: usize = 10;

/// Before a run: every finding that stops it, and the first [`GATE_SHOWN`] of the others in
/// full; the others counted by rule, with the command that lists them all.
fn print_gate_findings(report: &Report, stops: bool) {
    let stopping = |f: &&godwit_lint::Finding| stops && f.level == Level::Error;
    let mut shown = 0;
    let mut rest: BTreeMap<&str, usize> = BTreeMap::new();
    let printed = report.findings.iter().filter(|f| {
        if stopping(f) {
            return true;
        }
        shown += 1;
        if shown <= GATE_SHOWN {
            return true;
        }
        *rest.entry(f.rule.id()).or_default() += 1;
        false
    });
    print_some(printed.collect::<Vec<_>>().into_iter(), !stops);
    if !rest.is_empty() {
        let total: usize = rest.values().sum();
        let by_rule = rest
            .iter()
            .map(|(rule, n)| format!("{rule}: {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        eprintln!(
            "{WARNING}warning{WARNING:#}: {total} more lint finding{} not shown ({by_rule}): `godwit lint` lists them all",
            plural(total)
        );
    }
}

fn print_some<'a>(findings: impl Iterator<Item = &'a godwit_lint::Finding>, before_run: bool) {
    for f in findings {
        let (style, word) = match (f.level, before_run) {
            (Level::Error, false) => (ERROR, "error"),
            _ => (WARNING, "warning"),
        };
        eprintln!(
            "{style}{word}{style:#}{BOLD}[{}]{BOLD:#}: {}",
            f.rule, f.message
        );
        eprintln!("  {DIM}-->{DIM:#} {}:{}", f.path, f.line);
        eprintln!("  {HINT}safe{HINT:#}: {}", f.recipe);
        eprintln!("  {DIM}see{DIM:#}: {}", f.docs);
    }
}

/// What the lint before a run decided: the exit status it stopped the command with, once it
/// has (it printed why).
pub type Stopped = Arc<OnceLock<ExitStatus>>;

/// Before `migrate` or `validate` runs: the check that lints the files it would run, as the
/// `lint` setting says, given to the library ([`Migrator::with_pre_run_check`]) so that it sees
/// exactly the run's plan, under its lock, with no reading of the history of its own (and is
/// not called when nothing is pending). When `lint = "error"` and a finding at level error
/// remains, it prints the findings, records the exit status in `Stopped` and stops the run
/// before anything is written; `outcome` says what that means for the command. `None` when
/// the lint is off.
pub fn pre_run_check(
    settings: &Settings,
    migrator: &Migrator,
    db: &Database,
    json: bool,
    outcome: &'static str,
) -> Option<(godwit::PreRunCheck, Stopped)> {
    if settings.cli.lint == Level::Off {
        return None;
    }
    let settings = settings.clone();
    let dialect = db.dialect();
    let version = ServerVersion::parse(&db.session().server_version);
    let undo = undo_versions(migrator);
    let stopped: Stopped = Arc::new(OnceLock::new());
    let stop_with = Arc::clone(&stopped);
    let check = move |files: &[Arc<Migration>]| -> Result<(), godwit::Error> {
        let out = Output { json };
        let refused = |message: String, hint: &str| godwit::Error::Refused {
            message,
            hint: hint.to_owned(),
        };
        let stop = settings.cli.lint == Level::Error;
        let (report, linted) = match lint(&settings, dialect, version, files, &undo) {
            Ok(Linted { report, skipped }) => {
                skipped_note(&out, &skipped);
                (report, files.len() - skipped.len())
            }
            Err(errors) if stop => {
                let _ = stop_with.set(file_errors(&out, &errors));
                return Err(refused(
                    format!("the lint cannot read a file: {outcome}"),
                    "fix the file as the error says",
                ));
            }
            Err(errors) => {
                for e in &errors {
                    eprintln!("{WARNING}warning{WARNING:#}: cannot lint {e}; {}", e.hint);
                }
                return Ok(());
            }
        };
        let stops = stop && report.has_errors();
        if !crate::output::quiet() || stops {
            print_gate_findings(&report, stops);
        }
        if !stops {
            return Ok(());
        }
        let message = format!("{}: {outcome} (lint = \"error\")", summary(&report, linted));
        let hint = "make each change safely as the findings say, accept one with `-- godwit:lint-allow <rule> <reason>` in its file, or lower the rule's level in [lint_rules]";
        eprintln!("{ERROR}error{ERROR:#}: {message}");
        eprintln!("{HINT}hint{HINT:#}: {hint}");
        if out.json {
            out.json_value(&serde_json::json!({
                "error": {
                    "category": "failed",
                    "message": message,
                    "hint": hint,
                    "details": { "findings": report.findings, "allowed": report.allowed },
                }
            }));
        }
        let _ = stop_with.set(ExitStatus::Failed);
        Err(refused(message, hint))
    };
    Some((Arc::new(check), stopped))
}
