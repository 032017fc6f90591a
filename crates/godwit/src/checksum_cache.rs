//! A cache of file checksums keyed on what `stat` says about each file, so that a run over files
//! it has seen before does not open and read them again (opening a file costs several times what
//! asking its size and times does).
//!
//! This is git's index trick. An entry is trusted only when the file's size, modification time,
//! change time, inode and device are all what they were when the file was read, and when both of
//! its times are strictly older than the cache file itself: a file changed within the same clock
//! tick as the cache was written ("racily clean", in git's words) is read again. The change time
//! cannot be set by a program (`touch -d` sets it to now), so an edit that keeps the size and puts
//! back the modification time is still seen.
//!
//! The cache is an optimisation and nothing else: a cache that is missing, unreadable, corrupt,
//! for another directory, or not writable just means the files are read. Only files that were
//! read whole and found to be UTF-8 text are recorded, so a cached checksum stands for a file
//! that passed every check discovery makes. The checksums of the migrations a run is about to
//! apply are taken again from the text it applies (see `execute`), whatever this cache said.
//!
//! One cache file per location, named after a hash of the location's canonical path, which it
//! also holds on its second line:
//!
//! ```text
//! godwit checksum cache 1
//! /srv/app/migrations
//! <size> <mtime s> <mtime ns> <ctime s> <ctime ns> <inode> <device> <checksum> <script>
//! …
//! ```

use std::collections::HashMap;
use std::fs::Metadata;
use std::io::Write;
use std::path::{Path, PathBuf};

const HEADER: &str = "godwit checksum cache 1";

/// What `stat` says about a file, as far as the cache cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    inode: u64,
    device: u64,
}

impl Stamp {
    /// The stamp of a file; `None` where the platform does not say enough.
    pub fn of(meta: &Metadata) -> Option<Stamp> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Some(Stamp {
                size: meta.size(),
                mtime: (meta.mtime(), meta.mtime_nsec()),
                ctime: (meta.ctime(), meta.ctime_nsec()),
                inode: meta.ino(),
                device: meta.dev(),
            })
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            None
        }
    }
}

/// The checksums recorded for one location, and those learnt since.
#[derive(Debug, Default)]
pub struct ChecksumCache {
    /// Where the cache is kept; `None` when it is not (no cache directory).
    file: Option<PathBuf>,
    /// The location, canonical, as the cache file records it.
    location: String,
    /// The cache file's own modification time: entries must be older.
    written: (i64, i64),
    entries: HashMap<String, (Stamp, i32)>,
    /// Entries learnt this run: (script, stamp, checksum).
    learnt: Vec<(String, Stamp, i32)>,
}

impl ChecksumCache {
    /// The cache of `location` kept in `dir`; empty when there is none yet or it cannot be read.
    pub fn open(dir: &Path, location: &Path) -> ChecksumCache {
        let Ok(canonical) = std::fs::canonicalize(location) else {
            return ChecksumCache::default();
        };
        let location = canonical.to_string_lossy().into_owned();
        let name = format!("checksums-{:08x}", crc32fast::hash(location.as_bytes()));
        let mut cache = ChecksumCache {
            file: Some(dir.join(name)),
            location,
            ..ChecksumCache::default()
        };
        cache.load();
        cache
    }

    fn load(&mut self) {
        use std::io::Read;
        let Some(path) = &self.file else { return };
        // One open: the time read is the time of the file whose entries are read.
        let Ok(mut file) = std::fs::File::open(path) else {
            return;
        };
        let Some(written) = file.metadata().ok().as_ref().and_then(Stamp::of) else {
            return;
        };
        let mut bytes = Vec::new();
        if file.read_to_end(&mut bytes).is_err() {
            return;
        }
        let Ok(text) = std::str::from_utf8(&bytes) else {
            return;
        };
        let mut lines = text.split('\n');
        if lines.next() != Some(HEADER) || lines.next() != Some(self.location.as_str()) {
            return;
        }
        self.written = written.mtime;
        for line in lines {
            if let Some((script, entry)) = parse_entry(line) {
                self.entries.insert(script.to_string(), entry);
            }
        }
    }

