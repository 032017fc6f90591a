//! The planner, tested case by case without a database.
//!
//! Every `tests/planner/*.case` file describes migration files, history rows, options and the
//! commands to plan, then the exact output expected. The format:
//!
//! ```text
//! # design.md §5.4, §3.1
//! # What this case shows.
//! files:
//!   V1__create_person.sql: CREATE TABLE person (id INT);
//!   V2__add_name.sql
//! history:
//!   # rank | version | description | type | checksum | success [| script]
//!   1 | 1 | create person | SQL | = | true
//! options: target=latest out_of_order=false
//! run: validate
//! run: migrate
//! ---
//! <expected output>
//! ```
//!
//! - Lines that start with `#` are comments. The first line of every case names the rules of
//!   `docs/design.md` it shows (`§N.M`).
//! - A file without `: text` gets the text `-- <name>`, so every file has its own checksum. In a
//!   text, `\n` and `\r` stand for line-break characters.
//! - History checksums: `=` is the checksum of the file the row refers to (by version and type,
//!   or by description for repeatables), `~` some other value, `-` NULL, or a number. A version
//!   of `-` (or nothing) is NULL. The script column is optional; it defaults to the file's path,
//!   or to a name made from the row. Success is `true`, `false`, or `interrupted`: a row written
//!   before a migration without a transaction started and never finished (`success = false`,
//!   `execution_time = -1`).
//! - `run:` is `validate`, `info`, `migrate`, `undo`, `undo <version>`, `repair` or
//!   `repair mark-applied <version>`; it may be repeated, and each command's output starts with
//!   its name in brackets.
//!
//! `GODWIT_BLESS=1 cargo test -p godwit --test planner` rewrites the expected part of every case
//! with what the planner does now. Read every blessed case against the rules of `docs/design.md`
//! its first line cites before keeping it: output those rules do not explain is a bug.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use godwit::testing::{migration_from_text, Action, Catalog, Options, Plan, Step};
use godwit::{HistoryRow, Migration, MigrationKind, MigrationSet, Version};
use godwit::{PlanError, RepairAction, Target};

const SEPARATOR: &str = "---";

#[test]
fn planner_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/planner");
    let bless = std::env::var("GODWIT_BLESS").is_ok_and(|v| v == "1");
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "case"))
            .collect(),
        Err(e) => panic!("cannot read the fixture directory {}: {e}", dir.display()),
    };
    paths.sort();
    assert!(!paths.is_empty(), "no *.case fixtures in {}", dir.display());

    let mut failures = Vec::new();
    for path in &paths {
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let content = match std::fs::read_to_string(path) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{name}: cannot read: {e}"));
                continue;
            }
        };
        let (header, expected) = match split_fixture(&content) {
            Some(parts) => parts,
            None => {
                failures.push(format!(
                    "{name}: malformed fixture: no `{SEPARATOR}` line between the case and its expected output"
                ));
                continue;
            }
        };
        let actual = match parse_case(header).and_then(|case| run_case(&case)) {
            Ok(actual) => actual,
            Err(e) => {
                failures.push(format!("{name}: malformed fixture: {e}"));
                continue;
            }
        };
        if normalise(expected) == normalise(&actual) {
            continue;
        }
        if bless {
            let blessed = format!("{header}{SEPARATOR}\n{}\n", actual.trim_end());
            if let Err(e) = std::fs::write(path, blessed) {
                failures.push(format!("{name}: cannot bless: {e}"));
            }
            continue;
        }
        failures.push(format!(
            "{name}: the output differs (- expected, + actual):\n{}",
            diff(&normalise(expected), &normalise(&actual))
        ));
    }
    assert!(
        failures.is_empty(),
        "{} of {} planner cases failed (set GODWIT_BLESS=1 to accept the actual output, then review it):\n\n{}",
        failures.len(),
        paths.len(),
        failures.join("\n\n")
    );
}

