//! The godwit benchmark: four workloads, each timed on PostgreSQL, MariaDB and SQLite against a
//! baseline measured in the same run on the same server, in pairs (godwit, baseline, godwit,
//! baseline, …). What counts is the ratio of the medians; absolute times vary between machines.
//!
//! | workload | godwit | baseline |
//! | --- | --- | --- |
//! | W1: small migrations (a table and a row each) on an empty database | `godwit migrate` | the database's own client running the same files in one session, each in its own transaction with an equivalent history `INSERT` |
//! | W2: nothing pending, the W1 files applied | `godwit migrate` | the client connecting and running `select 1` |
//! | W3: one big data migration of single-row `INSERT`s | `godwit migrate` | the whole file sent as one message in one transaction ([`baseline::w3`]); on SQLite the `sqlite3` shell reading it in one transaction |
//! | W4: `godwit validate` with many applied files | `godwit validate` | `cat` of the files piped to `cksum` |
//!
//! Every measured command is a separate process, timed from spawn to exit (wall clock) under GNU
//! time, which reports its peak RSS. Each run of a writing workload gets a fresh database,
//! created and dropped outside the timed part. See `docs/benchmarks.md`.

pub mod baseline;
pub mod generate;
pub mod measure;
pub mod server;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub use measure::Sample;

use generate::MigrationFile;
use measure::Cmd;
use server::Fresh;

/// A database the benchmark runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Database {
    Postgres,
    MySql,
    Sqlite,
}

impl Database {
    pub const ALL: [Database; 3] = [Database::Postgres, Database::MySql, Database::Sqlite];

    /// The short name used on the command line: `pg`, `mysql`, `sqlite`.
    pub fn key(self) -> &'static str {
        match self {
            Database::Postgres => "pg",
            Database::MySql => "mysql",
            Database::Sqlite => "sqlite",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Database::Postgres => "PostgreSQL",
            Database::MySql => "MariaDB",
            Database::Sqlite => "SQLite",
        }
    }

    pub fn parse(s: &str) -> Option<Database> {
        match s.trim().to_ascii_lowercase().as_str() {
            "pg" | "postgres" | "postgresql" => Some(Database::Postgres),
            "mysql" | "mariadb" => Some(Database::MySql),
            "sqlite" | "sqlite3" => Some(Database::Sqlite),
            _ => None,
        }
    }
}

/// One of the four workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Workload {
    /// Many small migrations (a table and a row each) on an empty database.
    W1,
    /// Nothing pending, many applied.
    W2,
    /// One big data migration of single-row `INSERT`s.
    W3,
    /// `godwit validate` with many applied files.
    W4,
}

impl Workload {
    pub const ALL: [Workload; 4] = [Workload::W1, Workload::W2, Workload::W3, Workload::W4];

    pub fn key(self) -> &'static str {
        match self {
            Workload::W1 => "w1",
            Workload::W2 => "w2",
            Workload::W3 => "w3",
            Workload::W4 => "w4",
        }
    }

    pub fn parse(s: &str) -> Option<Workload> {
        match s.trim().to_ascii_lowercase().as_str() {
            "w1" | "1" => Some(Workload::W1),
            "w2" | "2" => Some(Workload::W2),
            "w3" | "3" => Some(Workload::W3),
            "w4" | "4" => Some(Workload::W4),
            _ => None,
        }
    }

    /// What godwit runs and what the baseline is, for the table.
    pub fn title(self) -> &'static str {
        match self {
            Workload::W1 => "W1 migrate, empty db",
            Workload::W2 => "W2 migrate, nothing pending",
            Workload::W3 => "W3 migrate, big data file",
            Workload::W4 => "W4 validate",
        }
    }

    /// The target for this workload on this database.
    pub fn target(self, db: Database) -> Target {
        let max_ratio = match (self, db) {
            (Workload::W1, Database::Postgres) => 0.6,
            (Workload::W1, _) => 1.1,
            (Workload::W2, Database::Sqlite) => 3.0,
            (Workload::W2, _) => 0.5,
            (Workload::W3, _) => 1.0,
            (Workload::W4, _) => 3.0,
        };
        Target {
            max_ratio,
            max_godwit_rss_mib: (self == Workload::W3).then_some(64),
        }
    }
}

