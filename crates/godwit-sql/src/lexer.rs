//! The byte-level state machine that finds where statements end.
//!
//! The lexer is fed one line at a time and keeps only the state that can span lines (an open
//! string, comment, dollar quote or block) plus the text of the current statement. It works on
//! bytes: every character that matters is ASCII, and in UTF-8 an ASCII byte never occurs inside
//! a multi-byte character, so every position where text is cut is a character boundary.

use crate::{is_non_transactional, Dialect, SplitError, Statement, StatementKind};

/// What the lexer is inside of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Normal,
    Quoted(Quote),
    /// `depth` counts nesting, which only PostgreSQL has.
    BlockComment {
        depth: u32,
    },
    /// The closing tag is in `Lexer::dollar_tag`.
    DollarQuoted,
}

/// How a quoted string or identifier ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Quote {
    close: u8,
    /// A backslash escapes the next character (MySQL strings, PostgreSQL `E'...'`).
    backslash: bool,
    /// The closing character written twice stands for itself.
    doubling: bool,
    /// What it is called in an `Unterminated` error.
    what: &'static str,
}

const STRING: Quote = Quote {
    close: b'\'',
    backslash: false,
    doubling: true,
    what: "string literal",
};
const ESCAPED_STRING: Quote = Quote {
    backslash: true,
    ..STRING
};
const MYSQL_DOUBLE_QUOTED_STRING: Quote = Quote {
    close: b'"',
    ..ESCAPED_STRING
};
const DOUBLE_QUOTED_IDENT: Quote = Quote {
    close: b'"',
    backslash: false,
    doubling: true,
    what: "quoted identifier",
};
const BACKTICK_IDENT: Quote = Quote {
    close: b'`',
    ..DOUBLE_QUOTED_IDENT
};
const BRACKET_IDENT: Quote = Quote {
    close: b']',
    doubling: false,
    ..DOUBLE_QUOTED_IDENT
};

/// Progress through the first words of a statement, which decide whether `BEGIN` and `CASE`
/// open blocks inside which `;` does not end the statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Header {
    /// No word seen yet.
    Start,
    /// `CREATE`, possibly followed by modifiers such as `OR REPLACE` or `TEMP`.
    AfterCreate,
    /// MySQL `CREATE ... DEFINER`: the account name that follows may be up to two words
    /// (`user@host`); the count is in the payload.
    Definer(u8),
    /// MariaDB `BEGIN`, which may start an anonymous `BEGIN NOT ATOMIC ... END` block.
    AfterBegin,
    AfterBeginNot,
    /// The header is decided; later words no longer matter for it.
    Done,
}

/// The words the lexer reacts to; everything else is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keyword {
    Aggregate,
    Atomic,
    Begin,
    Case,
    Create,
    Definer,
    End,
    Event,
    For,
    Function,
    If,
    Loop,
    Not,
    Or,
    Procedure,
    Repeat,
    Replace,
    Sql,
    Temp,
    Temporary,
    Trigger,
    View,
    While,
    Other,
}

impl Keyword {
    fn of(word: &[u8]) -> Keyword {
        let mut upper = [0u8; 9];
        let Some(upper) = upper.get_mut(..word.len()) else {
            return Keyword::Other;
        };
        upper.copy_from_slice(word);
        upper.make_ascii_uppercase();
        match &*upper {
            b"AGGREGATE" => Keyword::Aggregate,
            b"ATOMIC" => Keyword::Atomic,
            b"BEGIN" => Keyword::Begin,
            b"CASE" => Keyword::Case,
            b"CREATE" => Keyword::Create,
            b"DEFINER" => Keyword::Definer,
            b"END" => Keyword::End,
            b"EVENT" => Keyword::Event,
            b"FOR" => Keyword::For,
            b"FUNCTION" => Keyword::Function,
            b"IF" => Keyword::If,
            b"LOOP" => Keyword::Loop,
            b"NOT" => Keyword::Not,
            b"OR" => Keyword::Or,
            b"PROCEDURE" => Keyword::Procedure,
            b"REPEAT" => Keyword::Repeat,
            b"REPLACE" => Keyword::Replace,
            b"SQL" => Keyword::Sql,
            b"TEMP" => Keyword::Temp,
            b"TEMPORARY" => Keyword::Temporary,
            b"TRIGGER" => Keyword::Trigger,
            b"VIEW" => Keyword::View,
            b"WHILE" => Keyword::While,
            _ => Keyword::Other,
        }
    }
}

