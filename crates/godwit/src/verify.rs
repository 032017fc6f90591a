//! `verify-undo` (`docs/design.md` §23): on a scratch database, each versioned migration is
//! applied, its undo script run, and the schema compared with the one before, through the
//! database's own catalog (`information_schema` and `pg_catalog`, `sqlite_master` and its
//! pragmas), never a client tool; then the migration is applied again, and the schema compared
//! with the one its first application gave.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::discover::MigrationSet;
use crate::driver::dialect::quote_literal;
use crate::driver::{Dialect, Driver, HistoryTable};
use crate::error::Error;
use crate::execute::{Executor, RunKind};
use crate::model::{Label, MigrationKind, Version};
use crate::plan::Target;

/// What `verify-undo` found.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct UndoVerification {
    /// Every versioned migration with an undo script, in version order.
    pub checked: Vec<UndoCheck>,
    /// Versioned migrations without an undo script: applied, not checked.
    pub without_undo: Vec<String>,
    /// The migration after whose undo the verification stopped: its undo, or applying it again,
    /// failed, and so did emptying the scratch database and applying every migration up to it
    /// again; later ones were not checked.
    pub stopped_at: Option<Label>,
}

impl UndoVerification {
    /// Whether every undo script restored the schema.
    pub fn passed(&self) -> bool {
        self.stopped_at.is_none() && self.checked.iter().all(|c| c.differences.is_empty())
    }
}

/// One undo script, checked.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct UndoCheck {
    /// `V3`.
    pub migration: Label,
    /// The undo script as the user knows it.
    pub undo_path: String,
    /// Every difference between the schema before the migration and after its undo, then every
    /// difference between its first and second application; empty when the undo restored the
    /// schema.
    pub differences: Vec<String>,
}

/// A schema, as the catalog describes it: one entry per object (`table person`, `column
/// person.name`, `index person_name_idx`, …) with its definition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot(BTreeMap<String, String>);

impl Snapshot {
    /// How `after` differs from `self`, one line per object.
    pub fn differences(&self, after: &Snapshot, verb: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (key, before) in &self.0 {
            match after.0.get(key) {
                None => out.push(format!("{key} ({before}) is gone {verb}")),
                Some(now) if now != before => {
                    out.push(format!("{key} was `{before}`, is `{now}` {verb}"))
                }
                Some(_) => {}
            }
        }
        for (key, now) in &after.0 {
            if !self.0.contains_key(key) {
                out.push(format!("{key} ({now}) is left {verb}"));
            }
        }
        out
    }
}

