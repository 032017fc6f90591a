//! Everything the binary prints. Data (tables, versions, JSON, dry-run SQL) goes to stdout;
//! messages, progress and errors go to stderr. Colour only on a terminal, never with `NO_COLOR`
//! (anstream strips the styles otherwise).

use std::path::Path;
use std::time::Duration;

use anstream::{eprintln, println};
use anstyle::{AnsiColor, Style};
use comfy_table::{presets, Cell, CellAlignment, ContentArrangement, Table};
use godwit::MigrationKind;
use serde::Serialize;

use crate::config::ConfigError;
use crate::context::CliError;
use crate::exit::ExitStatus;

pub(crate) const ERROR: Style = Style::new()
    .bold()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)));
pub(crate) const HINT: Style = Style::new()
    .bold()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Cyan)));
pub(crate) const WARNING: Style = Style::new()
    .bold()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Yellow)));
const OK: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Green)));
pub(crate) const DIM: Style = Style::new().dimmed();
pub(crate) const BOLD: Style = Style::new().bold();

pub struct Output {
    pub json: bool,
}

/// Prints progress events as a run goes on; cheap to clone into the library's observer.
#[derive(Clone)]
pub struct Progress {
    dry_run: bool,
}

/// How much godwit says on stderr: `-q` (errors and the final line), the default, or `-v`
/// (also each statement batch, through the `tracing` subscriber `main` installs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    Quiet = 0,
    Normal = 1,
    Verbose = 2,
}

static VERBOSITY: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(1);

pub fn set_verbosity(v: Verbosity) {
    VERBOSITY.store(v as u8, std::sync::atomic::Ordering::SeqCst);
}

/// Whether `-q` asked for errors and the final line only.
pub fn quiet() -> bool {
    VERBOSITY.load(std::sync::atomic::Ordering::SeqCst) == Verbosity::Quiet as u8
}

/// Whether stderr gets colours (a terminal, no `NO_COLOR`), as anstream decides for it.
pub fn stderr_colours() -> bool {
    anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never
}

/// A line for each connection attempt that failed while the database is not up yet.
pub fn connect_retry(retry: &godwit::ConnectRetry) {
    if quiet() || stdout_closed() {
        return;
    }
    eprintln!(
        "{DIM}Cannot connect yet ({}); retry {} of {} in {}{DIM:#}",
        retry.error,
        retry.retry,
        retry.retries,
        humantime::format_duration(retry.wait)
    );
}

/// Set once a write to stdout found it closed (`godwit migrate --dry-run | head`).
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether stdout was found closed: the reader went away, so godwit stops quietly with exit 0,
/// as `rg` and `cat` do (no error text, since nobody asked for more output).
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(std::sync::atomic::Ordering::SeqCst)
}

/// Writes generated text (a completion script, a manual page) to stdout as it is; a closed
/// pipe ends the command quietly (see [`stdout_closed`]).
pub fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }
        Err(e) => Err(CliError::Setting {
            message: format!("cannot write to stdout: {e}"),
            hint: "check where stdout goes (a full disk, a closed file)".into(),
        }),
    }
}

/// Stdout for the dry-run SQL: a closed pipe stops the run (through the interrupt, between two
/// steps; a dry run changes nothing) and is remembered, so that godwit ends quietly.
struct PipeAware(std::io::Stdout);

impl PipeAware {
    fn check<T>(result: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &result {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                STDOUT_CLOSED.store(true, std::sync::atomic::Ordering::SeqCst);
                crate::signals::interrupt().trigger();
            }
        }
        result
    }
}

impl std::io::Write for PipeAware {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Self::check(self.0.write(buf))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Self::check(self.0.flush())
    }
}

/// Where a dry run's SQL goes: to stdout as a script, or captured for the `--json` output
/// (which must stay a single JSON document).
pub struct DryRunSql {
    enabled: bool,
    json: bool,
    captured: Vec<u8>,
    stdout: PipeAware,
}

impl DryRunSql {
    pub fn new(enabled: bool, json: bool) -> DryRunSql {
        DryRunSql {
            enabled,
            json,
            captured: Vec::new(),
            stdout: PipeAware(std::io::stdout()),
        }
    }

    /// The writer to hand to the library, or `None` for a real run.
    pub fn writer(&mut self) -> Option<&mut (dyn std::io::Write + Send)> {
        match (self.enabled, self.json) {
            (false, _) => None,
            (true, true) => Some(&mut self.captured),
            (true, false) => Some(&mut self.stdout),
        }
    }