/// The part before the separator line (with its line break) and the part after it.
fn split_fixture(content: &str) -> Option<(&str, &str)> {
    let mut offset = 0;
    for line in content.split_inclusive('\n') {
        if line.trim_end() == SEPARATOR {
            return Some((&content[..offset], &content[offset + line.len()..]));
        }
        offset += line.len();
    }
    None
}

fn normalise(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    lines.join("\n").trim_matches('\n').to_string()
}

// ---------------------------------------------------------------------------------------------
// Parsing a case.

struct Case {
    files: Vec<(String, String)>,
    history: Vec<RowSpec>,
    options: Result<Options, String>,
    runs: Vec<Run>,
}

struct RowSpec {
    rank: i32,
    version: Option<String>,
    description: String,
    kind: String,
    checksum: ChecksumSpec,
    success: bool,
    interrupted: bool,
    script: Option<String>,
}

enum ChecksumSpec {
    Same,
    Other,
    Null,
    Value(i32),
}

enum Run {
    Validate,
    Info,
    Migrate,
    Undo(Option<Version>),
    Repair,
    MarkApplied(Version),
}

impl Run {
    fn name(&self) -> String {
        match self {
            Run::Validate => "validate".into(),
            Run::Info => "info".into(),
            Run::Migrate => "migrate".into(),
            Run::Undo(None) => "undo".into(),
            Run::Undo(Some(v)) => format!("undo {v}"),
            Run::Repair => "repair".into(),
            Run::MarkApplied(v) => format!("repair mark-applied {v}"),
        }
    }
}

#[derive(PartialEq)]
enum Section {
    None,
    Files,
    History,
}

fn parse_case(header: &str) -> Result<Case, String> {
    let mut case = Case {
        files: Vec::new(),
        history: Vec::new(),
        options: Ok(Options::default()),
        runs: Vec::new(),
    };
    let mut section = Section::None;
    for (index, raw) in header.lines().enumerate() {
        let line_no = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let at = |msg: String| format!("line {line_no}: {msg}");
        if raw.starts_with(char::is_whitespace) {
            match section {
                Section::Files => case.files.push(parse_file(trimmed)),
                Section::History => case.history.push(parse_row(trimmed).map_err(at)?),
                Section::None => {
                    return Err(at(format!(
                        "`{trimmed}` is indented but not under `files:` or `history:`"
                    )))
                }
            }
            continue;
        }
        let (key, rest) = trimmed
            .split_once(':')
            .map_or((trimmed, ""), |(k, r)| (k.trim(), r.trim()));
        section = Section::None;
        match key {
            "files" => section = Section::Files,
            "history" => section = Section::History,
            "options" => case.options = parse_options(rest).map_err(at)?,
            "run" => case.runs.push(parse_run(rest).map_err(at)?),
            _ => {
                return Err(at(format!(
                    "unknown line `{trimmed}`; expected `files:`, `history:`, `options:` or `run:`"
                )))
            }
        }
        if matches!(key, "files" | "history") && !rest.is_empty() {
            return Err(at(format!(
                "put the entries of `{key}:` on the lines below it"
            )));
        }
    }
    if case.runs.is_empty() {
        return Err("no `run:` line".into());
    }
    Ok(case)
}

fn parse_file(entry: &str) -> (String, String) {
    match entry.split_once(": ") {
        Some((name, text)) => (
            name.trim().to_string(),
            text.replace("\\r", "\r").replace("\\n", "\n"),
        ),
        None => {
            let name = entry.trim_end_matches(':').trim().to_string();
            let text = format!("-- {name}");
            (name, text)
        }
    }
}