    /// Whether anything is recorded for `script` (if not, asking for its stamp is wasted).
    pub fn knows(&self, script: &str) -> bool {
        self.entries.contains_key(script)
    }

    /// The checksum recorded for `script`, if the file is exactly as it was when it was read.
    pub fn get(&self, script: &str, stamp: &Stamp) -> Option<i32> {
        let (recorded, checksum) = self.entries.get(script)?;
        (recorded == stamp && stamp.mtime < self.written && stamp.ctime < self.written)
            .then_some(*checksum)
    }

    /// Records the checksum of a file just read (with the stamp it had when it was opened).
    pub fn learn(&mut self, script: String, stamp: Stamp, checksum: i32) {
        if !script.contains('\n') {
            self.learnt.push((script, stamp, checksum));
        }
    }

    /// Writes the cache back if this run learnt anything: the files of `scripts` (those the
    /// location holds now), with what was learnt or recorded for each. Failing to write is not
    /// an error: the files are read again next time.
    pub fn save<'a>(mut self, scripts: impl Iterator<Item = &'a str>) {
        let Some(path) = self.file.take() else { return };
        if self.learnt.is_empty() {
            return;
        }
        for (script, stamp, checksum) in std::mem::take(&mut self.learnt) {
            self.entries.insert(script, (stamp, checksum));
        }
        let mut text = format!("{HEADER}\n{}\n", self.location);
        for script in scripts {
            if let Some((s, checksum)) = self.entries.get(script) {
                text.push_str(&format!(
                    "{} {} {} {} {} {} {} {checksum} {script}\n",
                    s.size, s.mtime.0, s.mtime.1, s.ctime.0, s.ctime.1, s.inode, s.device
                ));
            }
        }
        let _ = write_atomically(&path, text.as_bytes());
    }
}

fn parse_entry(line: &str) -> Option<(&str, (Stamp, i32))> {
    let mut fields = line.splitn(9, ' ');
    let mut next = || fields.next();
    let size = next()?.parse().ok()?;
    let mtime = (next()?.parse().ok()?, next()?.parse().ok()?);
    let ctime = (next()?.parse().ok()?, next()?.parse().ok()?);
    let inode = next()?.parse().ok()?;
    let device = next()?.parse().ok()?;
    let checksum = next()?.parse().ok()?;
    let script = next()?;
    let stamp = Stamp {
        size,
        mtime,
        ctime,
        inode,
        device,
    };
    Some((script, (stamp, checksum)))
}

