//! What must fit before anything runs: every value godwit writes into the history table, and
//! every identifier it derives for the history table's DDL.
//!
//! A value too long for its column fails only when its row is written, after the migration
//! ran (on MySQL, whose DDL commits as it goes, that left a migration's tables without a
//! history row), and PostgreSQL silently cuts a long name to 63 bytes, so that the names godwit
//! derives from the table's may collide. Both are refused up front instead, as bad
//! configuration or a bad file name: exit 2, nothing written.

use crate::driver::dialect::{self, history_identifiers, identifier_len, identifier_limit};
use crate::driver::{Dialect, HistoryTable};
use crate::error::Error;
use crate::model::Version;

/// The widths of the history table's text columns (Flyway's layout), in characters.
pub(crate) const MAX_VERSION: usize = 50;
pub(crate) const MAX_DESCRIPTION: usize = 200;
pub(crate) const MAX_SCRIPT: usize = 1000;
pub(crate) const MAX_INSTALLED_BY: usize = 100;

/// Why `version` does not fit the history table's `version` column, if it does not.
pub(crate) fn version_too_long(version: &Version) -> Option<String> {
    let len = version.as_str().chars().count();
    (len > MAX_VERSION).then(|| {
        format!(
            "the version `{version}` is {len} characters long; the history table's `version` column holds {MAX_VERSION}"
        )
    })
}

/// Refuses a baseline version that the history table cannot record.
pub(crate) fn check_baseline_version(version: &Version) -> Result<(), Error> {
    match version_too_long(version) {
        None => Ok(()),
        Some(why) => Err(Error::Config(format!(
            "cannot record the baseline: {why}; set a shorter `baseline_version` (or `--baseline-version`)"
        ))),
    }
}

/// Refuses, before anything runs, an `installed_by` the history table cannot hold and a
/// history table (or managed schema) whose names the database would not keep as written.
/// `configured` says whether `installed_by` was set, rather than taken from the database user.
pub(crate) fn check_run(
    dialect: Dialect,
    table: &HistoryTable,
    schemas: &[String],
    installed_by: &str,
    configured: bool,
) -> Result<(), Error> {
    let len = installed_by.chars().count();
    if len > MAX_INSTALLED_BY {
        let what = if configured {
            "`installed_by`".to_string()
        } else {
            format!("the database user `{installed_by}`, recorded as `installed_by`,")
        };
        return Err(Error::Config(format!(
            "{what} is {len} characters long; the history table's `installed_by` column holds {MAX_INSTALLED_BY}: set `installed_by` (in godwit.toml, or GODWIT_INSTALLED_BY) to a name of at most {MAX_INSTALLED_BY} characters"
        )));
    }
    check_identifiers(dialect, table, schemas)
}

/// Refuses history-table and schema names the dialect would cut or refuse.
pub(crate) fn check_identifiers(
    dialect: Dialect,
    table: &HistoryTable,
    schemas: &[String],
) -> Result<(), Error> {
    let Some((limit, unit)) = identifier_limit(dialect) else {
        return Ok(());
    };
    let database = match dialect {
        Dialect::Postgres => "PostgreSQL",
        _ => "MySQL",
    };
    for schema in schemas {
        let len = identifier_len(dialect, schema);
        if len > limit {
            return Err(Error::Config(format!(
                "the schema name `{schema}` is {len} {unit} long; {database} names are at most {limit} {unit}: choose a shorter name in `schemas`"
            )));
        }
    }
    for (what, name) in history_identifiers(table) {
        let len = identifier_len(dialect, &name);
        if len <= limit {
            continue;
        }
        let message = match what {
            "schema" => format!(
                "the schema name `{name}` of the history table `{table}` is {len} {unit} long; {database} names are at most {limit} {unit}: choose a shorter schema in `table` (`--table`, GODWIT_TABLE)"
            ),
            _ => {
                // The longest table name whose derived names all fit.
                let longest_suffix = [dialect::primary_key_name, dialect::index_name]
                    .iter()
                    .map(|derive| {
                        identifier_len(dialect, &derive(table))
                            .saturating_sub(identifier_len(dialect, &table.name))
                    })
                    .max()
                    .unwrap_or(0);
                let fits = limit.saturating_sub(longest_suffix);
                let needs = if what == "table" {
                    format!("the history table name `{name}` is {len} {unit} long")
                } else {
                    format!(
                        "the history table `{table}` needs the {what} name `{name}`, {len} {unit} long"
                    )
                };
                format!(
                    "{needs}; {database} names are at most {limit} {unit}: choose a history table name (`table`, `--table`, GODWIT_TABLE) of at most {fits} {unit}"
                )
            }
        };
        return Err(Error::Config(message));
    }
    Ok(())
}
