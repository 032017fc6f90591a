//! The SQL godwit writes itself, per dialect: history-table DDL and rows, quoting.
//!
//! Pure functions, so that `--dry-run` prints byte for byte what a real run sends, and the text
//! can be reviewed and run by the database's own client.

use super::{Dialect, HistoryTable};
use crate::model::HistoryType;

/// Quotes an identifier for the dialect.
pub fn quote_ident(dialect: Dialect, ident: &str) -> String {
    match dialect {
        Dialect::MySql => format!("`{}`", ident.replace('`', "``")),
        Dialect::Postgres | Dialect::Sqlite => format!("\"{}\"", ident.replace('"', "\"\"")),
    }
}

/// Quotes a string literal for the dialect, in a form that means the same under every server
/// setting, so that the text `--dry-run` prints is the text that runs, whatever the session:
///
/// - PostgreSQL: `'…'` with `'` doubled; a value holding a backslash is written `E'…'` with the
///   backslash doubled too, which reads the same whether `standard_conforming_strings` is on or
///   off (a plain `'a\b'` would not).
/// - MySQL: `'…'` with `'` doubled; a value holding a backslash is written as a hex literal,
///   `_utf8mb4 X'…'`, which reads the same with and without `NO_BACKSLASH_ESCAPES`.
/// - SQLite: `'…'` with `'` doubled (backslashes are never special).
///
/// NUL characters, which no database takes in text, are dropped (files and settings holding one
/// are refused before anything runs).
pub fn quote_literal(dialect: Dialect, value: &str) -> String {
    let has_backslash = value.contains('\\');
    if dialect == Dialect::MySql && has_backslash {
        let mut out = String::with_capacity(value.len() * 2 + 12);
        out.push_str("_utf8mb4 X'");
        for b in value.bytes().filter(|&b| b != 0) {
            out.push_str(&format!("{b:02X}"));
        }
        out.push('\'');
        return out;
    }
    let escape = dialect == Dialect::Postgres && has_backslash;
    let mut out = String::with_capacity(value.len() + 3);
    if escape {
        out.push('E');
    }
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' if escape => out.push_str("\\\\"),
            '\0' => {}
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The table name, schema-qualified where a schema is set.
pub fn qualified(dialect: Dialect, table: &HistoryTable) -> String {
    match &table.schema {
        Some(schema) => format!(
            "{}.{}",
            quote_ident(dialect, schema),
            quote_ident(dialect, &table.name)
        ),
        None => quote_ident(dialect, &table.name),
    }
}

/// The name of the history table's primary key constraint (PostgreSQL names its index so too).
pub fn primary_key_name(table: &HistoryTable) -> String {
    format!("{}_pk", table.name)
}

/// The name of the index on the history table's `success` column.
pub fn index_name(table: &HistoryTable) -> String {
    format!("{}_s_idx", table.name)
}

/// Every identifier the history table's DDL names, with what it is: the schema (where one is
/// given), the table, its primary key constraint and its index.
pub fn history_identifiers(table: &HistoryTable) -> Vec<(&'static str, String)> {
    let mut names = Vec::with_capacity(4);
    if let Some(schema) = &table.schema {
        names.push(("schema", schema.clone()));
    }
    names.push(("table", table.name.clone()));
    names.push(("primary key", primary_key_name(table)));
    names.push(("index", index_name(table)));
    names
}

/// The longest identifier the dialect keeps as written, and its unit: PostgreSQL cuts longer
/// names to 63 bytes without an error (so two derived names may end up the same), MySQL refuses
/// names over 64 characters; SQLite has no limit.
pub fn identifier_limit(dialect: Dialect) -> Option<(usize, &'static str)> {
    match dialect {
        Dialect::Postgres => Some((63, "bytes")),
        Dialect::MySql => Some((64, "characters")),
        Dialect::Sqlite => None,
    }
}

/// The length of `name` in the unit of [`identifier_limit`].
pub fn identifier_len(dialect: Dialect, name: &str) -> usize {
    match dialect {
        Dialect::Postgres | Dialect::Sqlite => name.len(),
        Dialect::MySql => name.chars().count(),
    }
}

/// The statements that create the history table with Flyway's layout.
pub fn create_history(dialect: Dialect, table: &HistoryTable) -> Vec<String> {
    let t = qualified(dialect, table);
    let q = |s: &str| quote_ident(dialect, s);
    let (timestamp, default_now, boolean, suffix) = match dialect {
        Dialect::Postgres => ("TIMESTAMP", "now()", "BOOLEAN", ""),
        Dialect::MySql => (
            "TIMESTAMP",
            "CURRENT_TIMESTAMP",
            "TINYINT(1)",
            " ENGINE=InnoDB",
        ),
        Dialect::Sqlite => (
            "TEXT",
            "(strftime('%Y-%m-%d %H:%M:%f','now'))",
            "BOOLEAN",
            "",
        ),
    };
    let pk_name = q(&primary_key_name(table));
    // MySQL commits each DDL statement by itself: the index goes inside CREATE TABLE, so that a
    // crash cannot leave the table without it. (PostgreSQL and SQLite create both in one
    // transaction: see `Executor::create_history`.)
    let inline_index = match dialect {
        Dialect::MySql => format!(",\n    INDEX {} ({})", q(&index_name(table)), q("success")),
        Dialect::Postgres | Dialect::Sqlite => String::new(),
    };
    let create = format!(
        "CREATE TABLE {t} (\n    {} INTEGER NOT NULL,\n    {} VARCHAR(50),\n    {} VARCHAR(200) NOT NULL,\n    {} VARCHAR(20) NOT NULL,\n    {} VARCHAR(1000) NOT NULL,\n    {} INTEGER,\n    {} VARCHAR(100) NOT NULL,\n    {} {timestamp} NOT NULL DEFAULT {default_now},\n    {} INTEGER NOT NULL,\n    {} {boolean} NOT NULL,\n    CONSTRAINT {pk_name} PRIMARY KEY ({}){inline_index}\n){suffix}",
        q("installed_rank"),
        q("version"),
        q("description"),
        q("type"),
        q("script"),
        q("checksum"),
        q("installed_by"),
        q("installed_on"),
        q("execution_time"),
        q("success"),
        q("installed_rank"),
    );
    let index_name = index_name(table);
    let index = match (dialect, &table.schema) {
        // SQLite and PostgreSQL put an index in its table's schema: name it unqualified on PG,
        // qualified on SQLite (where the schema is the attached database).
        (Dialect::Sqlite, Some(s)) => format!(
            "CREATE INDEX {}.{} ON {} ({})",
            q(s),
            q(&index_name),
            q(&table.name),
            q("success")
        ),
        _ => format!("CREATE INDEX {} ON {t} ({})", q(&index_name), q("success")),
    };
    if dialect == Dialect::MySql {
        return vec![create];
    }
    vec![create, index]
}

/// The query that reads the history, oldest first, with `installed_on` as text.
pub fn select_history(dialect: Dialect, table: &HistoryTable) -> String {
    format!(
        "SELECT {} FROM {} AS h ORDER BY {}",
        history_columns(dialect).join(", "),
        qualified(dialect, table),
        quote_ident(dialect, "installed_rank"),
    )
}

/// The ten columns a history read returns, in [`crate::model::HistoryRow`]'s order, with
/// `installed_on` as text and `success` as an integer where the column is not a boolean.
///
/// On SQLite each column is qualified with the alias `h`, which the query must give the table
/// (`FROM … AS h`): SQLite reads an unqualified double-quoted name that matches no column as a
/// string literal, which would hide a missing column.
pub fn history_columns(dialect: Dialect) -> Vec<String> {
    let q = |s: &str| match dialect {
        Dialect::Sqlite => format!("h.{}", quote_ident(dialect, s)),
        _ => quote_ident(dialect, s),
    };
    let installed_on = match dialect {
        Dialect::Postgres => format!("to_char({}, 'YYYY-MM-DD HH24:MI:SS')", q("installed_on")),
        Dialect::MySql => format!("DATE_FORMAT({}, '%Y-%m-%d %H:%i:%s')", q("installed_on")),
        Dialect::Sqlite => format!("substr(CAST({} AS TEXT), 1, 19)", q("installed_on")),
    };
    // Flyway's MySQL table uses TINYINT(1) and SQLite has no boolean type: read it as an integer.
    let success = match dialect {
        Dialect::Postgres => q("success"),
        Dialect::MySql => format!("CAST({} AS SIGNED)", q("success")),
        Dialect::Sqlite => format!("CAST({} AS INTEGER)", q("success")),
    };
    vec![
        q("installed_rank"),
        q("version"),
        q("description"),
        q("type"),
        q("script"),
        q("checksum"),
        q("installed_by"),
        installed_on,
        q("execution_time"),
        success,
    ]
}

/// A history row to write; the rank is computed by the database under the lock.
#[derive(Debug, Clone)]
pub struct NewRow<'a> {
    /// The normalised version; `None` for repeatables.
    pub version: Option<&'a str>,
    /// The description.
    pub description: &'a str,
    /// The `type` column.
    pub kind: &'a HistoryType,
    /// The script path relative to its location.
    pub script: &'a str,
    /// The checksum; `None` for markers.
    pub checksum: Option<i32>,
    /// Who applied it.
    pub installed_by: &'a str,
    /// How long it ran, in milliseconds.
    pub execution_time_ms: i64,
    /// Whether it succeeded.
    pub success: bool,
}

