//! The library's typed errors. Each says what happened, where, and what to do next; the CLI
//! turns the [`Error::category`] into an exit code.

use std::fmt;

use crate::discover::FileProblem;
use crate::driver::{DriverError, DriverErrorKind};
use crate::execute::Report;
use crate::model::Label;
use crate::plan::{PlanError, Problem};

/// How a caller should classify an error (the CLI maps these to exit codes 2, 1 and 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// Bad usage, configuration or migration files; nothing was written.
    Usage,
    /// The operation failed: SQL error, validation failure, lock timeout, refusal.
    Failed,
    /// The database could not be reached or refused the login.
    Connection,
}

/// A statement of a migration that the database rejected.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MigrationFailure {
    /// `V3`, `R__views`, `D4`, `beforeMigrate`.
    pub migration: Label,
    /// The file as the user knows it.
    pub path: String,
    /// The line where the failing statement starts (1-based); `None` for godwit's own statements.
    pub line: Option<u32>,
    /// The start of the failing statement, for context.
    pub statement: String,
    /// The database's own message.
    pub message: String,
    /// SQLSTATE or the server's error number.
    pub code: Option<String>,
    /// Whether the migration's changes were rolled back (false where DDL is not transactional
    /// and something had already run: the history then records it as failed; false too when
    /// the connection was lost, since godwit cannot know).
    pub rolled_back: bool,
    /// Why it failed: the statement, the connection, the storage, or an interrupt.
    pub cause: FailureCause,
    /// What was applied before the failure.
    pub report: Report,
}

/// Why a migration failed; it decides what godwit can say about the database's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub enum FailureCause {
    /// The database rejected a statement.
    Statement,
    /// The connection was lost (network, server crash or restart): whether the migration, and
    /// what the run applied before it, survived is unknown until someone looks.
    ConnectionLost,
    /// The database could not write or read its files (disk full, a read-only file or
    /// directory, an I/O error).
    Storage,
    /// The run was interrupted (Ctrl-C, SIGTERM, [`crate::Interrupt`]).
    Interrupted,
    /// The migration's transaction lost a certification conflict on a multi-primary cluster
    /// (Galera, group replication): another node committed a change to the same rows while it
    /// ran, and the cluster rolled the transaction back.
    CertificationConflict,
}

