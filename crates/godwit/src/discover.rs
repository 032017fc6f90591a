//! Locations on disk (or embedded texts) to a [`MigrationSet`], with every naming error at once.

use std::collections::HashSet;
use std::fmt;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::checksum_cache::{ChecksumCache, Stamp};
use crate::model::{CallbackEvent, Migration, MigrationKind, Source, Version};
use crate::naming::Naming;

use crate::limits::{version_too_long, MAX_DESCRIPTION, MAX_SCRIPT};

/// What a file name says about a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedName {
    /// Not a migration (another `.sql` helper, a README, …): ignored.
    NotMigration,
    /// A migration file.
    Migration {
        /// What the prefix says it is.
        kind: MigrationKind,
        /// The version; `None` for repeatables and callbacks.
        version: Option<Version>,
        /// The rest of the name, `_` read as a space.
        description: String,
    },
    /// Starts like a migration but does not parse: an error.
    Invalid {
        /// Why, and how to name it instead.
        reason: String,
    },
}

/// Classifies a file name (no directory) by Flyway's conventions plus `D` for data migrations.
pub fn parse_file_name(name: &str) -> ParsedName {
    parse_file_name_with(name, &Naming::default())
}

/// The prefix of data migrations, godwit's own kind: not configurable.
const DATA_PREFIX: &str = "D";

/// Classifies a file name (no directory) under the naming settings (docs/design.md §1.9).
/// Under the default settings this is [`parse_file_name`]; with `validate_migration_naming`
/// off, a name that does not parse is not a migration instead of an error.
pub fn parse_file_name_with(name: &str, naming: &Naming) -> ParsedName {
    match parse_name(name, naming) {
        ParsedName::Invalid { .. } if !naming.validate_migration_naming => ParsedName::NotMigration,
        parsed => parsed,
    }
}

fn parse_name(name: &str, naming: &Naming) -> ParsedName {
    let Some((stem, suffix)) = strip_sql_suffix(name, &naming.sql_migration_suffixes) else {
        return ParsedName::NotMigration;
    };
    let sep = naming.sql_migration_separator.as_str();
    if let Some(parsed) = parse_callback(stem, sep) {
        return parsed;
    }
    let mut prefixes = [
        (
            naming.sql_migration_prefix.as_str(),
            MigrationKind::Versioned,
        ),
        (
            naming.undo_sql_migration_prefix.as_str(),
            MigrationKind::Undo,
        ),
        (
            naming.baseline_migration_prefix.as_str(),
            MigrationKind::Baseline,
        ),
        (DATA_PREFIX, MigrationKind::Data),
        (
            naming.repeatable_sql_migration_prefix.as_str(),
            MigrationKind::Repeatable,
        ),
    ];
    // The longest prefix first, so that `UNDO` wins over `U`.
    prefixes.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
    let matched = prefixes.iter().find(|(prefix, _)| {
        stem.strip_prefix(prefix)
            .is_some_and(|rest| looks_versioned(rest, sep))
    });
    let Some(&(prefix, kind)) = matched else {
        // The same prefix in another case (`v1__x.sql`) is a mistake, not another file.
        for (prefix, _) in &prefixes {
            let Some(head) = stem.get(..prefix.len()) else {
                continue;
            };
            let rest = &stem[prefix.len()..];
            if head != *prefix && head.eq_ignore_ascii_case(prefix) && looks_versioned(rest, sep) {
                let must = if prefix.to_ascii_uppercase() == *prefix {
                    "must be upper-case".to_owned()
                } else {
                    format!("must be written `{prefix}`")
                };
                return ParsedName::Invalid {
                    reason: format!(
                        "the prefix `{head}` {must}: rename it to `{prefix}{rest}{suffix}`"
                    ),
                };
            }
        }
        return ParsedName::NotMigration;
    };
    let rest = &stem[prefix.len()..];
    if kind == MigrationKind::Repeatable {
        return match rest.strip_prefix(sep) {
            Some(description) => ParsedName::Migration {
                kind,
                version: None,
                description: description.replace('_', " "),
            },
            None if looks_versioned(rest, sep) => ParsedName::Invalid {
                reason: format!(
                    "repeatable migrations have no version: name it `{prefix}{sep}<description>{suffix}`"
                ),
            },
            None => ParsedName::NotMigration,
        };
    }
    if !looks_versioned(rest, sep) {
        return ParsedName::NotMigration;
    }
    let Some(at) = rest.find(sep) else {
        return ParsedName::Invalid {
            reason: format!(
                "no `{sep}` between the version and the description: name it `{prefix}<version>{sep}<description>{suffix}`"
            ),
        };
    };
    let (version_text, description) = (&rest[..at], &rest[at + sep.len()..]);
    if version_text.is_empty() {
        return ParsedName::Invalid {
            reason: format!(
                "it has no version: name it `{prefix}<version>{sep}{description}{suffix}`"
            ),
        };
    }
    match Version::parse(version_text) {
        Ok(version) => ParsedName::Migration {
            kind,
            version: Some(version),
            description: description.replace('_', " "),
        },
        Err(reason) => ParsedName::Invalid {
            reason: reason.to_string(),
        },
    }
}

/// The name without its ending (the longest of `suffixes` it ends with, in any case), and the
/// ending as written.
fn strip_sql_suffix<'a>(name: &'a str, suffixes: &[String]) -> Option<(&'a str, &'a str)> {
    suffixes
        .iter()
        .filter_map(|suffix| {
            let cut = name.len().checked_sub(suffix.len())?;
            (cut > 0 && name.is_char_boundary(cut) && name[cut..].eq_ignore_ascii_case(suffix))
                .then(|| (&name[..cut], &name[cut..]))
        })
        .min_by_key(|(stem, _)| stem.len())
}

