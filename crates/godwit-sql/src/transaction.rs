//! Recognising statements that cannot run inside a transaction.

use crate::lexer::is_space;
use crate::Dialect;

/// Whether `sql` is a statement that the database refuses to run inside a transaction block.
///
/// godwit runs each migration in a transaction so that a failure leaves no trace, but some
/// statements fail outright inside one; a file made of such statements must run without a
/// transaction, and a file mixing them with others deserves an error before anything runs.
///
/// - PostgreSQL: `CREATE [UNIQUE] INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`,
///   `REINDEX ... CONCURRENTLY` (with or without an option list, in the old and new word
///   orders), `REINDEX SCHEMA | DATABASE | SYSTEM`, `VACUUM` in any form, `CREATE DATABASE`,
///   `DROP DATABASE`, `ALTER DATABASE ... SET TABLESPACE`, `CREATE TABLESPACE`,
///   `DROP TABLESPACE`, `ALTER SYSTEM`, `CLUSTER` without a table, `CREATE SUBSCRIPTION`,
///   `DROP SUBSCRIPTION` and `ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY`.
///   `ALTER TYPE ... ADD VALUE` is allowed in a transaction since PostgreSQL 12, so it is not
///   listed.
/// - SQLite: `VACUUM`, including `VACUUM INTO`.
/// - MySQL: never, since DDL commits implicitly there anyway.
///
/// Comments before the statement are skipped, keywords are compared case-insensitively and
/// may be separated by any whitespace or comments.
pub fn is_non_transactional(dialect: Dialect, sql: &str) -> bool {
    let mut tokens = Tokens::new(sql, dialect);
    match dialect {
        Dialect::MySql => false,
        Dialect::Sqlite => tokens.word_is("VACUUM"),
        Dialect::Postgres => postgres_non_transactional(tokens),
    }
}

fn postgres_non_transactional(mut tokens: Tokens<'_>) -> bool {
    let Some(first) = tokens.word() else {
        return false;
    };
    if is(first, "VACUUM") {
        true
    } else if is(first, "CREATE") || is(first, "DROP") {
        let mut object = tokens.word();
        if is_some(object, "UNIQUE") && is(first, "CREATE") {
            object = tokens.word();
        }
        match object {
            Some(object) if is(object, "INDEX") => tokens.word_is("CONCURRENTLY"),
            Some(object) => ["DATABASE", "TABLESPACE", "SUBSCRIPTION"]
                .iter()
                .any(|keyword| is(object, keyword)),
            None => false,
        }
    } else if is(first, "REINDEX") {
        tokens.skip_parenthesized();
        match tokens.word() {
            Some(kind) if is(kind, "INDEX") || is(kind, "TABLE") => tokens.word_is("CONCURRENTLY"),
            Some(kind) => ["SCHEMA", "DATABASE", "SYSTEM"]
                .iter()
                .any(|keyword| is(kind, keyword)),
            None => false,
        }
    } else if is(first, "ALTER") {
        match tokens.word() {
            Some(object) if is(object, "SYSTEM") => true,
            Some(object) if is(object, "DATABASE") => {
                tokens.skip_name();
                tokens.word_is("SET") && tokens.word_is("TABLESPACE")
            }
            Some(object) if is(object, "TABLE") => detaches_concurrently(tokens),
            _ => false,
        }
    } else if is(first, "CLUSTER") {
        // `CLUSTER [VERBOSE]` and `CLUSTER (options)` with no table process every table,
        // which PostgreSQL refuses inside a transaction.
        loop {
            tokens.skip_parenthesized();
            match tokens.peek() {
                Token::Word(word) if is(word, "VERBOSE") => {
                    tokens.next();
                }
                Token::End => return true,
                _ => return false,
            }
        }
    } else {
        false
    }
}

/// `ALTER TABLE ... DETACH PARTITION name CONCURRENTLY`, with the rest of the `ALTER TABLE`
/// already consumed up to the table name.
fn detaches_concurrently(mut tokens: Tokens<'_>) -> bool {
    loop {
        match tokens.next() {
            Token::End => return false,
            Token::Word(word) if is(word, "DETACH") => {
                if !tokens.word_is("PARTITION") {
                    return false;
                }
                tokens.skip_name();
                return tokens.word_is("CONCURRENTLY");
            }
            _ => {}
        }
    }
}