/// The `INSERT` of one history row. The rank is `max + 1`, computed in the same statement,
/// which is safe because every writer holds the migration lock.
pub fn insert_history(dialect: Dialect, table: &HistoryTable, row: &NewRow<'_>) -> String {
    let q = |s: &str| quote_ident(dialect, s);
    let lit = |s: &str| quote_literal(dialect, s);
    let t = qualified(dialect, table);
    let version = row.version.map_or_else(|| "NULL".to_string(), lit);
    let checksum = row
        .checksum
        .map_or_else(|| "NULL".to_string(), |c| c.to_string());
    let success = match (dialect, row.success) {
        (Dialect::Postgres, true) => "TRUE",
        (Dialect::Postgres, false) => "FALSE",
        (_, true) => "1",
        (_, false) => "0",
    };
    // -1 marks a migration that is running (`model::INTERRUPTED_EXECUTION_TIME`); real times
    // are never negative.
    let execution_time = row.execution_time_ms.clamp(-1, i32::MAX as i64);
    // MySQL refuses to read the table it inserts into unless the read is a derived table.
    let source = match dialect {
        Dialect::MySql => format!(
            "(SELECT COALESCE(MAX({rank}), 0) + 1 AS r FROM {t}) AS next_rank",
            rank = q("installed_rank")
        ),
        _ => t.clone(),
    };
    let rank_expr = match dialect {
        Dialect::MySql => "next_rank.r".to_string(),
        _ => format!("COALESCE(MAX({}), 0) + 1", q("installed_rank")),
    };
    // `installed_on` is when the migration finished. PostgreSQL's column default, `now()`, is
    // when its transaction began, so it is given explicitly there.
    let (on_column, on_value) = match dialect {
        Dialect::Postgres => (format!(", {}", q("installed_on")), ", clock_timestamp()"),
        Dialect::MySql | Dialect::Sqlite => (String::new(), ""),
    };
    format!(
        "INSERT INTO {t} ({}, {}, {}, {}, {}, {}, {}, {}, {}{on_column}) SELECT {rank_expr}, {version}, {}, {}, {}, {checksum}, {}, {execution_time}, {success}{on_value} FROM {source}",
        q("installed_rank"),
        q("version"),
        q("description"),
        q("type"),
        q("script"),
        q("checksum"),
        q("installed_by"),
        q("execution_time"),
        q("success"),
        lit(row.description),
        lit(row.kind.as_str()),
        lit(row.script),
        lit(row.installed_by),
    )
}