/// After the prefix: a digit, or the separator (a missing version).
fn looks_versioned(rest: &str, sep: &str) -> bool {
    let b = rest.as_bytes();
    matches!(b.first(), Some(c) if c.is_ascii_digit()) || rest.starts_with(sep)
}

fn parse_callback(stem: &str, sep: &str) -> Option<ParsedName> {
    let (event, description) = match stem.split_once(sep) {
        Some((e, d)) => (e, d),
        None => (stem, ""),
    };
    let event = CallbackEvent::from_name(event)?;
    Some(ParsedName::Migration {
        kind: MigrationKind::Callback(event),
        version: None,
        description: description.replace('_', " "),
    })
}

/// A problem with one file (or a group of files) found while discovering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    /// The files concerned, as a user would type their paths.
    pub paths: Vec<String>,
    /// 1-based line, where the problem is inside a file.
    pub line: Option<u32>,
    /// What is wrong.
    pub message: String,
    /// What to do about it, where godwit knows.
    pub hint: Option<String>,
}

impl fmt::Display for FileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.paths.join(", ");
        match self.line {
            Some(line) => write!(f, "{path}:{line}: {}", self.message),
            None => write!(f, "{path}: {}", self.message),
        }
    }
}

/// Every migration found, sorted: versioned, undo, baseline and data by version; repeatables by
/// description; callbacks by event then name.
#[derive(Debug, Clone, Default)]
pub struct MigrationSet {
    migrations: Vec<Arc<Migration>>,
}

impl MigrationSet {
    /// Builds a set from migrations gathered elsewhere (embedded, written in Rust, …), checking
    /// for duplicates and undo scripts without their versioned migration.
    pub fn new(mut migrations: Vec<Migration>) -> Result<MigrationSet, Vec<FileProblem>> {
        migrations.sort_by(order);
        let problems = check_set(&migrations);
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(MigrationSet {
            migrations: migrations.into_iter().map(Arc::new).collect(),
        })
    }

    /// Every migration, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Migration>> {
        self.migrations.iter()
    }

    /// The migrations of one kind, in order.
    pub fn of_kind(&self, kind: MigrationKind) -> impl Iterator<Item = &Arc<Migration>> {
        self.migrations.iter().filter(move |m| m.kind == kind)
    }

    /// How many migrations the set holds.
    pub fn len(&self) -> usize {
        self.migrations.len()
    }

    /// Whether the set holds no migration.
    pub fn is_empty(&self) -> bool {
        self.migrations.is_empty()
    }

    /// Adds migrations gathered elsewhere (written in Rust, generated) to the set, with the same
    /// checks as [`MigrationSet::new`] over the whole set; on a problem the set is unchanged.
    pub fn extend(
        &mut self,
        more: impl IntoIterator<Item = Migration>,
    ) -> Result<(), Vec<FileProblem>> {
        let mut all: Vec<Migration> = self.migrations.iter().map(|m| (**m).clone()).collect();
        all.extend(more);
        *self = MigrationSet::new(all)?;
        Ok(())
    }

    /// The same set without its callbacks (`skip_default_callbacks`, docs/design.md §5.8).
    pub(crate) fn without_callbacks(&self) -> MigrationSet {
        MigrationSet {
            migrations: self
                .migrations
                .iter()
                .filter(|m| !matches!(m.kind, MigrationKind::Callback(_)))
                .cloned()
                .collect(),
        }
    }

    /// Gives mutable access before planning, so the executor can record checksums taken after
    /// placeholder replacement.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Arc<Migration>> {
        self.migrations.iter_mut()
    }
}

/// The set's order: by kind, then version (repeatables by description, callbacks by description
/// and script). Used with a stable sort, migrations that claim the same version or repeatable
/// keep the order they were given in, which is the order their problem lists them.
fn order(a: &Migration, b: &Migration) -> std::cmp::Ordering {
    kind_rank(a.kind)
        .cmp(&kind_rank(b.kind))
        .then_with(|| match a.kind {
            MigrationKind::Repeatable => a.description.cmp(&b.description),
            MigrationKind::Callback(_) => {
                (&a.description, &a.script).cmp(&(&b.description, &b.script))
            }
            _ => a.version.cmp(&b.version),
        })
}

/// Finds duplicates and orphan undo scripts in a set sorted by [`order`], where the files that
/// share a version (`1.0` = `1`) or a repeatable description are next to each other.
fn check_set(migrations: &[Migration]) -> Vec<FileProblem> {
    let mut problems = Vec::new();
    let same = |a: &Migration, b: &Migration| {
        a.kind == b.kind
            && match a.kind {
                MigrationKind::Callback(_) => false,
                MigrationKind::Repeatable => a.description == b.description,
                _ => a.version.is_some() && a.version == b.version,
            }
    };
    for group in migrations.chunk_by(|a, b| same(a, b)) {
        if group.len() > 1 {
            let first = &group[0];
            let what = match (first.kind, &first.version) {
                (MigrationKind::Repeatable, _) => {
                    format!("repeatable migration `{}`", first.description)
                }
                (kind, Some(version)) => {
                    format!(
                        "{} migration version {version}",
                        kind.label().to_lowercase()
                    )
                }
                (kind, None) => format!("{} migration", kind.label().to_lowercase()),
            };
            problems.push(FileProblem {
                paths: group.iter().map(|m| m.display_path.clone()).collect(),
                line: None,
                message: format!("{what} is defined by {} files", group.len()),
                hint: Some("keep one of them: rename or delete the others".into()),
            });
        }
    }
    let versioned: HashSet<&Version> = migrations
        .iter()
        .filter(|m| m.kind == MigrationKind::Versioned)
        .filter_map(|m| m.version.as_ref())
        .collect();
    for m in migrations.iter().filter(|m| m.kind == MigrationKind::Undo) {
        if let Some(v) = &m.version {
            if !versioned.contains(v) {
                problems.push(FileProblem {
                    paths: vec![m.display_path.clone()],
                    line: None,
                    message: format!("undo migration U{v} has no versioned migration V{v}"),
                    hint: Some(format!(
                        "an undo script reverses the versioned migration of the same version: add `V{v}__…sql` or fix the version in this file name"
                    )),
                });
            }
        }
    }
    problems
}

