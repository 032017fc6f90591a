//! The `godwit` binary run as a user runs it: in a temporary project directory with a
//! `migrations` folder, a clean environment, the test database's URL in `GODWIT_URL`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::db::{Kind, TestDb};

/// The `godwit` binary cargo built for the test being run: `target/<profile>/godwit`, beside the
/// `deps` directory that holds the test executable (cargo builds a package's binaries before its
/// integration tests). `GODWIT_TEST_BIN` overrides it.
#[must_use]
pub fn godwit_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("GODWIT_TEST_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("the test executable's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test executable lives in target/<profile>/deps");
    let bin = profile_dir.join(format!("godwit{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "{} does not exist: run the test with `cargo test -p godwit-cli`, which builds it, or set GODWIT_TEST_BIN",
        bin.display()
    );
    bin
}

/// A temporary project directory with a `migrations` folder and a database.
#[must_use = "the project's directory and database go away as soon as this value does"]
pub struct Project {
    pub dir: tempfile::TempDir,
    pub db: TestDb,
}

impl Project {
    /// A project on a new database of `kind` (see [`TestDb::create`]).
    pub fn new(kind: Kind) -> Project {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("migrations")).expect("mkdir");
        let db = TestDb::create(kind, dir.path());
        Project { dir, db }
    }

    /// A project on a database that already exists (on a private server).
    pub fn with_db(db: TestDb) -> Project {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("migrations")).expect("mkdir");
        Project { dir, db }
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file relative to the project (creating directories).
    pub fn file(&self, rel: &str, text: &str) -> &Self {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
        self
    }

    /// Writes a migration into `migrations/`.
    pub fn migration(&self, name: &str, text: &str) -> &Self {
        self.file(&format!("migrations/{name}"), text)
    }

    pub fn remove(&self, rel: &str) {
        std::fs::remove_file(self.dir.path().join(rel)).expect("remove");
    }

    /// A command for the binary with a clean environment, in the project directory, with the
    /// database URL in `GODWIT_URL` (and `HOME`, `XDG_CONFIG_HOME` inside the project), and
    /// `GODWIT_LINT=off`.
    #[must_use]
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(godwit_bin());
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join(".config"))
            .env("NO_COLOR", "1")
            .env("GODWIT_URL", &self.db.url)
            // The lint that `migrate` and `validate` run first (on for users, `lint = "warn"`)
            // is off here, so that each suite's output shows what that suite tests; the lint's
            // own tests turn it on (crates/godwit-cli/tests/it/lint.rs).
            .env("GODWIT_LINT", "off");
        cmd
    }

    /// Runs `godwit <args>` to the end.
    pub fn godwit(&self, args: &[&str]) -> Run {
        run(self.command(args))
    }

    /// Runs `godwit <args>` with more environment variables.
    pub fn godwit_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = self.command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        run(cmd)
    }
}

/// What one run of the binary did: its exit code (`-signal` when a signal ended it), stdout and
/// stderr.
#[derive(Debug)]
#[must_use = "a run's exit code and output are what a test checks"]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn success(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success\n{self}");
        self
    }

    #[track_caller]
    pub fn code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "expected exit code {code}\n{self}");
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, text: &str) -> &Self {
        assert!(self.stderr.contains(text), "stderr lacks {text:?}\n{self}");
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, text: &str) -> &Self {
        assert!(self.stdout.contains(text), "stdout lacks {text:?}\n{self}");
        self
    }

    /// Standard output as JSON.
    #[track_caller]
    #[must_use]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{self}"))
    }
}

