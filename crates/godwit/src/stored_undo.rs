//! Undo scripts that travel with the database (`docs/design.md` §21): when a versioned
//! migration is applied and its `U` script exists, the script's text is stored in a side table
//! next to the history table, `<history table>_undo`, so that a release without the file (an
//! older one) can still go down through that version. The same row records whether the
//! migration was marked `-- godwit:breaking` (the compatibility floor, §22).
//!
//! The history table keeps Flyway's exact layout; the side table is godwit's own. One row per
//! version: `installed_rank` ties it to the history row that applied the version, so a row
//! left from an earlier application (the version was undone, then applied again without a
//! script) is never used. Like `driver/dialect.rs`, this is SQL text per dialect, with no
//! driver code.

use crate::driver::dialect::{qualified, quote_ident, quote_literal};
use crate::driver::{Dialect, HistoryTable};
use crate::model::{checksum_str, Version};

/// The side table's columns, in order.
const COLUMNS: [&str; 7] = [
    "installed_rank",
    "version",
    "description",
    "script",
    "checksum",
    "undo_sql",
    "breaking",
];

/// What the side table stores about one applied version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUndo {
    /// The rank of the history row that applied the version.
    pub installed_rank: i32,
    /// The version, as the history records it.
    pub version: String,
    /// The undo script's description.
    pub description: String,
    /// The undo script's path relative to its location; `None` when no script is stored.
    pub script: Option<String>,
    /// The undo script's checksum, taken when it was stored.
    pub checksum: Option<i32>,
    /// The undo script's text.
    pub text: Option<String>,
    /// The migration was marked `-- godwit:breaking`.
    pub breaking: bool,
}

impl StoredUndo {
    /// Whether a stored script's text still has the checksum stored with it: a script changed in
    /// the database after it was stored is never run.
    pub fn intact(&self) -> bool {
        match (&self.text, self.checksum) {
            (Some(text), Some(sum)) => checksum_str(text) == sum,
            (None, None) => true,
            _ => false,
        }
    }

    /// Whether a script is stored (intact or not).
    pub fn has_script(&self) -> bool {
        self.text.is_some() || self.checksum.is_some()
    }
}

/// The side table of `history`: `<name>_undo`, in the same schema.
pub fn side_table(history: &HistoryTable) -> HistoryTable {
    HistoryTable {
        schema: history.schema.clone(),
        name: format!("{}_undo", history.name),
    }
}

/// The statement that creates the side table when it is missing.
pub fn create(dialect: Dialect, history: &HistoryTable) -> String {
    let t = qualified(dialect, &side_table(history));
    let q = |s: &str| quote_ident(dialect, s);
    let (text, boolean, suffix) = match dialect {
        Dialect::Postgres => ("TEXT", "BOOLEAN", ""),
        Dialect::MySql => ("LONGTEXT", "TINYINT(1)", " ENGINE=InnoDB"),
        Dialect::Sqlite => ("TEXT", "BOOLEAN", ""),
    };
    let types = [
        "INTEGER NOT NULL",
        "VARCHAR(50) NOT NULL",
        "VARCHAR(200) NOT NULL",
        "VARCHAR(1000)",
        "INTEGER",
        text,
        &format!("{boolean} NOT NULL"),
    ];
    let columns: Vec<String> = COLUMNS
        .iter()
        .zip(types)
        .map(|(c, ty)| format!("    {} {ty},\n", q(c)))
        .collect();
    format!(
        "CREATE TABLE IF NOT EXISTS {t} (\n{}    PRIMARY KEY ({})\n){suffix}",
        columns.concat(),
        q("version"),
    )
}

/// The query that reads the side table: [`parse_row`] reads its rows.
pub fn select(dialect: Dialect, history: &HistoryTable) -> String {
    // Qualified with an alias: SQLite reads a double-quoted name that matches no column as a
    // string literal, which would hide a missing column.
    let c = |s: &str| format!("u.{}", quote_ident(dialect, s));
    let breaking = match dialect {
        Dialect::MySql => format!("CAST({} AS SIGNED)", c("breaking")),
        Dialect::Postgres | Dialect::Sqlite => format!("CAST({} AS INTEGER)", c("breaking")),
    };
    format!(
        "SELECT {}, {}, {}, {}, {}, {}, {breaking} FROM {} AS u ORDER BY {}",
        c("installed_rank"),
        c("version"),
        c("description"),
        c("script"),
        c("checksum"),
        c("undo_sql"),
        qualified(dialect, &side_table(history)),
        c("installed_rank"),
    )
}

/// One row of [`select`]; `Err` names the column that does not read.
pub fn parse_row(row: &[Option<String>]) -> Result<StoredUndo, String> {
    let col = |i: usize| row.get(i).cloned().flatten();
    let int = |i: usize, name: &str| -> Result<Option<i32>, String> {
        match col(i) {
            None => Ok(None),
            Some(text) => text
                .trim()
                .parse::<i32>()
                .map(Some)
                .map_err(|_| format!("the column `{name}` holds `{text}`, not an integer")),
        }
    };
    let installed_rank = int(0, "installed_rank")?
        .ok_or_else(|| "the column `installed_rank` is NULL".to_string())?;
    let version = col(1).ok_or_else(|| "the column `version` is NULL".to_string())?;
    Ok(StoredUndo {
        installed_rank,
        version,
        description: col(2).unwrap_or_default(),
        script: col(3),
        checksum: int(4, "checksum")?,
        text: col(5),
        breaking: int(6, "breaking")?.is_some_and(|b| b != 0),
    })
}

