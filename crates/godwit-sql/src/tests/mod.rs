//! Tests of the whole crate through its public API, one file per subject.
//!
//! Most tests go through [`check`], which splits an input and compares `(line, sql)` pairs,
//! and [`check_err`], which compares the error message a user would read. Both also split the
//! input through readers that hand out one and seven bytes at a time, so that every case also
//! proves the result does not depend on where the reader's buffer boundaries fall.

mod common;
mod copy;
mod mysql;
mod placeholders;
mod postgres;
mod roundtrip;
mod sqlite;
mod streaming;
mod transaction;

use std::io::BufReader;

use crate::{split_str, Dialect, SplitError, Splitter, Statement};

const ALL: [Dialect; 3] = [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite];

/// Splits `input` whole and through small reader buffers, and without the lexer's fast path,
/// and checks the results agree.
fn split(dialect: Dialect, input: &str) -> Result<Vec<Statement>, SplitError> {
    let whole = split_str(input, dialect);
    let slow: Result<Vec<_>, _> = Splitter::new(input.as_bytes(), dialect)
        .without_fast_path()
        .collect();
    match (&whole, &slow) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "fast path, {dialect:?}, input {input:?}"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "fast path, {input:?}"),
        _ => panic!("without the fast path {slow:?}, with it {whole:?}, input {input:?}"),
    }
    for capacity in [1, 7] {
        let reader = BufReader::with_capacity(capacity, input.as_bytes());
        let chunked: Result<Vec<_>, _> = Splitter::new(reader, dialect).collect();
        match (&whole, &chunked) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "buffer of {capacity} bytes, input {input:?}"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            _ => panic!("buffer of {capacity} bytes gives {chunked:?}, whole input {whole:?}"),
        }
    }
    whole
}

/// Checks that `input` splits into `expected` `(line, sql)` pairs.
#[track_caller]
fn check(dialect: Dialect, input: &str, expected: &[(u32, &str)]) {
    let statements =
        split(dialect, input).unwrap_or_else(|e| panic!("{dialect:?} cannot split {input:?}: {e}"));
    let actual: Vec<(u32, &str)> = statements
        .iter()
        .map(|s| (s.line, s.sql.as_str()))
        .collect();
    assert_eq!(actual, expected, "{dialect:?}, input:\n{input}");
}

/// [`check`] for every dialect.
#[track_caller]
fn check_all(input: &str, expected: &[(u32, &str)]) {
    for dialect in ALL {
        check(dialect, input, expected);
    }
}

/// Checks that splitting `input` fails with the message `expected`.
#[track_caller]
fn check_err(dialect: Dialect, input: &str, expected: &str) {
    match split(dialect, input) {
        Ok(statements) => panic!("{dialect:?} split {input:?} into {statements:?}"),
        Err(e) => assert_eq!(e.to_string(), expected, "{dialect:?}, input:\n{input}"),
    }
}

/// A deterministic pseudo-random generator (xorshift64*), enough to drive generated tests
/// without a dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}