/// Whether `CREATE <kind>` makes a statement whose body may contain `BEGIN ... END` blocks.
fn creates_routine(dialect: Dialect, kind: Keyword) -> bool {
    use Keyword as K;
    match dialect {
        Dialect::Postgres => matches!(kind, K::Function | K::Procedure),
        Dialect::MySql => matches!(kind, K::Procedure | K::Function | K::Trigger | K::Event),
        Dialect::Sqlite => kind == K::Trigger,
    }
}

/// State of the statement being read; reset after each one.
#[derive(Debug, Clone, Copy)]
struct Current {
    /// Whether a token (not just whitespace and comments) has been seen. Text is only collected
    /// from the first token on, so leading comments are dropped and `line` is the token's line.
    has_content: bool,
    line: u32,
    header: Header,
    /// The statement is a routine or trigger definition, in which `BEGIN` and `CASE` open
    /// blocks (PostgreSQL: only `BEGIN ATOMIC`, and `CASE` inside it).
    compound: bool,
    depth: u32,
    /// Where the outermost open block starts, and what opened it, for `Unterminated`.
    block_line: u32,
    block_what: &'static str,
    /// PostgreSQL parentheses: psql does not split on `;` inside them (multi-action rules).
    parens: u32,
    /// MySQL: an `END` whose meaning depends on the next word (`END IF` closes nothing).
    pending_end: bool,
    /// The line of the previous word when it was `BEGIN`, so that an `ATOMIC` right after it
    /// opens a block reported at the `BEGIN` (PostgreSQL).
    begin_line: Option<u32>,
    /// The previous token was `.` or `@`: the next word is part of a qualified name or a
    /// variable (`new.end`, MySQL `@end`), never a keyword.
    not_keyword: bool,
}

impl Current {
    fn new(header: Header) -> Self {
        Current {
            has_content: false,
            line: 0,
            header,
            compound: false,
            depth: 0,
            block_line: 0,
            block_what: "",
            parens: 0,
            pending_end: false,
            begin_line: None,
            not_keyword: false,
        }
    }
}

/// Finds statement boundaries in a script fed to it line by line.
pub(crate) struct Lexer {
    dialect: Dialect,
    mode: Mode,
    /// The line where the construct `mode` is inside of starts.
    mode_line: u32,
    /// `$tag$` of the open dollar quote.
    dollar_tag: Vec<u8>,
    /// The MySQL client delimiter set by `DELIMITER`; `None` means `;`.
    delimiter: Option<Vec<u8>>,
    /// The delimiter starts with a character that can be part of a word (`$$`), so a word
    /// must stop where the delimiter starts (`END$$`), as in the mysql client.
    delimiter_in_words: bool,
    cur: Current,
    /// Text of the current statement, from its first token on, lines joined with `\n`.
    buf: Vec<u8>,
    /// Whether plain stretches of a statement are skipped in one go (see [`Lexer::plain`]); the
    /// tests compare every split with and without.
    fast: bool,
}

impl Lexer {
    pub(crate) fn new(dialect: Dialect) -> Self {
        Lexer {
            dialect,
            mode: Mode::Normal,
            mode_line: 0,
            dollar_tag: Vec::new(),
            delimiter: None,
            delimiter_in_words: false,
            cur: Current::new(Header::Start),
            buf: Vec::new(),
            fast: true,
        }
    }

    pub(crate) fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Turns the fast path off, for tests that compare both.
    #[cfg(test)]
    pub(crate) fn without_fast_path(mut self) -> Self {
        self.fast = false;
        self
    }

    /// Whether the statement is in its plain part, where only quotes, comments, dollar quotes,
    /// parentheses and the delimiter matter: the header is decided, no block can open (not a
    /// routine body, no block open, no `END` waiting for its next word), and the delimiter is
    /// `;`. Nothing in a statement leads out of this state before it ends, and in it a word or
    /// any other byte changes nothing that is ever read again.
    fn plain(&self) -> bool {
        self.fast
            && self.cur.has_content
            && self.cur.header == Header::Done
            && !self.cur.compound
            && self.cur.depth == 0
            && !self.cur.pending_end
            && self.delimiter.is_none()
    }

