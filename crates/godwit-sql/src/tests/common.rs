//! Rules shared by every dialect.

use std::io::{self, BufRead, BufReader, Read};

use super::{check, check_all, check_err, split, ALL};
use crate::{split_str, Dialect, SplitError, Splitter};

#[test]
fn empty_and_blank_inputs_have_no_statements() {
    check_all("", &[]);
    check_all("   \n\t\n\r\n", &[]);
    check_all(";", &[]);
    check_all(";;\n ; ;", &[]);
}

#[test]
fn comment_only_inputs_have_no_statements() {
    check_all("-- nothing to see\n", &[]);
    check_all("/* nothing */", &[]);
    check_all("-- a;\n/* b; */ ; -- c\n;", &[]);
    check_all(
        "SELECT 1; -- trailing comment; with semicolon",
        &[(1, "SELECT 1")],
    );
}

#[test]
fn statements_end_at_semicolons() {
    check_all(
        "CREATE TABLE t (x int);\nINSERT INTO t VALUES (1);\n",
        &[
            (1, "CREATE TABLE t (x int)"),
            (2, "INSERT INTO t VALUES (1)"),
        ],
    );
    check_all(
        "SELECT 1;SELECT 2; SELECT 3 ;",
        &[(1, "SELECT 1"), (1, "SELECT 2"), (1, "SELECT 3")],
    );
}

#[test]
fn last_statement_needs_no_semicolon() {
    check_all("SELECT 1", &[(1, "SELECT 1")]);
    check_all(
        "SELECT 1;\nSELECT 2\n\n",
        &[(1, "SELECT 1"), (2, "SELECT 2")],
    );
    check_all("SELECT 1 -- done", &[(1, "SELECT 1 -- done")]);
}

#[test]
fn statement_text_keeps_inner_lines_and_comments_and_is_trimmed() {
    check_all(
        "  SELECT a, -- first column\n         /* second */ b\n    FROM t  \n  ;",
        &[(
            1,
            "SELECT a, -- first column\n         /* second */ b\n    FROM t",
        )],
    );
}

#[test]
fn leading_comments_are_dropped_and_line_is_the_first_token() {
    check_all(
        "-- V1: create the table\n-- second line\n\nCREATE TABLE t (x int);",
        &[(4, "CREATE TABLE t (x int)")],
    );
    check_all(
        "/* a\n   multi-line;\n   comment */  SELECT 1;\n\n/* x */\n\nSELECT\n2;",
        &[(3, "SELECT 1"), (7, "SELECT\n2")],
    );
    check_all(
        "SELECT 1; -- about one\n-- about two\nSELECT 2;",
        &[(1, "SELECT 1"), (3, "SELECT 2")],
    );
}

#[test]
fn semicolons_in_single_quoted_strings_do_not_split() {
    check_all(
        "INSERT INTO t VALUES ('a;b');\nSELECT 'it''s; fine', '';",
        &[
            (1, "INSERT INTO t VALUES ('a;b')"),
            (2, "SELECT 'it''s; fine', ''"),
        ],
    );
    check_all(
        "SELECT 'first line;\nsecond; line';\nSELECT 2;",
        &[(1, "SELECT 'first line;\nsecond; line'"), (3, "SELECT 2")],
    );
}

#[test]
fn comment_markers_in_strings_are_text() {
    check_all(
        "SELECT '-- not a comment;', '/* nor; this */';\nSELECT 2;",
        &[
            (1, "SELECT '-- not a comment;', '/* nor; this */'"),
            (2, "SELECT 2"),
        ],
    );
}

#[test]
fn semicolons_in_comments_do_not_split() {
    check_all(
        "SELECT 1 -- one; two\n, 2;",
        &[(1, "SELECT 1 -- one; two\n, 2")],
    );
    check_all(
        "SELECT /* ; */ 1 /* multi\n line; */ + 2;",
        &[(1, "SELECT /* ; */ 1 /* multi\n line; */ + 2")],
    );
    check_all(
        "SELECT '/*'; SELECT 2 /* ' */;",
        &[(1, "SELECT '/*'"), (1, "SELECT 2 /* ' */")],
    );
}

