/// Why a script could not be split into statements.
///
/// Every variant carries the 1-based line of the original file it concerns, so that the caller
/// can point the user at the exact place to fix; [`SplitError::line`] reads it uniformly.
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    /// Reading the input failed.
    #[error("could not read line {line}: {source}")]
    Io {
        /// The line that was being read.
        line: u32,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The input is not UTF-8. Migration files must be UTF-8 so that their checksums and the
    /// text sent to the database agree across platforms.
    #[error("line {line} is not valid UTF-8; migration files must be encoded in UTF-8")]
    InvalidUtf8 {
        /// The first line that is not valid UTF-8.
        line: u32,
    },
    /// The input contains a NUL byte. No database takes one in SQL text (PostgreSQL refuses
    /// it, SQLite stops reading the statement there, MySQL may run what comes before it), so
    /// the split stops instead of sending a statement that is not what the file says.
    #[error("line {line} contains a NUL byte, which no SQL text may contain")]
    NulByte {
        /// The first line with a NUL byte.
        line: u32,
    },
    /// The file ends inside a construct that was opened but never closed. Sending the rest of
    /// the file as one statement would only produce a confusing database error far from the
    /// cause, so the split stops here instead.
    #[error("the {what} that starts at line {line} is never closed")]
    Unterminated {
        /// What was left open, e.g. `string literal`, `block comment`,
        /// ``dollar-quoted string `$body$` `` or `BEGIN ... END block`.
        what: String,
        /// The line where it starts.
        line: u32,
    },
    /// A `${name}` placeholder has no value. Running the script with the placeholder left in
    /// place would send text the author never meant to run.
    #[error("the placeholder `${{{name}}}` at line {line} has no value")]
    MissingPlaceholder {
        /// The line where the placeholder appears.
        line: u32,
        /// The placeholder's name as written in the file.
        name: String,
    },
}

impl SplitError {
    /// The 1-based line of the original file this error concerns.
    pub fn line(&self) -> u32 {
        match self {
            SplitError::Io { line, .. }
            | SplitError::InvalidUtf8 { line }
            | SplitError::NulByte { line }
            | SplitError::Unterminated { line, .. }
            | SplitError::MissingPlaceholder { line, .. } => *line,
        }
    }
}