    /// Lexes `line` (one line of the file, without its terminator) from `*pos`.
    ///
    /// Returns the next complete statement, with `*pos` just after its delimiter, or `None`
    /// once the whole line is consumed. `line_no` is the line's number in the original file;
    /// everything found in this call is attributed to it, even after a newline that a
    /// placeholder value brought in.
    pub(crate) fn scan(&mut self, line: &[u8], pos: &mut usize, line_no: u32) -> Option<Statement> {
        let len = line.len();
        let mut i = (*pos).min(len);
        // Start of the text not yet copied into `buf`.
        let mut span = i;
        while i < len {
            match self.mode {
                Mode::Normal => {}
                Mode::Quoted(quote) => {
                    i = self.skip_quoted(line, i, quote);
                    continue;
                }
                Mode::BlockComment { depth } => {
                    i = self.skip_block_comment(line, i, depth);
                    continue;
                }
                Mode::DollarQuoted => {
                    i = self.skip_dollar_quoted(line, i);
                    continue;
                }
            }
            if self.plain() {
                let word;
                (i, word) = skip_plain(line, i);
                if i == len {
                    break;
                }
                let lone_e = i >= 1 && word == Some(i - 1) && matches!(line[i - 1], b'E' | b'e');
                if self.dialect == Dialect::Postgres && line[i] == b'\'' && lone_e {
                    // The `E` of `E'...'` was skipped as a word: open the escaped string here,
                    // as `word` would have.
                    self.open_quote(ESCAPED_STRING, i - 1, line_no, &mut span);
                    i += 1;
                    continue;
                }
            }
            if is_space(line[i]) {
                // Whitespace only separates tokens (no delimiter starts with it).
                i += 1;
                continue;
            }
            if let Some(delimiter_len) = self.delimiter_len_at(line, i) {
                if self.ends_statement_here() {
                    let statement = if self.cur.has_content {
                        self.buf.extend_from_slice(&line[span..i]);
                        Some(self.take_statement())
                    } else {
                        None
                    };
                    i += delimiter_len;
                    self.reset_statement();
                    if let Some(statement) = statement {
                        *pos = i;
                        return Some(statement);
                    }
                    continue;
                }
            }
            i = self.token(line, i, line_no, &mut span);
        }
        if self.cur.has_content {
            self.buf.extend_from_slice(&line[span..]);
            self.buf.push(b'\n');
        }
        *pos = len;
        None
    }

    /// Called at the end of the input: the last statement if it has no delimiter, or the
    /// construct left open.
    pub(crate) fn finish(&mut self) -> Option<Result<Statement, SplitError>> {
        let open = match self.mode {
            Mode::Normal => None,
            Mode::Quoted(quote) => Some(quote.what.to_owned()),
            Mode::BlockComment { .. } => Some("block comment".to_owned()),
            Mode::DollarQuoted => Some(format!(
                "dollar-quoted string `{}`",
                String::from_utf8_lossy(&self.dollar_tag)
            )),
        };
        if let Some(what) = open {
            return Some(Err(SplitError::Unterminated {
                what,
                line: self.mode_line,
            }));
        }
        if self.delimiter.is_none() {
            self.resolve_pending_end();
            if self.cur.depth > 0 {
                return Some(Err(SplitError::Unterminated {
                    what: self.cur.block_what.to_owned(),
                    line: self.cur.block_line,
                }));
            }
        }
        if !self.cur.has_content {
            return None;
        }
        let statement = self.take_statement();
        self.reset_statement();
        Some(Ok(statement))
    }

