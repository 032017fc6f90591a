//! Generated scripts: joining statements and splitting them gives them back, and no input,
//! however malformed, makes the splitter panic.

use std::io::BufReader;

use super::{split, Rng, ALL};
use crate::{
    has_no_transaction_directive, is_non_transactional, is_transaction_control,
    missing_placeholders, Dialect, Placeholders, Splitter,
};

/// Pieces a statement may be built from in every dialect, none of which changes how the
/// statement ends: words that are not keywords, and strings and comments holding `;`.
const COMMON: &[&str] = &[
    "x",
    "t1",
    "42",
    "3.14",
    ",",
    "=",
    "+",
    "(a, b)",
    "'a;b'",
    "'it''s; fine'",
    "''",
    "'-- not; a comment'",
    "'/* not; a comment */'",
    "'multi\nline; string'",
    "/* block; comment */",
    "/* multi\nline; comment */",
    "-- line; comment\n",
    "\n",
    "'héllo; 日本'",
];

/// Pieces specific to one dialect.
fn dialect_pieces(dialect: Dialect) -> &'static [&'static str] {
    match dialect {
        Dialect::Postgres => &[
            "\"quoted;ident\"",
            "\"a\"\"b;\"",
            r"E'it\'s; \\'",
            "$$dollar; 'quoted'$$",
            "$tag$ $$ ; $other$ ; $tag$",
            "$body$\nmulti; line\n$body$",
            "/* nested /* comment; */ still; */",
            "$1",
            "a$$b",
            "x.end",
            "arr[1]",
            "# 1",
        ],
        Dialect::MySql => &[
            "`quoted;ident`",
            "`a``b;`",
            "\"double; quoted\"",
            r#""esc\"aped;""#,
            r"'back\'slash;'",
            r"'ends with \\'",
            "# hash; comment\n",
            "1--1",
            "/*!40101 executable; */",
            "/*+ hint; */",
            "x.end",
            "a$b",
        ],
        Dialect::Sqlite => &[
            "[bracket;ident]",
            "`back;tick`",
            "\"double;ident\"",
            r"'no\'",
            "$param",
            ":name",
            "x.end",
        ],
    }
}

/// Starts of statements: a first word that opens no block in any dialect.
const FIRST_WORDS: &[&str] = &[
    "SELECT",
    "INSERT INTO t VALUES",
    "UPDATE t SET",
    "DELETE FROM t WHERE",
    "x",
];

/// What may stand between two statements besides `;` and a line break.
const BETWEEN: &[&str] = &[
    "",
    "",
    " ",
    "\n\n",
    "-- between; statements\n",
    "/* between;\n */ ",
];

fn generate_statement(rng: &mut Rng, dialect: Dialect) -> String {
    let mut statement = rng.pick(FIRST_WORDS).to_owned();
    let specific = dialect_pieces(dialect);
    for _ in 0..rng.below(8) {
        let piece = if rng.below(3) == 0 {
            rng.pick(specific)
        } else {
            rng.pick(COMMON)
        };
        if !piece.starts_with('\n') {
            statement.push(' ');
        }
        statement.push_str(piece);
    }
    statement
}

#[test]
fn joined_statements_split_back_into_themselves() {
    let mut rng = Rng::new(0x5eed);
    for dialect in ALL {
        for round in 0..300 {
            let count = 1 + rng.below(8);
            let mut script = String::new();
            let mut expected: Vec<(u32, String)> = Vec::new();
            for _ in 0..count {
                script.push_str(rng.pick(BETWEEN));
                let statement = generate_statement(&mut rng, dialect);
                let line = 1 + script.matches('\n').count() as u32;
                script.push_str(&statement);
                script.push_str(";\n");
                expected.push((line, statement.trim_end().to_owned()));
            }
            if round % 2 == 1 {
                // Drop the last delimiter: the last statement must still come back.
                script.truncate(script.len() - 2);
            }
            let crlf = round % 3 == 0;
            let input = if crlf {
                script.replace('\n', "\r\n")
            } else {
                script.clone()
            };
            let actual: Vec<(u32, String)> = split(dialect, &input)
                .unwrap_or_else(|e| panic!("{dialect:?} cannot split {input:?}: {e}"))
                .into_iter()
                .map(|s| (s.line, s.sql))
                .collect();
            assert_eq!(actual, expected, "{dialect:?}, script:\n{input}");
        }
    }
}

/// Characters that open, close or escape something in some dialect, plus plain text.
const CHAOS: &[&str] = &[
    "'",
    "\"",
    "`",
    "[",
    "]",
    "$",
    "$$",
    "$a$",
    "\\",
    ";",
    "-",
    "--",
    "#",
    "/",
    "*",
    "/*",
    "*/",
    "/*!",
    "\n",
    "\r",
    "\r\n",
    " ",
    "E",
    "e'",
    "(",
    ")",
    ".",
    "${",
    "}",
    "${x}",
    "${y}",
    "BEGIN",
    "END",
    "CASE",
    "IF",
    "CREATE",
    "PROCEDURE",
    "TRIGGER",
    "FUNCTION",
    "ATOMIC",
    "NOT",
    "DEFINER",
    "=",
    "@",
    "DELIMITER ",
    "DELIMITER $$\n",
    "DELIMITER ;\n",
    "é",
    "日",
    "\u{feff}",
    "\t",
    "a",
    "1",
];

