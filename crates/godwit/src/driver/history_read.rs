//! Reading history rows without showing driver internals: a value godwit cannot read (a column
//! of another type, a NULL where a value belongs) is named by its row and column, with what
//! godwit expected and what it found. The executor adds the table's name and what to do
//! (`Executor::read_history`).

use sqlx::{Column as _, Row, TypeInfo as _, ValueRef as _};

use super::{DriverError, DriverErrorKind};

/// The columns of a history read, in [`crate::model::HistoryRow`]'s order (see
/// [`super::dialect::history_columns`]), with what godwit expects in each, as the history
/// table's DDL declares it ([`super::dialect::create_history`]).
pub(crate) const COLUMNS: [(&str, &str); 10] = [
    ("installed_rank", "an integer (INTEGER NOT NULL)"),
    ("version", "text or NULL (VARCHAR(50))"),
    ("description", "text (VARCHAR(200) NOT NULL)"),
    ("type", "text (VARCHAR(20) NOT NULL)"),
    ("script", "text (VARCHAR(1000) NOT NULL)"),
    ("checksum", "an integer or NULL (INTEGER)"),
    ("installed_by", "text (VARCHAR(100) NOT NULL)"),
    ("installed_on", "a timestamp (TIMESTAMP NOT NULL)"),
    ("execution_time", "an integer (INTEGER NOT NULL)"),
    ("success", "a boolean (BOOLEAN NOT NULL)"),
];

/// Where a row is: its position in `installed_rank` order, and its rank when that could be read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowAt {
    /// 1-based, in the order of the read.
    pub(crate) position: usize,
    /// The row's `installed_rank`, when it reads as one.
    pub(crate) rank: Option<i64>,
}

impl RowAt {
    /// The error for the value of column `index` of this row: `found` is what it holds
    /// (`NULL`, the column's type, or the kind of value).
    pub(crate) fn bad_value(&self, index: usize, found: &str) -> DriverError {
        let (column, expected) = COLUMNS.get(index).copied().unwrap_or(("?", "?"));
        let row = match self.rank {
            Some(rank) => format!("the row with installed_rank {rank}"),
            None => format!("row {} (in installed_rank order)", self.position),
        };
        DriverError {
            kind: DriverErrorKind::Statement,
            message: format!("{row}, column `{column}`: expected {expected}, found {found}"),
            code: None,
        }
    }

    /// Reads column `index` of a row of a sqlx driver, or says which value could not be read.
    pub(crate) fn get<'r, R, T>(&self, row: &'r R, index: usize) -> Result<T, DriverError>
    where
        R: Row,
        T: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        usize: sqlx::ColumnIndex<R>,
    {
        row.try_get(index).map_err(|e| match e {
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::ColumnNotFound(_) => {
                self.bad_value(index, &found(row, index))
            }
            other => DriverError::from(other),
        })
    }
}

/// What a column of a row holds, for a message: `NULL`, or the column's type as the database
/// names it.
fn found<R>(row: &R, index: usize) -> String
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
{
    let null = row.try_get_raw(index).is_ok_and(|v| v.is_null());
    if null {
        return "NULL".into();
    }
    match row.columns().get(index) {
        Some(column) => column.type_info().name().to_owned(),
        None => "no such column".into(),
    }
}

/// Reads every row with `read`, which gets each row and where it is (its rank read leniently).
pub(crate) fn read_rows<R, T>(
    rows: &[R],
    read: impl Fn(&R, &RowAt) -> Result<T, DriverError>,
) -> Result<Vec<T>, DriverError>
where
    R: Row,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i32: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            let rank = row
                .try_get::<i32, _>(0)
                .map(i64::from)
                .or_else(|_| row.try_get::<i64, _>(0))
                .ok();
            read(
                row,
                &RowAt {
                    position: i + 1,
                    rank,
                },
            )
        })
        .collect()
}

/// Whether a failed history read failed because a column godwit reads does not exist
/// (PostgreSQL 42703, MySQL 1054, SQLite `no such column`).
pub(crate) fn is_missing_column(e: &DriverError) -> bool {
    matches!(e.code.as_deref(), Some(c) if c == "42703" || c.starts_with("1054"))
        || e.message.starts_with("no such column")
}
