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
    /// What this item is: SQL, or a PostgreSQL `COPY ... FROM STDIN` and the data that
    /// follows it inline.
    pub kind: StatementKind,
}

/// What a [`Statement`] yielded by the [`Splitter`] holds.
///
/// PostgreSQL scripts may carry the data of a `COPY ... FROM STDIN` inline, as `psql` reads
/// them: the lines after the statement, up to a line that is exactly `\.` (or the end of the
/// script). The splitter yields the statement as [`StatementKind::CopyFromStdin`], then the
/// data as [`StatementKind::CopyData`] chunks of whole lines (each at most about
/// [`COPY_CHUNK_BYTES`], unless one line is longer), so that data sections of any size are
/// handed over in bounded memory. The `\.` line is never part of the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementKind {
    /// A statement to run.
    Sql,
    /// A `COPY ... FROM STDIN` whose data follows inline: zero or more `CopyData` items come
    /// next. A `COPY ... FROM STDIN` at the very end of a script, with nothing after it, is
    /// yielded as [`StatementKind::Sql`]: it has no data to send.
    CopyFromStdin,
    /// Lines of data for the preceding `CopyFromStdin`, each ended with `\n`;
    /// [`Statement::line`] is the line of the chunk's first row.
    CopyData,
}

/// The size at which the splitter hands over a chunk of inline `COPY` data.
pub const COPY_CHUNK_BYTES: usize = 64 * 1024;

/// Where the splitter is with the inline data of a `COPY ... FROM STDIN`.
enum CopyState {
    /// Reading SQL.
    None,
    /// Reading data lines; the line in `Splitter::line` is the first one, not yet taken
    /// when `held` is set.
    Data { held: bool },
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
    copy: CopyState,
    /// The text after a `COPY ... FROM STDIN;` on its line, lexed once its data ends (psql
    /// reads the data from the next line on), and that line's number.
    after_copy: Vec<u8>,
    after_copy_line: u32,
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
            copy: CopyState::None,
            after_copy: Vec::new(),
            after_copy_line: 0,
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
        if let CopyState::Data { .. } = self.copy {
            match self.copy_chunk() {
                Ok(Some(chunk)) => return Some(Ok(chunk)),
                Ok(None) => {}
                Err(e) => return Some(Err(e)),
            }
        }
        loop {
            if self.line_pending {
                if let Some(mut statement) =
                    self.lexer.scan(&self.line, &mut self.pos, self.line_no)
                {
                    if self.lexer.dialect() == Dialect::Postgres
                        && crate::is_copy_from_stdin(&statement.sql)
                    {
                        match self.start_copy() {
                            Ok(true) => statement.kind = StatementKind::CopyFromStdin,
                            Ok(false) => {}
                            Err(e) => return Some(Err(e)),
                        }
                    }
                    return Some(Ok(statement));
                }
                self.line_pending = false;
            }
            match self.next_line() {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return self.lexer.finish();
                }
                Err(e) => return Some(Err(e)),
            }
            self.pos = 0;
            self.line_pending = true;
        }
    }

    /// Reads and prepares the next line into `self.line`; `false` at the end of the input.
    fn next_line(&mut self) -> Result<bool, SplitError> {
        match self.lines.read_line(&mut self.line) {
            Ok(true) => {}
            Ok(false) => return Ok(false),
            Err(source) => {
                return Err(SplitError::Io {
                    line: self.lines.line_no().saturating_add(1),
                    source,
                })
            }
        }
        self.line_no = self.lines.line_no();
        self.prepare_line()?;
        Ok(true)
    }

    /// Called after a `COPY ... FROM STDIN` statement ended at `self.pos`: keeps the rest of
    /// its line for later and looks at the next line. Returns whether inline data follows
    /// (anything at all, even only the `\.` terminator).
    fn start_copy(&mut self) -> Result<bool, SplitError> {
        let rest = self.line.get(self.pos..).unwrap_or_default();
        self.after_copy.clear();
        self.after_copy.extend_from_slice(rest);
        self.after_copy_line = self.line_no;
        if !self.next_line()? {
            // Nothing follows: the statement has no inline data; lex the rest of its line.
            self.restore_after_copy();
            return Ok(false);
        }
        self.copy = CopyState::Data { held: true };
        self.line_pending = false;
        Ok(true)
    }

    /// Makes the text after the `COPY` statement on its line the line being lexed.
    fn restore_after_copy(&mut self) {
        std::mem::swap(&mut self.line, &mut self.after_copy);
        self.after_copy.clear();
        self.line_no = self.after_copy_line;
        self.pos = 0;
        self.line_pending = true;
    }

    /// The next chunk of inline `COPY` data, or `None` once the data has ended (and the
    /// splitter is back to reading SQL).
    fn copy_chunk(&mut self) -> Result<Option<Statement>, SplitError> {
        let mut data = String::new();
        let mut first = 0;
        loop {
            let held = matches!(self.copy, CopyState::Data { held: true });
            self.copy = CopyState::Data { held: false };
            if !held && !self.next_line()? {
                self.copy = CopyState::None;
                self.restore_after_copy();
                break;
            }
            if self.line == b"\\." {
                self.copy = CopyState::None;
                self.restore_after_copy();
                break;
            }
            if data.is_empty() {
                first = self.line_no;
            }
            // `prepare_line` checked that the line is UTF-8.
            data.push_str(&String::from_utf8_lossy(&self.line));
            data.push('\n');
            if data.len() >= COPY_CHUNK_BYTES {
                break;
            }
        }
        if data.is_empty() {
            return Ok(None);
        }
        Ok(Some(Statement {
            sql: data,
            line: first,
            non_transactional: false,
            kind: StatementKind::CopyData,
        }))
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
