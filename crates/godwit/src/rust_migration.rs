//! Migrations written in Rust, for data changes SQL cannot express, registered beside the SQL
//! ones with [`Migrator::with_rust_migration`](crate::Migrator::with_rust_migration).
//!
//! A Rust migration has a version and a description like a file, and takes its place in the
//! same order: `V3` (SQL), then `3.1` (Rust), then `V4` (SQL). It runs on the migration's own
//! connection, inside a transaction together with its history row (unless
//! [`RustMigration::without_transaction`]), and is recorded with the type `RUST`.
//!
//! ```
//! use godwit::{RustContext, RustMigration};
//!
//! let slugs = RustMigration::new("3.1", "backfill slugs", |ctx: &mut RustContext<'_>| {
//!     Box::pin(async move {
//!         let rows = ctx
//!             .query_text("SELECT id, title FROM notes WHERE slug IS NULL")
//!             .await?;
//!         for row in rows {
//!             let (Some(id), Some(title)) = (&row[0], &row[1]) else { continue };
//!             let slug: String = title
//!                 .to_lowercase()
//!                 .chars()
//!                 .map(|c| if c.is_alphanumeric() { c } else { '-' })
//!                 .collect();
//!             let sql = format!(
//!                 "UPDATE notes SET slug = {} WHERE id = {}",
//!                 ctx.quote_literal(&slug),
//!                 id.parse::<i64>()?
//!             );
//!             ctx.execute(&sql).await?;
//!         }
//!         Ok(())
//!     })
//! });
//! assert_eq!(slugs.label(), "V3.1");
//! ```
//!
//! # Checksums
//!
//! godwit cannot hash code, so a Rust migration's checksum is the number given with
//! [`RustMigration::with_checksum`], `0` by default. Validation compares it with the history like
//! a file's checksum: change it when the migration's code changes in a way databases that ran the
//! old code should be told about (`validate` then reports it; `repair` accepts it). Flyway
//! records its Java migrations with a `NULL` checksum; godwit records a number so that the
//! history table's rows all validate the same way.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::discover::FileProblem;
use crate::driver::{dialect, Dialect, Driver, DriverError, Session};
use crate::model::{Migration, MigrationKind, Source, Version};

/// Any error a Rust migration returns; `?` converts most errors into it.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The future a Rust migration returns: `Box::pin(async move { ... })`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The function of a Rust migration.
type RunFn = dyn for<'c, 'd> Fn(&'c mut RustContext<'d>) -> BoxFuture<'c, Result<(), BoxError>>
    + Send
    + Sync;

/// A migration written in Rust, with its version, description and code.
///
/// Build it with [`RustMigration::new`] (a versioned migration: applied once, in version order)
/// or [`RustMigration::data`] (a data migration: re-run by every `migrate` once the database
/// reached its version, so it must be idempotent), then register it with
/// [`Migrator::with_rust_migration`](crate::Migrator::with_rust_migration).
#[derive(Clone)]
pub struct RustMigration {
    kind: MigrationKind,
    version: String,
    description: String,
    checksum: i32,
    transactional: bool,
    run: Arc<RunFn>,
}

impl fmt::Debug for RustMigration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RustMigration")
            .field("kind", &self.kind)
            .field("version", &self.version)
            .field("description", &self.description)
            .field("checksum", &self.checksum)
            .field("transactional", &self.transactional)
            .finish_non_exhaustive()
    }
}

impl RustMigration {
    /// A versioned migration: applied once, ordered by `version` with the SQL migrations.
    ///
    /// `version` is written as in a file name (`3`, `3.1`, `3_1`); an invalid one is reported
    /// when the migration is registered.
    pub fn new<F>(version: &str, description: &str, run: F) -> RustMigration
    where
        F: for<'c, 'd> Fn(&'c mut RustContext<'d>) -> BoxFuture<'c, Result<(), BoxError>>
            + Send
            + Sync
            + 'static,
    {
        RustMigration {
            kind: MigrationKind::Versioned,
            version: version.to_string(),
            description: description.to_string(),
            checksum: 0,
            transactional: true,
            run: Arc::new(run),
        }
    }

    /// A data migration: run by every `migrate` after the schema migrations, once the database
    /// is at `version` or later, and never recorded in the history. It must be idempotent.
    pub fn data<F>(version: &str, description: &str, run: F) -> RustMigration
    where
        F: for<'c, 'd> Fn(&'c mut RustContext<'d>) -> BoxFuture<'c, Result<(), BoxError>>
            + Send
            + Sync
            + 'static,
    {
        RustMigration {
            kind: MigrationKind::Data,
            ..RustMigration::new(version, description, run)
        }
    }

    /// Sets the checksum recorded in the history and validated later (`0` by default).
    pub fn with_checksum(mut self, checksum: i32) -> RustMigration {
        self.checksum = checksum;
        self
    }

