//! Flyway's checksum of a migration's text: the one implementation godwit uses everywhere (file
//! discovery, embedding at compile time, placeholders, `repair`).
//!
//! CRC-32 over the UTF-8 bytes of each line without its terminator, a leading BOM dropped, as a
//! signed 32-bit integer. Line terminators are `\n`, `\r\n` and a lone `\r`, as Java's
//! `BufferedReader.readLine` sees them, so CRLF and LF files have the same checksum, and so do a
//! file with and without a final newline. The algorithm is frozen: changing it would make every
//! database migrated so far fail validation.
//!
//! ```
//! use godwit_sql::checksum::{checksum_str, LineChecksum};
//!
//! assert_eq!(checksum_str("SELECT 1;\n"), 78787420);
//! assert_eq!(checksum_str("SELECT 1;\r\n"), 78787420);
//!
//! // The same, fed in pieces of any size.
//! let mut hasher = LineChecksum::default();
//! hasher.update(b"SELECT ");
//! hasher.update(b"1;\n");
//! assert_eq!(hasher.finish(), 78787420);
//! ```

use std::io::BufRead;

/// The checksum of a whole text.
pub fn checksum_str(text: &str) -> i32 {
    let mut hasher = LineChecksum::default();
    hasher.update(text.as_bytes());
    hasher.finish()
}

/// The checksum of everything a reader yields, streamed without holding the whole text.
pub fn checksum_reader<R: BufRead>(mut reader: R) -> std::io::Result<i32> {
    let mut hasher = LineChecksum::default();
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let n = buf.len();
        hasher.update(buf);
        reader.consume(n);
    }
    Ok(hasher.finish())
}

/// A reader that checksums what is read through it: [`ChecksumReader::finish`] gives the
/// checksum of everything consumed, so a file can be checked and checksummed in one pass.
///
/// ```
/// use std::io::Read;
/// use godwit_sql::checksum::ChecksumReader;
///
/// let mut reader = ChecksumReader::new(&b"SELECT 1;\r\n"[..]);
/// let mut text = String::new();
/// reader.read_to_string(&mut text).unwrap();
/// assert_eq!(reader.finish(), 78787420);
/// ```
pub struct ChecksumReader<R> {
    inner: R,
    hasher: LineChecksum,
}

impl<R: BufRead> ChecksumReader<R> {
    /// Wraps a reader.
    pub fn new(inner: R) -> Self {
        ChecksumReader {
            inner,
            hasher: LineChecksum::default(),
        }
    }

    /// The checksum of everything read so far.
    pub fn finish(self) -> i32 {
        self.hasher.finish()
    }
}

impl<R: BufRead> std::io::Read for ChecksumReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = {
            let available = self.fill_buf()?;
            let n = available.len().min(buf.len());
            buf[..n].copy_from_slice(&available[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for ChecksumReader<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        // What `fill_buf` returned is still buffered: asking again reads nothing.
        if let Ok(buffered) = self.inner.fill_buf() {
            self.hasher.update(&buffered[..amount.min(buffered.len())]);
        }
        self.inner.consume(amount);
    }
}

/// Incremental checksum: [`checksum_str`] fed in pieces of any size (a BOM or a CRLF split
/// across two pieces is handled).
#[derive(Default)]
pub struct LineChecksum {
    crc: crc32fast::Hasher,
    /// Whether the first byte that is not part of a BOM has been seen.
    started: bool,
    /// How many bytes of a leading BOM have been seen so far.
    bom_progress: usize,
}

const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

impl LineChecksum {
    /// Feeds the next bytes of the text.
    pub fn update(&mut self, mut bytes: &[u8]) {
        if !self.started {
            while self.bom_progress < 3 {
                match bytes.first() {
                    None => return,
                    Some(&b) if b == BOM[self.bom_progress] => {
                        self.bom_progress += 1;
                        bytes = &bytes[1..];
                    }
                    Some(_) => {
                        // Not a BOM after all: feed back the prefix swallowed so far.
                        let swallowed = &BOM[..self.bom_progress];
                        self.bom_progress = 3;
                        self.started = true;
                        self.update_body(swallowed);
                        break;
                    }
                }
            }
            self.started = true;
        }
        self.update_body(bytes);
    }

    fn update_body(&mut self, bytes: &[u8]) {
        let mut start = 0;
        for i in memchr::memchr2_iter(b'\n', b'\r', bytes) {
            if start < i {
                self.crc.update(&bytes[start..i]);
            }
            start = i + 1;
        }
        if start < bytes.len() {
            self.crc.update(&bytes[start..]);
        }
    }

    /// The checksum of everything fed so far.
    pub fn finish(self) -> i32 {
        if !self.started && self.bom_progress > 0 && self.bom_progress < 3 {
            // A text that is only the first bytes of a BOM: hash them as text.
            let mut crc = self.crc;
            crc.update(&BOM[..self.bom_progress]);
            return crc.finalize() as i32;
        }
        self.crc.finalize() as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_flyway_vectors() {
        assert_eq!(checksum_str("SELECT 1;\n"), 78787420);
        assert_eq!(checksum_str("SELECT\n1;\n"), -713821291);
        assert_eq!(checksum_str("CREATE TABLE person (id INT);\n"), 172184016);
        assert_eq!(checksum_str(""), 0);
    }

    #[test]
    fn checksum_is_blind_to_line_endings_bom_and_final_newline() {
        let lf = checksum_str("SELECT\n1;\n");
        assert_eq!(checksum_str("SELECT\r\n1;\r\n"), lf);
        assert_eq!(checksum_str("SELECT\r1;\r"), lf);
        assert_eq!(checksum_str("SELECT\n1;"), lf);
        assert_eq!(checksum_str("\u{FEFF}SELECT\n1;\n"), lf);
        assert_ne!(checksum_str("SELECT 1;"), checksum_str("SELECT 2;"));
    }

    #[test]
    fn streamed_checksum_equals_whole_text_checksum_across_buffer_splits() {
        let text = "\u{FEFF}CREATE TABLE a (id INT);\r\nINSERT INTO a VALUES (1);\r\n\r\nSELECT 1;";
        let expected = checksum_str(text);
        for cap in 1..8 {
            let reader = std::io::BufReader::with_capacity(cap, text.as_bytes());
            assert_eq!(checksum_reader(reader).unwrap(), expected, "capacity {cap}");
        }
    }

    #[test]
    fn partial_bom_is_hashed_as_text() {
        let bytes = [0xEF, 0xBB, b'x'];
        let reader = std::io::BufReader::with_capacity(1, &bytes[..]);
        let mut crc = crc32fast::Hasher::new();
        crc.update(&bytes);
        assert_eq!(checksum_reader(reader).unwrap(), crc.finalize() as i32);
        let only = [0xEF, 0xBB];
        let mut crc = crc32fast::Hasher::new();
        crc.update(&only);
        assert_eq!(checksum_reader(&only[..]).unwrap(), crc.finalize() as i32);
    }
}