fn kind_rank(kind: MigrationKind) -> u8 {
    match kind {
        MigrationKind::Baseline => 0,
        MigrationKind::Versioned => 1,
        MigrationKind::Undo => 2,
        MigrationKind::Repeatable => 3,
        MigrationKind::Data => 4,
        MigrationKind::Callback(e) => 5 + e as u8,
    }
}

/// Reads every location recursively. Every problem found is returned at once.
pub fn discover(locations: &[PathBuf]) -> Result<MigrationSet, Vec<FileProblem>> {
    discover_cached(locations, None)
}

/// [`discover`], with a cache of checksums in `cache_dir`: a file whose size, times and inode
/// are what they were when it was last read is not read again. The command-line tool keeps its
/// cache in the user's cache directory; see `checksum_cache` in `docs/configuration.md`.
pub fn discover_cached(
    locations: &[PathBuf],
    cache_dir: Option<&Path>,
) -> Result<MigrationSet, Vec<FileProblem>> {
    discover_with(locations, cache_dir, &Naming::default())
}

/// [`discover_cached`] under naming settings other than the defaults (docs/design.md §1.9):
/// Flyway's `sqlMigrationPrefix` and the others ([`crate::Config::naming`]).
pub fn discover_with(
    locations: &[PathBuf],
    cache_dir: Option<&Path>,
    naming: &Naming,
) -> Result<MigrationSet, Vec<FileProblem>> {
    if let Err(message) = naming.check() {
        return Err(vec![FileProblem {
            paths: locations.iter().map(|l| l.display().to_string()).collect(),
            line: None,
            message: format!("the naming settings cannot be used: {message}"),
            hint: None,
        }]);
    }
    let mut problems = Vec::new();
    let mut migrations = Vec::new();
    let mut seen_files: HashSet<PathBuf> = HashSet::new();
    for location in locations {
        match std::fs::metadata(location) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                problems.push(FileProblem {
                    paths: vec![location.display().to_string()],
                    line: None,
                    message: "this location is not a directory".into(),
                    hint: Some("`locations` lists directories that hold migration files".into()),
                });
                continue;
            }
            Err(e) => {
                problems.push(FileProblem {
                    paths: vec![location.display().to_string()],
                    line: None,
                    message: format!("cannot read this location: {e}"),
                    hint: Some(
                        "create it (`godwit new <description>` does), or point `locations` / `--locations` / `GODWIT_LOCATIONS` at the directory holding your migrations".into(),
                    ),
                });
                continue;
            }
        }
        // Walked unsorted, then sorted once by the path below the location, directory by
        // directory (as a depth-first walk in name order would list them), comparing bytes.
        let mut files: Vec<(String, PathBuf)> = Vec::new();
        for entry in walkdir::WalkDir::new(location)
            .follow_links(true)
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().as_encoded_bytes().starts_with(b"."))
        {
            match entry {
                Ok(entry) if entry.file_type().is_file() => {
                    let path = entry.into_path();
                    files.push((relative_script(location, &path), path));
                }
                Ok(_) => {}
                Err(e) => problems.push(FileProblem {
                    paths: vec![e.path().unwrap_or(location.as_path()).display().to_string()],
                    line: None,
                    message: format!("cannot read: {e}"),
                    hint: None,
                }),
            }
        }
        files.sort_unstable_by(|a, b| walk_order(&a.0, &b.0));
        if locations.len() > 1 {
            // Overlapping locations (`migrations` and `migrations/sub`) must not list a file
            // twice: each location is resolved once, and a file is known by that root plus its
            // path.
            let root = std::fs::canonicalize(location).unwrap_or_else(|_| location.clone());
            files.retain(|(script, _)| seen_files.insert(root.join(script)));
        }
        let mut cache = match cache_dir {
            Some(dir) => ChecksumCache::open(dir, location),
            None => ChecksumCache::default(),
        };
        let first = migrations.len();
        for loaded in load_files(&cache, naming, files) {
            match loaded {
                Ok(Some((m, stamp))) => {
                    if let Some(stamp) = stamp {
                        cache.learn(m.script.clone(), stamp, m.checksum);
                    }
                    migrations.push(m);
                }
                Ok(None) => {}
                Err(p) => problems.push(p),
            }
        }
        cache.save(migrations[first..].iter().map(|m| m.script.as_str()));
    }
    match MigrationSet::new(migrations) {
        Ok(set) if problems.is_empty() => Ok(set),
        Ok(_) => Err(problems),
        Err(more) => {
            problems.extend(more);
            Err(problems)
        }
    }
}