/// What a row must reach to pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    /// godwit's median over the baseline's median.
    pub max_ratio: f64,
    /// godwit's peak RSS, in MiB (W3 only).
    pub max_godwit_rss_mib: Option<u64>,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "≤ {}", trim_float(self.max_ratio))?;
        if let Some(mib) = self.max_godwit_rss_mib {
            write!(f, ", RSS ≤ {mib} MiB")?;
        }
        Ok(())
    }
}

fn trim_float(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

/// The workloads' sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// W1: migrations applied to an empty database.
    pub w1_migrations: usize,
    /// W2: migrations already applied.
    pub w2_applied: usize,
    /// W3: size of the data migration in bytes (rounded up to a whole statement).
    pub w3_bytes: u64,
    /// W4: applied files validated.
    pub w4_files: usize,
}

impl Sizes {
    /// The sizes: 1,000 / 1,000 / 100 MB / 10,000.
    pub const FULL: Sizes = Sizes {
        w1_migrations: 1_000,
        w2_applied: 1_000,
        w3_bytes: 100_000_000,
        w4_files: 10_000,
    };

    /// The full sizes times `factor` (at least one migration, one statement).
    pub fn scaled(factor: f64) -> Sizes {
        let f = |n: usize| ((n as f64 * factor).round() as usize).max(1);
        Sizes {
            w1_migrations: f(Sizes::FULL.w1_migrations),
            w2_applied: f(Sizes::FULL.w2_applied),
            w3_bytes: ((Sizes::FULL.w3_bytes as f64 * factor).round() as u64).max(1),
            w4_files: f(Sizes::FULL.w4_files),
        }
    }

    /// `--quick`: a tenth of the full sizes.
    pub fn quick() -> Sizes {
        Sizes::scaled(0.1)
    }

    fn describe(&self, w: Workload) -> String {
        match w {
            Workload::W1 => format!("{} migrations", thousands(self.w1_migrations as u64)),
            Workload::W2 => format!("{} applied", thousands(self.w2_applied as u64)),
            Workload::W3 => {
                if self.w3_bytes >= 1_000_000 {
                    format!("{} MB", (self.w3_bytes as f64 / 1e5).round() / 10.0)
                } else {
                    format!("{} kB", (self.w3_bytes as f64 / 1e3).round())
                }
            }
            Workload::W4 => format!("{} files", thousands(self.w4_files as u64)),
        }
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// How to run the benchmark.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `godwit` binary to measure.
    pub godwit: PathBuf,
    /// The `godwit-bench` binary, run as `godwit-bench baseline-w3 …` so that the W3 baseline on
    /// PostgreSQL and MariaDB is a process of its own, timed and measured like godwit. `None`
    /// runs that baseline inside this process (wall time only, no peak RSS): for the smoke test.
    pub baseline_exe: Option<PathBuf>,
    pub databases: Vec<Database>,
    pub workloads: Vec<Workload>,
    /// Paired runs per workload and database.
    pub runs: usize,
    pub sizes: Sizes,
    /// Where to create databases: a server URL whose database part is replaced.
    pub pg_url: String,
    pub mysql_url: String,
    /// Where the workloads and SQLite files go; a new directory under the system's temporary
    /// directory when `None`. Removed at the end unless `keep_files`.
    pub work_dir: Option<PathBuf>,
    pub keep_files: bool,
    /// Print every sample on standard error as it is measured.
    pub progress: bool,
}

impl Options {
    /// Every database and workload at full size, three paired runs, servers from
    /// `GODWIT_TEST_PG_URL` / `GODWIT_TEST_MYSQL_URL` or the tests' defaults.
    pub fn new(godwit: PathBuf) -> Options {
        Options {
            godwit,
            baseline_exe: None,
            databases: Database::ALL.to_vec(),
            workloads: Workload::ALL.to_vec(),
            runs: 3,
            sizes: Sizes::FULL,
            pg_url: godwit_test_support::pg_admin_url(),
            mysql_url: godwit_test_support::mysql_admin_url(),
            work_dir: None,
            keep_files: false,
            progress: false,
        }
    }
}

/// The result for one workload on one database.
#[derive(Debug, Clone)]
pub struct Row {
    pub database: Database,
    pub workload: Workload,
    /// The workload's size, in words.
    pub size: String,
    pub godwit: Vec<Sample>,
    pub baseline: Vec<Sample>,
    pub target: Target,
    /// Why the row has no numbers (a command failed, a server was unreachable).
    pub error: Option<String>,
}

/// The median of some values (the mean of the middle two for an even count); NaN when empty.
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

impl Row {
    pub fn godwit_median(&self) -> f64 {
        median(&self.godwit.iter().map(|s| s.secs).collect::<Vec<_>>())
    }

