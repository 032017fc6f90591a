//! The fault suite (issue 11): server crashes, `kill -9`, SIGINT and SIGTERM at random moments,
//! many migrators at once, and the regressions the issue lists. What it checks is what an
//! operator relies on:
//!
//! - exit 0 means every migration it applied survives a server crash right after;
//! - after any fault, every history row marked successful has its effect in the database, no
//!   effect exists without a history row, and a transactional migration is all or nothing;
//! - a non-transactional migration cut short by a kill or crash is recorded as interrupted
//!   (`success = false`, `execution_time = -1`), the next run says so, and `repair
//!   --mark-applied` / `repair` resolve it;
//! - SIGINT / SIGTERM exit 130 / 143 with one closing line about the database's state, having
//!   cancelled the running statement and released the lock;
//! - the next run finishes, and the final schema and data equal a clean run's;
//! - many processes migrating at once apply each migration exactly once.
//!
//! Randomized tests run `GODWIT_FAULT_TRIALS` trials (default 2; `scripts/faults` runs 50), from
//! the seed `GODWIT_FAULT_SEED` (default: the clock), which a failure prints so that the run
//! can be replayed. When `GODWIT_FAULT_REPORT` names a file, each trial appends a line
//! `database<TAB>fault<TAB>ok|FAIL` to it (`scripts/faults` builds its table from those).
//! A failed trial does not stop the others: the test fails at the end, listing every failed
//! trial.

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use godwit_test_support::on_every_database;
use godwit_test_support::{Kind, Project, Run, Running, TestDb};
use godwit_test_support::{PrivateMaria, PrivatePg};

const HISTORY: &str = "godwit_schema_history";

/// How long any one godwit process may take before the test gives up on it (a hang is a
/// failure, not a stuck CI job).
const PROCESS_LIMIT: Duration = Duration::from_secs(180);

// ---------------------------------------------------------------------------------------------
// Trials, seeds and reports

fn trials() -> usize {
    std::env::var("GODWIT_FAULT_TRIALS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(2)
        .max(1)
}

/// A small seeded generator (SplitMix64): the same seed gives the same trials.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

fn base_seed() -> u64 {
    std::env::var("GODWIT_FAULT_SEED")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
}

fn label(kind: Kind) -> &'static str {
    match kind {
        Kind::Sqlite => "sqlite",
        Kind::Postgres => "postgres",
        Kind::MySql => "mariadb",
    }
}

fn report(db: &str, fault: &str, ok: bool) {
    let Some(path) = std::env::var_os("GODWIT_FAULT_REPORT") else {
        return;
    };
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ =
            f.write_all(format!("{db}\t{fault}\t{}\n", if ok { "ok" } else { "FAIL" }).as_bytes());
    }
}

/// Runs `trials()` trials of one fault on one database, each with its own generator derived
/// from the seed; a failing trial is recorded and the others still run. Panics at the end if
/// any failed, naming the seed.
fn run_trials(db: &str, fault: &str, mut trial: impl FnMut(&mut Rng, usize)) {
    let seed = base_seed();
    let n = trials();
    let mut failures = Vec::new();
    for i in 0..n {
        let mut rng = Rng::new(
            seed ^ (i as u64).wrapping_mul(0x2545_F491_4F6C_DD1D) ^ hash(db) ^ hash(fault),
        );
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| trial(&mut rng, i)));
        report(db, fault, result.is_ok());
        if let Err(e) = result {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!("trial {i}: {msg}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{db} / {fault}: {} of {n} trials failed (replay with GODWIT_FAULT_SEED={seed} \
         GODWIT_FAULT_TRIALS={n}):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

fn hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

// ---------------------------------------------------------------------------------------------
// Running the binary with faults

/// A running godwit process; killed (SIGKILL) if dropped while still running.
type Proc = Running;

fn spawn(cmd: Command) -> Proc {
    Running::start(cmd)
}

/// Runs godwit to completion (bounded).
fn godwit(p: &Project, args: &[&str]) -> Run {
    spawn(p.command(args)).wait(PROCESS_LIMIT)
}

/// Polls `cond` every 20 ms for up to `limit`; whether it became true.
fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Kill9,
    Sigint,
    Sigterm,
}

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Fault::Kill9 => "kill -9",
            Fault::Sigint => "SIGINT",
            Fault::Sigterm => "SIGTERM",
        }
    }
}

/// The signal's number, as a process killed by it reports in its exit code (negated).
fn signal_number(fault: Fault) -> i32 {
    match fault {
        Fault::Kill9 => 9,
        Fault::Sigint => 2,
        Fault::Sigterm => 15,
    }
}

/// What an interrupted run must have printed and returned (when it was still running).
#[track_caller]
fn assert_interrupted(run: &Run, signal: Fault, ctx: &str) {
    let code = if signal == Fault::Sigint { 130 } else { 143 };
    assert_eq!(
        run.code,
        code,
        "{ctx}: {} should exit {code}\n{run}",
        signal.name()
    );
    let last = run.stderr.trim_end().lines().last().unwrap_or("");
    assert!(
        last.to_lowercase().contains("interrupted"),
        "{ctx}: stderr should end with one line saying the run was interrupted and what state \
         the database is in; it ends with {last:?}\n{run}"
    );
}

// ---------------------------------------------------------------------------------------------
// Migration sets and what each one leaves in the database

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Table(&'static str),
    /// A row of table `a` with this id.
    Row(i64),
    /// Index `a_v` on `a`.
    Index,
    /// Nothing visible (`VACUUM`).
    Nothing,
}