/// The path of a file below its location, `/`-separated: the `script` column of the history.
fn relative_script(location: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(location).unwrap_or(path);
    let text = relative.to_string_lossy();
    if std::path::MAIN_SEPARATOR == '/' {
        text.into_owned()
    } else {
        relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// Orders scripts directory by directory, as a depth-first walk in name order lists them: `/`
/// sorts before every other byte, so `a/x.sql` comes before `a-b/y.sql`.
fn walk_order(a: &str, b: &str) -> std::cmp::Ordering {
    let key = |c: u8| if c == b'/' { 0 } else { c };
    a.bytes().map(key).cmp(b.bytes().map(key))
}

/// Reads and checksums files (`(script, path)` pairs), on a few threads when there are many
/// (validating a project with thousands of applied files is mostly this). The results keep the
/// order of `files`.
fn load_files(
    cache: &ChecksumCache,
    naming: &Naming,
    files: Vec<(String, PathBuf)>,
) -> Vec<Loaded> {
    let load = |file| load_file(cache, naming, file);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    if files.len() < 64 || threads < 2 {
        return files.into_iter().map(load).collect();
    }
    let chunk = files.len().div_ceil(threads);
    let mut parts = Vec::new();
    let mut files = files.into_iter();
    loop {
        let part: Vec<_> = files.by_ref().take(chunk).collect();
        if part.is_empty() {
            break;
        }
        parts.push(part);
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| {
                let first = part[0].1.clone();
                (
                    scope.spawn(move || part.into_iter().map(load).collect::<Vec<_>>()),
                    first,
                )
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|(handle, first)| {
                handle.join().unwrap_or_else(|_| {
                    vec![Err(FileProblem {
                        paths: vec![first.display().to_string()],
                        line: None,
                        message: "reading this file, or one after it, failed unexpectedly".into(),
                        hint: Some("this is a bug in godwit: please report it".into()),
                    })]
                })
            })
            .collect()
    })
}

/// A migration read from a file (or not a migration), with the file's stamp when it was read
/// rather than found in the checksum cache.
type Loaded = Result<Option<(Migration, Option<Stamp>)>, FileProblem>;

fn load_file(cache: &ChecksumCache, naming: &Naming, (script, path): (String, PathBuf)) -> Loaded {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Ok(None);
    };
    let (kind, version, description) = match parse_file_name_with(name, naming) {
        ParsedName::NotMigration => return Ok(None),
        ParsedName::Invalid { reason } => {
            return Err(FileProblem {
                paths: vec![path.display().to_string()],
                line: None,
                message: format!("not a valid migration name: {reason}"),
                hint: Some(
                    "migration files are named `V<version>__<description>.sql` (also U, B, D; `R__<description>.sql` for repeatables)".into(),
                ),
            })
        }
        ParsedName::Migration {
            kind,
            version,
            description,
        } => (kind, version, description),
    };
    let display_path = path.display().to_string();
    check_lengths(&display_path, version.as_ref(), &description, &script)?;
    let conf = read_script_config(&path.with_file_name(format!("{name}.conf")))?;
    let migration = |checksum, script, source| Migration {
        kind,
        version,
        description,
        script,
        display_path: display_path.clone(),
        checksum,
        applied_checksum: checksum,
        source,
        execute_in_transaction: conf.execute_in_transaction,
        placeholder_replacement: conf.placeholder_replacement,
    };
    if let Some(encoding) = conf.encoding {
        // Read whole and decoded once: every later reading uses the text (§1.10).
        let text = decode_file(&path, &display_path, encoding)?;
        let checksum = crate::model::checksum_str(&text);
        if let Some(line) = nul_line(text.as_bytes()) {
            return Err(nul_problem(&display_path, Some(line)));
        }
        return Ok(Some((
            migration(checksum, script, Source::Text(text)),
            None,
        )));
    }
    let file_source = || Source::File(path.clone());
    let cached = cache
        .knows(&script)
        .then(|| std::fs::metadata(&path).ok())
        .flatten()
        .and_then(|meta| Stamp::of(&meta))
        .and_then(|stamp| cache.get(&script, &stamp));
    if let Some(checksum) = cached {
        return Ok(Some((migration(checksum, script, file_source()), None)));
    }
    let problem = |line, message| FileProblem {
        paths: vec![display_path.clone()],
        line,
        message,
        hint: Some("migration files must be UTF-8 text".into()),
    };
    let file = std::fs::File::open(&path).map_err(|e| FileProblem {
        hint: None,
        ..problem(None, format!("cannot read: {e}"))
    })?;
    // Small files (nearly all) are read whole with one `read`; large ones are streamed in
    // bounded memory.
    let meta = file.metadata().ok();
    let checksum = match &meta {
        Some(meta) if meta.len() <= SMALL_FILE => read_small(&file, meta.len() as usize)
            .map_err(|e| (None, format!("cannot read: {e}")))
            .and_then(|bytes| scan_bytes(&bytes)),
        _ => scan_text(std::io::BufReader::with_capacity(64 * 1024, file)),
    }
    .map_err(|(line, message)| {
        if message == NUL_MESSAGE {
            nul_problem(&display_path, line)
        } else {
            problem(line, message)
        }
    })?;
    let stamp = meta.as_ref().and_then(Stamp::of);
    Ok(Some((migration(checksum, script, file_source()), stamp)))
}