/// Up to 40 pieces of [`CHAOS`], a quarter of them from `more` when it is not empty.
fn chaos(rng: &mut Rng, more: &[&str]) -> String {
    let mut input = String::new();
    for _ in 0..rng.below(40) {
        input.push_str(if !more.is_empty() && rng.below(4) == 0 {
            rng.pick(more)
        } else {
            rng.pick(CHAOS)
        });
    }
    input
}

/// The placeholder `${x}` of [`CHAOS`], with a value that holds a quote, a delimiter and a line
/// break; `${y}` has none.
fn chaos_placeholders() -> Placeholders {
    let mut placeholders = Placeholders::new();
    placeholders.insert("x", "a'b;\nc");
    placeholders
}

#[test]
fn no_input_makes_the_splitter_panic() {
    let mut rng = Rng::new(0xbad_5eed);
    let placeholders = chaos_placeholders();
    for round in 0..3000 {
        let input = chaos(&mut rng, &[]);
        let dialect = ALL[round % 3];
        is_non_transactional(dialect, &input);
        is_transaction_control(dialect, &input);
        has_no_transaction_directive(&input);
        missing_placeholders(input.as_bytes(), &placeholders).unwrap();
        for capacity in [1, 64] {
            let reader = BufReader::with_capacity(capacity, input.as_bytes());
            let splitter = Splitter::new(reader, dialect).with_placeholders(placeholders.clone());
            for statement in splitter {
                let Ok(statement) = statement else { break };
                let sql = &statement.sql;
                assert!(!sql.is_empty(), "{dialect:?} {input:?}");
                assert!(
                    !sql.starts_with(|c: char| c.is_ascii_whitespace()),
                    "{sql:?}"
                );
                assert!(!sql.ends_with(|c: char| c.is_ascii_whitespace()), "{sql:?}");
                assert!(statement.line >= 1);
            }
        }
    }
}

/// The splitter always comes to an end on input with NUL bytes, wherever they are (in
/// strings, comments, dollar quotes, blocks, placeholders): it yields at most one statement
/// per byte and then the error naming the first line with a NUL byte, or an earlier error.
#[test]
fn the_splitter_terminates_on_input_with_nul_bytes() {
    const MORE: &[&str] = &["\0", "x\0y", "'\0'", "$$\0$$", "-- \0\n", "/* \0 */"];
    let mut rng = Rng::new(0x0_5eed);
    let placeholders = chaos_placeholders();
    for round in 0..5000 {
        let mut input = chaos(&mut rng, MORE);
        if !input.contains('\0') {
            input.push('\0');
        }
        // The first line with a NUL, counted as the splitter counts lines.
        let before = &input[..input.find('\0').unwrap()];
        let breaks = before.replace("\r\n", "\n").replace('\r', "\n");
        let nul_line = u32::try_from(breaks.matches('\n').count() + 1).unwrap();
        let dialect = ALL[round % 3];
        for fast in [true, false] {
            let mut splitter =
                Splitter::new(input.as_bytes(), dialect).with_placeholders(placeholders.clone());
            if !fast {
                splitter = splitter.without_fast_path();
            }
            let mut yielded = 0usize;
            let mut last = None;
            for statement in splitter.by_ref() {
                yielded += 1;
                assert!(yielded <= input.len() + 1, "{dialect:?} {input:?}");
                last = Some(statement);
            }
            assert!(splitter.next().is_none());
            match last {
                Some(Err(e)) => assert!(e.line() <= nul_line, "{dialect:?} {input:?}: {e}"),
                other => panic!("{dialect:?} {input:?} ended with {other:?}"),
            }
        }
    }
}

/// The lexer's fast path over the plain part of a statement is an optimisation only: on any
/// input it splits exactly as the byte-by-byte path does, or fails with the same error.
#[test]
fn the_fast_path_splits_any_input_like_the_slow_path() {
    const MORE: &[&str] = &[
        "INSERT INTO t VALUES ",
        "x$",
        "a$b$c",
        "$$",
        "'",
        "E'",
        " e'",
        "\"",
        "`",
        "[",
        "]",
    ];
    let mut rng = Rng::new(0xfa57_5eed);
    let placeholders = chaos_placeholders();
    for round in 0..20_000 {
        let input = chaos(&mut rng, MORE);
        let dialect = ALL[round % 3];
        let fast: Vec<_> = Splitter::new(input.as_bytes(), dialect)
            .with_placeholders(placeholders.clone())
            .map(|r| r.map_err(|e| e.to_string()))
            .collect();
        let slow: Vec<_> = Splitter::new(input.as_bytes(), dialect)
            .with_placeholders(placeholders.clone())
            .without_fast_path()
            .map(|r| r.map_err(|e| e.to_string()))
            .collect();
        assert_eq!(fast, slow, "{dialect:?} {input:?}");
    }
}