#[derive(Debug, Clone)]
struct Mig {
    version: u32,
    file: String,
    text: String,
    effect: Effect,
    /// Whether the migration is all-or-nothing with its history row on this database.
    transactional: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Presence {
    Absent,
    Present,
    /// Started but not usable (an invalid index left by a cancelled `CREATE INDEX
    /// CONCURRENTLY`): drop it before running the migration again.
    Partial,
}

/// A statement that takes about `ms` milliseconds.
fn slow(kind: Kind, ms: u64) -> String {
    match kind {
        Kind::Postgres => format!("SELECT pg_sleep({});", ms as f64 / 1000.0),
        Kind::MySql => format!("DO SLEEP({});", ms as f64 / 1000.0),
        // About 3.3 million rows a second.
        Kind::Sqlite => format!(
            "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < {}) \
             SELECT count(*) FROM r;",
            ms * 3_300
        ),
    }
}

fn mig(version: u32, name: &str, text: String, effect: Effect, transactional: bool) -> Mig {
    Mig {
        version,
        file: format!("V{version}__{name}.sql"),
        text,
        effect,
        transactional,
    }
}

const NO_TX: &str = "-- godwit:no-transaction\n";

/// A run of about a second that mixes transactional and non-transactional migrations, each with
/// one visible effect (so whether it happened is a yes or no).
fn mixed_set(kind: Kind) -> Vec<Mig> {
    let s = slow(kind, 150);
    // MySQL commits DDL as it goes: a migration with DDL is not all-or-nothing there.
    let ddl_tx = kind != Kind::MySql;
    let index = match kind {
        Kind::Postgres => mig(
            4,
            "index",
            format!("{NO_TX}{s}\nCREATE INDEX CONCURRENTLY a_v ON a (v);\n"),
            Effect::Index,
            false,
        ),
        Kind::MySql => mig(
            4,
            "index",
            format!("{s}\nCREATE INDEX a_v ON a (v);\n"),
            Effect::Index,
            false,
        ),
        Kind::Sqlite => mig(4, "vacuum", "VACUUM;\n".into(), Effect::Nothing, false),
    };
    vec![
        mig(
            1,
            "a",
            "CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(20));\n".into(),
            Effect::Table("a"),
            ddl_tx,
        ),
        mig(
            2,
            "b",
            format!("CREATE TABLE b (id INT);\n{s}\n"),
            Effect::Table("b"),
            ddl_tx,
        ),
        mig(
            3,
            "insert_3",
            format!("{NO_TX}INSERT INTO a (id, v) VALUES (3, 'three');\n{s}\n"),
            Effect::Row(3),
            false,
        ),
        index,
        mig(
            5,
            "c",
            format!("CREATE TABLE c (id INT);\n{s}\n"),
            Effect::Table("c"),
            ddl_tx,
        ),
        mig(
            6,
            "insert_6",
            format!("{NO_TX}{s}\nINSERT INTO a (id, v) VALUES (6, 'six');\n"),
            Effect::Row(6),
            false,
        ),
        mig(
            7,
            "insert_7",
            format!("INSERT INTO a (id, v) VALUES (7, 'seven');\n{s}\n"),
            Effect::Row(7),
            true,
        ),
        mig(
            8,
            "d",
            "CREATE TABLE d (id INT);\n".into(),
            Effect::Table("d"),
            ddl_tx,
        ),
    ]
}

fn write_set(p: &Project, set: &[Mig]) {
    for m in set {
        p.migration(&m.file, &m.text);
    }
}

fn count(db: &TestDb, sql: &str) -> i64 {
    db.query(sql)
        .into_iter()
        .next()
        .flatten()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn has_table(db: &TestDb, name: &str) -> bool {
    db.tables().iter().any(|t| t == name)
}

fn rows_with_id(db: &TestDb, id: i64) -> i64 {
    if !has_table(db, "a") {
        return 0;
    }
    count(db, &format!("SELECT COUNT(*) FROM a WHERE id = {id}"))
}

fn presence(db: &TestDb, effect: Effect) -> Presence {
    let yes = |b: bool| {
        if b {
            Presence::Present
        } else {
            Presence::Absent
        }
    };
    match effect {
        Effect::Table(t) => yes(has_table(db, t)),
        Effect::Row(id) => {
            let n = rows_with_id(db, id);
            assert!(
                n <= 1,
                "the row {id} of `a` exists {n} times: a migration ran twice"
            );
            yes(n == 1)
        }
        Effect::Index => match db.kind {
            Kind::Postgres => {
                let all = count(
                    db,
                    "SELECT COUNT(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                     WHERE c.relname = 'a_v'",
                );
                let valid = count(
                    db,
                    "SELECT COUNT(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                     WHERE c.relname = 'a_v' AND i.indisvalid",
                );
                match (all, valid) {
                    (0, _) => Presence::Absent,
                    (_, 0) => Presence::Partial,
                    _ => Presence::Present,
                }
            }
            Kind::MySql => yes(count(
                db,
                &format!(
                    "SELECT COUNT(*) FROM information_schema.statistics \
                         WHERE table_schema = '{}' AND index_name = 'a_v'",
                    db.name()
                ),
            ) > 0),
            Kind::Sqlite => yes(db.sqlite_exists()
                && count(
                    db,
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'a_v'",
                ) > 0),
        },
        Effect::Nothing => Presence::Absent,
    }
}

/// One history row: version, success, execution time.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    version: String,
    success: bool,
    time: i64,
}

fn history_rows(db: &TestDb) -> Vec<Row> {
    if !has_table(db, HISTORY) {
        return Vec::new();
    }
    let sql = match db.kind {
        Kind::MySql => format!(
            "SELECT CONCAT(COALESCE(version, ''), '|', CASE WHEN success THEN 1 ELSE 0 END, '|', \
             execution_time) FROM {HISTORY} ORDER BY installed_rank"
        ),
        _ => format!(
            "SELECT COALESCE(version, '') || '|' || CASE WHEN success THEN 1 ELSE 0 END || '|' || \
             execution_time FROM {HISTORY} ORDER BY installed_rank"
        ),
    };
    db.query(&sql)
        .into_iter()
        .flatten()
        .map(|line| {
            let mut parts = line.split('|');
            let version = parts.next().unwrap_or("").to_string();
            let success = parts.next() == Some("1");
            let time = parts.next().and_then(|t| t.parse().ok()).unwrap_or(0);
            Row {
                version,
                success,
                time,
            }
        })
        .collect()
}

/// The consistency check after a fault: history and database agree.
#[track_caller]
fn check_consistent(db: &TestDb, set: &[Mig], ctx: &str) {
    let rows = history_rows(db);
    let failed: Vec<&Row> = rows.iter().filter(|r| !r.success).collect();
    assert!(
        failed.len() <= 1,
        "{ctx}: more than one failed history row: {rows:?}"
    );
    for m in set {
        let version = m.version.to_string();
        let mine: Vec<&Row> = rows.iter().filter(|r| r.version == version).collect();
        assert!(
            mine.len() <= 1,
            "{ctx}: V{version} has {} history rows: {rows:?}",
            mine.len()
        );
        let p = presence(db, m.effect);
        match mine.first() {
            Some(r) if r.success => assert_eq!(
                p,
                if m.effect == Effect::Nothing {
                    Presence::Absent
                } else {
                    Presence::Present
                },
                "{ctx}: V{version} is recorded as applied but its effect ({:?}) is missing; \
                 history: {rows:?}",
                m.effect
            ),
            // A failed or interrupted row: what ran outside a transaction may be there or not;
            // a transaction was rolled back (godwit may mark any migration as running where DDL
            // commits by itself, so the row alone does not say which).
            Some(_) => assert!(
                !m.transactional || p == Presence::Absent,
                "{ctx}: V{version} runs in a transaction, yet its effect is there with a failed \
                 history row: {rows:?}"
            ),
            None => assert_eq!(
                p,
                Presence::Absent,
                "{ctx}: V{version}'s effect ({:?}) is in the database without a history row; \
                 history: {rows:?}",
                m.effect
            ),
        }
    }
}

/// Runs `migrate` until it finishes, resolving a failed or interrupted migration the way its
/// message says: `repair --mark-applied` when its effect is there, `repair` when it is not.
#[track_caller]
fn finish(p: &Project, set: &[Mig], ctx: &str) {
    for _ in 0..set.len() + 1 {
        let run = godwit(p, &["migrate"]);
        if run.code == 0 {
            return;
        }
        assert_eq!(
            run.code, 1,
            "{ctx}: the run after the fault neither finished nor reported a failed migration\n{run}"
        );
        assert!(
            !run.stderr.contains("nothing of it remains"),
            "{ctx}: the message claims nothing remains of a migration recorded as failed\n{run}"
        );
        let rows = history_rows(&p.db);
        let bad = rows
            .iter()
            .find(|r| !r.success)
            .unwrap_or_else(|| panic!("{ctx}: migrate failed without a failed history row\n{run}"))
            .clone();
        assert!(
            run.stderr.contains(&format!("V{}", bad.version)),
            "{ctx}: the failure does not name V{}\n{run}",
            bad.version
        );
        if bad.time == -1 {
            assert!(
                run.stderr.contains("was interrupted while it ran"),
                "{ctx}: V{} was interrupted, and the message should say so\n{run}",
                bad.version
            );
        }
        let m = set
            .iter()
            .find(|m| m.version.to_string() == bad.version)
            .expect("a migration of the set");
        match presence(&p.db, m.effect) {
            Presence::Present => {
                let r = godwit(p, &["repair", "--mark-applied", &bad.version]);
                assert_eq!(
                    r.code, 0,
                    "{ctx}: repair --mark-applied {}\n{r}",
                    bad.version
                );
            }
            Presence::Partial => {
                p.db.exec("DROP INDEX a_v");
                let r = godwit(p, &["repair"]);
                assert_eq!(r.code, 0, "{ctx}: repair\n{r}");
            }
            Presence::Absent => {
                let r = godwit(p, &["repair"]);
                assert_eq!(r.code, 0, "{ctx}: repair\n{r}");
            }
        }
    }
    panic!("{ctx}: migrate did not finish after resolving every failed migration");
}

/// Tables, indexes, row counts, the ids in `a` and the history's versions: what must equal a
/// clean run's.
fn fingerprint(db: &TestDb) -> Vec<String> {
    let mut out = Vec::new();
    let tables = db.tables();
    for t in &tables {
        let n = count(db, &format!("SELECT COUNT(*) FROM {t}"));
        out.push(format!("table {t}: {n} rows"));
    }
    let indexes = match db.kind {
        Kind::Postgres => "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public' \
                           ORDER BY 1"
            .to_string(),
        Kind::MySql => format!(
            "SELECT DISTINCT CAST(CONCAT(table_name, '.', index_name) AS CHAR) \
             FROM information_schema.statistics WHERE table_schema = '{}' ORDER BY 1",
            db.name()
        ),
        Kind::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY 1".to_string()
        }
    };
    for i in db.query(&indexes).into_iter().flatten() {
        out.push(format!("index {i}"));
    }
    if tables.iter().any(|t| t == "a") {
        let ids = match db.kind {
            Kind::Postgres => "SELECT id::text FROM a ORDER BY id",
            Kind::MySql => "SELECT CAST(id AS CHAR) FROM a ORDER BY id",
            Kind::Sqlite => "SELECT CAST(id AS TEXT) FROM a ORDER BY id",
        };
        let ids: Vec<String> = db.query(ids).into_iter().flatten().collect();
        out.push(format!("a ids: {ids:?}"));
    }
    for r in history_rows(db) {
        out.push(format!("history V{} success={}", r.version, r.success));
    }
    out
}