fn parse_row(line: &str) -> Result<RowSpec, String> {
    let cols: Vec<&str> = line.split('|').map(str::trim).collect();
    if cols.len() != 6 && cols.len() != 7 {
        return Err(format!(
            "a history row has 6 or 7 `|`-separated columns (rank | version | description | type | checksum | success [| script]), not {}: `{line}`",
            cols.len()
        ));
    }
    let rank = cols[0]
        .parse()
        .map_err(|e| format!("the rank `{}` is not an integer: {e}", cols[0]))?;
    let version = match cols[1] {
        "" | "-" => None,
        v => Some(v.to_string()),
    };
    let checksum =
        match cols[4] {
            "=" => ChecksumSpec::Same,
            "~" => ChecksumSpec::Other,
            "-" => ChecksumSpec::Null,
            n => ChecksumSpec::Value(n.parse().map_err(|e| {
                format!("the checksum `{n}` is not `=`, `~`, `-` or an integer: {e}")
            })?),
        };
    let (success, interrupted) = match cols[5] {
        "true" => (true, false),
        "false" => (false, false),
        "interrupted" => (false, true),
        s => {
            return Err(format!(
                "success is `true`, `false` or `interrupted`, not `{s}`"
            ))
        }
    };
    Ok(RowSpec {
        rank,
        version,
        description: cols[2].to_string(),
        kind: cols[3].to_string(),
        checksum,
        success,
        interrupted,
        script: cols.get(6).map(|s| s.to_string()),
    })
}

/// Options the planner itself rejects (a bad target) become the case's output, not a fixture
/// error.
fn parse_options(text: &str) -> Result<Result<Options, String>, String> {
    let mut options = Options::default();
    for token in text.split_whitespace() {
        let Some((key, value)) = token.split_once('=') else {
            return Err(format!("an option is `key=value`, not `{token}`"));
        };
        match key {
            "target" => match value.parse::<Target>() {
                Ok(t) => options.target = t,
                Err(e) => return Ok(Err(format!("bad target: {e}"))),
            },
            "out_of_order" => {
                options.out_of_order = match value {
                    "true" => true,
                    "false" => false,
                    _ => return Err(format!("out_of_order is `true` or `false`, not `{value}`")),
                }
            }
            "ignore" => {
                for pattern in value.split(',') {
                    options
                        .ignore
                        .push(godwit::IgnorePattern::parse(pattern).map_err(|e| e.to_string())?);
                }
            }
            "cherry_pick" => {
                for pick in value.split(',') {
                    options
                        .cherry_pick
                        .push(godwit::CherryPick::parse(pick).map_err(|e| e.to_string())?);
                }
            }
            _ => {
                return Err(format!(
                    "unknown option `{key}`; known: target, out_of_order, ignore, cherry_pick"
                ))
            }
        }
    }
    Ok(Ok(options))
}

fn parse_run(text: &str) -> Result<Run, String> {
    let mut words = text.split_whitespace();
    let run = match (words.next(), words.next()) {
        (Some("validate"), None) => Run::Validate,
        (Some("info"), None) => Run::Info,
        (Some("migrate"), None) => Run::Migrate,
        (Some("undo"), None) => Run::Undo(None),
        (Some("undo"), Some(v)) => Run::Undo(Some(
            Version::parse(v).map_err(|e| format!("bad undo target: {e}"))?,
        )),
        (Some("repair"), None) => Run::Repair,
        (Some("repair"), Some("mark-applied")) => {
            let v = words
                .next()
                .ok_or_else(|| format!("`run: {text}` needs a version"))?;
            Run::MarkApplied(Version::parse(v).map_err(|e| format!("bad version: {e}"))?)
        }
        _ => {
            return Err(format!(
                "`run: {text}` is not one of validate, info, migrate, undo, undo <version>, repair, repair mark-applied <version>"
            ))
        }
    };
    match words.next() {
        Some(extra) => Err(format!("unexpected `{extra}` in `run: {text}`")),
        None => Ok(run),
    }
}

// ---------------------------------------------------------------------------------------------
// Running a case.

