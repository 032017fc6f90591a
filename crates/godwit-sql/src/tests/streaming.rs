//! Large inputs: streaming in bounded memory.

use std::io::{BufReader, Read};

use crate::{Dialect, Splitter};

/// Generates `rows` single-row INSERT statements on the fly, so the test itself never holds
/// the whole script in memory either.
struct GeneratedInserts {
    rows: usize,
    next_row: usize,
    pending: Vec<u8>,
    offset: usize,
}

impl GeneratedInserts {
    fn new(rows: usize) -> Self {
        GeneratedInserts {
            rows,
            next_row: 0,
            pending: Vec::new(),
            offset: 0,
        }
    }
}

impl Read for GeneratedInserts {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.offset == self.pending.len() {
            if self.next_row == self.rows {
                return Ok(0);
            }
            self.pending.clear();
            self.offset = 0;
            let n = self.next_row;
            self.next_row += 1;
            let text = format!(
                "INSERT INTO events (id, kind, payload) VALUES ({n}, 'kind;{}', 'it''s row {n} -- not a comment');\n",
                n % 7
            );
            self.pending.extend_from_slice(text.as_bytes());
        }
        let n = (self.pending.len() - self.offset).min(buf.len());
        buf[..n].copy_from_slice(&self.pending[self.offset..self.offset + n]);
        self.offset += n;
        Ok(n)
    }
}

#[test]
fn twenty_megabytes_of_inserts_split_in_bounded_memory() {
    // About 95 bytes per row: roughly 20 MB in all.
    const ROWS: usize = 220_000;
    let mut splitter = Splitter::new(BufReader::new(GeneratedInserts::new(ROWS)), Dialect::MySql);
    let mut count = 0usize;
    let mut bytes = 0usize;
    let mut max_buffered = 0usize;
    while let Some(statement) = splitter.next() {
        let statement = statement.unwrap();
        max_buffered = max_buffered.max(splitter.buffered_capacity());
        bytes += statement.sql.len() + 2;
        count += 1;
        if count == ROWS {
            assert_eq!(statement.line as usize, ROWS);
            assert!(statement.sql.starts_with("INSERT INTO events"));
            assert!(statement.sql.ends_with("-- not a comment')"));
        }
    }
    assert_eq!(count, ROWS);
    assert!(bytes > 19_000_000, "only {bytes} bytes generated");
    assert!(
        max_buffered < 4096,
        "the splitter kept {max_buffered} bytes"
    );
}

#[test]
fn buffers_do_not_grow_with_the_number_of_statements() {
    let mut splitter = Splitter::new(
        BufReader::new(GeneratedInserts::new(5_000)),
        Dialect::Postgres,
    );
    let mut max_buffered = 0;
    while let Some(statement) = splitter.next() {
        statement.unwrap();
        max_buffered = max_buffered.max(splitter.buffered_capacity());
    }
    assert!(
        max_buffered < 4096,
        "the splitter kept {max_buffered} bytes"
    );
}

#[test]
fn very_long_single_line_statement() {
    let value = "x;".repeat(500_000);
    let input = format!("INSERT INTO t VALUES ('{value}');\nSELECT 2;");
    let statements = crate::split_str(&input, Dialect::Sqlite).unwrap();
    assert_eq!(statements.len(), 2);
    assert_eq!(statements[0].sql.len(), input.find(";\n").unwrap());
    assert_eq!(statements[1].line, 2);
}