/// A clean run of `set` on a fresh database: its fingerprint and how long it took.
fn clean_run(make: impl FnOnce() -> Project, set: &[Mig]) -> (Vec<String>, Duration) {
    let p = make();
    write_set(&p, set);
    let started = Instant::now();
    let run = godwit(&p, &["migrate"]);
    let took = started.elapsed();
    assert_eq!(run.code, 0, "the clean run failed\n{run}");
    (fingerprint(&p.db), took)
}

// ---------------------------------------------------------------------------------------------
// (c) godwit killed -9, SIGINT and SIGTERM at random moments

on_every_database!(
    kill9_at_random_moments,
    sigint_at_random_moments,
    sigterm_at_random_moments
);

fn kill9_at_random_moments(kind: Kind) {
    random_process_faults(kind, Fault::Kill9);
}

fn sigint_at_random_moments(kind: Kind) {
    random_process_faults(kind, Fault::Sigint);
}

fn sigterm_at_random_moments(kind: Kind) {
    random_process_faults(kind, Fault::Sigterm);
}

fn random_process_faults(kind: Kind, fault: Fault) {
    let set = mixed_set(kind);
    let (clean, took) = clean_run(|| Project::new(kind), &set);
    let window = took.as_millis() as u64 * 11 / 10 + 1;
    run_trials(label(kind), fault.name(), |rng, i| {
        let p = Project::new(kind);
        write_set(&p, &set);
        let delay = Duration::from_millis(rng.below(window));
        let ctx = format!(
            "{} trial {i}, {} after {delay:?}",
            label(kind),
            fault.name()
        );
        let mut proc = spawn(p.command(&["migrate"]));
        let deadline = Instant::now() + delay;
        while Instant::now() < deadline && proc.running() {
            std::thread::sleep(Duration::from_millis(2));
        }
        let was_running = proc.running();
        proc.signal(match fault {
            Fault::Kill9 => "KILL",
            Fault::Sigint => "INT",
            Fault::Sigterm => "TERM",
        });
        let run = proc.wait(PROCESS_LIMIT);
        if run.code == 0 {
            // It finished before the signal arrived: everything must be there.
            assert_eq!(
                fingerprint(&p.db),
                clean,
                "{ctx}: exit 0 but not a clean result\n{run}"
            );
            return;
        }
        // A signal in the process's first milliseconds (loading, parsing its arguments) kills it
        // before godwit installs its handlers, which it does before reading its configuration
        // or connecting: it dies of the signal, having printed and touched nothing.
        let before_handlers = run.code == -signal_number(fault) && run.stderr.is_empty();
        if fault != Fault::Kill9 && was_running && !before_handlers {
            assert_interrupted(&run, fault, &ctx);
        }
        check_consistent(&p.db, &set, &ctx);
        if fault != Fault::Kill9 && kind != Kind::Sqlite {
            // The lock was released: the next run does not wait for it.
            let next = godwit(&p, &["migrate", "--lock-timeout", "30s"]);
            assert!(
                !next.stderr.contains("Waiting for another godwit process"),
                "{ctx}: the interrupted run left the lock held\n{next}"
            );
        }
        finish(&p, &set, &ctx);
        assert_eq!(
            fingerprint(&p.db),
            clean,
            "{ctx}: the final state differs from a clean run's"
        );
        let v = godwit(&p, &["validate"]);
        assert_eq!(v.code, 0, "{ctx}: validate after recovery\n{v}");
    });
}

