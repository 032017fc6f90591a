/// The SQL dialect a script is written in.
///
/// Splitting rules differ between databases (which quotes delimit strings, whether comments nest,
/// which constructs contain their own semicolons), so every entry point takes the dialect of the
/// database the statements will be sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// PostgreSQL: dollar quotes, nested block comments, `E'...'` strings, `BEGIN ATOMIC` bodies.
    Postgres,
    /// MySQL and MariaDB: backslash escapes, `#` comments, `DELIMITER`, stored-program bodies.
    MySql,
    /// SQLite: `[ident]` identifiers and `CREATE TRIGGER ... BEGIN ... END` bodies.
    Sqlite,
}