/// What a migration's `<name>.conf` file says (Flyway's script configuration, docs/design.md
/// §1.10). All `None` when there is no such file.
#[derive(Debug, Default)]
struct ScriptConfig {
    execute_in_transaction: Option<bool>,
    placeholder_replacement: Option<bool>,
    /// Set only for an encoding other than UTF-8.
    encoding: Option<&'static encoding_rs::Encoding>,
}

/// Reads `conf` (Java properties: `key=value` or `key: value`, `#` and `!` comments), when it
/// exists. Flyway's keys `executeInTransaction`, `placeholderReplacement` and `encoding`; any
/// other key is a problem naming its line, `shouldExecute` included (godwit has no expressions).
fn read_script_config(conf: &Path) -> Result<ScriptConfig, FileProblem> {
    let mut config = ScriptConfig::default();
    let text = match std::fs::read_to_string(conf) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(config),
        Err(e) => {
            return Err(FileProblem {
                paths: vec![conf.display().to_string()],
                line: None,
                message: format!("cannot read this script configuration: {e}"),
                hint: None,
            })
        }
    };
    let problem = |line: usize, message: String, hint: &str| FileProblem {
        paths: vec![conf.display().to_string()],
        line: Some(line as u32 + 1),
        message,
        hint: Some(hint.to_string()),
    };
    let boolean = |line: usize, key: &str, value: &str| match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(problem(
            line,
            format!("`{key}` must be true or false, not `{value}`"),
            "write `true` or `false`",
        )),
    };
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let Some(at) = line.find(['=', ':']) else {
            return Err(problem(
                n,
                format!("`{line}` is not a setting"),
                "write `key=value`, such as `executeInTransaction=false`",
            ));
        };
        let (key, value) = (line[..at].trim(), line[at + 1..].trim());
        match key {
            "executeInTransaction" => {
                config.execute_in_transaction = Some(boolean(n, key, value)?)
            }
            "placeholderReplacement" => {
                config.placeholder_replacement = Some(boolean(n, key, value)?)
            }
            "encoding" => match encoding_rs::Encoding::for_label(value.as_bytes()) {
                Some(encoding) if encoding == encoding_rs::UTF_8 => config.encoding = None,
                Some(encoding) => config.encoding = Some(encoding),
                None => {
                    return Err(problem(
                        n,
                        format!("`{value}` is not an encoding godwit knows"),
                        "use a name such as `UTF-8`, `ISO-8859-1`, `windows-1252` or `UTF-16`",
                    ))
                }
            },
            "shouldExecute" => {
                return Err(problem(
                    n,
                    "`shouldExecute` is not supported: godwit does not evaluate Flyway's expressions".into(),
                    "remove the line, and move the migration out of the locations where it must not run",
                ))
            }
            other => {
                return Err(problem(
                    n,
                    format!("`{other}` is not a script setting"),
                    "a migration's `.conf` file may set `executeInTransaction`, `placeholderReplacement` and `encoding`",
                ))
            }
        }
    }
    Ok(config)
}

/// A file in another encoding than UTF-8, decoded (a byte-order mark decides, as Flyway lets
/// one decide). Bytes that are not of the encoding are a problem.
fn decode_file(
    path: &Path,
    display_path: &str,
    encoding: &'static encoding_rs::Encoding,
) -> Result<Arc<str>, FileProblem> {
    let problem = |message: String| FileProblem {
        paths: vec![display_path.to_string()],
        line: None,
        message,
        hint: Some("fix the `encoding` in the file's `.conf`, or the file".into()),
    };
    let bytes = std::fs::read(path).map_err(|e| problem(format!("cannot read: {e}")))?;
    let (text, used, malformed) = encoding.decode(&bytes);
    if malformed {
        return Err(problem(format!("is not valid {} text", used.name())));
    }
    Ok(Arc::from(text.as_ref()))
}

/// A UTF-8 byte-order mark, which the checksum and the UTF-8 check skip at the start of a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Files up to this size are read whole.
const SMALL_FILE: u64 = 256 * 1024;

