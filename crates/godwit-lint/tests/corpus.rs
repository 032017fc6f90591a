//! The labelled corpus: migrations the project wrote, risky and safe, for each dialect, each
//! saying in its first comment lines which findings it must produce (`-- expect: <rule>`) and,
//! for the near misses, which it must not (`-- expect-not: <rule>`). Every finding the lint
//! produces that is not expected counts against precision; every expected one it misses counts
//! against recall. Both must be 1.0.
//!
//! `tests/corpus/<dialect>/<file>.sql` is linted alone; `tests/corpus/<dialect>/<dir>/` is one
//! set of pending migrations, linted together in name order (for rules about several files).
//! Other header lines set up the run:
//! - `-- corpus: no-undo`: the file's version has no undo script (else every versioned file
//!   counts as having one, so that `missing-undo` does not crowd the labels);
//! - `-- corpus: no-lock-timeout`: godwit sets no statement lock timeout (else it does);
//! - `-- corpus: server-version <v>`: the server's version.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use godwit_lint::{lint, Dialect, File, FileKind, Rule, ServerVersion, Settings};

struct Case {
    file: File,
    expect: BTreeSet<Rule>,
    expect_not: BTreeSet<Rule>,
    no_undo: bool,
    no_lock_timeout: bool,
    server_version: Option<ServerVersion>,
}

fn kind_and_version(name: &str) -> (FileKind, Option<String>) {
    let kind = match name.chars().next() {
        Some('V') => FileKind::Versioned,
        Some('U') => FileKind::Undo,
        Some('R') => FileKind::Repeatable,
        Some('B') => FileKind::Baseline,
        Some('D') => FileKind::Data,
        _ => panic!("corpus file {name} is not named like a migration"),
    };
    let version = (kind != FileKind::Repeatable)
        .then(|| name[1..].split("__").next().unwrap().replace('_', "."));
    (kind, version)
}

fn read_case(path: &Path) -> Case {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.file_name().unwrap().to_str().unwrap();
    let (kind, version) = kind_and_version(name);
    let mut case = Case {
        file: File {
            path: path
                .strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR")))
                .unwrap_or(path)
                .display()
                .to_string(),
            kind,
            version,
            text: text.clone(),
        },
        expect: BTreeSet::new(),
        expect_not: BTreeSet::new(),
        no_undo: false,
        no_lock_timeout: false,
        server_version: None,
    };
    for line in text.lines() {
        let line = line.trim();
        let parse = |s: &str| {
            s.trim()
                .parse::<Rule>()
                .unwrap_or_else(|e| panic!("{name}: {e}"))
        };
        if let Some(r) = line.strip_prefix("-- expect:") {
            case.expect.insert(parse(r));
        } else if let Some(r) = line.strip_prefix("-- expect-not:") {
            case.expect_not.insert(parse(r));
        } else if let Some(r) = line.strip_prefix("-- corpus:") {
            let r = r.trim();
            if r == "no-undo" {
                case.no_undo = true;
            } else if r == "no-lock-timeout" {
                case.no_lock_timeout = true;
            } else if let Some(v) = r.strip_prefix("server-version") {
                case.server_version = Some(ServerVersion::parse(v.trim()).unwrap());
            } else {
                panic!("{name}: unknown corpus setting {r}");
            }
        }
    }
    assert!(
        case.expect.is_disjoint(&case.expect_not),
        "{name} both expects and rules out a rule"
    );
    case
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn corpus_precision_and_recall() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    let mut files = 0usize;
    let mut dialects_seen = BTreeSet::new();
    let mut rules_seen = BTreeSet::new();
    let mut failures = Vec::new();
    for (dir, dialect) in [
        ("postgres", Dialect::Postgres),
        ("mysql", Dialect::MySql),
        ("sqlite", Dialect::Sqlite),
    ] {
        for entry in entries(&root.join(dir)) {
            let paths = if entry.is_dir() {
                entries(&entry)
            } else {
                vec![entry]
            };
            let cases: Vec<Case> = paths.iter().map(|p| read_case(p)).collect();
            let mut settings = Settings::new(dialect);
            settings.statement_lock_timeout = !cases.iter().any(|c| c.no_lock_timeout);
            settings.server_version = cases.iter().find_map(|c| c.server_version);
            let undo: BTreeSet<String> = cases
                .iter()
                .filter(|c| !c.no_undo)
                .filter_map(|c| c.file.version.clone())
                .collect();
            let set: Vec<File> = cases.iter().map(|c| c.file.clone()).collect();
            let report = lint(&set, &undo, &settings)
                .unwrap_or_else(|e| panic!("{}: {e:?}", paths[0].display()));
            for case in &cases {
                files += 1;
                dialects_seen.insert(dir);
                let found: BTreeSet<Rule> = report
                    .findings
                    .iter()
                    .filter(|f| f.path == case.file.path)
                    .map(|f| f.rule)
                    .collect();
                rules_seen.extend(case.expect.iter().copied());
                for r in &found {
                    if case.expect.contains(r) {
                        tp += 1;
                    } else {
                        fp += 1;
                        failures.push(format!("{}: unexpected {r}", case.file.path));
                    }
                }
                for r in case.expect.difference(&found) {
                    fn_ += 1;
                    failures.push(format!("{}: missed {r}", case.file.path));
                }
            }
        }
    }
    let precision = if tp + fp == 0 {
        1.0
    } else {
        tp as f64 / (tp + fp) as f64
    };
    let recall = if tp + fn_ == 0 {
        1.0
    } else {
        tp as f64 / (tp + fn_) as f64
    };
    println!(
        "lint corpus: {files} migrations, {tp} expected findings found, {fp} unexpected, {fn_} missed: precision {precision:.3}, recall {recall:.3}"
    );
    for f in &failures {
        println!("  {f}");
    }
    assert!(files >= 60, "the corpus has only {files} migrations");
    assert_eq!(dialects_seen.len(), 3);
    let untested: Vec<&str> = Rule::ALL
        .iter()
        .filter(|r| !rules_seen.contains(r))
        .map(|r| r.id())
        .collect();
    assert!(untested.is_empty(), "no corpus file expects {untested:?}");
    assert!(
        failures.is_empty(),
        "precision {precision:.3}, recall {recall:.3}"
    );
}
