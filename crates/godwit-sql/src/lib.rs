//! Dialect-aware SQL handling for godwit: statement splitting, placeholder substitution,
//! detection of statements that cannot run inside a transaction or that control transactions,
//! and Flyway's checksum ([`checksum`]).
//!
//! A migration file is a script, but databases take one statement at a time (MySQL refuses
//! multi-statement strings by default), so godwit must cut each file into statements exactly
//! where the database's own command-line client would. That means understanding every construct
//! that may contain a `;` without ending the statement.
//!
//! The crate is pure: it reads from any [`std::io::BufRead`], does no other I/O, never panics on
//! any input and holds at most one statement in memory, so that very large data files split in
//! bounded memory.
//!
//! ```
//! use godwit_sql::{split_str, Dialect};
//!
//! let script = "CREATE TABLE t (x text);\nINSERT INTO t VALUES ('a;b');";
//! let statements = split_str(script, Dialect::Postgres)?;
//! assert_eq!(statements.len(), 2);
//! assert_eq!(statements[1].sql, "INSERT INTO t VALUES ('a;b')");
//! assert_eq!(statements[1].line, 2);
//! # Ok::<(), godwit_sql::SplitError>(())
//! ```
//!
//! # Splitting rules
//!
//! A statement ends at the delimiter (`;`, or the MySQL `DELIMITER` in force) found outside
//! every construct below; a last statement without a delimiter still counts. Comments before a
//! statement's first token are not part of it, so its text starts on the line it reports;
//! comments inside it are kept. Line endings may be `\n`, `\r\n` or `\r`, and a leading BOM is
//! ignored.
//!
//! - **Every dialect**: `'...'` strings with `''` for a quote, `--` line comments and `/* */`
//!   block comments.
//! - **PostgreSQL**, like psql: `"..."` identifiers; `E'...'` strings with backslash escapes;
//!   nested block comments; dollar quotes `$$...$$` and `$tag$...$tag$` (but not `$1`);
//!   `BEGIN ATOMIC ... END` bodies of SQL functions and procedures, inside which `CASE ... END`
//!   nests; and parentheses, inside which psql does not split either (multi-action rules such
//!   as `CREATE RULE ... DO ALSO (...; ...)`). `/*+ ... */` hints stay part of the statement.
//!   A `COPY ... FROM STDIN` is followed by its data, as psql reads it: the lines after the
//!   statement's line up to one that is exactly `\.` (or the end of the script), yielded in
//!   bounded chunks (see [`StatementKind`]); the rest of the statement's own line is read after
//!   the data.
//! - **MySQL and MariaDB**, like the mysql client: `"..."` strings; backslash escapes in
//!   strings; `` `...` `` identifiers; `#` comments; `--` starts a comment only when followed by
//!   whitespace or a control character; `/*! ... */`, `/*M! ... */` and `/*+ ... */` are part of
//!   the statement, since the server executes them. `DELIMITER xx` at the start of a statement
//!   sets the delimiter to the first word after it until the next `DELIMITER` (`DELIMITER ;`
//!   restores the default); the directive itself is never sent. Without `DELIMITER`, the body of
//!   `CREATE [DEFINER = ...] PROCEDURE | FUNCTION | TRIGGER | EVENT` is also understood: `BEGIN`
//!   and `CASE` open blocks that `END` and `END CASE` close (`END IF`, `END LOOP`, `END WHILE`,
//!   `END REPEAT` and `END FOR` close nothing), and so does MariaDB's `BEGIN NOT ATOMIC`.
//! - **SQLite**: `"..."`, `` `...` `` and `[...]` identifiers; no backslash escapes; block
//!   comments do not nest; in `CREATE [TEMP] TRIGGER`, `BEGIN` and `CASE` open blocks that `END`
//!   closes.
//!
//! Keywords are whole words in any case, and never a word that follows `.` or `@` (`new.end`,
//! `@end`).
//! Outside routine and trigger bodies, `BEGIN;`, `COMMIT;` and `END;` are ordinary statements.
//! A file that ends inside a string, identifier, comment, dollar quote or block is an
//! [`SplitError::Unterminated`] naming the line where the construct starts.
//! A NUL byte anywhere (also in a placeholder's value) is a [`SplitError::NulByte`] naming its
//! line: no database takes one in SQL text.

pub mod checksum;
mod dialect;
mod directives;
mod error;
mod lexer;
mod lines;
mod placeholders;
mod splitter;
mod transaction;

pub use checksum::{checksum_reader, checksum_str, LineChecksum};
pub use dialect::Dialect;
pub use directives::{leading_directives, Directive, BREAKING_DIRECTIVE};
pub use error::SplitError;
pub use placeholders::{missing_placeholders, Placeholders};
pub use splitter::{split_str, Splitter, Statement, StatementKind, COPY_CHUNK_BYTES};
pub use transaction::{
    commits_implicitly, has_no_transaction_directive, is_copy_from_stdin, is_non_transactional,
    is_transaction_control,
};

#[cfg(test)]
mod tests;