/// The statement that makes `schemas` the ones unqualified names resolve to, where the dialect
/// has one (Flyway does the same with its default schema).
pub fn use_schemas(dialect: Dialect, schemas: &[String]) -> Option<String> {
    let first = schemas.first()?;
    match dialect {
        Dialect::Postgres => {
            let list: Vec<String> = schemas.iter().map(|s| quote_ident(dialect, s)).collect();
            Some(format!("SET search_path TO {}", list.join(", ")))
        }
        Dialect::MySql => Some(format!("USE {}", quote_ident(dialect, first))),
        Dialect::Sqlite => None,
    }
}

/// The statement that gives the session back the state each migration starts from, sent
/// before every history write (in the same message, so it costs no round trip): a migration
/// that ran `SET ROLE …` or pg_dump's `set_config('search_path', '', false)` changes neither
/// whom the history row is written as nor what the next migration sees. PostgreSQL only: the
/// role and search path read when the connection opened, or the managed `schemas` where they
/// are set (as [`use_schemas`] set them). Flyway does the same.
pub fn restore_session(
    dialect: Dialect,
    session: &super::Session,
    schemas: &[String],
) -> Option<String> {
    if dialect != Dialect::Postgres {
        return None;
    }
    let mut settings = Vec::new();
    if let Some(role) = &session.role {
        settings.push(format!(
            "pg_catalog.set_config('role', {}, false)",
            quote_literal(dialect, role)
        ));
    }
    if let (true, Some(path)) = (schemas.is_empty(), &session.search_path) {
        settings.push(format!(
            "pg_catalog.set_config('search_path', {}, false)",
            quote_literal(dialect, path)
        ));
    }
    let mut statements = Vec::new();
    if !settings.is_empty() {
        statements.push(format!("SELECT {}", settings.join(", ")));
    }
    statements.extend(use_schemas(dialect, schemas));
    (!statements.is_empty()).then(|| statements.join("\n;\n"))
}