#[test]
fn crlf_and_lone_cr_line_endings_are_normalised() {
    check_all(
        "SELECT 1;\r\nSELECT\r\n  2;\r\n\r\nSELECT 3;\r\n",
        &[(1, "SELECT 1"), (2, "SELECT\n  2"), (5, "SELECT 3")],
    );
    check_all(
        "SELECT 1;\rSELECT\r2;\r",
        &[(1, "SELECT 1"), (2, "SELECT\n2")],
    );
    check_all("SELECT 'a\r\nb' -- c\r\n;", &[(1, "SELECT 'a\nb' -- c")]);
}

#[test]
fn byte_order_mark_is_dropped() {
    check_all(
        "\u{feff}SELECT 1;\nSELECT 2;",
        &[(1, "SELECT 1"), (2, "SELECT 2")],
    );
    check_all("\u{feff}-- comment\nSELECT 1", &[(2, "SELECT 1")]);
}

#[test]
fn non_ascii_text_is_kept_intact() {
    check_all(
        "INSERT INTO café VALUES ('naïve; 日本語', 'ß');\nSELECT '🦆';",
        &[
            (1, "INSERT INTO café VALUES ('naïve; 日本語', 'ß')"),
            (2, "SELECT '🦆'"),
        ],
    );
}

#[test]
fn words_that_contain_keywords_are_not_keywords() {
    for dialect in ALL {
        check(
            dialect,
            "SELECT beginning, end_date, casement FROM t;\nSELECT 2;",
            &[
                (1, "SELECT beginning, end_date, casement FROM t"),
                (2, "SELECT 2"),
            ],
        );
    }
}

#[test]
fn unterminated_string_reports_its_first_line() {
    for dialect in ALL {
        check_err(
            dialect,
            "SELECT 1;\nSELECT 'abc;\n\nSELECT 2;",
            "the string literal that starts at line 2 is never closed",
        );
    }
}

#[test]
fn unterminated_block_comment_reports_its_first_line() {
    for dialect in ALL {
        check_err(
            dialect,
            "SELECT 1;\n\n/* never\nclosed; SELECT 2;",
            "the block comment that starts at line 3 is never closed",
        );
        check_err(
            dialect,
            "SELECT 1 /*",
            "the block comment that starts at line 1 is never closed",
        );
    }
}

#[test]
fn statements_carry_their_transaction_requirement() {
    let statements = split_str("VACUUM;\nSELECT 1;", Dialect::Postgres).unwrap();
    let flags: Vec<bool> = statements.iter().map(|s| s.non_transactional).collect();
    assert_eq!(flags, [true, false]);
    let statements = split_str("VACUUM;", Dialect::MySql).unwrap();
    assert!(!statements[0].non_transactional);
}

#[test]
fn invalid_utf8_is_an_error_with_its_line_and_ends_the_iteration() {
    let input: &[u8] = b"SELECT 1;\nSELECT '\xff';\nSELECT 3;";
    let mut splitter = Splitter::new(input, Dialect::Postgres);
    assert_eq!(splitter.next().unwrap().unwrap().sql, "SELECT 1");
    let err = splitter.next().unwrap().unwrap_err();
    assert!(
        matches!(err, SplitError::InvalidUtf8 { line: 2 }),
        "{err:?}"
    );
    assert_eq!(err.line(), 2);
    assert_eq!(
        err.to_string(),
        "line 2 is not valid UTF-8; migration files must be encoded in UTF-8"
    );
    assert!(splitter.next().is_none());
    assert!(splitter.next().is_none());
}