// ---------------------------------------------------------------------------------------------
// (a) PostgreSQL: exit 0 survives a server crash right after

#[test]
fn postgres_crash_right_after_exit_0_loses_nothing() {
    let mut pg = PrivatePg::start_new();
    run_trials("postgres (private)", "crash after exit 0", |_rng, i| {
        let name = format!("durable_{i}");
        pg.create_db(&name);
        let p = Project::with_db(TestDb::existing(Kind::Postgres, pg.url(&name), &name));
        for v in 1..=3 {
            p.migration(
                &format!("V{v}__t{v}.sql"),
                &format!("CREATE TABLE t{v} (id INT);\nINSERT INTO t{v} VALUES ({v});\n"),
            );
        }
        let run = godwit(&p, &["migrate"]);
        assert_eq!(run.code, 0, "trial {i}: migrate\n{run}");
        assert!(
            run.stderr.contains("Successfully applied 3 migrations"),
            "{run}"
        );
        pg.crash();
        pg.start();
        let db = TestDb::existing(Kind::Postgres, pg.url(&name), &name);
        let rows = history_rows(&db);
        assert_eq!(
            rows.iter().filter(|r| r.success).count(),
            3,
            "trial {i}: godwit exited 0 after applying 3 migrations, and after a server crash \
             right after, the history has {rows:?}"
        );
        for v in 1..=3 {
            assert_eq!(
                count(&db, &format!("SELECT COUNT(*) FROM t{v}")),
                1,
                "trial {i}: t{v} lost its row in the crash"
            );
        }
    });
}