/// Whether `sql` is a statement that controls transactions: one that would end, restart or
/// split the transaction godwit runs a migration in, so that a failure after it could no
/// longer be rolled back and the history would not describe the database.
///
/// - PostgreSQL: `BEGIN`, `START TRANSACTION`, `COMMIT` (also `COMMIT PREPARED`, `COMMIT AND
///   CHAIN`), `END`, `ROLLBACK` (also `ROLLBACK TO SAVEPOINT`, `ROLLBACK PREPARED`), `ABORT`,
///   `SAVEPOINT`, `RELEASE [SAVEPOINT]` and `PREPARE TRANSACTION`.
/// - SQLite: `BEGIN`, `COMMIT`, `END`, `ROLLBACK`, `SAVEPOINT` and `RELEASE`.
/// - MySQL and MariaDB: `BEGIN` (but not MariaDB's anonymous block `BEGIN NOT ATOMIC ... END`),
///   `START TRANSACTION`, `COMMIT`, `ROLLBACK`, `SAVEPOINT`, `RELEASE SAVEPOINT`, `XA ...` and
///   `SET autocommit = ...` in any of its forms (`SET SESSION autocommit`, `SET @@autocommit`,
///   one assignment of a list), also inside an executable comment `/*! ... */`.
///
/// Only the statement's own first words count: a `BEGIN ... END` inside a routine, trigger,
/// `DO` block or dollar-quoted body belongs to a statement that starts with `CREATE` or `DO`,
/// and the words in strings, comments and identifiers (`end`, `@autocommit`) are not keywords.
pub fn is_transaction_control(dialect: Dialect, sql: &str) -> bool {
    let mut tokens = Tokens::new(sql, dialect);
    let Some(first) = tokens.word() else {
        return false;
    };
    let any = |keywords: &[&str]| keywords.iter().any(|keyword| is(first, keyword));
    match dialect {
        Dialect::Postgres => {
            if any(&[
                "BEGIN",
                "COMMIT",
                "END",
                "ROLLBACK",
                "ABORT",
                "SAVEPOINT",
                "RELEASE",
            ]) {
                true
            } else if is(first, "START") {
                tokens.word_is("TRANSACTION")
            } else if is(first, "PREPARE") {
                // `PREPARE TRANSACTION 'id'`, not a prepared statement named `transaction`.
                tokens.word_is("TRANSACTION")
                    && !matches!(tokens.peek(), Token::Punct(b'(') | Token::End)
                    && !tokens.word_is("AS")
            } else {
                false
            }
        }
        Dialect::Sqlite => any(&["BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"]),
        Dialect::MySql => {
            if any(&["COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "XA"]) {
                true
            } else if is(first, "BEGIN") {
                !(tokens.word_is("NOT") && tokens.word_is("ATOMIC"))
            } else if is(first, "START") {
                tokens.word_is("TRANSACTION")
            } else if is(first, "SET") {
                sets_autocommit(tokens)
            } else {
                false
            }
        }
    }
}

/// Whether a MySQL statement commits the open transaction by itself (an implicit commit): DDL
/// (`CREATE`, `ALTER`, `DROP`, `RENAME`, `TRUNCATE`) other than on temporary tables. Its words
/// are read as the other classifiers read them (comments skipped, executable comments read).
pub fn commits_implicitly(sql: &str) -> bool {
    let mut tokens = Tokens::new(sql, Dialect::MySql);
    let Some(first) = tokens.word() else {
        return false;
    };
    if !["CREATE", "ALTER", "DROP", "RENAME", "TRUNCATE"]
        .iter()
        .any(|keyword| is(first, keyword))
    {
        return false;
    }
    // `CREATE [OR REPLACE] TEMPORARY TABLE`, `DROP TEMPORARY TABLE` do not commit.
    for _ in 0..3 {
        match tokens.word() {
            Some(word) if is(word, "TEMPORARY") => return false,
            Some(_) => {}
            None => break,
        }
    }
    true
}

/// Whether the rest of a MySQL `SET` statement assigns the `autocommit` system variable:
/// `autocommit`, `SESSION autocommit`, `@@autocommit` or `@@session.autocommit` followed by
/// `=` or `:=`, first or after a `,` of the assignment list. `@autocommit` is a user variable.
fn sets_autocommit(mut tokens: Tokens<'_>) -> bool {
    // The two tokens before the current one, nearest last.
    let mut before = [Token::Punct(b','), Token::Punct(b',')];
    let mut depth = 0u32;
    loop {
        let token = tokens.next();
        match token {
            Token::End => return false,
            Token::Punct(b'(') => depth = depth.saturating_add(1),
            Token::Punct(b')') => depth = depth.saturating_sub(1),
            Token::Word(word) if depth == 0 && is(word, "autocommit") => {
                let target = match before {
                    [_, Token::Punct(b',')] => true,
                    [Token::Punct(b'@'), Token::Punct(b'@')] => true,
                    [_, Token::Punct(b'.')] => true,
                    [_, Token::Word(scope)] => ["SESSION", "LOCAL", "GLOBAL", "PERSIST"]
                        .iter()
                        .any(|keyword| is(scope, keyword)),
                    _ => false,
                };
                let assigned = matches!(tokens.peek(), Token::Punct(b'=' | b':'));
                if target && assigned {
                    return true;
                }
            }
            _ => {}
        }
        before = [before[1], token];
    }
}

/// Whether the file whose first line is `first_line` asks to run without a transaction with
/// the directive `-- godwit:no-transaction`.
///
/// This is the escape hatch for statements [`is_non_transactional`] does not recognise. A BOM,
/// surrounding whitespace and case are ignored, and the space after `--` is optional. Nothing
/// else may follow the directive on the line, so that a near miss such as
/// `-- godwit:no-transactions` is not silently taken for it.
pub fn has_no_transaction_directive(first_line: &str) -> bool {
    let line = first_line.strip_prefix('\u{feff}').unwrap_or(first_line);
    line.trim().strip_prefix("--").is_some_and(|rest| {
        rest.trim_start()
            .eq_ignore_ascii_case("godwit:no-transaction")
    })
}

fn is(word: &[u8], keyword: &str) -> bool {
    word.eq_ignore_ascii_case(keyword.as_bytes())
}

fn is_some(word: Option<&[u8]>, keyword: &str) -> bool {
    word.is_some_and(|word| is(word, keyword))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    Word(&'a [u8]),
    /// A string literal or quoted identifier.
    Quoted,
    Punct(u8),
    /// The end of the text or a `;`.
    End,
}

/// Just enough of a tokenizer to read the first words of a statement.
#[derive(Debug, Clone)]
struct Tokens<'a> {
    text: &'a [u8],
    pos: usize,
    dialect: Dialect,
    /// Inside a MySQL executable comment (`/*! ... */`, `/*M! ... */`), whose text the server
    /// runs: its words are read, and its closing `*/` skipped.
    executable: bool,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str, dialect: Dialect) -> Self {
        Tokens {
            text: text.as_bytes(),
            pos: 0,
            dialect,
            executable: false,
        }
    }

    fn next(&mut self) -> Token<'a> {
        let text = self.text;
        loop {
            let Some(&b) = text.get(self.pos) else {
                return Token::End;
            };
            let next = text.get(self.pos + 1).copied();
            match b {
                b';' => return Token::End,
                b'-' if next == Some(b'-') => self.skip_line(),
                b'#' if self.dialect == Dialect::MySql => self.skip_line(),
                b'/' if next == Some(b'*') && self.dialect == Dialect::MySql => {
                    let marker = match (text.get(self.pos + 2), text.get(self.pos + 3)) {
                        (Some(b'!'), _) => Some(3),
                        (Some(b'M'), Some(b'!')) => Some(4),
                        _ => None,
                    };
                    match marker {
                        Some(len) if !self.executable => {
                            // `/*!40101 SET ... */`: the version number is not a word.
                            self.pos += len;
                            while text.get(self.pos).is_some_and(u8::is_ascii_digit) {
                                self.pos += 1;
                            }
                            self.executable = true;
                        }
                        _ => self.skip_block_comment(),
                    }
                }
                b'*' if next == Some(b'/') && self.executable => {
                    self.pos += 2;
                    self.executable = false;
                }
                b'/' if next == Some(b'*') => self.skip_block_comment(),
                b'\'' | b'"' | b'`' => {
                    self.skip_quoted(b);
                    return Token::Quoted;
                }
                b if b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80 => {
                    let start = self.pos;
                    let len = text
                        .get(start..)
                        .unwrap_or_default()
                        .iter()
                        .take_while(|&&b| {
                            b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
                        })
                        .count();
                    self.pos = start + len;
                    return Token::Word(text.get(start..self.pos).unwrap_or_default());
                }
                b if is_space(b) => self.pos += 1,
                b => {
                    self.pos += 1;
                    return Token::Punct(b);
                }
            }
        }
    }

    fn peek(&self) -> Token<'a> {
        self.clone().next()
    }

    fn word(&mut self) -> Option<&'a [u8]> {
        match self.next() {
            Token::Word(word) => Some(word),
            _ => None,
        }
    }

    fn word_is(&mut self, keyword: &str) -> bool {
        is_some(self.word(), keyword)
    }

    /// Skips a possibly qualified, possibly quoted name such as `"my schema".t`.
    fn skip_name(&mut self) {
        self.next();
        while self.peek() == Token::Punct(b'.') {
            self.next();
            self.next();
        }
    }

    /// Skips a parenthesized option list, if one comes next.
    fn skip_parenthesized(&mut self) {
        if self.peek() != Token::Punct(b'(') {
            return;
        }
        let mut depth = 0u32;
        loop {
            match self.next() {
                Token::Punct(b'(') => depth = depth.saturating_add(1),
                Token::Punct(b')') => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return;
                    }
                }
                Token::End => return,
                _ => {}
            }
        }
    }

    fn skip_line(&mut self) {
        while let Some(&b) = self.text.get(self.pos) {
            self.pos += 1;
            if b == b'\n' || b == b'\r' {
                return;
            }
        }
    }

    fn skip_block_comment(&mut self) {
        let nests = self.dialect == Dialect::Postgres;
        let mut depth = 0u32;
        while let Some(&b) = self.text.get(self.pos) {
            let next = self.text.get(self.pos + 1).copied();
            match (b, next) {
                (b'/', Some(b'*')) if nests || depth == 0 => {
                    depth = depth.saturating_add(1);
                    self.pos += 2;
                }
                (b'*', Some(b'/')) => {
                    self.pos += 2;
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return;
                    }
                }
                _ => self.pos += 1,
            }
        }
    }

    fn skip_quoted(&mut self, quote: u8) {
        self.pos += 1;
        while let Some(&b) = self.text.get(self.pos) {
            self.pos += 1;
            if b == quote {
                if self.text.get(self.pos) == Some(&quote) {
                    self.pos += 1;
                } else {
                    return;
                }
            }
        }
    }
}

/// Whether `sql` (one PostgreSQL statement) is `COPY <table> FROM STDIN`, whose rows follow on
/// the client's copy protocol: inline in the script, as `psql` reads them (see
/// [`StatementKind`](crate::StatementKind)).
pub fn is_copy_from_stdin(sql: &str) -> bool {
    // Nearly every statement is not a COPY: decide that without allocating.
    let starts_with_copy = sql.get(..4).is_some_and(|w| w.eq_ignore_ascii_case("copy"))
        && sql[4..].starts_with(|c: char| c.is_whitespace());
    if !starts_with_copy {
        return false;
    }
    let words: Vec<String> = sql
        .split_whitespace()
        .take(64)
        .map(|w| w.to_ascii_uppercase())
        .collect();
    words.first().is_some_and(|w| w == "COPY")
        && words
            .windows(2)
            .any(|p| p[0] == "FROM" && p[1].trim_end_matches(';').starts_with("STDIN"))
}
