//! Writes the workloads' migration files, and the scripts that make each database's client run
//! the same files the way godwit does.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::Database;

/// One generated versioned migration, with what its history row records.
#[derive(Debug, Clone)]
pub struct MigrationFile {
    pub path: PathBuf,
    pub version: usize,
    pub description: String,
    pub script: String,
    pub checksum: i32,
}

/// The table a small migration creates.
pub fn small_table(version: usize) -> String {
    format!("bench_t{version}")
}

/// `count` small migrations, `V1__create_bench_t1.sql` …, each creating a table and inserting
/// one row into it.
pub fn small_migrations(dir: &Path, count: usize) -> Result<Vec<MigrationFile>, String> {
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut files = Vec::with_capacity(count);
    for version in 1..=count {
        let table = small_table(version);
        let script = format!("V{version}__create_{table}.sql");
        let text = format!(
            "-- Migration {version} of the W1/W2/W4 workloads: a table and a row.\n\
             CREATE TABLE {table} (\n    id INTEGER NOT NULL PRIMARY KEY,\n    name VARCHAR(100) NOT NULL\n);\n\
             INSERT INTO {table} (id, name) VALUES (1, 'row of migration {version}');\n"
        );
        let path = dir.join(&script);
        fs::write(&path, &text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        files.push(MigrationFile {
            path,
            version,
            description: format!("create {}", table.replace('_', " ")),
            script,
            checksum: flyway_checksum(&text),
        });
    }
    Ok(files)
}

/// The W3 data migration: `V1__create_bulk_data.sql` creates the table, `V2__load_bulk_data.sql`
/// holds single-row `INSERT`s up to at least `bytes`. Returns the number of rows.
pub fn bulk_data(dir: &Path, bytes: u64) -> Result<u64, String> {
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let schema = dir.join("V1__create_bulk_data.sql");
    fs::write(
        &schema,
        "CREATE TABLE bulk_data (\n    id BIGINT NOT NULL PRIMARY KEY,\n    name VARCHAR(100) NOT NULL,\n    payload VARCHAR(255) NOT NULL\n);\n",
    )
    .map_err(|e| format!("cannot write {}: {e}", schema.display()))?;
    let data = dir.join("V2__load_bulk_data.sql");
    let file = File::create(&data).map_err(|e| format!("cannot write {}: {e}", data.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut written: u64 = 0;
    let mut rows: u64 = 0;
    // A cheap deterministic generator (xorshift), so that payloads differ from row to row.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut line = String::with_capacity(256);
    while written < bytes {
        rows += 1;
        line.clear();
        line.push_str("INSERT INTO bulk_data (id, name, payload) VALUES (");
        line.push_str(&rows.to_string());
        line.push_str(", 'row ");
        line.push_str(&rows.to_string());
        line.push_str("', '");
        for _ in 0..8 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            line.push_str(&format!("{state:016x}"));
        }
        line.push_str("');\n");
        out.write_all(line.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", data.display()))?;
        written += line.len() as u64;
    }
    out.flush()
        .map_err(|e| format!("cannot write {}: {e}", data.display()))?;
    Ok(rows)
}

/// The history table as godwit creates it (Flyway's layout), in the dialect's SQL.
pub fn history_ddl(db: Database) -> String {
    let (timestamp, now, boolean, suffix) = match db {
        Database::Postgres => ("TIMESTAMP", "now()", "BOOLEAN", ""),
        Database::MySql => (
            "TIMESTAMP",
            "CURRENT_TIMESTAMP",
            "TINYINT(1)",
            " ENGINE=InnoDB",
        ),
        Database::Sqlite => (
            "TEXT",
            "(strftime('%Y-%m-%d %H:%M:%f','now'))",
            "BOOLEAN",
            "",
        ),
    };
    let q = |s: &str| quote_ident(db, s);
    format!(
        "CREATE TABLE {t} (\n    {rank} INTEGER NOT NULL,\n    {version} VARCHAR(50),\n    {description} VARCHAR(200) NOT NULL,\n    {kind} VARCHAR(20) NOT NULL,\n    {script} VARCHAR(1000) NOT NULL,\n    {checksum} INTEGER,\n    {by} VARCHAR(100) NOT NULL,\n    {on} {timestamp} NOT NULL DEFAULT {now},\n    {time} INTEGER NOT NULL,\n    {success} {boolean} NOT NULL,\n    CONSTRAINT {pk} PRIMARY KEY ({rank})\n){suffix};\nCREATE INDEX {idx} ON {t} ({success});\n",
        t = q(HISTORY_TABLE),
        rank = q("installed_rank"),
        version = q("version"),
        description = q("description"),
        kind = q("type"),
        script = q("script"),
        checksum = q("checksum"),
        by = q("installed_by"),
        on = q("installed_on"),
        time = q("execution_time"),
        success = q("success"),
        pk = q(&format!("{HISTORY_TABLE}_pk")),
        idx = q(&format!("{HISTORY_TABLE}_s_idx")),
    )
}

/// godwit's default history table.
pub const HISTORY_TABLE: &str = "godwit_schema_history";

pub fn quote_ident(db: Database, ident: &str) -> String {
    match db {
        Database::MySql => format!("`{ident}`"),
        Database::Postgres | Database::Sqlite => format!("\"{ident}\""),
    }
}

/// The start of a multi-row `INSERT` into the history table; rows come from [`history_values`].
pub fn history_insert_head(db: Database) -> String {
    let q = |s: &str| quote_ident(db, s);
    format!(
        "INSERT INTO {} ({}, {}, {}, {}, {}, {}, {}, {}, {}) VALUES ",
        q(HISTORY_TABLE),
        q("installed_rank"),
        q("version"),
        q("description"),
        q("type"),
        q("script"),
        q("checksum"),
        q("installed_by"),
        q("execution_time"),
        q("success"),
    )
}

/// One history row for a successfully applied migration, as a `VALUES` tuple. The generated
/// names hold no quotes or backslashes, so they go in literally.
pub fn history_values(db: Database, rank: usize, file: &MigrationFile) -> String {
    let success = match db {
        Database::Postgres => "TRUE",
        Database::MySql | Database::Sqlite => "1",
    };
    format!(
        "({rank}, '{}', '{}', 'SQL', '{}', {}, 'bench', 0, {success})",
        file.version, file.description, file.script, file.checksum
    )
}

/// The script the database's own client runs for the W1 baseline: create the history table, then
/// for each file, in one session: begin, the file itself (read by the client), the history row,
/// commit.
pub fn w1_client_script(db: Database, files: &[MigrationFile], path: &Path) -> Result<(), String> {
    let mut s = String::new();
    if db == Database::Postgres {
        s.push_str("\\set ON_ERROR_STOP 1\n");
    }
    s.push_str(&history_ddl(db));
    let head = history_insert_head(db);
    for (i, f) in files.iter().enumerate() {
        let file = f.path.display().to_string();
        if file.chars().any(|c| c.is_whitespace() || c == '\'') {
            return Err(format!(
                "the work directory {} must not contain spaces or quotes (the clients' include commands take bare paths)",
                file
            ));
        }
        match db {
            Database::Postgres => {
                s.push_str("BEGIN;\n\\i '");
                s.push_str(&file);
                s.push_str("'\n");
            }
            Database::MySql => {
                s.push_str("START TRANSACTION;\nsource ");
                s.push_str(&file);
                s.push('\n');
            }
            Database::Sqlite => {
                s.push_str("BEGIN;\n.read '");
                s.push_str(&file);
                s.push_str("'\n");
            }
        }
        s.push_str(&head);
        s.push_str(&history_values(db, i + 1, f));
        s.push_str(";\nCOMMIT;\n");
    }
    fs::write(path, s).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Flyway's checksum of a text: the one implementation, `godwit_sql::checksum`, the same
/// numbers godwit and Flyway compute.
pub fn flyway_checksum(text: &str) -> i32 {
    godwit_sql::checksum::checksum_str(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_ignores_line_terminators() {
        assert_eq!(flyway_checksum("a\nb\n"), flyway_checksum("ab"));
        assert_eq!(flyway_checksum("a\r\nb"), flyway_checksum("a\nb"));
    }
}