#[test]
fn nul_bytes_are_an_error_with_their_line_and_end_the_iteration() {
    for dialect in ALL {
        let input: &[u8] = b"SELECT 1;\nSELECT 2;\nSELECT '\0';\nSELECT 4;";
        let mut splitter = Splitter::new(input, dialect);
        assert_eq!(splitter.next().unwrap().unwrap().sql, "SELECT 1");
        assert_eq!(splitter.next().unwrap().unwrap().sql, "SELECT 2");
        let err = splitter.next().unwrap().unwrap_err();
        assert!(matches!(err, SplitError::NulByte { line: 3 }), "{err:?}");
        assert_eq!(err.line(), 3);
        assert_eq!(
            err.to_string(),
            "line 3 contains a NUL byte, which no SQL text may contain"
        );
        assert!(splitter.next().is_none());
        assert!(splitter.next().is_none());
    }
    // A placeholder value cannot bring one in either.
    let mut placeholders = crate::Placeholders::new();
    placeholders.insert("x", "a\0b");
    let err = Splitter::new(&b"SELECT 1;\nSELECT '${x}';"[..], Dialect::Sqlite)
        .with_placeholders(placeholders)
        .find_map(Result::err)
        .unwrap();
    assert!(matches!(err, SplitError::NulByte { line: 2 }), "{err:?}");
}

/// A reader that fails after handing out its text.
struct FailingReader {
    text: &'static [u8],
}

impl Read for FailingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.text.is_empty() {
            return Err(io::Error::other("disk on fire"));
        }
        let n = self.text.read(buf)?;
        Ok(n)
    }
}

#[test]
fn read_errors_carry_the_line_being_read_and_end_the_iteration() {
    let reader = BufReader::new(FailingReader {
        text: b"SELECT 1;\nSELECT",
    });
    let mut splitter = Splitter::new(reader, Dialect::Sqlite);
    assert_eq!(splitter.next().unwrap().unwrap().sql, "SELECT 1");
    let err = splitter.next().unwrap().unwrap_err();
    assert!(matches!(err, SplitError::Io { line: 2, .. }), "{err:?}");
    assert_eq!(err.to_string(), "could not read line 2: disk on fire");
    assert!(std::error::Error::source(&err).is_some());
    assert!(splitter.next().is_none());
}

/// A reader that is interrupted before every read, which `BufRead` users must retry.
struct InterruptedReader {
    text: &'static [u8],
    interrupt: bool,
}

impl Read for InterruptedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.interrupt = !self.interrupt;
        if self.interrupt {
            return Err(io::ErrorKind::Interrupted.into());
        }
        self.text.read(buf)
    }
}

#[test]
fn interrupted_reads_are_retried() {
    let reader = InterruptedReader {
        text: b"SELECT 1;\nSELECT 2;",
        interrupt: false,
    };
    let reader: Box<dyn BufRead> = Box::new(BufReader::with_capacity(4, reader));
    let statements: Vec<_> = Splitter::new(reader, Dialect::MySql)
        .map(|s| s.unwrap().sql)
        .collect();
    assert_eq!(statements, ["SELECT 1", "SELECT 2"]);
}

#[test]
fn unterminated_errors_end_the_iteration() {
    let mut splitter = Splitter::new("SELECT 1; SELECT 'x".as_bytes(), Dialect::Postgres);
    assert!(splitter.next().unwrap().is_ok());
    let err = splitter.next().unwrap().unwrap_err();
    assert_eq!(err.line(), 1);
    assert!(splitter.next().is_none());
}

#[test]
fn split_str_returns_no_statement_when_any_part_fails() {
    assert!(split_str("SELECT 1; SELECT 'x", Dialect::Sqlite).is_err());
    assert!(split(Dialect::Sqlite, "SELECT 1; SELECT 2").is_ok());
}

#[test]
fn error_line_accessor_matches_every_variant() {
    let errors = [
        SplitError::Io {
            line: 1,
            source: io::Error::other("x"),
        },
        SplitError::InvalidUtf8 { line: 2 },
        SplitError::Unterminated {
            what: "string literal".into(),
            line: 3,
        },
        SplitError::MissingPlaceholder {
            line: 4,
            name: "x".into(),
        },
        SplitError::NulByte { line: 5 },
    ];
    let lines: Vec<u32> = errors.iter().map(SplitError::line).collect();
    assert_eq!(lines, [1, 2, 3, 4, 5]);
}