    /// Adds the captured SQL to a JSON value as `sql`.
    pub fn into_json<T: Serialize>(self, value: &T) -> serde_json::Value {
        let mut v = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        if self.enabled {
            if let serde_json::Value::Object(map) = &mut v {
                map.insert(
                    "sql".into(),
                    String::from_utf8_lossy(&self.captured).into_owned().into(),
                );
            }
        }
        v
    }
}

impl Progress {
    pub fn event(&self, event: &godwit::Event) {
        if stdout_closed() {
            return;
        }
        if let godwit::Event::NoStatements { migration, path } = event {
            // Printed even with `-q`: the file is about to be recorded as if it did something.
            no_statements_warning(migration, path, self.dry_run);
            return;
        }
        if quiet() {
            return;
        }
        match event {
            godwit::Event::NoStatements { .. } => {}
            // Printed for every command by `context::open`'s observer.
            godwit::Event::FoundHistory { .. } => {}
            godwit::Event::WaitingForLock => {
                eprintln!("{DIM}Waiting for another godwit process to release the migration lock...{DIM:#}")
            }
            godwit::Event::CreatedHistory { table } if !self.dry_run => {
                eprintln!("{DIM}Created history table {table}{DIM:#}")
            }
            godwit::Event::CreatedHistory { .. } => {}
            godwit::Event::Planned { .. } => {}
            godwit::Event::Started { .. } if self.dry_run => {}
            godwit::Event::Started {
                migration,
                description,
            } => {
                let label = migration.undone();
                let verb = if migration.kind() == MigrationKind::Undo {
                    "Undoing"
                } else {
                    "Running"
                };
                let description = if description.is_empty() || migration.starts_with("R__") {
                    String::new()
                } else {
                    format!(" {description}")
                };
                eprintln!("{DIM}{verb} {label}{description}...{DIM:#}");
            }
            godwit::Event::StillRunning {
                migration,
                running_for,
                waiting_on,
                blockers,
            } => {
                let secs = running_for.as_secs();
                let what = match waiting_on {
                    Some(w) => format!(", waiting on {w}"),
                    None => String::new(),
                };
                let blocked = if blockers.is_empty() {
                    String::new()
                } else {
                    let list: Vec<String> = blockers
                        .iter()
                        .map(|(pid, query)| format!("pid {pid} ({query})"))
                        .collect();
                    format!("; blocked by {}", list.join(", "))
                };
                eprintln!("{DIM}{migration}: statement running for {secs}s{what}{blocked}{DIM:#}");
            }
            godwit::Event::Retrying {
                migration,
                attempt,
                retries,
                delay,
                message,
            } => {
                eprintln!(
                    "{BOLD}{migration}{BOLD:#} could not get a lock ({message}); rolled back, retry {attempt} of {retries} in {}",
                    godwit::format_duration(*delay)
                )
            }
            godwit::Event::Finished(step) => {
                let verb = match (step.kind, self.dry_run) {
                    (MigrationKind::Undo, false) => "Undid",
                    (MigrationKind::Undo, true) => "Would undo",
                    (MigrationKind::Data | MigrationKind::Callback(_), false) => "Ran",
                    (MigrationKind::Data | MigrationKind::Callback(_), true) => "Would run",
                    (_, false) => "Applied",
                    (_, true) => "Would apply",
                };
                let label = step.migration.undone();
                let description =
                    if step.description.is_empty() || step.kind == MigrationKind::Repeatable {
                        String::new()
                    } else {
                        format!(" {}", step.description)
                    };
                let tx = if step.transactional {
                    ""
                } else {
                    " [no transaction]"
                };
                if self.dry_run {
                    eprintln!("{verb} {BOLD}{label}{BOLD:#}{description}{tx}");
                } else {
                    eprintln!(
                        "{verb} {BOLD}{label}{BOLD:#}{description}{tx} {DIM}({}){DIM:#}",
                        godwit::format_duration(Duration::from_millis(step.duration_ms))
                    );
                }
            }
            // An event a newer library reports that this binary does not know: nothing to say.
            _ => {}
        }
    }
}

/// The warning for a migration that holds no statement (empty, or only comments) and runs all
/// the same.
/// The one line saying that the history table is Flyway's (docs/design.md §2.8): godwit's own
/// does not exist and `table` was not set. Not with `-q`.
pub fn found_history(table: &str, instead_of: &str) {
    if quiet() || stdout_closed() {
        return;
    }
    let whose = if table.ends_with("flyway_schema_history") {
        "Flyway's"
    } else {
        "godwit's"
    };
    eprintln!(
        "{DIM}Using {whose} history table {table}: {instead_of} does not exist (set `table` to choose){DIM:#}"
    );
}