fn run_case(case: &Case) -> Result<String, String> {
    let mut out = String::new();
    let mut migrations = Vec::new();
    let mut file_errors = Vec::new();
    for (script, text) in &case.files {
        match migration_from_text(script, Arc::from(text.as_str())) {
            Ok(Some(m)) => migrations.push(m),
            Ok(None) => line(&mut out, format!("not a migration: {script}")),
            Err(problem) => file_errors.push(problem),
        }
    }
    let history = case
        .history
        .iter()
        .map(|spec| history_row(spec, &migrations))
        .collect::<Result<Vec<_>, _>>()?;
    let set = if file_errors.is_empty() {
        MigrationSet::new(migrations).map_err(|problems| {
            file_errors = problems;
        })
    } else {
        Err(())
    };
    let Ok(set) = set else {
        for problem in &file_errors {
            line(&mut out, format!("error: {problem}"));
            if let Some(hint) = &problem.hint {
                line(&mut out, format!("  hint: {hint}"));
            }
        }
        return Ok(out);
    };
    let options = match &case.options {
        Ok(o) => o,
        Err(e) => {
            line(&mut out, format!("error: {e}"));
            return Ok(out);
        }
    };
    let catalog = Catalog::new(&set, &history);
    for run in &case.runs {
        line(&mut out, format!("[{}]", run.name()));
        match run {
            Run::Validate => render_problems(&mut out, &catalog, options),
            Run::Info => render_info(&mut out, &catalog, options),
            Run::Migrate => render_plan(&mut out, catalog.plan_migrate(options)),
            Run::Undo(target) => render_plan(&mut out, catalog.plan_undo(target.as_ref())),
            Run::Repair => render_repair(&mut out, Ok(catalog.plan_repair())),
            Run::MarkApplied(v) => {
                render_repair(&mut out, catalog.plan_mark_applied(v).map(|a| vec![a]))
            }
        }
    }
    Ok(out)
}

fn line(out: &mut String, text: String) {
    out.push_str(&text);
    out.push('\n');
}

/// The history row a spec describes, with `=` and `~` resolved against the files.
fn history_row(spec: &RowSpec, migrations: &[Migration]) -> Result<HistoryRow, String> {
    let file_kind = match (spec.kind.as_str(), &spec.version) {
        (_, None) => MigrationKind::Repeatable,
        ("UNDO_SQL", _) => MigrationKind::Undo,
        ("SQL_BASELINE", _) => MigrationKind::Baseline,
        _ => MigrationKind::Versioned,
    };
    let is_marker = matches!(spec.kind.as_str(), "BASELINE" | "SCHEMA");
    let wanted = spec.version.as_deref().and_then(|v| Version::parse(v).ok());
    let file = migrations.iter().find(|m| {
        !is_marker
            && m.kind == file_kind
            && match file_kind {
                MigrationKind::Repeatable => m.description == spec.description,
                _ => wanted.is_some() && m.version == wanted,
            }
    });
    let checksum = match spec.checksum {
        ChecksumSpec::Null => None,
        ChecksumSpec::Value(n) => Some(n),
        ChecksumSpec::Same => match file {
            Some(f) => Some(f.checksum),
            None => {
                return Err(format!(
                    "history rank {}: checksum `=` but no {} file matches the row",
                    spec.rank,
                    file_kind.label().to_lowercase()
                ))
            }
        },
        ChecksumSpec::Other => Some(file.map_or(1_234_567, |f| f.checksum.wrapping_add(1))),
    };
    let script = match (&spec.script, file) {
        (Some(s), _) => s.clone(),
        (None, Some(f)) => f.script.clone(),
        (None, None) => match (spec.kind.as_str(), &spec.version) {
            ("BASELINE", _) => "<< Flyway Baseline >>".into(),
            ("SCHEMA", _) => "\"public\"".into(),
            (_, None) => format!("R__{}.sql", spec.description.replace(' ', "_")),
            (_, Some(v)) => format!(
                "{}{v}__{}.sql",
                file_kind.prefix(),
                spec.description.replace(' ', "_")
            ),
        },
    };
    Ok(HistoryRow {
        installed_rank: spec.rank,
        version: spec.version.clone(),
        description: spec.description.clone(),
        kind: godwit::HistoryType::from(spec.kind.as_str()),
        script,
        checksum,
        installed_by: "tester".into(),
        installed_on: "2026-01-01 00:00:00".into(),
        execution_time: if spec.interrupted {
            godwit::INTERRUPTED_EXECUTION_TIME
        } else {
            1
        },
        success: spec.success,
    })
}

