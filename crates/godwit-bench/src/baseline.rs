//! The W3 baseline on PostgreSQL and MariaDB/MySQL: the server executing the whole data file
//! sent as one message in one transaction, which is as fast as a client can make a server run a
//! file of statements.
//!
//! PostgreSQL gets the file as one simple-query message; MariaDB/MySQL as one multi-statement
//! `COM_QUERY` (cut at line ends into as few messages as `max_allowed_packet` allows, since the
//! server refuses a bigger one). The whole file is held in memory, as the peers the issue compares
//! with do.
//!
//! SQLite has no server to send a message to: its baseline is the `sqlite3` shell reading the file
//! inside one transaction, SQLite's own prepare-and-step loop over the text. sqlx's multi-statement
//! `raw_sql` is no floor there: it keeps every prepared statement of the text until the end, so a
//! 10 MB file takes seconds and 170 MB (see `docs/benchmarks.md`).

use std::path::Path;
use std::str::FromStr;

use sqlx::{ConnectOptions, Connection, Executor};

use crate::Database;

/// The files of the W3 workload, in the order they apply.
pub const SCHEMA_FILE: &str = "V1__create_bulk_data.sql";
pub const DATA_FILE: &str = "V2__load_bulk_data.sql";

fn read(dir: &Path, name: &str) -> Result<String, String> {
    let path = dir.join(name);
    std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Applies the W3 files in `dir` to the (empty) PostgreSQL or MariaDB/MySQL database at `url`:
/// the schema file, then the data file inside one transaction.
pub async fn w3(db: Database, url: &str, dir: &Path) -> Result<(), String> {
    let schema = read(dir, SCHEMA_FILE)?;
    let data = read(dir, DATA_FILE)?;
    let err = |e: sqlx::Error| format!("W3 baseline on {url}: {e}");
    match db {
        Database::Postgres => {
            let mut c = sqlx::postgres::PgConnectOptions::from_str(url)
                .map_err(err)?
                .disable_statement_logging()
                .connect()
                .await
                .map_err(err)?;
            c.execute(sqlx::raw_sql(&schema)).await.map_err(err)?;
            c.execute("BEGIN").await.map_err(err)?;
            c.execute(sqlx::raw_sql(&data)).await.map_err(err)?;
            c.execute("COMMIT").await.map_err(err)?;
            c.close().await.map_err(err)?;
        }
        Database::MySql => {
            let mut c = sqlx::mysql::MySqlConnectOptions::from_str(url)
                .map_err(err)?
                .disable_statement_logging()
                .connect()
                .await
                .map_err(err)?;
            c.execute(sqlx::raw_sql(&schema)).await.map_err(err)?;
            let max_packet: i64 = sqlx::query_scalar("SELECT CAST(@@max_allowed_packet AS SIGNED)")
                .fetch_one(&mut c)
                .await
                .map_err(err)?;
            // Room for the packet header and the server's own accounting.
            let limit = usize::try_from(max_packet).unwrap_or(usize::MAX / 2) - 1024;
            c.execute("START TRANSACTION").await.map_err(err)?;
            for chunk in chunks_at_line_ends(&data, limit) {
                c.execute(sqlx::raw_sql(chunk)).await.map_err(err)?;
            }
            c.execute("COMMIT").await.map_err(err)?;
            c.close().await.map_err(err)?;
        }
        Database::Sqlite => {
            return Err(
                "the SQLite W3 baseline is the sqlite3 shell, not this process (see docs/benchmarks.md)"
                    .into(),
            );
        }
    }
    Ok(())
}

/// Cuts `text` into pieces of at most `limit` bytes, each ending at a line end (every generated
/// statement is one line). A single line longer than `limit` is one piece on its own.
pub fn chunks_at_line_ends(text: &str, limit: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if rest.len() <= limit {
            pieces.push(rest);
            break;
        }
        let cut = match rest.as_bytes()[..limit].iter().rposition(|&b| b == b'\n') {
            Some(i) => i + 1,
            None => rest.find('\n').map_or(rest.len(), |i| i + 1),
        };
        pieces.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_end_at_line_ends_and_cover_the_text() {
        let text = "a;\nbb;\nccc;\n";
        assert_eq!(chunks_at_line_ends(text, 100), [text]);
        assert_eq!(chunks_at_line_ends(text, 7), ["a;\nbb;\n", "ccc;\n"]);
        assert_eq!(chunks_at_line_ends(text, 2), ["a;\n", "bb;\n", "ccc;\n"]);
        assert_eq!(chunks_at_line_ends("x", 2), ["x"]);
    }
}