/// Writes a file whole or not at all: a temporary file beside it, renamed over it. The temporary
/// file is created exclusively under an unpredictable name (`O_CREAT | O_EXCL`, mode 0600), so a
/// symlink or file planted in the cache directory is never followed or truncated.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let mut temporary = tempfile::Builder::new()
        .prefix(".checksums-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    temporary.write_all(bytes)?;
    // On failure the temporary file is removed when it is dropped.
    temporary.persist(path).map(drop).map_err(|e| e.error)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn stamp_of(path: &Path) -> Stamp {
        Stamp::of(&std::fs::metadata(path).unwrap()).unwrap()
    }

    /// Waits until the clock the file system stamps files with has moved past `path`'s times.
    fn age(path: &Path) {
        let stamp = stamp_of(path);
        let probe = path.with_extension("probe");
        loop {
            std::fs::write(&probe, "x").unwrap();
            let now = stamp_of(&probe);
            if now.mtime > stamp.mtime && now.mtime > stamp.ctime {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        std::fs::remove_file(probe).unwrap();
    }

    /// A temporary directory with a cache directory and a location holding `V1__a.sql`.
    fn project() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let (cache_dir, location) = (tmp.path().join("cache"), tmp.path().join("m"));
        std::fs::create_dir_all(&location).unwrap();
        let file = location.join("V1__a.sql");
        std::fs::write(&file, "SELECT 1;\n").unwrap();
        (tmp, cache_dir, location, file)
    }

    fn set_modified(path: &Path, time: std::time::SystemTime) {
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(time).unwrap();
    }

    #[test]
    fn a_learnt_checksum_is_trusted_only_while_the_file_is_unchanged() {
        let (_tmp, cache_dir, location, file) = project();

        let mut cache = ChecksumCache::open(&cache_dir, &location);
        assert_eq!(cache.get("V1__a.sql", &stamp_of(&file)), None);
        age(&file);
        cache.learn("V1__a.sql".into(), stamp_of(&file), 42);
        cache.save(["V1__a.sql"].into_iter());

        let cache = ChecksumCache::open(&cache_dir, &location);
        assert_eq!(cache.get("V1__a.sql", &stamp_of(&file)), Some(42));
        assert_eq!(cache.get("V2__b.sql", &stamp_of(&file)), None);

        // Same size, and the modification time put back: the change time still differs.
        let before = std::fs::metadata(&file).unwrap().modified().unwrap();
        std::fs::write(&file, "SELECT 2;\n").unwrap();
        set_modified(&file, before);
        assert_eq!(cache.get("V1__a.sql", &stamp_of(&file)), None);
    }

    #[test]
    fn a_file_as_new_as_the_cache_is_read_again() {
        let (_tmp, cache_dir, location, file) = project();
        let mut cache = ChecksumCache::open(&cache_dir, &location);
        cache.learn("V1__a.sql".into(), stamp_of(&file), 42);
        cache.save(["V1__a.sql"].into_iter());
        // Make the cache file exactly as old as the file: racily clean, not trusted.
        let modified = std::fs::metadata(&file).unwrap().modified().unwrap();
        let cache_file = std::fs::read_dir(&cache_dir)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        set_modified(&cache_file, modified);
        let cache = ChecksumCache::open(&cache_dir, &location);
        assert_eq!(cache.get("V1__a.sql", &stamp_of(&file)), None);
    }

    #[test]
    fn a_corrupt_or_foreign_cache_is_ignored() {
        let (_tmp, cache_dir, location, _) = project();
        let mut cache = ChecksumCache::open(&cache_dir, &location);
        let file = cache.file.clone().unwrap();
        cache.location = "/somewhere/else".into();
        cache.learn("V1__a.sql".into(), stamp_of(&location), 42);
        cache.save(["V1__a.sql"].into_iter());
        assert!(ChecksumCache::open(&cache_dir, &location)
            .entries
            .is_empty());
        for garbage in [
            &b"\xff\xfe"[..],
            b"",
            b"godwit checksum cache 1\n",
            b"x y z\n",
        ] {
            std::fs::write(&file, garbage).unwrap();
            assert!(ChecksumCache::open(&cache_dir, &location)
                .entries
                .is_empty());
        }
        assert_eq!(parse_entry("1 2 3 4 5 6 7 notanumber V1__a.sql"), None);
        assert_eq!(parse_entry("1 2 3"), None);
    }

    /// A symlink planted where the old code put its temporary file (`<cache>.<pid>.tmp`) is
    /// neither followed nor truncated, and no temporary file is left behind.
    #[test]
    fn a_planted_symlink_is_not_followed() {
        let (tmp, cache_dir, location, _) = project();
        std::fs::create_dir_all(&cache_dir).unwrap();
        let victim = tmp.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let mut cache = ChecksumCache::open(&cache_dir, &location);
        let file = cache.file.clone().unwrap();
        let mut planted = file.as_os_str().to_owned();
        planted.push(format!(".{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        cache.learn("V1__a.sql".into(), stamp_of(&location), 42);
        cache.save(["V1__a.sql"].into_iter());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(std::fs::read_to_string(&file).unwrap().starts_with(HEADER));
        let mut names: Vec<_> = std::fs::read_dir(&cache_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        let mut expected = vec![file, PathBuf::from(planted)];
        expected.sort();
        assert_eq!(names, expected);
    }
}