/// The history table as godwit's writes name it during a run: qualified with the schema (on
/// MySQL the database) the connection started in where it names none, so that a migration
/// that changes the search path (or runs `USE`) cannot redirect them.
pub fn pinned_table(
    dialect: Dialect,
    table: &HistoryTable,
    session: &super::Session,
) -> HistoryTable {
    match dialect {
        Dialect::Postgres | Dialect::MySql
            if table.schema.is_none() && !session.schema.is_empty() =>
        {
            HistoryTable {
                schema: Some(session.schema.clone()),
                name: table.name.clone(),
            }
        }
        _ => table.clone(),
    }
}

/// The statement that creates a missing schema, where the dialect has schemas to create.
pub fn create_schema(dialect: Dialect, schema: &str) -> Option<String> {
    match dialect {
        Dialect::Postgres => Some(format!(
            "CREATE SCHEMA IF NOT EXISTS {}",
            quote_ident(dialect, schema)
        )),
        Dialect::MySql => Some(format!(
            "CREATE DATABASE IF NOT EXISTS {}",
            quote_ident(dialect, schema)
        )),
        Dialect::Sqlite => None,
    }
}

/// The statement that deletes one history row.
pub fn delete_history_row(dialect: Dialect, table: &HistoryTable, installed_rank: i32) -> String {
    format!(
        "DELETE FROM {} WHERE {} = {installed_rank}",
        qualified(dialect, table),
        quote_ident(dialect, "installed_rank")
    )
}

/// The statement that records a file's checksum and description for an applied migration.
pub fn realign_history_row(
    dialect: Dialect,
    table: &HistoryTable,
    installed_rank: i32,
    checksum: i32,
    description: &str,
) -> String {
    format!(
        "UPDATE {} SET {} = {checksum}, {} = {} WHERE {} = {installed_rank}",
        qualified(dialect, table),
        quote_ident(dialect, "checksum"),
        quote_ident(dialect, "description"),
        quote_literal(dialect, description),
        quote_ident(dialect, "installed_rank")
    )
}