// ---------------------------------------------------------------------------------------------
// (b) the server crashes in the middle of a run

#[test]
fn postgres_server_crash_mid_run() {
    let mut pg = PrivatePg::start_new();
    let set = mixed_set(Kind::Postgres);
    pg.create_db("clean");
    let (clean, took) = clean_run(
        || Project::with_db(TestDb::existing(Kind::Postgres, pg.url("clean"), "clean")),
        &set,
    );
    let window = took.as_millis() as u64 * 11 / 10 + 1;
    run_trials("postgres (private)", "server crash", |rng, i| {
        let name = format!("crash_{i}");
        pg.create_db(&name);
        let mut p = Project::with_db(TestDb::existing(Kind::Postgres, pg.url(&name), &name));
        write_set(&p, &set);
        let delay = Duration::from_millis(rng.below(window));
        let ctx = format!("postgres trial {i}, server crash after {delay:?}");
        let proc = spawn(p.command(&["migrate"]));
        std::thread::sleep(delay);
        pg.crash();
        let run = proc.wait(PROCESS_LIMIT);
        pg.start();
        p.db.url = pg.url(&name);
        if run.code == 0 {
            assert_eq!(
                fingerprint(&p.db),
                clean,
                "{ctx}: exit 0, and after the crash the database is not the clean result\n{run}"
            );
            return;
        }
        check_consistent(&p.db, &set, &ctx);
        finish(&p, &set, &ctx);
        assert_eq!(
            fingerprint(&p.db),
            clean,
            "{ctx}: the final state differs from a clean run's"
        );
    });
}