    pub fn baseline_median(&self) -> f64 {
        median(&self.baseline.iter().map(|s| s.secs).collect::<Vec<_>>())
    }

    /// godwit's median over the baseline's median; NaN when the row failed.
    pub fn ratio(&self) -> f64 {
        if self.error.is_some() {
            return f64::NAN;
        }
        self.godwit_median() / self.baseline_median()
    }

    /// godwit's time over the baseline's in each pair of runs: their spread shows how noisy the
    /// machine was.
    pub fn pair_ratios(&self) -> Vec<f64> {
        self.godwit
            .iter()
            .zip(&self.baseline)
            .map(|(g, b)| g.secs / b.secs)
            .collect()
    }

    /// The median of godwit's CPU seconds (user + system) over its runs.
    pub fn godwit_cpu_median(&self) -> f64 {
        median(
            &self
                .godwit
                .iter()
                .filter_map(|s| s.cpu_secs)
                .collect::<Vec<_>>(),
        )
    }

    /// The highest peak RSS over godwit's runs, in KiB.
    pub fn godwit_peak_rss_kib(&self) -> Option<u64> {
        self.godwit.iter().filter_map(|s| s.peak_rss_kib).max()
    }

    pub fn baseline_peak_rss_kib(&self) -> Option<u64> {
        self.baseline.iter().filter_map(|s| s.peak_rss_kib).max()
    }

    /// Whether the ratio (and for W3 godwit's memory) meets the target.
    pub fn passed(&self) -> bool {
        let ratio = self.ratio();
        if !ratio.is_finite() || ratio > self.target.max_ratio {
            return false;
        }
        match (self.target.max_godwit_rss_mib, self.godwit_peak_rss_kib()) {
            (Some(max), Some(kib)) => kib <= max * 1024,
            (Some(_), None) => false,
            (None, _) => true,
        }
    }
}

fn seconds(s: f64) -> String {
    if !s.is_finite() {
        "–".into()
    } else if s < 10.0 {
        format!("{s:.3} s")
    } else {
        format!("{s:.2} s")
    }
}

fn mib(kib: Option<u64>) -> String {
    match kib {
        Some(k) => format!("{:.1} MiB", k as f64 / 1024.0),
        None => "–".into(),
    }
}

/// The rows as a markdown table, followed by the errors of the rows that failed.
pub fn render_table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| database | workload | size | godwit (median) | baseline (median) | ratio | target | result | godwit peak RSS | baseline peak RSS | pair ratios | godwit CPU |\n\
         | --- | --- | --- | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: |\n",
    );
    for r in rows {
        let ratio = r.ratio();
        let result = if r.error.is_some() {
            "error"
        } else if r.passed() {
            "pass"
        } else {
            "FAIL"
        };
        let pairs = r.pair_ratios();
        let spread = match (
            pairs.iter().copied().reduce(f64::min),
            pairs.iter().copied().reduce(f64::max),
        ) {
            (Some(lo), Some(hi)) if pairs.len() > 1 => format!("{lo:.2}–{hi:.2}"),
            (Some(only), _) => format!("{only:.2}"),
            _ => "–".into(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {spread} | {} |",
            r.database.name(),
            r.workload.title(),
            r.size,
            seconds(r.godwit_median()),
            seconds(r.baseline_median()),
            if ratio.is_finite() {
                format!("{ratio:.2}")
            } else {
                "–".into()
            },
            r.target,
            result,
            mib(r.godwit_peak_rss_kib()),
            mib(r.baseline_peak_rss_kib()),
            seconds(r.godwit_cpu_median()),
        );
    }
    let failed: Vec<&Row> = rows.iter().filter(|r| r.error.is_some()).collect();
    if !failed.is_empty() {
        out.push_str("\nErrors:\n\n");
        for r in failed {
            let _ = writeln!(
                out,
                "- {} {}: {}",
                r.database.name(),
                r.workload.key().to_uppercase(),
                r.error.as_deref().unwrap_or_default().replace('\n', "\n  ")
            );
        }
    }
    out
}

