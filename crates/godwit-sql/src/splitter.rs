//! Splitting a script into the statements sent to the database one by one.

use std::borrow::Cow;
use std::io::BufRead;

use crate::lexer::Lexer;
use crate::lines::LineReader;
use crate::{Dialect, Placeholders, SplitError};

/// One statement of a script, ready to be sent to the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement text as sent to the database: without its terminating delimiter (`;` or
    /// the MySQL `DELIMITER` in force) and without surrounding whitespace, lines joined with
    /// `\n`. Comments inside it are kept; comments before its first token are not, so that
    /// the text starts at [`Statement::line`] and a position the database reports in it maps
    /// back onto the file. Statements made only of whitespace and comments are never yielded,
    /// because MySQL rejects empty queries.
    pub sql: String,
    /// The 1-based line of the original file where the statement's first token (its first
    /// character that is neither whitespace nor part of a comment) starts.
    pub line: u32,
    /// Whether this statement cannot run inside a transaction; see
    /// [`is_non_transactional`](crate::is_non_transactional).
    pub non_transactional: bool,
}

/// Splits a script into statements as it reads it.
///
/// The script is read line by line, and only the statement being assembled is held in memory,
/// so a data migration of hundreds of megabytes of single-row `INSERT`s splits in memory
/// bounded by its largest statement. Statements are yielded in order; after an error the
/// iterator yields nothing more, because the lexer's position in the script is then unknown.
///
/// ```
/// use godwit_sql::{Dialect, Placeholders, Splitter};
///
/// let script = "CREATE SCHEMA ${schema};\nCREATE TABLE ${schema}.t (x int);\n";
/// let mut placeholders = Placeholders::new();
/// placeholders.insert("schema", "app");
/// let statements: Vec<_> = Splitter::new(script.as_bytes(), Dialect::Postgres)
///     .with_placeholders(placeholders)
///     .collect::<Result<_, _>>()?;
/// assert_eq!(statements[1].sql, "CREATE TABLE app.t (x int)");
/// # Ok::<(), godwit_sql::SplitError>(())
/// ```
pub struct Splitter<R> {
    lines: LineReader<R>,
    placeholders: Option<Placeholders>,
    lexer: Lexer,
    /// The current line, after placeholder replacement.
    line: Vec<u8>,
    /// How far `line` has been lexed.
    pos: usize,
    /// Whether the lexer has yet to see the end of `line`. This differs from `pos` having
    /// reached its length: the lexer must also be told that the line ended, even when it is
    /// empty or ends right after a statement, to join it to the next one with `\n`.
    line_pending: bool,
    line_no: u32,
    done: bool,
}

impl<R: BufRead> Splitter<R> {
    /// A splitter over `reader` for `dialect`, replacing no placeholders: `${...}` is sent to
    /// the database as written. Call [`Splitter::with_placeholders`] to replace them.
    pub fn new(reader: R, dialect: Dialect) -> Self {
        Splitter {
            lines: LineReader::new(reader),
            placeholders: None,
            lexer: Lexer::new(dialect),
            line: Vec::new(),
            pos: 0,
            line_pending: false,
            line_no: 0,
            done: false,
        }
    }

    /// Replaces `${name}` placeholders with their values before lexing, as Flyway does; a
    /// placeholder without a value stops the split with [`SplitError::MissingPlaceholder`].
    ///
    /// Replacement happens on each raw line, so a value may contain delimiters (they split
    /// statements) and line breaks; line numbers still refer to the original file.
    #[must_use]
    pub fn with_placeholders(mut self, placeholders: Placeholders) -> Self {
        self.placeholders = Some(placeholders);
        self
    }

    fn advance(&mut self) -> Option<Result<Statement, SplitError>> {
        loop {
            if self.line_pending {
                if let Some(statement) = self.lexer.scan(&self.line, &mut self.pos, self.line_no) {
                    return Some(Ok(statement));
                }
                self.line_pending = false;
            }
            match self.lines.read_line(&mut self.line) {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return self.lexer.finish();
                }
                Err(source) => {
                    return Some(Err(SplitError::Io {
                        line: self.lines.line_no().saturating_add(1),
                        source,
                    }))
                }
            }
            self.line_no = self.lines.line_no();
            self.pos = 0;
            self.line_pending = true;
            if let Err(e) = self.prepare_line() {
                return Some(Err(e));
            }
        }
    }

    /// Checks the encoding of the line just read (UTF-8, no NUL byte) and replaces its
    /// placeholders (whose values may not bring in a NUL byte either).
    fn prepare_line(&mut self) -> Result<(), SplitError> {
        let line_no = self.line_no;
        let Ok(text) = std::str::from_utf8(&self.line) else {
            return Err(SplitError::InvalidUtf8 { line: line_no });
        };
        if memchr::memchr(0, text.as_bytes()).is_some() {
            return Err(SplitError::NulByte { line: line_no });
        }
        let Some(placeholders) = &self.placeholders else {
            return Ok(());
        };
        let replaced = match placeholders.replace_line(text) {
            Ok(Cow::Borrowed(_)) => return Ok(()),
            Ok(Cow::Owned(replaced)) => replaced,
            Err(name) => {
                return Err(SplitError::MissingPlaceholder {
                    line: line_no,
                    name,
                })
            }
        };
        if memchr::memchr(0, replaced.as_bytes()).is_some() {
            return Err(SplitError::NulByte { line: line_no });
        }
        self.line = replaced.into_bytes();
        Ok(())
    }

    /// The same splitter without the lexer's fast path, for tests that compare both.
    #[cfg(test)]
    pub(crate) fn without_fast_path(mut self) -> Self {
        self.lexer = self.lexer.without_fast_path();
        self
    }

    /// Bytes of memory the splitter's own buffers hold, for tests of bounded memory.
    #[cfg(test)]
    pub(crate) fn buffered_capacity(&self) -> usize {
        self.line.capacity() + self.lexer.buffer_capacity()
    }
}

impl<R: BufRead> Iterator for Splitter<R> {
    type Item = Result<Statement, SplitError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.advance();
        if !matches!(next, Some(Ok(_))) {
            self.done = true;
        }
        next
    }
}

/// Splits a whole script held in memory; see [`Splitter`].
///
/// # Errors
///
/// The first [`SplitError`] met; no statement is returned then, because a script that cannot
/// be split must not run in part.
pub fn split_str(text: &str, dialect: Dialect) -> Result<Vec<Statement>, SplitError> {
    Splitter::new(text.as_bytes(), dialect).collect()
}