fn render_problems(out: &mut String, catalog: &Catalog<'_>, options: &Options) {
    let problems = catalog.validate(options);
    if problems.is_empty() {
        line(out, "ok".into());
    }
    for p in problems {
        line(out, format!("{:?} {}: {}", p.kind, p.migration, p.message));
        line(out, format!("  hint: {}", p.hint));
    }
}

fn render_info(out: &mut String, catalog: &Catalog<'_>, options: &Options) {
    for row in catalog.info(options) {
        line(
            out,
            format!(
                "{} | {} | {} | {} | {}",
                row.kind,
                row.version.as_deref().unwrap_or("-"),
                row.description,
                row.state,
                row.script
            ),
        );
    }
}

/// Each change as `repair` prints it, then the row it writes, field by field.
fn render_repair(out: &mut String, actions: Result<Vec<RepairAction>, PlanError>) {
    let actions = match actions {
        Ok(actions) => actions,
        Err(e) => {
            line(out, format!("error: {e}"));
            line(out, format!("  hint: {}", e.hint()));
            return;
        }
    };
    if actions.is_empty() {
        line(out, "nothing to repair".into());
    }
    for action in actions {
        line(out, action.to_string());
        if let RepairAction::MarkApplied {
            installed_rank,
            history_type,
            version,
            description,
            script,
            checksum,
            ..
        } = &action
        {
            let rank = installed_rank.map_or_else(|| "new".to_string(), |r| r.to_string());
            let checksum = checksum.map_or_else(|| "NULL".to_string(), |c| c.to_string());
            line(
                out,
                format!("  row {rank} | {version} | {description} | {history_type} | {checksum} | true | {script}"),
            );
        }
    }
}

fn render_plan(out: &mut String, plan: Result<Plan, PlanError>) {
    let plan = match plan {
        Ok(plan) => plan,
        Err(e) => {
            line(out, format!("error: {e}"));
            line(out, format!("  hint: {}", e.hint()));
            return;
        }
    };
    let current = plan
        .current
        .as_ref()
        .map_or_else(|| "none".to_string(), |v| v.to_string());
    line(
        out,
        format!(
            "{:?} from {current}, {} pending",
            plan.direction, plan.pending
        ),
    );
    let recorded = plan.recorded().count();
    if recorded != plan.pending {
        line(
            out,
            format!(
                "!! pending says {} but {recorded} steps write history",
                plan.pending
            ),
        );
    }
    for step in &plan.steps {
        line(out, render_step(step));
    }
    for step in &plan.on_error {
        line(out, format!("on error: {}", render_step(step)));
    }
}

fn render_step(step: &Step) -> String {
    let m = &step.migration;
    match step.action {
        Action::Callback(_) if m.description.is_empty() => format!("Callback {}", m.label()),
        Action::Callback(_) => format!("Callback {} {}", m.label(), m.description),
        Action::Repeat => format!("Repeat {}", m.label()),
        action => format!("{action:?} {} {}", m.label(), m.description),
    }
}

// ---------------------------------------------------------------------------------------------
// A line diff, so a failing case shows what changed.

fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = String::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            let _ = writeln!(out, "  {}", a[i]);
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            let _ = writeln!(out, "+ {}", b[j]);
            j += 1;
        } else {
            let _ = writeln!(out, "- {}", a[i]);
            i += 1;
        }
    }
    out
}