/// What an applied migration leaves in the side table.
#[derive(Debug, Clone)]
pub struct NewStored<'a> {
    /// The version applied.
    pub version: &'a Version,
    /// The undo script, when one is stored: description, script, text.
    pub undo: Option<(&'a str, &'a str, &'a str)>,
    /// The migration was marked `-- godwit:breaking`.
    pub breaking: bool,
}

/// The statements that record what `row` says, written in the same message (and transaction,
/// where the database has one) as the history row of its version: the version's old row goes,
/// and the new one takes the rank of the version's newest history row.
pub fn write(dialect: Dialect, history: &HistoryTable, row: &NewStored<'_>) -> Vec<String> {
    let side = qualified(dialect, &side_table(history));
    let h = qualified(dialect, history);
    let q = |s: &str| quote_ident(dialect, s);
    let lit = |s: &str| quote_literal(dialect, s);
    let version = lit(row.version.as_str());
    let delete = format!("DELETE FROM {side} WHERE {} = {version}", q("version"));
    let (description, script, checksum, text) = match row.undo {
        Some((description, script, text)) => (
            lit(description),
            lit(script),
            checksum_str(text).to_string(),
            lit(text),
        ),
        None => (lit(""), "NULL".into(), "NULL".into(), "NULL".into()),
    };
    let breaking = match (dialect, row.breaking) {
        (Dialect::Postgres, true) => "TRUE",
        (Dialect::Postgres, false) => "FALSE",
        (_, true) => "1",
        (_, false) => "0",
    };
    let columns: Vec<String> = COLUMNS.iter().map(|c| q(c)).collect();
    let insert = format!(
        "INSERT INTO {side} ({}) SELECT MAX({}), {version}, {description}, {script}, {checksum}, {text}, {breaking} FROM {h} WHERE {} = {version}",
        columns.join(", "),
        q("installed_rank"),
        q("version"),
    );
    vec![delete, insert]
}

/// The statement that forgets the script stored for `version`, keeping its breaking marker.
pub fn forget_script(dialect: Dialect, history: &HistoryTable, version: &str) -> String {
    let q = |s: &str| quote_ident(dialect, s);
    format!(
        "UPDATE {} SET {} = NULL, {} = NULL, {} = NULL WHERE {} = {}",
        qualified(dialect, &side_table(history)),
        q("script"),
        q("checksum"),
        q("undo_sql"),
        q("version"),
        quote_literal(dialect, version),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> HistoryTable {
        HistoryTable::parse("app.history", None).unwrap()
    }

    #[test]
    fn the_side_table_is_named_after_the_history_table() {
        assert_eq!(side_table(&table()).to_string(), "app.history_undo");
        for dialect in [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite] {
            let sql = create(dialect, &table());
            assert!(sql.starts_with("CREATE TABLE IF NOT EXISTS"), "{sql}");
            assert!(sql.contains("history_undo"), "{sql}");
        }
    }

    #[test]
    fn a_write_ties_the_row_to_the_history_row_of_its_version() {
        let v = Version::parse("3").unwrap();
        let sql = write(
            Dialect::Postgres,
            &table(),
            &NewStored {
                version: &v,
                undo: Some(("drop it", "U3__drop_it.sql", "DROP TABLE t;\n")),
                breaking: true,
            },
        );
        assert_eq!(
            sql[0],
            r#"DELETE FROM "app"."history_undo" WHERE "version" = '3'"#
        );
        assert!(
            sql[1].contains(r#"SELECT MAX("installed_rank"), '3', 'drop it', 'U3__drop_it.sql'"#),
            "{}",
            sql[1]
        );
        assert!(
            sql[1].ends_with(r#"FROM "app"."history" WHERE "version" = '3'"#),
            "{}",
            sql[1]
        );
        assert!(sql[1].contains("TRUE"), "{}", sql[1]);
    }

    #[test]
    fn rows_parse_and_a_changed_text_is_not_intact() {
        let text = "DROP TABLE t;\n";
        let row = vec![
            Some("4".to_string()),
            Some("3".to_string()),
            Some("drop it".to_string()),
            Some("U3__drop_it.sql".to_string()),
            Some(checksum_str(text).to_string()),
            Some(text.to_string()),
            Some("1".to_string()),
        ];
        let stored = parse_row(&row).unwrap();
        assert_eq!(stored.installed_rank, 4);
        assert!(stored.breaking);
        assert!(stored.intact());
        let tampered = StoredUndo {
            text: Some("DROP TABLE other;\n".into()),
            ..stored
        };
        assert!(!tampered.intact());
        let bad = vec![Some("x".to_string()), Some("3".to_string())];
        assert!(parse_row(&bad).unwrap_err().contains("installed_rank"));
    }
}