/// A directory that is removed when dropped, unless kept.
struct WorkDir {
    path: PathBuf,
    keep: bool,
}

impl WorkDir {
    fn new(parent: Option<&Path>, keep: bool) -> Result<WorkDir, String> {
        let parent = parent.map_or_else(std::env::temp_dir, Path::to_path_buf);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = parent.join(format!("godwit-bench-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        // Absolute, so that the clients' include commands and godwit find the files from any
        // working directory.
        let path = std::fs::canonicalize(&path)
            .map_err(|e| format!("cannot resolve {}: {e}", path.display()))?;
        Ok(WorkDir { path, keep })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// The generated files of the selected workloads.
#[derive(Default)]
struct Workloads {
    w1: Option<(PathBuf, Vec<MigrationFile>)>,
    w2: Option<(PathBuf, Vec<MigrationFile>)>,
    /// The directory and the number of rows its data file inserts.
    w3: Option<(PathBuf, u64)>,
    w4: Option<(PathBuf, Vec<MigrationFile>)>,
}

struct Bench<'a> {
    opts: &'a Options,
    rt: tokio::runtime::Runtime,
    work: PathBuf,
    /// godwit's working directory: empty, so no project `godwit.toml` is read.
    cwd: PathBuf,
    /// godwit's `XDG_CONFIG_HOME`: empty, so no user `godwit.toml` is read.
    xdg: PathBuf,
    /// An empty migrations directory (W4 set-up creates the history table with it).
    empty: PathBuf,
    scratch: PathBuf,
    files: Workloads,
}

/// What one measured run of one side produced.
type Pair = (Vec<Sample>, Vec<Sample>);

/// Generates the workloads, runs each selected workload on each selected database `runs` times
/// in pairs, and returns one row per workload and database. A workload that fails on a database
/// gives a row with `error` set; the others go on.
pub fn run(opts: &Options) -> Result<Vec<Row>, String> {
    if opts.runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    if !opts.godwit.is_file() {
        return Err(format!(
            "no godwit binary at {}: build it with `cargo build --release -p godwit-cli`",
            opts.godwit.display()
        ));
    }
    measure::check_gnu_time()?;
    let work = WorkDir::new(opts.work_dir.as_deref(), opts.keep_files)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let dir = |name: &str| -> Result<PathBuf, String> {
        let p = work.path.join(name);
        std::fs::create_dir_all(&p).map_err(|e| format!("cannot create {}: {e}", p.display()))?;
        Ok(p)
    };
    let mut bench = Bench {
        opts,
        rt,
        work: work.path.clone(),
        cwd: dir("cwd")?,
        xdg: dir("xdg")?,
        empty: dir("empty")?,
        scratch: dir("scratch")?,
        files: Workloads::default(),
    };
    dir("databases")?;
    dir("clients")?;
    bench.generate()?;
    let mut rows = Vec::new();
    for &db in &opts.databases {
        for &w in &opts.workloads {
            let started = Instant::now();
            let result = match w {
                Workload::W1 => bench.w1(db),
                Workload::W2 => bench.w2(db),
                Workload::W3 => bench.w3(db),
                Workload::W4 => bench.w4(db),
            };
            let row = match result {
                Ok((godwit, baseline)) => Row {
                    database: db,
                    workload: w,
                    size: opts.sizes.describe(w),
                    godwit,
                    baseline,
                    target: w.target(db),
                    error: None,
                },
                Err(e) => Row {
                    database: db,
                    workload: w,
                    size: opts.sizes.describe(w),
                    godwit: Vec::new(),
                    baseline: Vec::new(),
                    target: w.target(db),
                    error: Some(e),
                },
            };
            if opts.progress {
                match &row.error {
                    None => eprintln!(
                        "{} {}: godwit {}, baseline {}, ratio {:.2} ({}; {:.0} s in all)",
                        db.name(),
                        w.key().to_uppercase(),
                        seconds(row.godwit_median()),
                        seconds(row.baseline_median()),
                        row.ratio(),
                        if row.passed() { "pass" } else { "FAIL" },
                        started.elapsed().as_secs_f64()
                    ),
                    Some(e) => eprintln!("{} {}: error: {e}", db.name(), w.key().to_uppercase()),
                }
            }
            rows.push(row);
        }
    }
    Ok(rows)
}

impl Bench<'_> {
    fn generate(&mut self) -> Result<(), String> {
        let sizes = &self.opts.sizes;
        let started = Instant::now();
        for &w in &self.opts.workloads {
            let dir = self.work.join(w.key());
            match w {
                Workload::W1 => {
                    let files = generate::small_migrations(&dir, sizes.w1_migrations)?;
                    self.files.w1 = Some((dir, files));
                }
                Workload::W2 => {
                    let files = generate::small_migrations(&dir, sizes.w2_applied)?;
                    self.files.w2 = Some((dir, files));
                }
                Workload::W3 => {
                    let rows = generate::bulk_data(&dir, sizes.w3_bytes)?;
                    self.files.w3 = Some((dir, rows));
                }
                Workload::W4 => {
                    let files = generate::small_migrations(&dir, sizes.w4_files)?;
                    self.files.w4 = Some((dir, files));
                }
            }
        }
        if self.opts.progress {
            eprintln!(
                "generated the workloads in {} ({:.1} s)",
                self.work.display(),
                started.elapsed().as_secs_f64()
            );
        }
        Ok(())
    }

    fn admin_url(&self, db: Database) -> &str {
        match db {
            Database::Postgres => &self.opts.pg_url,
            Database::MySql => &self.opts.mysql_url,
            Database::Sqlite => "",
        }
    }

    /// Runs `body` on a database created for it, and drops the database afterwards (neither
    /// part is timed).
    fn with_fresh<T>(
        &self,
        db: Database,
        body: impl FnOnce(&Fresh) -> Result<T, String>,
    ) -> Result<T, String> {
        let fresh = self.rt.block_on(Fresh::create(
            db,
            self.admin_url(db),
            &self.work.join("databases"),
        ))?;
        let result = body(&fresh);
        let dropped = self.rt.block_on(fresh.drop_database());
        match (result, dropped) {
            (Ok(v), Ok(())) => Ok(v),
            (Ok(_), Err(e)) => Err(e),
            (Err(e), _) => Err(e),
        }
    }

    /// `godwit --url … --locations DIR <command>`, reading no configuration file.
    fn godwit(&self, fresh: &Fresh, locations: &Path, command: &str) -> Cmd {
        let mut c = Cmd::new(&self.opts.godwit);
        c.arg("--url")
            .arg(&fresh.url)
            .arg("--locations")
            .arg(locations)
            .arg(command)
            .cwd(&self.cwd)
            .env("XDG_CONFIG_HOME", &self.xdg)
            // The checksum cache goes with the workloads, not into the user's cache directory.
            .env("XDG_CACHE_HOME", self.work.join("cache"));
        for (key, _) in std::env::vars_os() {
            let k = key.to_string_lossy();
            if k.starts_with("GODWIT_") || k == "DATABASE_URL" {
                c.env_remove(key);
            }
        }
        c
    }

    fn count(&self, fresh: &Fresh, sql: &str) -> Result<i64, String> {
        self.rt.block_on(fresh.count(sql))
    }

    /// Checks that `count` small migrations were applied, history rows included.
    fn check_small(&self, fresh: &Fresh, count: usize, who: &str) -> Result<(), String> {
        let db = fresh.db;
        let history = self.count(
            fresh,
            &format!(
                "SELECT COUNT(*) FROM {} WHERE {} = 'SQL'",
                generate::quote_ident(db, generate::HISTORY_TABLE),
                generate::quote_ident(db, "type")
            ),
        )?;
        let last = self.count(
            fresh,
            &format!("SELECT COUNT(*) FROM {}", generate::small_table(count)),
        )?;
        if history != count as i64 || last != 1 {
            return Err(format!(
                "{who} left {history} history rows (expected {count}) and {last} rows in the last migration's table (expected 1)"
            ));
        }
        Ok(())
    }

    fn report(&self, db: Database, w: Workload, run: usize, godwit: &Sample, baseline: &Sample) {
        if self.opts.progress {
            eprintln!(
                "  {} {} run {run}/{}: godwit {} ({} CPU, {}), baseline {} ({})",
                db.name(),
                w.key().to_uppercase(),
                self.opts.runs,
                seconds(godwit.secs),
                seconds(godwit.cpu_secs.unwrap_or(f64::NAN)),
                mib(godwit.peak_rss_kib),
                seconds(baseline.secs),
                mib(baseline.peak_rss_kib),
            );
        }
    }

    /// W1: `godwit migrate` of the small migrations on an empty database, against the client
    /// running the same files, each in its own transaction with a history `INSERT`.
    fn w1(&self, db: Database) -> Result<Pair, String> {
        let (dir, files) = self.files.w1.as_ref().ok_or("W1 was not generated")?;
        let script = self
            .work
            .join("clients")
            .join(format!("w1-{}.sql", db.key()));
        generate::w1_client_script(db, files, &script)?;
        let (mut godwit, mut baseline) = (Vec::new(), Vec::new());
        for run in 1..=self.opts.runs {
            let g = self.with_fresh(db, |f| {
                let s = self.godwit(f, dir, "migrate").measure(&self.scratch)?;
                self.check_small(f, files.len(), "godwit migrate")?;
                Ok(s)
            })?;
            let b = self.with_fresh(db, |f| {
                let mut client = f.client();
                client.stdin(&script);
                let s = client.measure(&self.scratch)?;
                self.check_small(f, files.len(), "the client")?;
                Ok(s)
            })?;
            self.report(db, Workload::W1, run, &g, &b);
            godwit.push(g);
            baseline.push(b);
        }
        Ok((godwit, baseline))
    }

    /// W2: `godwit migrate` with nothing pending, against the client running `select 1`. Both
    /// only read, so every run uses the same database, migrated once (untimed).
    fn w2(&self, db: Database) -> Result<Pair, String> {
        let (dir, files) = self.files.w2.as_ref().ok_or("W2 was not generated")?;
        self.with_fresh(db, |f| {
            self.godwit(f, dir, "migrate").run()?;
            self.check_small(f, files.len(), "godwit migrate (W2 set-up)")?;
            let select = f.client_command("select 1");
            let (mut godwit, mut baseline) = (Vec::new(), Vec::new());
            for run in 1..=self.opts.runs {
                let g = self.godwit(f, dir, "migrate").measure(&self.scratch)?;
                let b = select.measure(&self.scratch)?;
                self.report(db, Workload::W2, run, &g, &b);
                godwit.push(g);
                baseline.push(b);
            }
            Ok((godwit, baseline))
        })
    }

    /// W3: `godwit migrate` of the big data migration, against the whole file sent as one
    /// message in one transaction (on SQLite: the sqlite3 shell reading it in one transaction).
    fn w3(&self, db: Database) -> Result<Pair, String> {
        let (dir, rows) = self.files.w3.as_ref().ok_or("W3 was not generated")?;
        let check = |f: &Fresh, who: &str| -> Result<(), String> {
            let n = self.count(f, "SELECT COUNT(*) FROM bulk_data")?;
            if n != *rows as i64 {
                return Err(format!("{who} left {n} rows in bulk_data, expected {rows}"));
            }
            Ok(())
        };
        // SQLite's baseline: the sqlite3 shell reads the schema file, then the data file inside
        // one transaction (see `baseline`).
        let sqlite_script = self.work.join("clients").join("w3-sqlite.sql");
        if db == Database::Sqlite {
            let read = |name: &str| format!(".read '{}'\n", dir.join(name).display());
            let text = format!(
                "{}BEGIN;\n{}COMMIT;\n",
                read(baseline::SCHEMA_FILE),
                read(baseline::DATA_FILE)
            );
            std::fs::write(&sqlite_script, text)
                .map_err(|e| format!("cannot write {}: {e}", sqlite_script.display()))?;
        }
        let (mut godwit, mut baseline) = (Vec::new(), Vec::new());
        for run in 1..=self.opts.runs {
            let g = self.with_fresh(db, |f| {
                let s = self.godwit(f, dir, "migrate").measure(&self.scratch)?;
                check(f, "godwit migrate")?;
                Ok(s)
            })?;
            let b = self.with_fresh(db, |f| {
                let s = if db == Database::Sqlite {
                    let mut client = f.client();
                    client.stdin(&sqlite_script);
                    client.measure(&self.scratch)?
                } else if let Some(exe) = &self.opts.baseline_exe {
                    let mut c = Cmd::new(exe);
                    c.args(["baseline-w3", "--db", db.key(), "--url"])
                        .arg(&f.url)
                        .arg("--dir")
                        .arg(dir);
                    c.measure(&self.scratch)?
                } else {
                    let started = Instant::now();
                    self.rt.block_on(baseline::w3(db, &f.url, dir))?;
                    Sample {
                        secs: started.elapsed().as_secs_f64(),
                        peak_rss_kib: None,
                        cpu_secs: None,
                    }
                };
                check(f, "the W3 baseline")?;
                Ok(s)
            })?;
            self.report(db, Workload::W3, run, &g, &b);
            godwit.push(g);
            baseline.push(b);
        }
        Ok((godwit, baseline))
    }

    /// W4: `godwit validate` with every file applied, against `cat` of the files piped to
    /// `cksum`. The history rows are inserted directly (untimed set-up); both sides only read,
    /// so every run uses the same database.
    fn w4(&self, db: Database) -> Result<Pair, String> {
        let (dir, files) = self.files.w4.as_ref().ok_or("W4 was not generated")?;
        self.with_fresh(db, |f| {
            // godwit creates its own history table (no files: nothing else happens) …
            self.godwit(f, &self.empty, "migrate").run()?;
            // … and the rows go in directly: applying 10,000 migrations would take minutes and
            // change nothing that `validate` reads.
            let head = generate::history_insert_head(db);
            for (batch_index, batch) in files.chunks(1000).enumerate() {
                let values: Vec<String> = batch
                    .iter()
                    .enumerate()
                    .map(|(i, file)| generate::history_values(db, batch_index * 1000 + i + 1, file))
                    .collect();
                self.rt
                    .block_on(f.execute(&format!("{head}{}", values.join(",\n"))))?;
            }
            let mut cat = Cmd::new("sh");
            cat.args(["-c", "cat -- \"$1\"/*.sql | cksum", "sh"])
                .arg(dir);
            let (mut godwit, mut baseline) = (Vec::new(), Vec::new());
            for run in 1..=self.opts.runs {
                let g = self.godwit(f, dir, "validate").measure(&self.scratch)?;
                let b = cat.measure(&self.scratch)?;
                self.report(db, Workload::W4, run, &g, &b);
                godwit.push(g);
                baseline.push(b);
            }
            Ok((godwit, baseline))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn sizes_scale_and_describe_themselves() {
        let q = Sizes::quick();
        assert_eq!(q.w1_migrations, 100);
        assert_eq!(q.w4_files, 1000);
        assert_eq!(Sizes::FULL.describe(Workload::W3), "100 MB");
        assert_eq!(Sizes::FULL.describe(Workload::W4), "10,000 files");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn a_row_passes_on_ratio_and_memory() {
        let sample = |secs, kib| Sample {
            secs,
            peak_rss_kib: Some(kib),
            cpu_secs: Some(0.5),
        };
        let mut row = Row {
            database: Database::Postgres,
            workload: Workload::W3,
            size: String::new(),
            godwit: vec![sample(1.0, 10_000)],
            baseline: vec![sample(1.0, 300_000)],
            target: Workload::W3.target(Database::Postgres),
            error: None,
        };
        assert!(row.passed());
        row.godwit[0].peak_rss_kib = Some(65 * 1024);
        assert!(!row.passed(), "over 64 MiB");
        row.godwit[0] = sample(1.5, 10_000);
        assert!(!row.passed(), "ratio 1.5");
        assert!(render_table(&[row]).contains("| FAIL |"));
    }
}