/// `baseline` or `clean` could not read the migration files, so their callbacks do not run.
pub fn callbacks_unread_warning(problems: usize, first: &str) {
    eprintln!(
        "{WARNING}warning{WARNING:#}: the migration files cannot be read ({problems} problem(s), the first: {first}), so no callback runs; `godwit validate` lists the problems"
    );
}

pub fn no_statements_warning(migration: &godwit::Label, path: &str, dry_run: bool) {
    let outcome = match (migration.kind(), dry_run) {
        (MigrationKind::Undo, false) => "it runs all the same and is recorded as undone",
        (MigrationKind::Undo, true) => "it would run all the same and be recorded as undone",
        (MigrationKind::Data | MigrationKind::Callback(_), false) => "it runs all the same",
        (MigrationKind::Data | MigrationKind::Callback(_), true) => "it would run all the same",
        (_, false) => "it runs all the same and is recorded as applied",
        (_, true) => "it would run all the same and be recorded as applied",
    };
    eprintln!(
        "{WARNING}warning{WARNING:#}: {migration} ({path}) holds no SQL statement, only comments or nothing: {outcome}"
    );
}

impl Output {
    pub fn new(json: bool) -> Output {
        Output { json }
    }

    pub fn progress(&self, dry_run: bool) -> Progress {
        Progress { dry_run }
    }

    /// A value for scripts, on stdout.
    pub fn data(&self, text: &str) {
        println!("{text}");
    }