/// The catalog queries of a dialect: each row is `(kind, name, definition)`. `schemas` are the
/// managed schemas (PostgreSQL, MySQL), `exclude` the history table and its side table.
fn snapshot_queries(dialect: Dialect, schemas: &[String], exclude: &[String]) -> Vec<String> {
    let lit = |s: &str| quote_literal(dialect, s);
    let excluded = exclude
        .iter()
        .map(|s| lit(s))
        .collect::<Vec<_>>()
        .join(", ");
    // The managed schemas as an SQL list, or the connection's own.
    let schema_list = |own: &str| {
        if schemas.is_empty() {
            format!("({own})")
        } else {
            format!(
                "({})",
                schemas
                    .iter()
                    .map(|s| lit(s))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    };
    match dialect {
        Dialect::Postgres => {
            let in_schemas = schema_list("current_schema()");
            vec![
                format!("SELECT 'table', table_schema || '.' || table_name, table_type::text FROM information_schema.tables WHERE table_schema IN {in_schemas} AND table_name NOT IN ({excluded})"),
                format!("SELECT 'column', table_schema || '.' || table_name || '.' || column_name, data_type || coalesce('(' || character_maximum_length || ')', '') || CASE WHEN is_nullable = 'YES' THEN ' NULL' ELSE ' NOT NULL' END || coalesce(' DEFAULT ' || column_default, '') FROM information_schema.columns WHERE table_schema IN {in_schemas} AND table_name NOT IN ({excluded})"),
                format!("SELECT 'index', schemaname || '.' || indexname, indexdef FROM pg_catalog.pg_indexes WHERE schemaname IN {in_schemas} AND tablename NOT IN ({excluded})"),
                format!("SELECT 'constraint', n.nspname || '.' || r.relname || '.' || c.conname, pg_catalog.pg_get_constraintdef(c.oid) FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_class r ON r.oid = c.conrelid JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace WHERE n.nspname IN {in_schemas} AND r.relname NOT IN ({excluded})"),
                format!("SELECT 'view', schemaname || '.' || viewname, definition FROM pg_catalog.pg_views WHERE schemaname IN {in_schemas}"),
                format!("SELECT 'sequence', sequence_schema || '.' || sequence_name, data_type::text FROM information_schema.sequences WHERE sequence_schema IN {in_schemas}"),
                format!("SELECT 'function', n.nspname || '.' || p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')', pg_catalog.md5(p.prosrc) FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname IN {in_schemas}"),
                format!("SELECT 'type', n.nspname || '.' || t.typname, coalesce((SELECT string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid), t.typtype::text) FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname IN {in_schemas} AND t.typtype IN ('e', 'd') "),
                format!("SELECT 'trigger', event_object_schema || '.' || event_object_table || '.' || trigger_name || '.' || event_manipulation, action_timing || ' ' || action_statement FROM information_schema.triggers WHERE event_object_schema IN {in_schemas}"),
            ]
        }
        Dialect::MySql => {
            let in_schemas = schema_list("DATABASE()");
            // Names carry their schema only when there are several to tell apart: the scratch
            // database's own name is noise in a report.
            let prefix = |column: &str| {
                if schemas.is_empty() {
                    String::new()
                } else {
                    format!("{column}, '.', ")
                }
            };
            let q_table_schema = prefix("table_schema");
            let q_c = prefix("c.table_schema");
            let q_routine_schema = prefix("routine_schema");
            let q_trigger_schema = prefix("trigger_schema");
            vec![
                format!("SELECT 'table', CONCAT({q_table_schema}table_name), table_type FROM information_schema.tables WHERE table_schema IN {in_schemas} AND table_name NOT IN ({excluded})"),
                format!("SELECT 'column', CONCAT({q_table_schema}table_name, '.', column_name), CONCAT(column_type, IF(is_nullable = 'YES', ' NULL', ' NOT NULL'), COALESCE(CONCAT(' DEFAULT ', column_default), ''), IF(extra = '', '', CONCAT(' ', extra))) FROM information_schema.columns WHERE table_schema IN {in_schemas} AND table_name NOT IN ({excluded})"),
                format!("SELECT 'index', CONCAT({q_table_schema}table_name, '.', index_name), CONCAT(IF(non_unique = 0, 'UNIQUE ', ''), index_type, ' (', GROUP_CONCAT(column_name ORDER BY seq_in_index SEPARATOR ', '), ')') FROM information_schema.statistics WHERE table_schema IN {in_schemas} AND table_name NOT IN ({excluded}) GROUP BY table_schema, table_name, index_name, non_unique, index_type"),
                format!("SELECT 'constraint', CONCAT({q_c}c.table_name, '.', c.constraint_name), CONCAT(c.constraint_type, ' (', COALESCE((SELECT GROUP_CONCAT(k.column_name, COALESCE(CONCAT(' -> ', k.referenced_table_name, '.', k.referenced_column_name), '') ORDER BY k.ordinal_position SEPARATOR ', ') FROM information_schema.key_column_usage k WHERE k.constraint_schema = c.constraint_schema AND k.table_name = c.table_name AND k.constraint_name = c.constraint_name), ''), ')') FROM information_schema.table_constraints c WHERE c.table_schema IN {in_schemas} AND c.table_name NOT IN ({excluded})"),
                format!("SELECT 'view', CONCAT({q_table_schema}table_name), view_definition FROM information_schema.views WHERE table_schema IN {in_schemas}"),
                format!("SELECT 'routine', CONCAT({q_routine_schema}routine_name), CONCAT(routine_type, ' ', MD5(COALESCE(routine_definition, ''))) FROM information_schema.routines WHERE routine_schema IN {in_schemas}"),
                format!("SELECT 'trigger', CONCAT({q_trigger_schema}event_object_table, '.', trigger_name), CONCAT(action_timing, ' ', event_manipulation, ' ', MD5(action_statement)) FROM information_schema.triggers WHERE trigger_schema IN {in_schemas}"),
            ]
        }
        Dialect::Sqlite => vec![
            format!("SELECT m.type, m.name, CASE WHEN m.type IN ('view', 'trigger') THEN m.sql ELSE m.type END FROM sqlite_master m WHERE m.name NOT LIKE 'sqlite_%' AND m.type IN ('table', 'view', 'trigger') AND m.name NOT IN ({excluded})"),
            format!("SELECT 'column', m.name || '.' || p.name, p.type || CASE WHEN p.\"notnull\" THEN ' NOT NULL' ELSE ' NULL' END || coalesce(' DEFAULT ' || p.dflt_value, '') || CASE WHEN p.pk > 0 THEN ' PRIMARY KEY ' || p.pk ELSE '' END FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT IN ({excluded})"),
            format!("SELECT 'index', m.name || '.' || il.name, CASE WHEN il.\"unique\" THEN 'UNIQUE ' ELSE '' END || CASE il.origin WHEN 'c' THEN 'INDEX' WHEN 'u' THEN 'CONSTRAINT' ELSE 'PRIMARY KEY' END || ' (' || (SELECT group_concat(coalesce(ii.name, '<expression>'), ', ') FROM pragma_index_info(il.name) ii) || ')' FROM sqlite_master m JOIN pragma_index_list(m.name) il WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT IN ({excluded})"),
            format!("SELECT 'foreign key', m.name || '.' || f.id || '.' || f.seq, f.\"from\" || ' -> ' || f.\"table\" || '.' || coalesce(f.\"to\", '') || ' ON DELETE ' || f.on_delete FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT IN ({excluded})"),
        ],
    }
}

/// The schema the catalog describes now.
pub(crate) async fn snapshot(
    db: &mut dyn Driver,
    schemas: &[String],
    exclude: &[String],
) -> Result<Snapshot, Error> {
    let mut objects = BTreeMap::new();
    for sql in snapshot_queries(db.dialect(), schemas, exclude) {
        let rows = db.query_text(&sql).await.map_err(Error::from_driver)?;
        for row in rows {
            let kind = row.first().cloned().flatten().unwrap_or_default();
            let name = row.get(1).cloned().flatten().unwrap_or_default();
            let definition = row.get(2).cloned().flatten().unwrap_or_default();
            // Whitespace is not a difference (SQLite keeps a view's text as written).
            let definition = definition.split_whitespace().collect::<Vec<_>>().join(" ");
            objects.insert(format!("{kind} {name}"), definition);
        }
    }
    Ok(Snapshot(objects))
}

impl Executor<'_> {
    /// Applies each versioned migration in turn, and checks its undo script (§23).
    pub(crate) async fn verify_undo(&self, db: &mut dyn Driver) -> Result<UndoVerification, Error> {
        let table = HistoryTable::parse(
            &self.config.table,
            self.config.schemas.first().map(String::as_str),
        )
        .map_err(Error::Config)?;
        if db
            .has_objects(&self.config.schemas, &table)
            .await
            .map_err(Error::from_driver)?
            || db
                .history_exists(&table)
                .await
                .map_err(Error::from_driver)?
        {
            return Err(Error::Refused {
                message: "the scratch database is not empty: verify-undo needs an empty database to apply every migration from the start".into(),
                hint: "leave out --scratch-url to let godwit create (and drop) a scratch database, or give the URL of an empty one".into(),
            });
        }
        // Versioned migrations and their undo scripts only: repeatables, data migrations,
        // callbacks and baseline migrations are not what is checked.
        let kept: Vec<crate::model::Migration> = self
            .set
            .iter()
            .filter(|m| matches!(m.kind, MigrationKind::Versioned | MigrationKind::Undo))
            .map(|m| (**m).clone())
            .collect();
        let set = MigrationSet::new(kept).map_err(Error::Files)?;
        let versions: Vec<Version> = set
            .of_kind(MigrationKind::Versioned)
            .filter_map(|m| m.version.clone())
            .collect();
        let exclude = vec![
            table.name.clone(),
            crate::stored_undo::side_table(&table).name,
        ];
        let mut result = UndoVerification::default();
        for version in versions {
            let mut config = self.config.clone();
            config.target = Target::Version(version.clone());
            config.store_undo = false;
            let executor = Executor {
                set: &set,
                config: &config,
                observer: self.observer.clone(),
                interrupt: self.interrupt.clone(),
                pre_run: None,
            };
            let before = snapshot(db, &self.config.schemas, &exclude).await?;
            executor.run(db, RunKind::Migrate, None).await?;
            let undo = set
                .of_kind(MigrationKind::Undo)
                .find(|u| u.version.as_ref() == Some(&version))
                .map(Arc::clone);
            let Some(undo) = undo else {
                result
                    .without_undo
                    .push(Label::versioned(&version).to_string());
                continue;
            };
            let applied = snapshot(db, &self.config.schemas, &exclude).await?;
            let mut check = UndoCheck {
                migration: Label::versioned(&version),
                undo_path: undo.display_path.clone(),
                differences: Vec::new(),
            };
            let failed = match executor.run(db, RunKind::Undo(None), None).await {
                Err(e) if interrupted(&e) => return Err(e),
                Err(e) => Some(format!("the undo script failed: {}", one_line(&e))),
                Ok(_) => {
                    let undone = snapshot(db, &self.config.schemas, &exclude).await?;
                    check
                        .differences
                        .extend(before.differences(&undone, "after the undo"));
                    match executor.run(db, RunKind::Migrate, None).await {
                        Err(e) if interrupted(&e) => return Err(e),
                        Err(e) => Some(format!(
                            "applying V{version} again after the undo failed: {}",
                            one_line(&e)
                        )),
                        Ok(_) => {
                            let again = snapshot(db, &self.config.schemas, &exclude).await?;
                            check
                                .differences
                                .extend(applied.differences(&again, "when applied again"));
                            None
                        }
                    }
                }
            };
            let Some(failure) = failed else {
                result.checked.push(check);
                continue;
            };
            // What the undo left is unknown: empty the scratch database and apply everything up
            // to this version again, so that the next undo scripts are checked too.
            check.differences.push(failure);
            let rebuilt = match executor.clean(db, None).await {
                Ok(_) => executor.run(db, RunKind::Migrate, None).await.map(|_| ()),
                Err(e) => Err(e),
            };
            match rebuilt {
                Err(e) if interrupted(&e) => return Err(e),
                Err(e) => {
                    check.differences.push(format!(
                        "emptying the scratch database and applying the migrations up to V{version} again failed: {}",
                        one_line(&e)
                    ));
                    result.checked.push(check);
                    result.stopped_at = Some(Label::versioned(&version));
                    break;
                }
                Ok(()) => result.checked.push(check),
            }
        }
        Ok(result)
    }
}

/// Whether a run stopped because it was interrupted (SIGINT, SIGTERM), rather than failed.
fn interrupted(e: &Error) -> bool {
    match e {
        Error::Interrupted(_) => true,
        Error::Migration(f) => f.cause == crate::error::FailureCause::Interrupted,
        _ => false,
    }
}

/// An error as one line, with the database's message where there is one.
fn one_line(e: &Error) -> String {
    match e {
        Error::Migration(f) => match f.line {
            Some(line) => format!("{}:{line}: {}", f.path, f.message),
            None => format!("{}: {}", f.path, f.message),
        },
        other => other.to_string(),
    }
}

/// A scratch database `verify-undo` creates and drops: a database next to the target one on
/// PostgreSQL and MySQL, a file in a temporary directory for SQLite.
#[derive(Debug)]
pub struct ScratchDatabase {
    url: String,
    /// The database's name, on a server.
    name: Option<String>,
    /// The SQLite file's directory, removed with it.
    dir: Option<tempfile::TempDir>,
}

impl ScratchDatabase {
    /// Creates a scratch database on the server `admin` is connected to (through `admin_url`,
    /// whose database part is replaced), or a SQLite file in a temporary directory.
    pub async fn create(
        admin: &mut crate::Database,
        admin_url: &str,
    ) -> Result<ScratchDatabase, Error> {
        let dialect = admin.dialect();
        if dialect == Dialect::Sqlite {
            return ScratchDatabase::sqlite();
        }
        let mut url = url::Url::parse(admin_url)
            .map_err(|e| Error::Config(format!("cannot read the URL: {e}")))?;
        let base = admin.session().database.clone();
        let suffix = format!(
            "{:08x}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
                ^ std::process::id()
        );
        // Within every server's identifier limit (PostgreSQL keeps 63 bytes).
        let base: String = base.chars().take(30).collect();
        let name = format!("{base}_godwit_verify_{suffix}");
        let sql = format!(
            "CREATE DATABASE {}",
            crate::driver::dialect::quote_ident(dialect, &name)
        );
        admin
            .driver
            .execute(&sql)
            .await
            .map_err(|e| Error::Refused {
                message: format!("cannot create the scratch database `{name}`: {}", e.message),
                hint: "give the URL of an empty database with --scratch-url, or let the user of the URL create databases".into(),
            })?;
        url.set_path(&format!("/{name}"));
        Ok(ScratchDatabase {
            url: url.to_string(),
            name: Some(name),
            dir: None,
        })
    }

    /// A SQLite file in a temporary directory.
    pub fn sqlite() -> Result<ScratchDatabase, Error> {
        let dir = tempfile::Builder::new()
            .prefix("godwit-verify-")
            .tempdir()
            .map_err(|e| Error::Io {
                what: "creating a temporary directory for the scratch database".into(),
                source: e,
            })?;
        let url = format!("sqlite://{}", dir.path().join("scratch.db").display());
        Ok(ScratchDatabase {
            url,
            name: None,
            dir: Some(dir),
        })
    }

    /// Its URL (with the password of the URL it was made from, if that had one).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its name on the server, or its file.
    pub fn name(&self) -> String {
        match (&self.name, &self.dir) {
            (Some(n), _) => n.clone(),
            (None, Some(d)) => d.path().join("scratch.db").display().to_string(),
            (None, None) => String::new(),
        }
    }

    /// Removes a SQLite scratch file (one made by [`ScratchDatabase::sqlite`]).
    pub fn drop_with_file(self) -> Result<(), Error> {
        if let Some(dir) = self.dir {
            dir.close().map_err(|e| Error::Io {
                what: "removing the scratch database".into(),
                source: e,
            })?;
        }
        Ok(())
    }

    /// Drops it, through `admin` (every connection to it must be closed first).
    pub async fn drop_with(self, admin: &mut crate::Database) -> Result<(), Error> {
        if let Some(name) = &self.name {
            let sql = format!(
                "DROP DATABASE IF EXISTS {}",
                crate::driver::dialect::quote_ident(admin.dialect(), name)
            );
            admin
                .driver
                .execute(&sql)
                .await
                .map_err(Error::from_driver)?;
        }
        drop(self.dir);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(items: &[(&str, &str)]) -> Snapshot {
        Snapshot(
            items
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn differences_name_what_is_gone_changed_and_left() {
        let before = snap(&[("table person", "BASE TABLE"), ("column person.id", "int")]);
        let after = snap(&[
            ("column person.id", "bigint"),
            ("index person_name_idx", "CREATE INDEX …"),
        ]);
        assert_eq!(
            before.differences(&after, "after the undo"),
            vec![
                "column person.id was `int`, is `bigint` after the undo",
                "table person (BASE TABLE) is gone after the undo",
                "index person_name_idx (CREATE INDEX …) is left after the undo",
            ]
        );
        assert!(before.differences(&before, "x").is_empty());
    }

    #[test]
    fn every_dialect_leaves_the_history_tables_out() {
        for dialect in [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite] {
            let queries = snapshot_queries(dialect, &[], &["h".into(), "h_undo".into()]);
            assert!(
                queries.iter().any(|q| q.contains("'h_undo'")),
                "{dialect:?}"
            );
        }
    }
}