impl From<Output> for Run {
    fn from(out: Output) -> Run {
        Run {
            code: exit_code(out.status),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs a command to the end.
pub fn run(mut cmd: Command) -> Run {
    Run::from(cmd.output().expect("run godwit"))
}

/// What a running process has written to stderr so far, and whether it has closed it.
#[derive(Default)]
struct Seen {
    text: String,
    closed: bool,
}

/// A process the test watches while it runs: it can wait for a line on stderr (instead of a
/// fixed sleep) before it acts, signal it, then collect the [`Run`] (within a time limit).
/// Killed (SIGKILL) if dropped while still running.
#[must_use = "the process is killed when this value is dropped"]
pub struct Running {
    child: Child,
    stdout: Option<std::thread::JoinHandle<String>>,
    stderr: Arc<(Mutex<Seen>, Condvar)>,
    reader: Option<std::thread::JoinHandle<()>>,
}

/// How long [`Running::wait_for_stderr`] waits at most: far longer than any test needs, so that a
/// slow machine only makes a test slow, never wrong.
const WATCH_TIMEOUT: Duration = Duration::from_secs(120);

impl Running {
    /// Starts `cmd` with its output captured.
    pub fn start(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the process");
        let mut out = child.stdout.take().expect("stdout");
        let stdout = std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = out.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        });
        let mut err = child.stderr.take().expect("stderr");
        let stderr = Arc::new((Mutex::new(Seen::default()), Condvar::new()));
        let shared = Arc::clone(&stderr);
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                let n = err.read(&mut buf).unwrap_or(0);
                let (lock, cvar) = &*shared;
                let mut seen = lock.lock().expect("stderr lock");
                if n == 0 {
                    seen.closed = true;
                    cvar.notify_all();
                    return;
                }
                seen.text.push_str(&String::from_utf8_lossy(&buf[..n]));
                cvar.notify_all();
            }
        });
        Running {
            child,
            stdout: Some(stdout),
            stderr,
            reader: Some(reader),
        }
    }

    /// The process id.
    #[must_use]
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits until stderr contains `text`; panics with what it says if the process closes stderr
    /// first or nothing comes within two minutes.
    #[track_caller]
    pub fn wait_for_stderr(&self, text: &str) {
        let deadline = Instant::now() + WATCH_TIMEOUT;
        let (lock, cvar) = &*self.stderr;
        let mut seen = lock.lock().expect("stderr lock");
        while !seen.text.contains(text) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !seen.closed && !left.is_zero(),
                "stderr never said {text:?}; it said:\n{}",
                seen.text
            );
            seen = cvar.wait_timeout(seen, left).expect("stderr lock").0;
        }
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends the process a signal by name (`INT`, `TERM`, `KILL`) with `kill`, unless it has
    /// ended already.
    pub fn signal(&mut self, name: &str) {
        if !self.running() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status();
    }

    /// Waits for the process to end and returns what it did; see [`Running::wait`].
    pub fn finish(self) -> Run {
        self.wait(FINISH_LIMIT)
    }

    /// Waits until the process ends (killing it after `limit`, which fails the test) and returns
    /// what it did. A process that died of a signal has code `-signal`.
    #[track_caller]
    pub fn wait(mut self, limit: Duration) -> Run {
        let deadline = Instant::now() + limit;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(s)) => break Some(s),
                Ok(None) if Instant::now() > deadline => break None,
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => panic!("wait for the process: {e}"),
            }
        };
        let hung = status.is_none();
        let status = status.unwrap_or_else(|| {
            let _ = self.child.kill();
            self.child.wait().expect("wait for the process")
        });
        let stdout = self
            .stdout
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let stderr = std::mem::take(&mut self.stderr.0.lock().expect("stderr lock").text);
        let run = Run {
            code: exit_code(status),
            stdout,
            stderr,
        };
        assert!(!hung, "the process did not exit within {limit:?}\n{run}");
        run
    }
}

/// How long [`Running::finish`] lets a process run.
const FINISH_LIMIT: Duration = Duration::from_secs(600);

/// The exit code, or `-signal` for a process a signal ended.
fn exit_code(status: std::process::ExitStatus) -> i32 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        status
            .code()
            .unwrap_or_else(|| -status.signal().unwrap_or(0))
    }
    #[cfg(not(unix))]
    {
        status.code().unwrap_or(-1)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