    /// Handles the token starting at `line[i]` in normal mode; returns where lexing resumes.
    /// `line[i]` is not whitespace: `scan` skips that before looking for the delimiter.
    fn token(&mut self, line: &[u8], i: usize, line_no: u32, span: &mut usize) -> usize {
        let dialect = self.dialect;
        let next = line.get(i + 1).copied();
        match line[i] {
            b'\'' => {
                let quote = if dialect == Dialect::MySql {
                    ESCAPED_STRING
                } else {
                    STRING
                };
                self.open_quote(quote, i, line_no, span);
                i + 1
            }
            b'"' => {
                let quote = if dialect == Dialect::MySql {
                    MYSQL_DOUBLE_QUOTED_STRING
                } else {
                    DOUBLE_QUOTED_IDENT
                };
                self.open_quote(quote, i, line_no, span);
                i + 1
            }
            b'`' if dialect != Dialect::Postgres => {
                self.open_quote(BACKTICK_IDENT, i, line_no, span);
                i + 1
            }
            b'[' if dialect == Dialect::Sqlite => {
                self.open_quote(BRACKET_IDENT, i, line_no, span);
                i + 1
            }
            b'-' if next == Some(b'-') && self.dashes_start_comment(line, i) => {
                line_comment_end(line, i)
            }
            b'#' if dialect == Dialect::MySql => line_comment_end(line, i),
            b'/' if next == Some(b'*') => {
                // MySQL runs `/*! ... */` (MariaDB also `/*M! ... */`) and reads optimizer
                // hints from `/*+ ... */`, as pg_hint_plan does: those are part of the statement.
                let executed = matches!(
                    (dialect, line.get(i + 2), line.get(i + 3)),
                    (Dialect::MySql, Some(b'!' | b'+'), _)
                        | (Dialect::MySql, Some(b'M'), Some(b'!'))
                        | (Dialect::Postgres, Some(b'+'), _)
                );
                if executed {
                    self.start_content(i, line_no, span);
                }
                self.mode = Mode::BlockComment { depth: 1 };
                self.mode_line = line_no;
                i + 2
            }
            b'$' if dialect == Dialect::Postgres => match dollar_tag_len(line, i) {
                Some(tag_len) => {
                    self.start_token(b'$', i, line_no, span);
                    self.dollar_tag.clear();
                    self.dollar_tag.extend_from_slice(&line[i..i + tag_len]);
                    self.mode = Mode::DollarQuoted;
                    self.mode_line = line_no;
                    i + tag_len
                }
                None => self.word(line, i, line_no, span),
            },
            b if is_word_byte(b) => self.word(line, i, line_no, span),
            b => {
                self.start_token(b, i, line_no, span);
                if dialect == Dialect::Postgres {
                    match b {
                        b'(' => self.cur.parens = self.cur.parens.saturating_add(1),
                        b')' => self.cur.parens = self.cur.parens.saturating_sub(1),
                        _ => {}
                    }
                }
                i + 1
            }
        }
    }

    /// Handles the word starting at `line[start]`; returns its end.
    fn word(&mut self, line: &[u8], start: usize, line_no: u32, span: &mut usize) -> usize {
        let mut end = start + 1;
        if self.delimiter_in_words {
            while end < line.len() && is_word_byte(line[end]) {
                if self.delimiter_len_at(line, end).is_some() {
                    break;
                }
                end += 1;
            }
        } else {
            end += line[end..]
                .iter()
                .position(|&b| !is_word_byte(b))
                .unwrap_or(line.len() - end);
        }
        let word = &line[start..end];
        if self.dialect == Dialect::MySql
            && !self.cur.has_content
            && word.eq_ignore_ascii_case(b"DELIMITER")
        {
            if let Some(directive_end) = self.delimiter_directive(line, end) {
                return directive_end;
            }
        }
        if self.dialect == Dialect::Postgres
            && word.eq_ignore_ascii_case(b"E")
            && line.get(end) == Some(&b'\'')
        {
            // `E'...'`: the quote right after the `E` opens a string with backslash escapes.
            self.open_quote(ESCAPED_STRING, start, line_no, span);
            return end + 1;
        }
        self.start_content(start, line_no, span);
        self.keyword(word, line_no);
        end
    }