/// Everything that can go wrong, classified by [`Error::category`], with a [`Error::hint`] and,
/// when a migration failed after others were applied, the partial [`Error::report`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Problems with migration files: names, duplicates, encoding, placeholders, transactions.
    #[error("{}", summarize_files(.0))]
    Files(Vec<FileProblem>),
    /// Files and history disagree.
    #[error("validation failed: {}", summarize_problems(.0))]
    Validation(Vec<Problem>),
    /// No plan could be made (unknown target, missing undo script, …).
    #[error("{0}")]
    Plan(#[from] PlanError),
    /// The database could not be reached; `url` is redacted.
    #[error("cannot connect to {url}: {message}")]
    Connect {
        /// The URL, password redacted (or which pool).
        url: String,
        /// Why, as the server or the network said.
        message: String,
    },
    /// A migration failed while running.
    #[error("{} failed at {}{}: {}", .0.migration, .0.path, .0.line.map(|l| format!(":{l}")).unwrap_or_default(), .0.message)]
    Migration(Box<MigrationFailure>),
    /// The migration lock was not obtained in time.
    #[error("{0}")]
    LockTimeout(String),
    /// godwit refuses to proceed (a non-empty database without history, …).
    #[error("{message}")]
    Refused {
        /// What godwit refuses and why.
        message: String,
        /// What to do instead.
        hint: String,
    },
    /// Invalid settings given by the caller (table name, baseline version, …).
    #[error("{0}")]
    Config(String),
    /// Any other database error, outside a migration.
    #[error("database error: {0}")]
    Database(#[source] DriverError),
    /// Reading or writing a file failed (the dry-run output, a migration file).
    #[error("{what}: {source}")]
    Io {
        /// What godwit was doing: `cannot write the dry-run output`.
        what: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The run was interrupted while no migration was running (waiting for the lock, or
    /// between migrations): nothing was left half-done.
    #[error("interrupted before {}", if .0.steps.is_empty() { "any migration ran".to_string() } else { format!("the next migration; {} applied before", .0.steps.len()) })]
    Interrupted(Box<Report>),
    /// Every migration ran, but making them durable failed (the connection was lost, the disk is
    /// full): whether they survived is unknown. `report.unconfirmed` lists them.
    #[error("the migrations ran, but making them durable failed: {message}")]
    NotDurable {
        /// What ran, unconfirmed.
        report: Box<Report>,
        /// Why the final flush failed.
        message: String,
    },
}

fn summarize_files(problems: &[FileProblem]) -> String {
    match problems {
        [one] => one.to_string(),
        many => format!("{} problems with migration files", many.len()),
    }
}

fn summarize_problems(problems: &[Problem]) -> String {
    match problems {
        [one] => one.to_string(),
        many => format!("{} problems", many.len()),
    }
}

impl Error {
    /// How a caller should classify the error (the CLI's exit code).
    pub fn category(&self) -> Category {
        match self {
            Error::Files(_) | Error::Config(_) | Error::Io { .. } => Category::Usage,
            Error::Plan(
                PlanError::UnknownTarget { .. }
                | PlanError::MissingUndo { .. }
                | PlanError::TargetNotBelowCurrent { .. }
                | PlanError::UnknownVersion { .. },
            ) => Category::Usage,
            Error::Connect { .. } => Category::Connection,
            Error::Database(d) if d.kind == DriverErrorKind::Connection => Category::Connection,
            _ => Category::Failed,
        }
    }

    /// What the user should do next, where godwit knows.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Plan(p) => Some(p.hint()),
            Error::Refused { hint, .. } => Some(hint.clone()),
            Error::LockTimeout(_) => Some(
                "another node may still be migrating: wait and retry, or raise `lock_timeout`; if no godwit process is running, the lock is released when its connection closes (a lease lock, when it expires)".into(),
            ),
            Error::Connect { .. } => Some(
                "check that the server is running and that the URL's host, port, user, password and database are right".into(),
            ),
            Error::Interrupted(_) => Some(
                "no migration was running: run `godwit migrate` again to continue".into(),
            ),
            Error::Database(d) if d.kind == DriverErrorKind::Storage => Some(
                "the database could not write to its files (disk full, a read-only file or directory, or an I/O error): free space or fix the permissions of the database's files and their directory, then run the command again".into(),
            ),
            Error::Database(d) if d.kind == DriverErrorKind::Conflict => Some(
                "godwit's own write lost a certification conflict on the cluster again and again (another node changed the same rows at the same moment): run the command again".into(),
            ),
            Error::Database(d) if d.kind == DriverErrorKind::Connection => Some(
                "the connection to the database was lost: run `godwit info` once the database is reachable to see its state, then run the command again".into(),
            ),
            Error::NotDurable { .. } => Some(
                "run `godwit info` once the database is reachable to see which migrations survived; `godwit migrate` then applies whatever is missing".into(),
            ),
            Error::Migration(f) if f.cause == FailureCause::ConnectionLost => Some(format!(
                "the connection to the database was lost while {} ran, so godwit cannot tell whether it{} survived (the server may have crashed or restarted): run `godwit info` once the database is reachable to see its state, then `godwit migrate` again",
                f.migration,
                if f.report.unconfirmed.is_empty() {
                    String::new()
                } else {
                    format!(
                        " and the {} migration{} this run applied before it",
                        f.report.unconfirmed.len(),
                        if f.report.unconfirmed.len() == 1 { "" } else { "s" }
                    )
                }
            )),
            Error::Migration(f) if f.cause == FailureCause::Interrupted && f.rolled_back => Some(format!(
                "{} was interrupted and rolled back: run `godwit migrate` again to continue",
                f.migration
            )),
            Error::Migration(f) if f.cause == FailureCause::Interrupted && f.migration.records_history() => Some(format!(
                "{} was interrupted after part of it ran outside a transaction, and is recorded as failed: finish or undo it by hand, then run `godwit repair` (it runs again) or `godwit repair --mark-applied <version>` (it counts as applied), and migrate again",
                f.migration
            )),
            Error::Migration(f) if f.cause == FailureCause::Interrupted => Some(format!(
                "{} was interrupted after part of it ran outside a transaction: check its effects by hand; it runs again on the next migrate",
                f.migration
            )),
            Error::Migration(f) if f.cause == FailureCause::CertificationConflict && f.rolled_back => Some(format!(
                "{} lost a certification conflict: another node of the cluster committed a change to the same rows while it ran (a deadlock on this node ends the same way), and its transaction was rolled back, so nothing of it remains: run migrate again, at a moment when the application does not write those rows, or set `statement_lock_retries` to have godwit run it again",
                f.migration
            )),
            Error::Migration(f) if f.cause == FailureCause::CertificationConflict && f.migration.records_history() => Some(format!(
                "{} lost a certification conflict: another node of the cluster committed a change to the same rows while it ran (a deadlock on this node ends the same way), and its transaction was rolled back after some of its statements had run; statements that commit by themselves (DDL) stay, so it is recorded as failed: check what of it remains, then run `godwit repair` and migrate again, at a moment when the application does not write those rows",
                f.migration
            )),
            Error::Migration(f) if f.cause == FailureCause::CertificationConflict => Some(format!(
                "{} lost a certification conflict: another node of the cluster committed a change to the same rows while it ran (a deadlock on this node ends the same way), and its transaction was rolled back after some of its statements had run; statements that commit by themselves (DDL) stay: check what of it remains; it runs again on the next migrate",
                f.migration
            )),
            Error::Migration(f) if f.cause == FailureCause::Storage => Some(format!(
                "the database could not write to its files (disk full, a read-only file or directory, or an I/O error): free space or fix the permissions of the database's files and their directory, then run migrate again{}",
                if f.rolled_back {
                    format!("; {} was rolled back", f.migration)
                } else {
                    format!("; {} may be partly applied: run `godwit info` to see its state", f.migration)
                }
            )),
            Error::Migration(f) if f.rolled_back && crate::timeouts::is_lock_failure(f.code.as_deref()) => Some(format!(
                "{} could not get a lock that another session holds (it waited past the statement lock timeout, or was chosen as a deadlock's victim) and was rolled back: find the session holding the lock (PostgreSQL: `pg_locks` and `pg_stat_activity`; MySQL: `SHOW PROCESSLIST`), or raise `statement_lock_timeout` or `statement_lock_retries`, then run migrate again",
                f.migration
            )),
            Error::Migration(f) if f.rolled_back && crate::timeouts::is_statement_timeout(f.code.as_deref(), &f.message) => Some(format!(
                "a statement of {} ran longer than the statement timeout and was stopped; the migration was rolled back: raise `statement_timeout`, or give the file a `-- godwit:statement-timeout=<duration>` directive, then run migrate again",
                f.migration
            )),
            Error::Migration(f) if !f.rolled_back && !f.migration.records_history() => Some(format!(
                "the database does not roll back DDL, so {} may be partly applied; it is not recorded in the history and runs again on the next migrate: fix the database by hand if needed, then fix the script and migrate again",
                f.migration
            )),
            Error::Migration(f) if !f.rolled_back => Some(format!(
                "{} could not be rolled back (it ran without a transaction, or the database commits DDL as it goes), so it may be partly applied and is recorded as failed: fix the database by hand, then run `godwit repair` and migrate again",
                f.migration
            )),
            Error::Migration(_) => Some(
                "the migration was rolled back and nothing of it remains: fix the statement and run migrate again".into(),
            ),
            _ => None,
        }
    }

    /// The partial report, when a migration failed after others were applied.
    pub fn report(&self) -> Option<&Report> {
        match self {
            Error::Migration(f) => Some(&f.report),
            Error::Interrupted(r) => Some(r),
            Error::NotDurable { report, .. } => Some(report),
            _ => None,
        }
    }

    pub(crate) fn from_driver(e: DriverError) -> Error {
        match e.kind {
            DriverErrorKind::LockTimeout => Error::LockTimeout(e.message),
            _ => Error::Database(e),
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Category::Usage => "usage",
            Category::Failed => "failed",
            Category::Connection => "connection",
        })
    }
}