/// The statement that turns the row written before a non-transactional migration ran (the
/// newest row, with `success = false` and `execution_time = -1`, see
/// [`crate::model::HistoryRow::is_interrupted`]) into that migration's real row: succeeded, or
/// failed after it changed something.
pub fn finish_running_row(
    dialect: Dialect,
    table: &HistoryTable,
    execution_time_ms: i64,
    success: bool,
) -> String {
    let q = |s: &str| quote_ident(dialect, s);
    let t = qualified(dialect, table);
    let (yes, no) = match dialect {
        Dialect::Postgres => ("TRUE", "FALSE"),
        Dialect::MySql | Dialect::Sqlite => ("1", "0"),
    };
    let now = match dialect {
        Dialect::Postgres => "clock_timestamp()",
        Dialect::MySql => "CURRENT_TIMESTAMP",
        Dialect::Sqlite => "strftime('%Y-%m-%d %H:%M:%f','now')",
    };
    let running = running_row_condition(dialect, table);
    format!(
        "UPDATE {t} SET {} = {}, {} = {}, {} = {now} {running}",
        q("success"),
        if success { yes } else { no },
        q("execution_time"),
        execution_time_ms.clamp(0, i32::MAX as i64),
        q("installed_on"),
    )
}

/// The statement that removes the running row of a migration that failed before it changed
/// anything (its transaction rolled back).
pub fn delete_running_row(dialect: Dialect, table: &HistoryTable) -> String {
    format!(
        "DELETE FROM {} {}",
        qualified(dialect, table),
        running_row_condition(dialect, table)
    )
}

/// `WHERE …` picking the running row: the newest row, if it is one.
fn running_row_condition(dialect: Dialect, table: &HistoryTable) -> String {
    let q = |s: &str| quote_ident(dialect, s);
    let t = qualified(dialect, table);
    let no = match dialect {
        Dialect::Postgres => "FALSE",
        Dialect::MySql | Dialect::Sqlite => "0",
    };
    let marked = format!(
        "{} = {no} AND {} = {}",
        q("success"),
        q("execution_time"),
        crate::model::INTERRUPTED_EXECUTION_TIME
    );
    match dialect {
        // MySQL cannot read the table an UPDATE or DELETE changes: it picks the newest row with
        // ORDER BY … LIMIT instead.
        Dialect::MySql => format!(
            "WHERE {marked} ORDER BY {} DESC LIMIT 1",
            q("installed_rank")
        ),
        Dialect::Postgres | Dialect::Sqlite => format!(
            "WHERE {marked} AND {rank} = (SELECT MAX({rank}) FROM {t})",
            rank = q("installed_rank")
        ),
    }
}

/// The statement that turns a failed or interrupted history row into a success row, for a
/// migration finished by hand (`repair --mark-applied`): its time becomes 0, and its checksum
/// and description become the file's.
pub fn mark_applied_history_row(
    dialect: Dialect,
    table: &HistoryTable,
    installed_rank: i32,
    checksum: Option<i32>,
    description: &str,
) -> String {
    let q = |s: &str| quote_ident(dialect, s);
    let success = match dialect {
        Dialect::Postgres => "TRUE",
        Dialect::MySql | Dialect::Sqlite => "1",
    };
    let checksum = checksum.map_or_else(|| "NULL".to_string(), |c| c.to_string());
    format!(
        "UPDATE {} SET {} = {success}, {} = 0, {} = {checksum}, {} = {} WHERE {} = {installed_rank}",
        qualified(dialect, table),
        q("success"),
        q("execution_time"),
        q("checksum"),
        q("description"),
        quote_literal(dialect, description),
        q("installed_rank")
    )
}

