//! PostgreSQL through squawk (`squawk-linter`): it parses the file with a real PostgreSQL
//! grammar and runs its rules, told what godwit knows: whether the file runs in a transaction
//! (`assume_in_transaction`) and the server's version. Its findings are mapped onto godwit's
//! rules and pinned to the line where godwit's splitter says the statement starts; a statement
//! on a table the same file created is left out, as for godwit's own rules.

use squawk_linter::{Linter, Rule as Squawk};
use squawk_syntax::SourceFile;

use crate::scan::{Alter, Constraint, Stmt};
use crate::{Raw, Rule, Seen, Settings};

/// The godwit rules squawk decides on PostgreSQL.
pub(crate) const COVERED: &[Rule] = &[
    Rule::DropColumn,
    Rule::DropTable,
    Rule::RenameColumn,
    Rule::RenameTable,
    Rule::ColumnTypeChange,
    Rule::NotNullAdded,
    Rule::DropDefault,
    Rule::IndexNotConcurrent,
    Rule::ConstraintNotValid,
];

/// The squawk rules used, and the godwit rules each one reports.
const MAP: &[(Squawk, &[Rule])] = &[
    (Squawk::BanDropColumn, &[Rule::DropColumn]),
    (Squawk::BanDropTable, &[Rule::DropTable]),
    (Squawk::RenamingColumn, &[Rule::RenameColumn]),
    (Squawk::RenamingTable, &[Rule::RenameTable]),
    (
        Squawk::ChangingColumnType,
        &[Rule::ColumnTypeChange, Rule::TableRewrite],
    ),
    (Squawk::AddingRequiredField, &[Rule::NotNullAdded]),
    (Squawk::AddingNotNullableField, &[Rule::NotNullAdded]),
    (Squawk::BanDropDefault, &[Rule::DropDefault]),
    (
        Squawk::RequireConcurrentIndexCreation,
        &[Rule::IndexNotConcurrent],
    ),
    (
        Squawk::RequireConcurrentIndexDeletion,
        &[Rule::IndexNotConcurrent],
    ),
    (
        Squawk::ConstraintMissingNotValid,
        &[Rule::ConstraintNotValid],
    ),
    (
        Squawk::AddingForeignKeyConstraint,
        &[Rule::ConstraintNotValid],
    ),
    (Squawk::AddingFieldWithDefault, &[Rule::TableRewrite]),
    (
        Squawk::DisallowedUniqueConstraint,
        &[Rule::IndexNotConcurrent],
    ),
    (
        Squawk::AddingSerialPrimaryKeyField,
        &[Rule::IndexNotConcurrent],
    ),
];

/// squawk's findings as godwit's, or `None` when squawk could not check the file (it panicked:
/// godwit's own recognizer then decides every rule).
pub(crate) fn check(
    text: &str,
    transactional: bool,
    settings: &Settings,
    seen: &[Seen],
) -> Option<Vec<Raw>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Placeholders (`${schema}`) become identifiers of the same length, so that the file parses
    // and offsets still point into it.
    let text = &blank_placeholders(text);
    let run = || {
        let mut linter = Linter::from(MAP.iter().map(|(s, _)| *s));
        linter.settings.assume_in_transaction = transactional;
        if let Some(v) = settings.server_version {
            if let Ok(version) = format!("{}.{}.{}", v.major, v.minor, v.patch).parse() {
                linter.settings.pg_version = version;
            }
        }
        let parse = SourceFile::parse(text);
        linter.lint(&parse, text)
    };
    let violations = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).ok()?;
    let mut out = Vec::new();
    for v in violations {
        let Some((_, rules)) = MAP.iter().find(|(s, _)| *s == v.code) else {
            continue;
        };
        let offset = usize::from(v.text_range.start()).min(text.len());
        let at = u32::try_from(text[..offset].matches('\n').count() + 1).unwrap_or(u32::MAX);
        // The statement the finding is in: the last one that starts at or before its line.
        let Some(stmt) = seen.iter().rev().find(|s| s.line <= at) else {
            continue;
        };
        if stmt.new_table {
            continue;
        }
        // A UNIQUE or PRIMARY KEY constraint cannot be NOT VALID: its lock is the index build,
        // which `index-not-concurrent` reports.
        if v.code == Squawk::ConstraintMissingNotValid && only_unique_or_primary(&stmt.stmt) {
            continue;
        }
        let detail = format!("squawk: {}", v.message.trim_end_matches('.'));
        for rule in *rules {
            out.push(Raw {
                line: stmt.line,
                rule: *rule,
                detail: detail.clone(),
            });
        }
    }
    Some(out)
}

/// `${name}` replaced by `_` of the same length.
fn blank_placeholders(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        match rest[start..].find('}') {
            Some(end) => {
                out.extend(std::iter::repeat_n('_', end + 1));
                rest = &rest[start + end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether every constraint a statement adds is UNIQUE or PRIMARY KEY.
fn only_unique_or_primary(stmt: &Stmt) -> bool {
    let Stmt::AlterTable { actions, .. } = stmt else {
        return false;
    };
    let mut kinds = actions.iter().filter_map(|a| match a {
        Alter::AddConstraint { kind, .. } => Some(*kind),
        _ => None,
    });
    kinds
        .clone()
        .next()
        .is_some_and(|_| kinds.all(|k| matches!(k, Constraint::Unique | Constraint::PrimaryKey)))
}