/// Reads a file of (about) `len` bytes whole: one `read` when the size is right, which is what
/// `read_to_end` does not manage without asking the size again.
fn read_small(mut file: &std::fs::File, len: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = vec![0; len + 1];
    let mut filled = 0;
    while filled < bytes.len() {
        match file.read(&mut bytes[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    bytes.truncate(filled);
    if filled == len + 1 {
        // The file grew since its size was read.
        file.read_to_end(&mut bytes)?;
    }
    Ok(bytes)
}

/// Refuses a name whose version, description or path the history table cannot hold.
fn check_lengths(
    display_path: &str,
    version: Option<&Version>,
    description: &str,
    script: &str,
) -> Result<(), FileProblem> {
    if let Some(why) = version.and_then(version_too_long) {
        return Err(FileProblem {
            paths: vec![display_path.to_string()],
            line: None,
            message: why,
            hint: Some("rename the file with a shorter version".into()),
        });
    }
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(FileProblem {
            paths: vec![display_path.to_string()],
            line: None,
            message: format!(
                "the description is {} characters long; the history table holds {MAX_DESCRIPTION}",
                description.chars().count()
            ),
            hint: Some("shorten the file name".into()),
        });
    }
    if script.chars().count() > MAX_SCRIPT {
        return Err(FileProblem {
            paths: vec![display_path.to_string()],
            line: None,
            message: format!(
                "the path is longer than the {MAX_SCRIPT} characters the history table holds"
            ),
            hint: Some("move the file closer to its location's root".into()),
        });
    }
    Ok(())
}

impl Migration {
    /// A migration from text supplied by the caller (generated, or read elsewhere), named by
    /// `script` (the relative path recorded in the history table) as a file would be: `None`
    /// for a name that is not a migration's (`helpers.sql`), an error for a misspelt one.
    pub fn from_text(script: &str, text: Arc<str>) -> Result<Option<Migration>, FileProblem> {
        migration_from_text(script, text)
    }
}

/// Builds a migration from text supplied by the caller (generated, or read elsewhere).
/// `script` is the relative path recorded in the history table.
pub fn migration_from_text(script: &str, text: Arc<str>) -> Result<Option<Migration>, FileProblem> {
    let checksum = crate::model::checksum_str(&text);
    let nul = nul_line(text.as_bytes());
    let migration =
        migration_from_parts(script, script, checksum, Source::Text(text)).map_err(|mut p| {
            p.hint = None;
            p
        })?;
    match (migration, nul) {
        (Some(_), Some(_)) => Err(nul_problem(script, nul)),
        (migration, _) => Ok(migration),
    }
}

/// Builds a migration from a file embedded at compile time by
/// [`embed_migrations!`](crate::embed_migrations), with the checksum computed then.
/// `script` is the path relative to the embedded directory, `display_path` the path a user
/// knows the file by.
pub fn migration_from_embedded(
    script: &str,
    display_path: &str,
    text: &'static str,
    checksum: i32,
) -> Result<Option<Migration>, FileProblem> {
    let migration = migration_from_parts(script, display_path, checksum, Source::Embedded(text))?;
    match (migration, nul_line(text.as_bytes())) {
        (Some(_), nul @ Some(_)) => Err(nul_problem(display_path, nul)),
        (migration, _) => Ok(migration),
    }
}

fn migration_from_parts(
    script: &str,
    display_path: &str,
    checksum: i32,
    source: Source,
) -> Result<Option<Migration>, FileProblem> {
    let name = script.rsplit('/').next().unwrap_or(script);
    let (kind, version, description) = match parse_file_name(name) {
        ParsedName::NotMigration => return Ok(None),
        ParsedName::Invalid { reason } => {
            return Err(FileProblem {
                paths: vec![display_path.to_string()],
                line: None,
                message: format!("not a valid migration name: {reason}"),
                hint: Some(
                    "migration files are named `V<version>__<description>.sql` (also U, B, D; `R__<description>.sql` for repeatables)".into(),
                ),
            })
        }
        ParsedName::Migration {
            kind,
            version,
            description,
        } => (kind, version, description),
    };
    check_lengths(display_path, version.as_ref(), &description, script)?;
    Ok(Some(Migration {
        kind,
        version,
        description,
        script: script.to_string(),
        display_path: display_path.to_string(),
        checksum,
        applied_checksum: checksum,
        source,
        execute_in_transaction: None,
        placeholder_replacement: None,
    }))
}

/// [`scan_text`] of a text in memory: the UTF-8 check over the whole text at once.
fn scan_bytes(bytes: &[u8]) -> Result<i32, (Option<u32>, String)> {
    let body = bytes.strip_prefix(BOM).unwrap_or(bytes);
    // Lines as `read_until(b'\n')` cuts them, so that both scans report the same problem: the
    // first line (of those) with either, a NUL byte first.
    let lf_line = |at: usize| memchr::memchr_iter(b'\n', &body[..at]).count();
    let invalid = std::str::from_utf8(body).err().map(|e| e.valid_up_to());
    if let Some(at) = memchr::memchr(0, body) {
        if invalid.is_none_or(|bad| lf_line(at) <= lf_line(bad)) {
            return Err((nul_line(body), NUL_MESSAGE.into()));
        }
    }
    if let Some(bad) = invalid {
        let line = lf_line(bad) + 1;
        return Err((
            Some(u32::try_from(line).unwrap_or(u32::MAX)),
            "this line is not valid UTF-8".into(),
        ));
    }
    let mut hasher = crate::model::LineChecksum::default();
    // The hasher drops the BOM and every line terminator itself.
    hasher.update(bytes);
    Ok(hasher.finish())
}

/// Computes the checksum while checking that the text is UTF-8, line by line, in bounded memory.
fn scan_text<R: BufRead>(mut reader: R) -> Result<i32, (Option<u32>, String)> {
    let mut hasher = crate::model::LineChecksum::default();
    let mut line = Vec::with_capacity(256);
    let mut number: u32 = 0;
    // Lines ended by a lone `\r` inside what `read_until` returned as one line: the splitter
    // counts them as lines, so a NUL byte is reported where it will be.
    let mut cr_lines: u32 = 0;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| (Some(number + 1), format!("cannot read: {e}")))?;
        if n == 0 {
            break;
        }
        number += 1;
        let mut body: &[u8] = &line;
        if number == 1 {
            body = body.strip_prefix(BOM).unwrap_or(body);
        }
        if let Some(at) = memchr::memchr(0, body) {
            let line = number
                .saturating_add(cr_lines)
                .saturating_add(nul_line(&body[..=at]).unwrap_or(1) - 1);
            return Err((Some(line), NUL_MESSAGE.into()));
        }
        if memchr::memchr(b'\r', body).is_some() {
            cr_lines = cr_lines.saturating_add(lone_crs(body));
        }
        if std::str::from_utf8(body).is_err() {
            return Err((Some(number), "this line is not valid UTF-8".into()));
        }
        // The hasher drops the BOM and every line terminator itself.
        hasher.update(&line);
    }
    Ok(hasher.finish())
}

const NUL_MESSAGE: &str = "this line contains a NUL byte, which no SQL text may contain";