    /// Tracks the words that decide whether `;` ends the statement.
    fn keyword(&mut self, word: &[u8], line_no: u32) {
        use Keyword as K;
        let not_keyword = std::mem::replace(&mut self.cur.not_keyword, false);
        let cur = &self.cur;
        if cur.header == Header::Done && !cur.compound && cur.depth == 0 && !cur.pending_end {
            // The common case, e.g. every word of an INSERT after the first: nothing to track.
            self.cur.begin_line = None;
            return;
        }
        let keyword = if not_keyword {
            K::Other
        } else {
            Keyword::of(word)
        };
        if std::mem::replace(&mut self.cur.pending_end, false) {
            match keyword {
                // `END IF`, `END LOOP`, ... close statements that opened no block.
                K::If | K::Loop | K::While | K::Repeat | K::For => return,
                K::Case => {
                    self.close_block();
                    return;
                }
                // A plain `END`, possibly followed by a label.
                _ => self.close_block(),
            }
        }
        if self.cur.header != Header::Done {
            self.advance_header(keyword);
        }
        let dialect = self.dialect;
        if self.cur.compound || self.cur.depth > 0 {
            match keyword {
                K::Begin if dialect != Dialect::Postgres => {
                    self.open_block(line_no, "BEGIN ... END block");
                }
                K::Atomic if dialect == Dialect::Postgres => {
                    if let Some(begin_line) = self.cur.begin_line {
                        self.open_block(begin_line, "BEGIN ... END block");
                    }
                }
                K::Case if dialect != Dialect::Postgres || self.cur.depth > 0 => {
                    self.open_block(line_no, "CASE ... END block");
                }
                K::End if dialect == Dialect::MySql => self.cur.pending_end = true,
                K::End => self.close_block(),
                _ => {}
            }
        }
        self.cur.begin_line = (keyword == K::Begin).then_some(line_no);
    }

    fn advance_header(&mut self, keyword: Keyword) {
        use Keyword as K;
        let dialect = self.dialect;
        self.cur.header = match (self.cur.header, keyword) {
            (Header::Start, K::Create) => Header::AfterCreate,
            (Header::Start, K::Begin) if dialect == Dialect::MySql => Header::AfterBegin,
            (Header::AfterBegin, K::Not) => Header::AfterBeginNot,
            (Header::AfterBeginNot, K::Atomic) => {
                self.cur.compound = true;
                self.open_block(self.cur.line, "BEGIN ... END block");
                Header::Done
            }
            (Header::AfterCreate | Header::Definer(_), kind) if creates_routine(dialect, kind) => {
                self.cur.compound = true;
                Header::Done
            }
            (Header::AfterCreate, K::Or | K::Replace) if dialect != Dialect::Sqlite => {
                Header::AfterCreate
            }
            (Header::AfterCreate, K::Aggregate) if dialect == Dialect::MySql => Header::AfterCreate,
            (Header::AfterCreate, K::Definer) if dialect == Dialect::MySql => Header::Definer(0),
            (Header::AfterCreate, K::Temp | K::Temporary) if dialect == Dialect::Sqlite => {
                Header::AfterCreate
            }
            (Header::Definer(words), K::Aggregate) => Header::Definer(words),
            (Header::Definer(words), keyword)
                if words < 2 && !matches!(keyword, K::View | K::Sql) =>
            {
                Header::Definer(words + 1)
            }
            _ => Header::Done,
        };
    }

    fn open_block(&mut self, line_no: u32, what: &'static str) {
        if self.cur.depth == 0 {
            self.cur.block_line = line_no;
            self.cur.block_what = what;
        }
        self.cur.depth = self.cur.depth.saturating_add(1);
    }

    fn close_block(&mut self) {
        self.cur.depth = self.cur.depth.saturating_sub(1);
    }

    /// A MySQL `END` followed by something other than a word closes one block.
    fn resolve_pending_end(&mut self) {
        if std::mem::replace(&mut self.cur.pending_end, false) {
            self.close_block();
        }
    }

    /// Records that a token other than a word starts at `line[i]`.
    fn start_token(&mut self, byte: u8, i: usize, line_no: u32, span: &mut usize) {
        self.start_content(i, line_no, span);
        self.resolve_pending_end();
        self.cur.not_keyword = matches!(byte, b'.' | b'@');
        self.cur.begin_line = None;
        if !matches!(self.cur.header, Header::Done | Header::Definer(_)) {
            self.cur.header = Header::Done;
        }
    }

    /// Marks the statement as started at `line[i]`, if it was not already.
    fn start_content(&mut self, i: usize, line_no: u32, span: &mut usize) {
        if !self.cur.has_content {
            self.cur.has_content = true;
            self.cur.line = line_no;
            *span = i;
        }
    }