    /// Runs the migration outside a transaction (by default it runs in one, with its history
    /// row). Each statement then commits on its own, and a failure part way is recorded with
    /// `success = false`.
    pub fn without_transaction(mut self) -> RustMigration {
        self.transactional = false;
        self
    }

    /// How messages name the migration: `V3.1`, `D4`.
    pub fn label(&self) -> String {
        format!("{}{}", self.kind.prefix(), self.version.replace('_', "."))
    }

    /// The migration as the planner sees it; a bad version or description is a problem.
    pub(crate) fn into_migration(self) -> Result<Migration, FileProblem> {
        let script = format!(
            "{}{}__{}",
            self.kind.prefix(),
            self.version,
            self.description.replace(' ', "_")
        );
        let display_path = format!("{script} (Rust)");
        let problem = |message: String| {
            FileProblem {
            paths: vec![display_path.clone()],
            line: None,
            message,
            hint: Some(
                "a Rust migration's version is written as in a file name: integers separated by `.` or `_`".into(),
            ),
        }
        };
        let version = Version::parse(&self.version).map_err(|e| problem(e.to_string()))?;
        if let Some(why) = crate::limits::version_too_long(&version) {
            return Err(FileProblem {
                hint: None,
                ..problem(why)
            });
        }
        if self.description.chars().count() > 200 {
            return Err(FileProblem {
                hint: None,
                ..problem(
                    "the description is longer than the 200 characters the history table holds"
                        .into(),
                )
            });
        }
        if script.chars().count() > 1000 {
            return Err(FileProblem {
                hint: None,
                ..problem(
                    "the version and description are longer than the 1000 characters the history table's script column holds".into(),
                )
            });
        }
        Ok(Migration {
            kind: self.kind,
            version: Some(version),
            description: self.description,
            script,
            display_path,
            checksum: self.checksum,
            applied_checksum: self.checksum,
            source: Source::Rust(Arc::new(RustCode {
                run: self.run,
                transactional: self.transactional,
            })),
            execute_in_transaction: None,
            placeholder_replacement: None,
        })
    }
}

/// The code of a Rust migration, as [`Source::Rust`] holds it.
pub struct RustCode {
    run: Arc<RunFn>,
    transactional: bool,
}

impl RustCode {
    /// Whether it runs inside a transaction with its history row.
    pub fn transactional(&self) -> bool {
        self.transactional
    }

    /// Calls the migration's function.
    pub(crate) async fn run(&self, ctx: &mut RustContext<'_>) -> Result<(), BoxError> {
        (self.run)(ctx).await
    }
}

/// What a Rust migration can do: run SQL and read rows on the migration's own connection (inside
/// its transaction), and quote values for the database's dialect.
pub struct RustContext<'a> {
    db: &'a mut dyn Driver,
    executed: usize,
    last_statement: String,
}

impl<'a> RustContext<'a> {
    pub(crate) fn new(db: &'a mut dyn Driver) -> RustContext<'a> {
        RustContext {
            db,
            executed: 0,
            last_statement: String::new(),
        }
    }

    /// The database's dialect, for SQL that differs between databases.
    pub fn dialect(&self) -> Dialect {
        self.db.dialect()
    }

    /// The connected user, database and schema.
    pub fn session(&self) -> &Session {
        self.db.session()
    }

    /// Runs one statement (no `?` parameters: quote values with [`RustContext::quote_literal`]).
    pub async fn execute(&mut self, sql: &str) -> Result<(), DriverError> {
        self.last_statement = crate::execute::excerpt(sql);
        refuse_nul(sql)?;
        self.db.execute(sql).await?;
        self.executed += 1;
        Ok(())
    }

    /// Runs a query and returns every row, each column as text (`None` for `NULL`). Text,
    /// integer, floating-point and boolean columns are read as they are; cast other types
    /// (dates, decimals) to text in the query.
    pub async fn query_text(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, DriverError> {
        self.last_statement = crate::execute::excerpt(sql);
        refuse_nul(sql)?;
        self.db.query_text(sql).await
    }

    /// `value` as a string literal for the dialect, quotes escaped.
    pub fn quote_literal(&self, value: &str) -> String {
        dialect::quote_literal(self.dialect(), value)
    }

    /// `name` as a quoted identifier for the dialect.
    pub fn quote_ident(&self, name: &str) -> String {
        dialect::quote_ident(self.dialect(), name)
    }

    /// How many statements [`RustContext::execute`] ran.
    pub(crate) fn executed(&self) -> usize {
        self.executed
    }

    /// The start of the last statement run, for messages.
    pub(crate) fn last_statement(&self) -> &str {
        &self.last_statement
    }
}

/// Refuses SQL with a NUL byte before it reaches the database, as files with one are refused:
/// no database takes one (SQLite stops reading the statement there, MySQL may run part of it).
fn refuse_nul(sql: &str) -> Result<(), DriverError> {
    if sql.contains('\0') {
        return Err(DriverError::statement(
            "the statement contains a NUL byte, which no SQL text may contain",
        ));
    }
    Ok(())
}