    pub fn json_value<T: Serialize + ?Sized>(&self, value: &T) {
        match serde_json::to_string_pretty(value) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("{ERROR}error{ERROR:#}: cannot encode JSON: {e}"),
        }
    }

    /// A message for people, on stderr (not with `-q`).
    pub fn message(&self, text: &str) {
        if quiet() {
            return;
        }
        eprintln!("{DIM}{text}{DIM:#}");
    }

    pub fn success(&self, text: &str) {
        eprintln!("{OK}{text}{OK:#}");
    }

    pub fn error_text(&self, message: &str, hint: Option<&str>) {
        eprintln!("{ERROR}error{ERROR:#}: {message}");
        if let Some(h) = hint {
            eprintln!("{HINT}hint{HINT:#}: {h}");
        }
    }

    fn error_json(
        &self,
        category: &str,
        message: &str,
        hint: Option<&str>,
        details: serde_json::Value,
    ) {
        if self.json {
            self.json_value(&serde_json::json!({
                "error": {
                    "category": category,
                    "message": message,
                    "hint": hint,
                    "details": details,
                }
            }));
        }
    }

    pub fn config_error(&self, e: &ConfigError) {
        let message = e.message();
        let hint = e.hint();
        eprintln!("{ERROR}error{ERROR:#}: {message}");
        if let Some((path, line)) = e.location() {
            eprintln!("  {DIM}-->{DIM:#} {}", location(path, line));
        }
        if let Some(h) = &hint {
            eprintln!("{HINT}hint{HINT:#}: {h}");
        }
        self.error_json(
            "usage",
            &e.to_string(),
            hint.as_deref(),
            serde_json::Value::Null,
        );
    }

    /// Renders validation problems, every one with its hint.
    pub fn problems(&self, problems: &[godwit::Problem]) {
        let n = problems.len();
        eprintln!(
            "{ERROR}error{ERROR:#}: validation failed: {n} problem{}",
            if n == 1 { "" } else { "s" }
        );
        for p in problems {
            eprintln!("  {BOLD}-{BOLD:#} {p}");
            eprintln!("    {HINT}hint{HINT:#}: {}", p.hint);
        }
    }

    /// Renders an error and returns the exit status it maps to.
    pub fn failure(&self, e: &CliError) -> ExitStatus {
        match e {
            CliError::Config(c) => {
                self.config_error(c);
                ExitStatus::Usage
            }
            CliError::Setting { message, hint } => {
                self.error_text(message, Some(hint));
                self.error_json("usage", message, Some(hint), serde_json::Value::Null);
                ExitStatus::Usage
            }
            CliError::Lib(err) => self.library_error(err),
            CliError::StoppedConnecting => {
                let signal = crate::signals::name();
                let line = format!(
                    "Interrupted ({signal}) while connecting to the database: nothing was done"
                );
                eprintln!("{ERROR}{line}{ERROR:#}");
                self.error_json("interrupted", &line, None, serde_json::Value::Null);
                crate::signals::exit_status().unwrap_or(ExitStatus::Interrupted)
            }
        }
    }

    fn library_error(&self, err: &godwit::Error) -> ExitStatus {
        let code = match err.category() {
            godwit::Category::Usage => ExitStatus::Usage,
            godwit::Category::Failed => ExitStatus::Failed,
            godwit::Category::Connection => ExitStatus::Connection,
        };
        let category = err.category().to_string();
        let hint = err.hint();
        match err {
            godwit::Error::Files(problems) => {
                let n = problems.len();
                eprintln!(
                    "{ERROR}error{ERROR:#}: {n} problem{} with migration files; nothing was run",
                    if n == 1 { "" } else { "s" }
                );
                for p in problems {
                    eprintln!("  {BOLD}-{BOLD:#} {p}");
                    if let Some(h) = &p.hint {
                        eprintln!("    {HINT}hint{HINT:#}: {h}");
                    }
                }
                let details: Vec<_> = problems
                    .iter()
                    .map(|p| {
                        serde_json::json!({
                            "paths": p.paths, "line": p.line, "message": p.message, "hint": p.hint
                        })
                    })
                    .collect();
                self.error_json(&category, &err.to_string(), None, details.into());
            }
            godwit::Error::Validation(problems) => {
                self.problems(problems);
                eprintln!(
                    "{HINT}hint{HINT:#}: nothing was migrated; `godwit info` shows every migration's state"
                );
                self.error_json(
                    &category,
                    &err.to_string(),
                    None,
                    serde_json::to_value(problems).unwrap_or_default(),
                );
            }
            godwit::Error::Migration(f) => {
                // The steps applied before the failure were printed as they were committed;
                // the partial report is in the JSON.
                self.unconfirmed(&f.report);
                self.group_rolled_back(&f.report);
                let what = match f.cause {
                    godwit::FailureCause::ConnectionLost => "lost the connection to the database",
                    godwit::FailureCause::CertificationConflict => "lost a certification conflict",
                    godwit::FailureCause::Storage => {
                        "failed: the database could not write its files"
                    }
                    _ => "failed",
                };
                eprintln!("{ERROR}error{ERROR:#}: migration {} {what}", f.migration);
                let at = match f.line {
                    Some(l) => format!("{}:{l}", f.path),
                    None => f.path.clone(),
                };
                eprintln!("  {DIM}-->{DIM:#} {at}");
                if !f.statement.is_empty() {
                    eprintln!("   {DIM}|{DIM:#} {}", f.statement);
                }
                match &f.code {
                    Some(c) => eprintln!("  the database said: {} [{c}]", f.message),
                    None => eprintln!("  the database said: {}", f.message),
                }
                if let Some(h) = &hint {
                    eprintln!("{HINT}hint{HINT:#}: {h}");
                }
                self.error_json(
                    &category,
                    &err.to_string(),
                    hint.as_deref(),
                    serde_json::json!({
                        "migration": f.migration, "path": f.path, "line": f.line,
                        "statement": f.statement, "database_message": f.message, "code": f.code,
                        "rolled_back": f.rolled_back, "cause": f.cause, "report": f.report,
                    }),
                );
            }
            godwit::Error::NotDurable { report, .. } => {
                self.unconfirmed(report);
                self.error_text(&err.to_string(), hint.as_deref());
                self.error_json(
                    &category,
                    &err.to_string(),
                    hint.as_deref(),
                    serde_json::json!({ "report": report }),
                );
            }
            other => {
                self.error_text(&other.to_string(), hint.as_deref());
                self.error_json(
                    &category,
                    &other.to_string(),
                    hint.as_deref(),
                    serde_json::Value::Null,
                );
            }
        }
        code
    }

    /// Lists the steps whose survival is unknown after a lost connection or a failed commit.
    fn unconfirmed(&self, report: &godwit::Report) {
        if report.unconfirmed.is_empty() {
            return;
        }
        let labels: Vec<&str> = report
            .unconfirmed
            .iter()
            .map(|s| s.migration.as_str())
            .collect();
        let one = labels.len() == 1;
        eprintln!(
            "{ERROR}warning{ERROR:#}: {} ran, but godwit could not make sure {} kept, so {} may not have survived: {} (`godwit info` shows what the database holds)",
            if one { "this step" } else { "these steps" },
            if one { "it was" } else { "they were" },
            if one { "it" } else { "they" },
            labels.join(", ")
        );
    }

    /// With `group`: the steps that ran in the run's one transaction and were rolled back
    /// with it (docs/design.md §5.8.8).
    fn group_rolled_back(&self, report: &godwit::Report) {
        if report.rolled_back.is_empty() {
            return;
        }
        let labels: Vec<&str> = report
            .rolled_back
            .iter()
            .map(|s| s.migration.as_str())
            .collect();
        eprintln!(
            "{ERROR}note{ERROR:#}: the group (`group = true`) was rolled back as a whole; these steps ran in it and nothing of them remains: {}",
            labels.join(", ")
        );
    }

    /// The one line that says what state an interrupted run left the database in.
    pub fn interrupted(&self, err: &godwit::Error, signal: &str) {
        let Some(report) = err.report() else {
            return;
        };
        self.group_rolled_back(report);
        let version = report.final_version.as_deref().unwrap_or("none");
        let applied = match report.migrations {
            0 => String::new(),
            1 => " after applying 1 migration".to_string(),
            n => format!(" after applying {n} migrations"),
        };
        let line = match err {
            godwit::Error::Migration(f) if f.rolled_back => format!(
                "Interrupted ({signal}){applied}: {} was rolled back; the database is at version {version}, the lock is released. Run `godwit migrate` to continue.",
                f.migration
            ),
            godwit::Error::Migration(f) => format!(
                "Interrupted ({signal}){applied}: {} was stopped part-way and what it changed could not be rolled back, so it is recorded as failed; the database is at version {version}, the lock is released. `godwit info` shows it; see `godwit repair`.",
                f.migration
            ),
            _ => format!(
                "Interrupted ({signal}){applied}: no migration was running; the database is at version {version}, the lock is released. Run `godwit migrate` to continue."
            ),
        };
        eprintln!("{ERROR}{line}{ERROR:#}");
        let (rolled_back, migration) = match err {
            godwit::Error::Migration(f) => (Some(f.rolled_back), Some(f.migration.as_str())),
            _ => (None, None),
        };
        self.error_json(
            "interrupted",
            &line,
            None,
            serde_json::json!({
                "signal": signal, "migration": migration, "rolled_back": rolled_back,
                "report": report,
            }),
        );
    }

    /// What `repair` changed (or would change), one line each, then a summary.
    pub fn repair_summary(&self, actions: &[godwit::RepairAction], dry_run: bool) {
        let verb = if dry_run { "Would" } else { "Repaired:" };
        for action in actions {
            self.message(&format!("{verb} {action}"));
        }
        let plural = if actions.len() == 1 { "" } else { "s" };
        match (actions, dry_run) {
            ([], _) => self.success("Nothing to repair: the history table agrees with the files"),
            ([godwit::RepairAction::MarkApplied { migration, .. }], true) => self.success(
                &format!("Dry run: repair would record {migration} as applied without running it"),
            ),
            ([godwit::RepairAction::MarkApplied { migration, .. }], false) => self.success(
                &format!("Recorded {migration} as applied without running it; `godwit migrate` goes on from there"),
            ),
            (all, true) => self.success(&format!(
                "Dry run: repair would make {} change{plural}",
                all.len()
            )),
            (all, false) => self.success(&format!(
                "Repaired the history table: {} change{plural}",
                all.len()
            )),
        }
    }

    /// The `info` table.
    pub fn info_table(&self, info: &godwit::Info) {
        let mut table = Table::new();
        table
            .load_preset(presets::ASCII_MARKDOWN)
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(vec![
                "Version",
                "Description",
                "Kind",
                "State",
                "Installed on",
                "Time",
                "Undo",
            ]);
        for row in &info.migrations {
            table.add_row(vec![
                Cell::new(row.version.as_deref().unwrap_or("")),
                Cell::new(&row.description),
                Cell::new(row.kind),
                Cell::new(row.state.label()),
                Cell::new(row.installed_on.as_deref().unwrap_or("")),
                Cell::new(
                    row.execution_time
                        .map(|ms| format!("{ms}ms"))
                        .unwrap_or_default(),
                )
                .set_alignment(CellAlignment::Right),
                Cell::new(row.undo.label()),
            ]);
        }
        if info.migrations.is_empty() {
            eprintln!("{DIM}No migrations found and nothing applied.{DIM:#}");
        } else {
            println!("{table}");
        }
        eprintln!(
            "{DIM}History table {}; current version: {}{DIM:#}",
            info.history_table,
            info.current_version.as_deref().unwrap_or("none")
        );
        if let Some(floor) = &info.floor {
            eprintln!(
                "{DIM}Compatibility floor: V{floor} is marked breaking; releases whose migrations stop below it refuse to migrate{DIM:#}"
            );
        }
    }
}

fn location(path: &Path, line: Option<usize>) -> String {
    match line {
        Some(l) => format!("{}:{l}", path.display()),
        None => path.display().to_string(),
    }
}