/// The 1-based line of the first NUL byte in `text`, lines counted as the splitter counts them
/// (`\n`, `\r\n` or a lone `\r` ends one).
fn nul_line(text: &[u8]) -> Option<u32> {
    let at = memchr::memchr(0, text)?;
    let before = &text[..at];
    let lines = memchr::memchr_iter(b'\n', before).count() + lone_crs(before) as usize;
    Some(u32::try_from(lines + 1).unwrap_or(u32::MAX))
}

/// How many `\r` in `text` end a line on their own (are not followed by `\n`).
fn lone_crs(text: &[u8]) -> u32 {
    let lone = memchr::memchr_iter(b'\r', text)
        .filter(|&i| text.get(i + 1) != Some(&b'\n'))
        .count();
    u32::try_from(lone).unwrap_or(u32::MAX)
}

/// The refusal of a text in memory (supplied by the caller, or embedded at compile time) with a
/// NUL byte at `line`, as a file with one is refused.
fn nul_problem(display_path: &str, line: Option<u32>) -> FileProblem {
    FileProblem {
        paths: vec![display_path.to_string()],
        line,
        message: NUL_MESSAGE.into(),
        hint: Some("remove the NUL byte: migrations must be UTF-8 text".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn migration(name: &str) -> (MigrationKind, Option<String>, String) {
        match parse_file_name(name) {
            ParsedName::Migration {
                kind,
                version,
                description,
            } => (kind, version.map(|v| v.to_string()), description),
            other => panic!("{name}: {other:?}"),
        }
    }

    fn invalid(name: &str) -> String {
        match parse_file_name(name) {
            ParsedName::Invalid { reason } => reason,
            other => panic!("{name} should be invalid: {other:?}"),
        }
    }

    #[test]
    fn names_parse_by_flyway_conventions() {
        assert_eq!(
            migration("V1__Create_person.sql"),
            (
                MigrationKind::Versioned,
                Some("1".into()),
                "Create person".into()
            )
        );
        assert_eq!(
            migration("V2_0_1__x.sql"),
            (MigrationKind::Versioned, Some("2.0.1".into()), "x".into())
        );
        assert_eq!(
            migration("U1.2__undo_it.sql"),
            (MigrationKind::Undo, Some("1.2".into()), "undo it".into())
        );
        assert_eq!(
            migration("R__views.sql"),
            (MigrationKind::Repeatable, None, "views".into())
        );
        assert_eq!(
            migration("B5__squashed.sql"),
            (MigrationKind::Baseline, Some("5".into()), "squashed".into())
        );
        assert_eq!(
            migration("D3__backfill.sql"),
            (MigrationKind::Data, Some("3".into()), "backfill".into())
        );
        assert_eq!(
            migration("V20260101120000__ts.SQL"),
            (
                MigrationKind::Versioned,
                Some("20260101120000".into()),
                "ts".into()
            )
        );
        assert_eq!(
            migration("V1__.sql"),
            (MigrationKind::Versioned, Some("1".into()), "".into())
        );
    }

    #[test]
    fn callbacks_are_recognised_with_and_without_description() {
        assert_eq!(
            migration("beforeMigrate.sql").0,
            MigrationKind::Callback(CallbackEvent::BeforeMigrate)
        );
        assert_eq!(
            migration("afterEachMigrate__audit.sql"),
            (
                MigrationKind::Callback(CallbackEvent::AfterEachMigrate),
                None,
                "audit".into()
            )
        );
        assert_eq!(parse_file_name("beforeClean.sql"), ParsedName::NotMigration);
    }

    #[test]
    fn other_files_are_not_migrations() {
        for name in [
            "README.md",
            "V1__x.sql.bak",
            "Vacuum.sql",
            "helpers.sql",
            "Readme.sql",
            "Data.sql",
            "V1__x.txt",
            ".sql",
        ] {
            assert_eq!(parse_file_name(name), ParsedName::NotMigration, "{name}");
        }
    }

    #[test]
    fn names_that_start_like_migrations_but_do_not_parse_are_invalid() {
        assert!(invalid("V1_create.sql").contains("no `__`"));
        assert!(invalid("V__x.sql").contains("no version"));
        assert!(invalid("V1.a__x.sql").contains("not a version"));
        assert!(invalid("V1..2__x.sql").contains("empty part"));
        assert!(invalid("R1__x.sql").contains("no version"));
        assert!(invalid("v1__x.sql").contains("upper-case"));
        assert!(invalid("D1.sql").contains("no `__`"));
    }

    fn write(dir: &Path, rel: &str, text: &str) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn discovers_recursively_and_sorts_by_version() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        write(dir, "V1.10__b.sql", "SELECT 1;\n");
        write(dir, "sub/V1.9__a.sql", "SELECT 1;\n");
        write(dir, "R__views.sql", "SELECT 1;\n");
        write(dir, "notes.txt", "x");
        write(dir, ".hidden/V7__x.sql", "x");
        let set = discover(&[dir.to_path_buf()]).unwrap();
        let labels: Vec<String> = set.iter().map(|m| m.label().to_string()).collect();
        assert_eq!(labels, ["V1.9", "V1.10", "R__views"]);
        let scripts: Vec<&str> = set.iter().map(|m| m.script.as_str()).collect();
        assert_eq!(scripts, ["sub/V1.9__a.sql", "V1.10__b.sql", "R__views.sql"]);
        assert_eq!(set.iter().next().unwrap().checksum, 78787420);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        write(dir, "V1__a.sql", "");
        write(dir, "a/V1.0__b.sql", "");
        write(dir, "V2_bad.sql", "");
        write(dir, "U3__orphan.sql", "");
        write(dir, "R__x.sql", "");
        write(dir, "b/R__x.sql", "");
        std::fs::write(dir.join("V4__latin1.sql"), b"SELECT 'caf\xe9';\n").unwrap();
        let problems = discover(&[dir.to_path_buf()]).unwrap_err();
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(problems.len(), 5, "{text:#?}");
        assert!(text
            .iter()
            .any(|t| t.contains("V2_bad.sql") && t.contains("no `__`")));
        assert!(text
            .iter()
            .any(|t| t.contains("version 1 is defined by 2 files")
                && t.contains("V1__a.sql")
                && t.contains("V1.0__b.sql")));
        assert!(text
            .iter()
            .any(|t| t.contains("U3 has no versioned migration")));
        assert!(text.iter().any(|t| t.contains("`x` is defined by 2 files")));
        assert!(text
            .iter()
            .any(|t| t.contains("V4__latin1.sql:1") && t.contains("UTF-8")));
    }

    #[test]
    fn missing_location_is_a_problem_with_a_hint() {
        let tmp = tempfile::tempdir().unwrap();
        let problems = discover(&[tmp.path().join("nope")]).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].hint.as_deref().unwrap().contains("locations"));
    }

    #[test]
    fn overlapping_locations_do_not_duplicate_files() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "sub/V1__a.sql", "");
        let set = discover(&[tmp.path().to_path_buf(), tmp.path().join("sub")]).unwrap();
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn scan_matches_checksum_and_handles_crlf_and_bom() {
        let text = "\u{FEFF}SELECT\r\n1;\r\n";
        assert_eq!(scan_text(text.as_bytes()).unwrap(), -713821291);
        assert_eq!(scan_text(&b""[..]).unwrap(), 0);
        for text in [
            &b"\xEF\xBB\xBFa\r\nb\n\nc"[..],
            b"",
            b"x",
            b"\n\n",
            b"a\rb\r\n",
        ] {
            assert_eq!(scan_bytes(text), scan_text(text), "{text:?}");
        }
        for bad in [&b"ok\n\xE9\n"[..], b"\xFF", b"a\nb\nc\xC3"] {
            assert_eq!(scan_bytes(bad), scan_text(bad), "{bad:?}");
        }
    }

    /// A NUL byte is refused at its line, counted as the splitter counts lines, whether the
    /// file is read whole or streamed, and in texts and embedded migrations too.
    #[test]
    fn nul_bytes_are_refused_at_their_line() {
        let utf8 = "this line is not valid UTF-8";
        for (text, line, message) in [
            (&b"\0"[..], 1, NUL_MESSAGE),
            (b"SELECT 1;\nSELECT '\0';\n", 2, NUL_MESSAGE),
            (b"a\r\nb\rc\r\0", 4, NUL_MESSAGE),
            (b"\xEF\xBB\xBFa\n\n\n-- \0", 4, NUL_MESSAGE),
            (b"\0\xFF", 1, NUL_MESSAGE),
            (b"\xFF\n\0", 1, utf8),
        ] {
            let found = scan_bytes(text);
            assert_eq!(found, scan_text(text), "{text:?}");
            assert_eq!(found, Err((Some(line), message.to_string())), "{text:?}");
        }
        // Streamed: a large file is read in bounded memory and checked all the same.
        let tmp = tempfile::tempdir().unwrap();
        let mut big = "INSERT INTO t VALUES (1);\n".repeat(20_000);
        big.push_str("SELECT '\0';\n");
        write(tmp.path(), "V1__big.sql", &big);
        write(tmp.path(), "V2__small.sql", "SELECT 1;\n\0");
        write(tmp.path(), "notes.sql", "\0");
        let problems = discover(&[tmp.path().to_path_buf()]).unwrap_err();
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(text.len(), 2, "{text:#?}");
        assert!(
            text[0].ends_with(
                "V1__big.sql:20001: this line contains a NUL byte, which no SQL text may contain"
            ),
            "{text:#?}"
        );
        assert!(
            text[1].ends_with(
                "V2__small.sql:2: this line contains a NUL byte, which no SQL text may contain"
            ),
            "{text:#?}"
        );
        assert!(problems[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("remove the NUL byte"));

        let problem = migration_from_text("V1__a.sql", Arc::from("SELECT 1;\r\n\0")).unwrap_err();
        assert_eq!(problem.to_string(), format!("V1__a.sql:2: {NUL_MESSAGE}"));
        let problem =
            migration_from_embedded("V1__a.sql", "db/V1__a.sql", "\n\n\0", 0).unwrap_err();
        assert_eq!(
            problem.to_string(),
            format!("db/V1__a.sql:3: {NUL_MESSAGE}")
        );
        assert!(migration_from_text("notes.sql", Arc::from("\0"))
            .unwrap()
            .is_none());
    }

    /// A version the history table's `version` column cannot hold is refused with the file.
    #[test]
    fn versions_over_fifty_characters_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), &format!("V{}__fits.sql", "1".repeat(50)), "");
        write(
            tmp.path(),
            &format!("V{}__long.sql", "2_".repeat(25) + "2"),
            "",
        );
        let problems = discover(&[tmp.path().to_path_buf()]).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(problems[0].paths[0].ends_with("__long.sql"));
        assert!(
            problems[0].message.contains("is 51 characters long"),
            "{problems:#?}"
        );
        assert!(problems[0].message.contains("holds 50"));
    }
}
