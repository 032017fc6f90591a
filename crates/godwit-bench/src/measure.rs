//! Runs one command and measures it: wall-clock time of the whole command (process start
//! included) and its peak resident set size, as GNU time reports it.

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// GNU time, which reports a command's peak RSS (`%M`, in KiB) from the kernel's accounting.
pub const GNU_TIME: &str = "/usr/bin/time";

/// One measurement of one command.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Wall-clock seconds from spawning the process until it was reaped.
    pub secs: f64,
    /// Peak resident set size in KiB, when it was measured.
    pub peak_rss_kib: Option<u64>,
    /// CPU seconds the command used itself (user + system, to 10 ms), when measured: the part of
    /// its time that is not waiting for the server, the disk or another process.
    pub cpu_secs: Option<f64>,
}

/// A command to run: program, arguments, working directory, environment and standard input.
#[derive(Debug, Clone)]
pub struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    cwd: Option<PathBuf>,
    env: Vec<(OsString, OsString)>,
    env_remove: Vec<OsString>,
    stdin: Option<PathBuf>,
}

impl Cmd {
    pub fn new(program: impl Into<OsString>) -> Cmd {
        Cmd {
            program: program.into(),
            args: Vec::new(),
            cwd: None,
            env: Vec::new(),
            env_remove: Vec::new(),
            stdin: None,
        }
    }

    pub fn arg(&mut self, arg: impl Into<OsString>) -> &mut Cmd {
        self.args.push(arg.into());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(&mut self, args: I) -> &mut Cmd {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn cwd(&mut self, dir: &Path) -> &mut Cmd {
        self.cwd = Some(dir.to_path_buf());
        self
    }

    pub fn env(&mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> &mut Cmd {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn env_remove(&mut self, key: impl Into<OsString>) -> &mut Cmd {
        self.env_remove.push(key.into());
        self
    }

    /// Feeds this file to the command's standard input.
    pub fn stdin(&mut self, file: &Path) -> &mut Cmd {
        self.stdin = Some(file.to_path_buf());
        self
    }

    /// The command line, for messages.
    pub fn display(&self) -> String {
        let mut s = self.program.to_string_lossy().into_owned();
        for a in &self.args {
            s.push(' ');
            let a = a.to_string_lossy();
            s.push_str(&shorten(&a, 120));
        }
        if let Some(stdin) = &self.stdin {
            s.push_str(" < ");
            s.push_str(&stdin.display().to_string());
        }
        s
    }

    /// The command, run directly or through `wrapper` (GNU time with its arguments).
    fn build(&self, wrapper: Option<(&str, &[OsString])>) -> Result<Command, String> {
        let mut c = match wrapper {
            Some((program, prefix)) => {
                let mut c = Command::new(program);
                c.args(prefix).arg(&self.program);
                c
            }
            None => Command::new(&self.program),
        };
        c.args(&self.args);
        if let Some(dir) = &self.cwd {
            c.current_dir(dir);
        }
        for k in &self.env_remove {
            c.env_remove(k);
        }
        for (k, v) in &self.env {
            c.env(k, v);
        }
        match &self.stdin {
            Some(path) => {
                let f =
                    File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
                c.stdin(Stdio::from(f));
            }
            None => {
                c.stdin(Stdio::null());
            }
        }
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        Ok(c)
    }

    /// Runs the command without measuring it and returns its standard output; fails when it
    /// exits with a non-zero status.
    pub fn run(&self) -> Result<String, String> {
        let out = self
            .build(None)?
            .output()
            .map_err(|e| format!("cannot run `{}`: {e}", self.display()))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(failure(
                self,
                &out.status.to_string(),
                &out.stdout,
                &out.stderr,
            ))
        }
    }

    /// Runs the command under GNU time and returns its wall-clock time, peak RSS and CPU time. Fails when
    /// it exits with a non-zero status. `scratch` receives GNU time's report.
    pub fn measure(&self, scratch: &Path) -> Result<Sample, String> {
        let report = scratch.join("time-report");
        let prefix: Vec<OsString> = vec![
            "-f".into(),
            "%M %U %S".into(),
            "-o".into(),
            report.clone().into(),
        ];
        let mut c = self.build(Some((GNU_TIME, &prefix)))?;
        let started = Instant::now();
        let out = c
            .output()
            .map_err(|e| format!("cannot run `{GNU_TIME} {}`: {e}", self.display()))?;
        let secs = started.elapsed().as_secs_f64();
        if !out.status.success() {
            return Err(failure(
                self,
                &out.status.to_string(),
                &out.stdout,
                &out.stderr,
            ));
        }
        let text = std::fs::read_to_string(&report)
            .map_err(|e| format!("cannot read GNU time's report {}: {e}", report.display()))?;
        // GNU time writes "Command exited with …" lines first when the command fails; the
        // report is the last line.
        let fields: Vec<&str> = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        let (peak_rss_kib, cpu_secs) = match fields.as_slice() {
            [rss, user, system] => (
                rss.parse::<u64>().ok(),
                user.parse::<f64>()
                    .ok()
                    .zip(system.parse::<f64>().ok())
                    .map(|(u, s)| u + s),
            ),
            _ => (None, None),
        };
        if peak_rss_kib.is_none() || cpu_secs.is_none() {
            return Err(format!(
                "GNU time's report for `{}` is not `%M %U %S`: {text:?}",
                self.display()
            ));
        }
        Ok(Sample {
            secs,
            peak_rss_kib,
            cpu_secs,
        })
    }
}

fn failure(cmd: &Cmd, status: &str, stdout: &[u8], stderr: &[u8]) -> String {
    let tail = |b: &[u8]| {
        let s = String::from_utf8_lossy(b);
        let chars: Vec<char> = s.trim().chars().collect();
        if chars.len() > 2000 {
            format!(
                "...{}",
                chars[chars.len() - 2000..].iter().collect::<String>()
            )
        } else {
            chars.into_iter().collect()
        }
    };
    format!(
        "`{}` failed ({status})\nstdout: {}\nstderr: {}",
        cmd.display(),
        tail(stdout),
        tail(stderr)
    )
}

/// Checks that GNU time is there, since every measurement goes through it.
pub fn check_gnu_time() -> Result<(), String> {
    let out = Command::new(GNU_TIME)
        .args(["-f", "%M", "true"])
        .output()
        .map_err(|e| {
            format!("cannot run {GNU_TIME} (GNU time, package `time`): {e}; install it with `apt-get install time`")
        })?;
    let text = String::from_utf8_lossy(&out.stderr);
    if out.status.success() && text.trim().parse::<u64>().is_ok() {
        Ok(())
    } else {
        Err(format!(
            "{GNU_TIME} is not GNU time (`-f %M` printed {text:?}); install it with `apt-get install time`"
        ))
    }
}

/// The text, cut to at most `max` characters with `...` where it was cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(3)).collect();
        s.push_str("...");
        s
    }
}