/// The statement that starts a transaction, as the dialect's client spells it.
pub fn begin(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::MySql => "START TRANSACTION",
        Dialect::Postgres | Dialect::Sqlite => "BEGIN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> HistoryTable {
        HistoryTable {
            schema: None,
            name: "godwit_schema_history".into(),
        }
    }

    #[test]
    fn literals_mean_the_same_under_every_setting() {
        assert_eq!(quote_literal(Dialect::Postgres, "it's"), "'it''s'");
        assert_eq!(quote_literal(Dialect::Postgres, r"a\b'c"), r"E'a\\b''c'");
        assert_eq!(quote_literal(Dialect::MySql, "it's"), "'it''s'");
        assert_eq!(
            quote_literal(Dialect::MySql, r"a\'b"),
            "_utf8mb4 X'615C2762'"
        );
        assert_eq!(quote_literal(Dialect::MySql, "\\\0"), "_utf8mb4 X'5C'");
        assert_eq!(quote_literal(Dialect::Sqlite, r"a\b'"), r"'a\b'''");
        assert_eq!(quote_literal(Dialect::Sqlite, "x\0y"), "'xy'");
    }

    #[test]
    fn identifiers_are_quoted_per_dialect() {
        assert_eq!(quote_ident(Dialect::MySql, "a`b"), "`a``b`");
        assert_eq!(quote_ident(Dialect::Postgres, "a\"b"), "\"a\"\"b\"");
        let t = HistoryTable {
            schema: Some("app".into()),
            name: "hist".into(),
        };
        assert_eq!(qualified(Dialect::Postgres, &t), "\"app\".\"hist\"");
    }

    #[test]
    fn insert_computes_the_rank_in_the_statement() {
        let row = NewRow {
            version: Some("1.2"),
            description: "add o'brien",
            kind: &HistoryType::Sql,
            script: "V1.2__add_o'brien.sql",
            checksum: Some(-5),
            installed_by: "me",
            execution_time_ms: 12,
            success: true,
        };
        let pg = insert_history(Dialect::Postgres, &table(), &row);
        assert!(pg.contains("COALESCE(MAX(\"installed_rank\"), 0) + 1, '1.2', 'add o''brien'"));
        assert!(pg.ends_with("12, TRUE, clock_timestamp() FROM \"godwit_schema_history\""));
        let my = insert_history(Dialect::MySql, &table(), &row);
        assert!(my.contains("AS next_rank"));
    }

    #[test]
    fn the_session_is_restored_on_postgres_only() {
        let session = crate::driver::Session {
            schema: "public".into(),
            role: Some("none".into()),
            search_path: Some(r#""$user", public"#.into()),
            ..Default::default()
        };
        assert_eq!(
            restore_session(Dialect::Postgres, &session, &[]).as_deref(),
            Some(
                r#"SELECT pg_catalog.set_config('role', 'none', false), pg_catalog.set_config('search_path', '"$user", public', false)"#
            )
        );
        assert_eq!(
            restore_session(Dialect::Postgres, &session, &["app".into()]).as_deref(),
            Some("SELECT pg_catalog.set_config('role', 'none', false)\n;\nSET search_path TO \"app\"")
        );
        assert_eq!(restore_session(Dialect::MySql, &session, &[]), None);
        assert_eq!(restore_session(Dialect::Sqlite, &session, &[]), None);
        let pinned = pinned_table(Dialect::Postgres, &table(), &session);
        assert_eq!(pinned.schema.as_deref(), Some("public"));
        assert_eq!(pinned_table(Dialect::Sqlite, &table(), &session), table());
        let nowhere = crate::driver::Session::default();
        assert_eq!(pinned_table(Dialect::MySql, &table(), &nowhere), table());
    }

    #[test]
    fn mark_applied_turns_the_row_into_a_success_row() {
        assert_eq!(
            mark_applied_history_row(Dialect::Postgres, &table(), 3, Some(-7), "add o'brien"),
            "UPDATE \"godwit_schema_history\" SET \"success\" = TRUE, \"execution_time\" = 0, \"checksum\" = -7, \"description\" = 'add o''brien' WHERE \"installed_rank\" = 3"
        );
        assert_eq!(
            mark_applied_history_row(Dialect::MySql, &table(), 3, None, "x"),
            "UPDATE `godwit_schema_history` SET `success` = 1, `execution_time` = 0, `checksum` = NULL, `description` = 'x' WHERE `installed_rank` = 3"
        );
    }
}
