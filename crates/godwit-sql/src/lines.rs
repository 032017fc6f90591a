//! Line-by-line reading that agrees with how editors and Flyway count lines.

use std::io::{self, BufRead, ErrorKind};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads raw lines from a [`BufRead`], one at a time, into a buffer the caller reuses.
///
/// `\n`, `\r\n` and a lone `\r` all end a line, and the terminator is not part of the line, so
/// that line numbers match what the user sees in any editor whatever the file's origin. A UTF-8
/// byte-order mark at the start of the input is dropped. `BufRead::read_until` cannot be used
/// because it only knows one terminator byte.
pub(crate) struct LineReader<R> {
    reader: R,
    lines_read: u32,
    /// Set after a line ended in `\r`: a `\n` right after it belongs to the same terminator.
    skip_lf: bool,
}

impl<R: BufRead> LineReader<R> {
    pub(crate) fn new(reader: R) -> Self {
        LineReader {
            reader,
            lines_read: 0,
            skip_lf: false,
        }
    }

    /// The 1-based number of the line most recently read (0 before the first).
    pub(crate) fn line_no(&self) -> u32 {
        self.lines_read
    }

    /// Replaces the contents of `buf` with the next line, without its terminator.
    ///
    /// Returns `Ok(false)` at the end of the input. A final line without a terminator is still
    /// a line; an input ending in a terminator has no extra empty line after it.
    pub(crate) fn read_line(&mut self, buf: &mut Vec<u8>) -> io::Result<bool> {
        buf.clear();
        let mut found = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                break;
            }
            if self.skip_lf {
                self.skip_lf = false;
                if available.first() == Some(&b'\n') {
                    self.reader.consume(1);
                    continue;
                }
            }
            found = true;
            match memchr::memchr2(b'\n', b'\r', available) {
                Some(end) => {
                    buf.extend_from_slice(&available[..end]);
                    self.skip_lf = available[end] == b'\r';
                    self.reader.consume(end + 1);
                    break;
                }
                None => {
                    let n = available.len();
                    buf.extend_from_slice(available);
                    self.reader.consume(n);
                }
            }
        }
        if !found {
            return Ok(false);
        }
        self.lines_read = self.lines_read.saturating_add(1);
        if self.lines_read == 1 && buf.starts_with(BOM) {
            buf.drain(..BOM.len());
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    fn lines(input: &[u8], capacity: usize) -> Vec<Vec<u8>> {
        let mut reader = LineReader::new(BufReader::with_capacity(capacity, input));
        let mut buf = Vec::new();
        let mut out = Vec::new();
        while reader.read_line(&mut buf).unwrap() {
            out.push(buf.clone());
            assert_eq!(reader.line_no() as usize, out.len());
        }
        out
    }

    fn check(input: &str, expected: &[&str]) {
        let expected: Vec<Vec<u8>> = expected.iter().map(|l| l.as_bytes().to_vec()).collect();
        for capacity in [1, 2, 3, 8192] {
            assert_eq!(
                lines(input.as_bytes(), capacity),
                expected,
                "input {input:?} read with a buffer of {capacity} bytes"
            );
        }
    }

    #[test]
    fn every_line_terminator_ends_a_line() {
        check("", &[]);
        check("a", &["a"]);
        check("a\n", &["a"]);
        check("a\nb", &["a", "b"]);
        check("a\r\nb\r\n", &["a", "b"]);
        check("a\rb\r", &["a", "b"]);
        check("a\r\r\nb", &["a", "", "b"]);
        check("a\n\r\nb", &["a", "", "b"]);
        check("\n\n", &["", ""]);
        check("\r", &[""]);
        check("\r\n", &[""]);
        check("a\n\rb", &["a", "", "b"]);
    }

    #[test]
    fn byte_order_mark_is_dropped_from_the_first_line_only() {
        check("\u{feff}a\n\u{feff}b", &["a", "\u{feff}b"]);
        check("\u{feff}", &[""]);
    }
}