#[test]
fn mariadb_server_killed_mid_run() {
    let mut m = PrivateMaria::start_new();
    let set = mixed_set(Kind::MySql);
    m.create_db("clean");
    let (clean, took) = clean_run(
        || Project::with_db(TestDb::existing(Kind::MySql, m.url("clean"), "clean")),
        &set,
    );
    let window = took.as_millis() as u64 * 11 / 10 + 1;
    run_trials("mariadb (private)", "server kill -9", |rng, i| {
        let name = format!("crash_{i}");
        m.create_db(&name);
        let mut p = Project::with_db(TestDb::existing(Kind::MySql, m.url(&name), &name));
        write_set(&p, &set);
        let delay = Duration::from_millis(rng.below(window));
        let ctx = format!("mariadb trial {i}, server kill -9 after {delay:?}");
        let proc = spawn(p.command(&["migrate"]));
        std::thread::sleep(delay);
        m.kill9();
        let run = proc.wait(PROCESS_LIMIT);
        m.start();
        p.db.url = m.url(&name);
        if run.code == 0 {
            assert_eq!(
                fingerprint(&p.db),
                clean,
                "{ctx}: exit 0, and after the crash the database is not the clean result\n{run}"
            );
            return;
        }
        check_consistent(&p.db, &set, &ctx);
        finish(&p, &set, &ctx);
        assert_eq!(
            fingerprint(&p.db),
            clean,
            "{ctx}: the final state differs from a clean run's"
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Interrupted non-transactional migrations: the row, the message, and both ways out

/// A statement that runs for a minute (SQLite: a long computation).
fn long(kind: Kind) -> String {
    slow(kind, 60_000)
}

/// Whether `db` is running a statement containing `needle` on another session (always true on
/// SQLite, which has no server to ask).
fn statement_running(db: &TestDb, needle: &str) -> bool {
    match db.kind {
        Kind::Postgres => {
            count(
                db,
                &format!(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
                     AND pid <> pg_backend_pid() AND query LIKE '%{needle}%'"
                ),
            ) > 0
        }
        Kind::MySql => {
            count(
                db,
                &format!(
                    "SELECT COUNT(*) FROM information_schema.processlist WHERE db = '{}' \
                     AND id <> CONNECTION_ID() AND info LIKE '%{needle}%'",
                    db.name()
                ),
            ) > 0
        }
        Kind::Sqlite => true,
    }
}

fn long_needle(kind: Kind) -> &'static str {
    match kind {
        Kind::Postgres => "pg_sleep(60)",
        Kind::MySql => "SLEEP(60)",
        Kind::Sqlite => "",
    }
}

fn row_of(db: &TestDb, version: &str) -> Option<Row> {
    history_rows(db).into_iter().find(|r| r.version == version)
}

on_every_database!(
    killed_after_a_non_transactional_effect_is_marked_applied,
    killed_before_a_non_transactional_effect_is_repaired_and_runs_again,
);

/// kill -9 while a non-transactional migration runs, after its INSERT: the row says
/// interrupted, `migrate` refuses with "was interrupted while it ran", `repair --mark-applied
/// --dry-run` changes nothing, `repair --mark-applied 2` records it without running it again.
fn killed_after_a_non_transactional_effect_is_marked_applied(kind: Kind) {
    let p = Project::new(kind);
    p.migration(
        "V1__a.sql",
        "CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(20));\n",
    )
    .migration(
        "V2__fill.sql",
        &format!(
            "{NO_TX}INSERT INTO a (id, v) VALUES (1, 'one');\n{}\n",
            long(kind)
        ),
    );
    let mut proc = spawn(p.command(&["migrate"]));
    let inserted = wait_until(Duration::from_secs(30), || {
        !proc.running() || rows_with_id(&p.db, 1) == 1
    });
    assert!(
        proc.running(),
        "godwit ended early\n{}",
        proc.wait(PROCESS_LIMIT)
    );
    assert!(
        inserted,
        "the INSERT of V2 did not become visible within 30 s"
    );
    proc.signal("KILL");
    let run = proc.wait(PROCESS_LIMIT);
    assert_eq!(run.code, -9, "{run}");

    let row = row_of(&p.db, "2");
    assert_eq!(
        row,
        Some(Row {
            version: "2".into(),
            success: false,
            time: -1
        }),
        "a non-transactional migration killed while it ran leaves a row marked interrupted"
    );
    let again = godwit(&p, &["migrate"]);
    again
        .code(1)
        .stderr_has("V2")
        .stderr_has("was interrupted while it ran")
        .stderr_has("--mark-applied");
    assert_eq!(rows_with_id(&p.db, 1), 1, "the refused run ran V2 again");

    godwit(&p, &["repair", "--mark-applied", "2", "--dry-run"]).success();
    assert_eq!(
        row_of(&p.db, "2").map(|r| r.time),
        Some(-1),
        "--dry-run changed the row"
    );

    godwit(&p, &["repair", "--mark-applied", "2"]).success();
    assert_eq!(row_of(&p.db, "2").map(|r| r.success), Some(true));
    godwit(&p, &["migrate"]).success();
    godwit(&p, &["validate"]).success();
    assert_eq!(
        rows_with_id(&p.db, 1),
        1,
        "V2 ran again after it was marked applied"
    );
}

/// kill -9 while a non-transactional migration runs, before its INSERT: `repair` removes the
/// interrupted row, and the migration runs again.
fn killed_before_a_non_transactional_effect_is_repaired_and_runs_again(kind: Kind) {
    let p = Project::new(kind);
    p.migration(
        "V1__a.sql",
        "CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(20));\n",
    )
    .migration(
        "V2__fill.sql",
        &format!(
            "{NO_TX}{}\nINSERT INTO a (id, v) VALUES (1, 'one');\n",
            long(kind)
        ),
    );
    let mut proc = spawn(p.command(&["migrate"]));
    let started = wait_until(Duration::from_secs(30), || {
        !proc.running()
            || (has_table(&p.db, "a")
                && (kind != Kind::Sqlite || row_of(&p.db, "2").is_some())
                && statement_running(&p.db, long_needle(kind)))
    });
    assert!(
        proc.running(),
        "godwit ended early\n{}",
        proc.wait(PROCESS_LIMIT)
    );
    if kind == Kind::Sqlite && !started {
        // No marker row showed up: kill it anyway, the check below says what is wrong.
    } else {
        assert!(started, "V2's long statement did not start within 30 s");
    }
    std::thread::sleep(Duration::from_millis(300));
    proc.signal("KILL");
    let run = proc.wait(PROCESS_LIMIT);
    assert_eq!(run.code, -9, "{run}");

    assert_eq!(
        row_of(&p.db, "2").map(|r| (r.success, r.time)),
        Some((false, -1)),
        "a non-transactional migration killed while it ran leaves a row marked interrupted"
    );
    godwit(&p, &["migrate"])
        .code(1)
        .stderr_has("V2")
        .stderr_has("was interrupted while it ran");
    assert_eq!(rows_with_id(&p.db, 1), 0);
    godwit(&p, &["repair"]).success();
    assert_eq!(row_of(&p.db, "2"), None, "repair keeps the interrupted row");
    // Not applied, so the file may change: drop the long statement.
    p.migration(
        "V2__fill.sql",
        &format!("{NO_TX}INSERT INTO a (id, v) VALUES (1, 'one');\n"),
    );
    godwit(&p, &["migrate"]).success();
    assert_eq!(rows_with_id(&p.db, 1), 1);
    assert_eq!(row_of(&p.db, "2").map(|r| r.success), Some(true));
}

on_every_database!(sigint_during_a_non_transactional_migration_records_a_failed_row);

/// SIGINT while a non-transactional migration runs, after its INSERT: exit 130, the long
/// statement is cancelled, the migration is recorded as failed, the next run names it, and
/// `repair --mark-applied` resolves it.
fn sigint_during_a_non_transactional_migration_records_a_failed_row(kind: Kind) {
    let p = Project::new(kind);
    p.migration(
        "V1__a.sql",
        "CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(20));\n",
    )
    .migration(
        "V2__fill.sql",
        &format!(
            "{NO_TX}INSERT INTO a (id, v) VALUES (1, 'one');\n{}\n",
            long(kind)
        ),
    )
    .migration("V3__b.sql", "CREATE TABLE b (id INT);\n");
    let mut proc = spawn(p.command(&["migrate"]));
    let inserted = wait_until(Duration::from_secs(30), || {
        !proc.running() || rows_with_id(&p.db, 1) == 1
    });
    assert!(
        proc.running(),
        "godwit ended early\n{}",
        proc.wait(PROCESS_LIMIT)
    );
    assert!(
        inserted,
        "the INSERT of V2 did not become visible within 30 s"
    );
    std::thread::sleep(Duration::from_millis(300));
    proc.signal("INT");
    let run = proc.wait(Duration::from_secs(30));
    assert_interrupted(&run, Fault::Sigint, label(kind));
    if kind != Kind::Sqlite {
        assert!(
            wait_until(Duration::from_secs(10), || !statement_running(
                &p.db,
                long_needle(kind)
            )),
            "the interrupted statement still runs on the server 10 s after godwit exited"
        );
    }
    assert_eq!(
        row_of(&p.db, "2").map(|r| r.success),
        Some(false),
        "V2 had started outside a transaction: it must be recorded as failed\n{run}"
    );
    assert!(!has_table(&p.db, "b"), "V3 ran after the interrupt\n{run}");
    let next = godwit(&p, &["migrate", "--lock-timeout", "20s"]);
    next.code(1).stderr_has("V2");
    assert!(!next.stderr.contains("nothing of it remains"), "{next}");
    assert!(
        !next.stderr.contains("Waiting for another godwit process"),
        "the interrupted run left the lock held\n{next}"
    );
    godwit(&p, &["repair", "--mark-applied", "2"]).success();
    godwit(&p, &["migrate"]).success();
    assert_eq!(rows_with_id(&p.db, 1), 1);
    assert!(has_table(&p.db, "b"));
}

// ---------------------------------------------------------------------------------------------
// SIGINT / SIGTERM during a long statement: cancelled on the server, lock released

on_every_database!(
    sigint_cancels_a_long_statement,
    sigterm_cancels_a_long_statement
);

fn sigint_cancels_a_long_statement(kind: Kind) {
    signal_during_long_statement(kind, Fault::Sigint);
}

fn sigterm_cancels_a_long_statement(kind: Kind) {
    signal_during_long_statement(kind, Fault::Sigterm);
}

fn signal_during_long_statement(kind: Kind, fault: Fault) {
    let p = Project::new(kind);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n")
        .migration(
            "V2__wait.sql",
            &format!("INSERT INTO a VALUES (2);\n{}\n", long(kind)),
        )
        .migration("V3__b.sql", "CREATE TABLE b (id INT);\n");
    let mut proc = spawn(p.command(&["migrate"]));
    if kind == Kind::Sqlite {
        // No server to ask what runs: give it time to be inside the long statement.
        std::thread::sleep(Duration::from_millis(1500));
    } else {
        let started = wait_until(Duration::from_secs(30), || {
            !proc.running() || statement_running(&p.db, long_needle(kind))
        });
        assert!(started, "V2's long statement did not start within 30 s");
    }
    assert!(
        proc.running(),
        "godwit ended early\n{}",
        proc.wait(PROCESS_LIMIT)
    );
    proc.signal(if fault == Fault::Sigint {
        "INT"
    } else {
        "TERM"
    });
    let run = proc.wait(Duration::from_secs(30));
    assert_interrupted(&run, fault, label(kind));
    if kind != Kind::Sqlite {
        assert!(
            wait_until(Duration::from_secs(10), || !statement_running(
                &p.db,
                long_needle(kind)
            )),
            "the interrupted statement still runs on the server 10 s after godwit exited"
        );
    }
    // V2 ran in a transaction: rolled back, no row, and V1 stays applied.
    assert_eq!(
        rows_with_id(&p.db, 2),
        0,
        "the interrupted transaction was not rolled back; history: {:?}\n{run}",
        history_rows(&p.db)
    );
    let rows: Vec<(String, bool)> = history_rows(&p.db)
        .into_iter()
        .map(|r| (r.version, r.success))
        .collect();
    // V1 finished before the signal and stays applied (SQLite may also roll the whole run
    // back, V1 with it: the database is then at its previous version).
    let whole_run_rolled_back = kind == Kind::Sqlite && rows.is_empty() && !has_table(&p.db, "a");
    // MySQL: a statement of V2 had run, and godwit cannot tell DDL (which commits by itself)
    // from an INSERT, so it records V2 as failed although its INSERT was rolled back, as for
    // any failure there (docs/migrations.md); `repair` clears it.
    let recorded_failed_on_mysql =
        kind == Kind::MySql && rows == vec![("1".to_string(), true), ("2".to_string(), false)];
    assert!(
        rows == vec![("1".to_string(), true)] || whole_run_rolled_back || recorded_failed_on_mysql,
        "after the interrupted V2: {rows:?}"
    );
    if recorded_failed_on_mysql {
        godwit(&p, &["repair"]).success();
    }
    assert!(!has_table(&p.db, "b"));
    // The lock is free: the next run does not wait for it.
    p.migration("V2__wait.sql", "INSERT INTO a VALUES (2);\n");
    let next = godwit(&p, &["migrate", "--lock-timeout", "20s"]);
    assert!(
        !next.stderr.contains("Waiting for another godwit process"),
        "the interrupted run left the lock held\n{next}"
    );
    next.success();
    assert_eq!(rows_with_id(&p.db, 2), 1);
}

// ---------------------------------------------------------------------------------------------
// (e) SIGINT during a MariaDB migration whose DDL commits as it goes

#[test]
fn sigint_during_mariadb_ddl_records_a_failed_row() {
    let p = Project::new(Kind::MySql);
    p.migration("V1__start.sql", "CREATE TABLE t0 (i int);\n")
        .migration(
            "V2__xy.sql",
            "CREATE TABLE x (i int);\nSELECT SLEEP(8);\nCREATE TABLE y (i int);\n",
        );
    let mut proc = spawn(p.command(&["migrate"]));
    let ready = wait_until(Duration::from_secs(30), || {
        !proc.running() || has_table(&p.db, "x")
    });
    assert!(
        ready && proc.running(),
        "x was not created while godwit ran"
    );
    std::thread::sleep(Duration::from_millis(200));
    proc.signal("INT");
    let run = proc.wait(Duration::from_secs(30));
    assert_interrupted(&run, Fault::Sigint, "mariadb");
    assert!(has_table(&p.db, "x"));
    assert!(
        !has_table(&p.db, "y"),
        "the statement after the interrupted one ran\n{run}"
    );
    let rows = history_rows(&p.db);
    assert_eq!(
        rows.iter()
            .map(|r| (r.version.as_str(), r.success))
            .collect::<Vec<_>>(),
        vec![("1", true), ("2", false)],
        "V2 ran DDL that cannot be rolled back: it must be recorded as failed"
    );
    let next = godwit(&p, &["migrate", "--lock-timeout", "5s"]);
    next.code(1).stderr_has("V2");
    assert!(
        next.stderr.contains("failed") || next.stderr.contains("interrupted"),
        "{next}"
    );
    assert!(!next.stderr.contains("nothing of it remains"), "{next}");
    assert!(!next.stderr.contains("held the migration lock"), "{next}");
}

// ---------------------------------------------------------------------------------------------
// (f) a killed client's PostgreSQL statement stops, and its lock is freed

#[test]
fn postgres_notices_a_killed_client_and_frees_the_lock() {
    let p = Project::new(Kind::Postgres);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n")
        .migration("V2__wait.sql", "SELECT pg_sleep(60);\n");
    let mut proc = spawn(p.command(&["migrate"]));
    let started = wait_until(Duration::from_secs(30), || {
        !proc.running() || statement_running(&p.db, "pg_sleep(60)")
    });
    assert!(started && proc.running(), "pg_sleep(60) did not start");
    proc.signal("KILL");
    let _ = proc.wait(PROCESS_LIMIT);
    // V2 was rolled back; the file may change. The next run must get the lock long before the
    // orphaned pg_sleep(60) would end.
    p.migration("V2__wait.sql", "SELECT 1;\n");
    let next = godwit(&p, &["migrate", "--lock-timeout", "40s"]);
    assert_eq!(
        next.code, 0,
        "a killed godwit's statement kept the lock (the server did not notice the client \
         vanished)\n{next}"
    );
}

// ---------------------------------------------------------------------------------------------
// (d) exactly once: 32 migrators at once, non-transactional migrations in the set

on_every_database!(thirty_two_migrators_apply_everything_exactly_once);

fn concurrent_set(kind: Kind) -> Vec<Mig> {
    let s = slow(kind, 200);
    let mut set = vec![
        mig(
            1,
            "a",
            format!("CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(20));\n{s}\n"),
            Effect::Table("a"),
            kind != Kind::MySql,
        ),
        mig(
            2,
            "insert_2",
            format!("{NO_TX}INSERT INTO a (id, v) VALUES (2, 'two');\n"),
            Effect::Row(2),
            false,
        ),
    ];
    set.push(match kind {
        Kind::Postgres => mig(
            3,
            "index",
            "CREATE INDEX CONCURRENTLY a_v ON a (v);\n".into(),
            Effect::Index,
            false,
        ),
        Kind::MySql => mig(
            3,
            "index",
            "CREATE INDEX a_v ON a (v);\n".into(),
            Effect::Index,
            false,
        ),
        Kind::Sqlite => mig(3, "vacuum", "VACUUM;\n".into(), Effect::Nothing, false),
    });
    set.push(mig(
        4,
        "b",
        "CREATE TABLE b (id INT);\n".into(),
        Effect::Table("b"),
        kind != Kind::MySql,
    ));
    set.push(mig(
        5,
        "insert_5",
        format!("{NO_TX}INSERT INTO a (id, v) VALUES (5, 'five');\n"),
        Effect::Row(5),
        false,
    ));
    set
}

fn migrators_at_once(p: &Project, n: usize) -> Vec<Run> {
    let procs: Vec<Proc> = (0..n).map(|_| spawn(p.command(&["migrate"]))).collect();
    procs
        .into_iter()
        .map(|proc| proc.wait(PROCESS_LIMIT))
        .collect()
}

fn thirty_two_migrators_apply_everything_exactly_once(kind: Kind) {
    let set = concurrent_set(kind);
    let p = Project::new(kind);
    write_set(&p, &set);
    let runs = migrators_at_once(&p, 32);
    let failed: Vec<&Run> = runs.iter().filter(|r| r.code != 0).collect();
    assert!(
        failed.is_empty(),
        "{} of 32 migrators failed; the first:\n{}",
        failed.len(),
        failed[0]
    );
    for id in [2, 5] {
        assert_eq!(
            rows_with_id(&p.db, id),
            1,
            "row {id} of `a` (a no-transaction INSERT)"
        );
    }
    let rows = history_rows(&p.db);
    assert_eq!(
        rows.iter()
            .map(|r| (r.version.as_str(), r.success))
            .collect::<Vec<_>>(),
        vec![
            ("1", true),
            ("2", true),
            ("3", true),
            ("4", true),
            ("5", true)
        ],
        "one successful history row per migration"
    );
    check_consistent(&p.db, &set, label(kind));
    let applied = runs
        .iter()
        .filter(|r| r.stderr.contains("Successfully applied"))
        .count();
    assert!(applied >= 1, "nobody reported applying the migrations");
}

/// The reproduction: eight migrators on one SQLite file, a no-transaction INSERT
/// between two tables.
#[test]
fn eight_sqlite_migrators_run_a_no_transaction_insert_once() {
    let p = Project::new(Kind::Sqlite);
    p.migration("V1__a.sql", "CREATE TABLE a (id INT);\n")
        .migration(
            "V2__fill.sql",
            &format!("{NO_TX}INSERT INTO a VALUES (1);\n"),
        )
        .migration("V3__b.sql", "CREATE TABLE b (id INT);\n");
    let runs = migrators_at_once(&p, 8);
    for r in &runs {
        r.success();
    }
    assert_eq!(
        rows_with_id(&p.db, 1),
        1,
        "the no-transaction INSERT ran more than once"
    );
    assert_eq!(
        history_rows(&p.db)
            .iter()
            .map(|r| (r.version.as_str(), r.success))
            .collect::<Vec<_>>(),
        vec![("1", true), ("2", true), ("3", true)]
    );
}