    /// Enters `quote`, whose token (the opening quote or an `E` prefix) starts at `line[i]`.
    fn open_quote(&mut self, quote: Quote, i: usize, line_no: u32, span: &mut usize) {
        self.start_token(quote.close, i, line_no, span);
        self.mode = Mode::Quoted(quote);
        self.mode_line = line_no;
    }

    /// Moves past the rest of a quoted string or identifier, or to the end of the line.
    fn skip_quoted(&mut self, line: &[u8], mut i: usize, quote: Quote) -> usize {
        let len = line.len();
        let find = |rest: &[u8]| {
            if quote.backslash {
                memchr::memchr2(quote.close, b'\\', rest)
            } else {
                memchr::memchr(quote.close, rest)
            }
        };
        while let Some(offset) = line.get(i..).and_then(find) {
            let at = i + offset;
            if line[at] != quote.close {
                // A backslash escapes the next character; at the end of the line it escapes
                // the line break, which the next line does not see.
                i = at + 2;
            } else if quote.doubling && line.get(at + 1) == Some(&quote.close) {
                i = at + 2;
            } else {
                self.mode = Mode::Normal;
                return at + 1;
            }
        }
        len
    }

    /// Moves past the rest of a block comment, or to the end of the line.
    fn skip_block_comment(&mut self, line: &[u8], mut i: usize, mut depth: u32) -> usize {
        let nests = self.dialect == Dialect::Postgres;
        let len = line.len();
        while i < len {
            match (line[i], line.get(i + 1)) {
                (b'*', Some(b'/')) => {
                    depth = depth.saturating_sub(1);
                    i += 2;
                    if depth == 0 {
                        self.mode = Mode::Normal;
                        return i;
                    }
                }
                (b'/', Some(b'*')) if nests => {
                    depth = depth.saturating_add(1);
                    i += 2;
                }
                _ => i += 1,
            }
        }
        self.mode = Mode::BlockComment { depth };
        len
    }

    /// Moves past the closing tag of a dollar quote, or to the end of the line.
    fn skip_dollar_quoted(&mut self, line: &[u8], mut i: usize) -> usize {
        while let Some(offset) = line
            .get(i..)
            .and_then(|rest| rest.iter().position(|&b| b == b'$'))
        {
            let at = i + offset;
            if line[at..].starts_with(&self.dollar_tag) {
                self.mode = Mode::Normal;
                return at + self.dollar_tag.len();
            }
            i = at + 1;
        }
        line.len()
    }

    /// MySQL requires whitespace or a control character after `--` (`1--1` is arithmetic).
    fn dashes_start_comment(&self, line: &[u8], i: usize) -> bool {
        self.dialect != Dialect::MySql || line.get(i + 2).is_none_or(|&b| b <= b' ' || b == 0x7f)
    }

    /// Length of the statement delimiter if it starts at `line[i]`.
    fn delimiter_len_at(&self, line: &[u8], i: usize) -> Option<usize> {
        match &self.delimiter {
            None => (line.get(i) == Some(&b';')).then_some(1),
            Some(delimiter) => line
                .get(i..i + delimiter.len())
                .filter(|candidate| candidate.eq_ignore_ascii_case(delimiter))
                .map(|_| delimiter.len()),
        }
    }

    /// Whether a delimiter found in normal mode ends the statement, rather than a statement
    /// inside a block.
    fn ends_statement_here(&mut self) -> bool {
        if self.delimiter.is_some() {
            // The mysql client splits on its own delimiter without looking inside.
            return true;
        }
        self.resolve_pending_end();
        self.cur.depth == 0 && self.cur.parens == 0
    }

    /// Applies the MySQL client directive `DELIMITER xx` whose keyword ends at `line[word_end]`,
    /// returning the end of the directive, or `None` when this is not one.
    fn delimiter_directive(&mut self, line: &[u8], word_end: usize) -> Option<usize> {
        let rest = line.get(word_end..)?;
        let rest_len = rest
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
            .unwrap_or(rest.len());
        let rest = &rest[..rest_len];
        if !rest.first().is_some_and(|&b| is_space(b)) {
            return None;
        }
        // The mysql client takes the first word after DELIMITER and ignores the rest.
        let delimiter = rest.split(|&b| is_space(b)).find(|part| !part.is_empty())?;
        self.delimiter_in_words = delimiter.first().is_some_and(|&b| is_word_byte(b));
        self.delimiter = (delimiter != b";").then(|| delimiter.to_vec());
        self.reset_statement();
        Some(word_end + rest_len)
    }

