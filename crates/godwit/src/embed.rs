//! Migrations embedded into the binary at compile time by [`embed_migrations!`], so that a
//! service carries its migrations with it and needs no directory at run time.
//!
//! [`embed_migrations!`] reads the directory recursively while the crate compiles, computes
//! each file's checksum then, and includes each `.sql` file with `include_str!`, so editing a
//! file rebuilds the crate. Cargo cannot know that the macro listed a directory, though: for
//! adding or removing a file to rebuild it too, the crate's `build.rs` must say so:
//!
//! ```text
//! // build.rs
//! fn main() {
//!     println!("cargo:rerun-if-changed=migrations");
//! }
//! ```
//!
//! Cargo then watches every file under `migrations` (and the directory itself). Without a
//! `build.rs` the macro warns, since a new migration would otherwise be missing from the binary
//! until something else changes. (godwit ships no helper for this line on purpose: calling one
//! would make godwit, and sqlx with it, a build-dependency compiled a second time for the
//! build script.)
//!
//! [`embed_migrations!`]: crate::embed_migrations

use crate::discover::{self, MigrationSet};
use crate::error::Error;

/// Migrations embedded by [`embed_migrations!`](crate::embed_migrations): every `.sql` file of
/// a directory, with the checksums computed at compile time.
///
/// It is a constant, so it can live in a `static`; turn it into a [`MigrationSet`] (or a
/// [`Migrator`](crate::Migrator)) at run time, when naming problems are reported.
///
/// ```
/// use godwit::{EmbeddedFile, EmbeddedMigrations};
///
/// // What `embed_migrations!("migrations")` expands to, for a directory of two files.
/// static MIGRATIONS: EmbeddedMigrations = EmbeddedMigrations::__new(
///     "migrations",
///     &[
///         EmbeddedFile::__new("V1__create_notes.sql", "CREATE TABLE notes (id INT);\n", -1972299539),
///         EmbeddedFile::__new("helpers.sql", "-- not a migration\n", 247337700),
///     ],
/// );
///
/// let set = MIGRATIONS.to_set()?;
/// let labels: Vec<String> = set.iter().map(|m| m.label().to_string()).collect();
/// assert_eq!(labels, ["V1"]);
/// assert_eq!(set.iter().next().unwrap().checksum, godwit::checksum_str("CREATE TABLE notes (id INT);"));
/// # Ok::<(), godwit::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedMigrations {
    location: &'static str,
    files: &'static [EmbeddedFile],
}

/// One file embedded by [`embed_migrations!`](crate::embed_migrations).
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedFile {
    path: &'static str,
    text: &'static str,
    checksum: i32,
}

impl EmbeddedFile {
    /// Used by the code [`embed_migrations!`](crate::embed_migrations) generates.
    #[doc(hidden)]
    pub const fn __new(path: &'static str, text: &'static str, checksum: i32) -> EmbeddedFile {
        EmbeddedFile {
            path,
            text,
            checksum,
        }
    }

    /// The path relative to the embedded directory, `/`-separated: what the history table's
    /// `script` column records.
    pub fn path(&self) -> &'static str {
        self.path
    }

    /// The file's text.
    pub fn text(&self) -> &'static str {
        self.text
    }

    /// Flyway's checksum of the text, computed at compile time.
    pub fn checksum(&self) -> i32 {
        self.checksum
    }
}

impl EmbeddedMigrations {
    /// Used by the code [`embed_migrations!`](crate::embed_migrations) generates.
    #[doc(hidden)]
    pub const fn __new(
        location: &'static str,
        files: &'static [EmbeddedFile],
    ) -> EmbeddedMigrations {
        EmbeddedMigrations { location, files }
    }

    /// The directory as written in the macro call, relative to the crate's manifest.
    pub fn location(&self) -> &'static str {
        self.location
    }

    /// Every embedded `.sql` file, migrations or not, sorted by path.
    pub fn files(&self) -> &'static [EmbeddedFile] {
        self.files
    }

    /// The migrations, with every naming problem at once ([`Error::Files`]): an invalid name,
    /// two files with one version, an undo script without its versioned migration. Files whose
    /// names are not migrations' are left out, as on disk.
    pub fn to_set(&self) -> Result<MigrationSet, Error> {
        let mut problems = Vec::new();
        let mut migrations = Vec::new();
        for file in self.files {
            let display_path = format!("{}/{}", self.location.trim_end_matches('/'), file.path);
            match discover::migration_from_embedded(
                file.path,
                &display_path,
                file.text,
                file.checksum,
            ) {
                Ok(Some(m)) => migrations.push(m),
                Ok(None) => {}
                Err(p) => problems.push(p),
            }
        }
        match MigrationSet::new(migrations) {
            Ok(set) if problems.is_empty() => Ok(set),
            Ok(_) => Err(Error::Files(problems)),
            Err(more) => {
                problems.extend(more);
                Err(Error::Files(problems))
            }
        }
    }
}

impl TryFrom<&EmbeddedMigrations> for MigrationSet {
    type Error = Error;

    fn try_from(embedded: &EmbeddedMigrations) -> Result<MigrationSet, Error> {
        embedded.to_set()
    }
}

impl TryFrom<EmbeddedMigrations> for MigrationSet {
    type Error = Error;

    fn try_from(embedded: EmbeddedMigrations) -> Result<MigrationSet, Error> {
        embedded.to_set()
    }
}