    fn take_statement(&mut self) -> Statement {
        let len = self
            .buf
            .iter()
            .rposition(|&b| !is_space(b))
            .map_or(0, |last| last + 1);
        // Lines are checked to be UTF-8 before they are lexed, and cuts fall on ASCII bytes.
        let sql = match std::str::from_utf8(&self.buf[..len]) {
            Ok(text) => text.to_owned(),
            Err(_) => String::from_utf8_lossy(&self.buf[..len]).into_owned(),
        };
        self.buf.clear();
        Statement {
            kind: StatementKind::Sql,
            non_transactional: is_non_transactional(self.dialect, &sql),
            sql,
            line: self.cur.line,
        }
    }

    fn reset_statement(&mut self) {
        let header = if self.delimiter.is_some() {
            Header::Done
        } else {
            Header::Start
        };
        self.cur = Current::new(header);
        self.buf.clear();
    }

    #[cfg(test)]
    pub(crate) fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }
}

/// Whether `b` is whitespace between tokens: the ASCII whitespace characters, including the
/// vertical tab, which PostgreSQL and MySQL also skip.
pub(crate) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Whether `b` can be part of a word (identifier, keyword or number). `$` can in every dialect
/// (`a$b`, SQLite `$param`), which is also why `x$$` is not a dollar quote in PostgreSQL; a `$`
/// that starts a PostgreSQL dollar quote is recognised before words are.
fn is_word_byte(b: u8) -> bool {
    WORD_BYTES[usize::from(b)]
}

/// Moves past bytes that change nothing in a plain statement (see [`Lexer::plain`]): to the next
/// byte that may start a quote, a comment, a dollar quote or a parenthesis, or be the delimiter.
/// Returns that position, and where the word it ends, if it skipped one, starts. A `$` inside a
/// skipped word belongs to the word (`a$b`), as `word` reads it.
fn skip_plain(line: &[u8], mut i: usize) -> (usize, Option<usize>) {
    let mut word = None;
    while let Some(&b) = line.get(i) {
        if PLAIN_STOPS[usize::from(b)] && !(b == b'$' && word.is_some()) {
            return (i, word);
        }
        if !is_word_byte(b) {
            word = None;
        } else if word.is_none() {
            word = Some(i);
        }
        i += 1;
    }
    (i, word)
}

/// The bytes [`skip_plain`] stops at: every byte `token` treats specially, and the delimiter.
static PLAIN_STOPS: [bool; 256] = {
    let mut table = [false; 256];
    let stops = b"'\"`[-#/$();";
    let mut k = 0;
    while k < stops.len() {
        table[stops[k] as usize] = true;
        k += 1;
    }
    table
};

/// [`is_word_byte`] as a table: words are most of what the lexer reads.
static WORD_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        table[b] = byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$' || byte >= 0x80;
        b += 1;
    }
    table
};

/// End of a line comment starting at `line[i]`: the next line break (which a placeholder value
/// may have brought into the line) or the end of the line.
fn line_comment_end(line: &[u8], i: usize) -> usize {
    line.get(i..)
        .and_then(|rest| rest.iter().position(|&b| b == b'\n' || b == b'\r'))
        .map_or(line.len(), |offset| i + offset)
}

/// Length of the PostgreSQL dollar-quote opening tag (`$$` or `$tag$`) at `line[i]`, if any.
/// `$1` is a parameter, and a tag follows identifier rules without `$`.
fn dollar_tag_len(line: &[u8], i: usize) -> Option<usize> {
    let rest = line.get(i + 1..)?;
    match rest.first() {
        Some(b'$') => Some(2),
        Some(&b) if b.is_ascii_alphabetic() || b == b'_' || b >= 0x80 => {
            let tag_len = rest
                .iter()
                .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80))?;
            (rest.get(tag_len) == Some(&b'$')).then_some(tag_len + 2)
        }
        _ => None,
    }
}
