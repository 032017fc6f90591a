//! How the process ends. The codes are fixed by the design (docs/design.md §17, docs/commands.md,
//! "Exit codes"):
//! scripts depend on them.

/// The exit status of a `godwit` run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// `0`: done (for `validate`: files and history agree).
    Ok,
    /// `1`: the operation failed.
    Failed,
    /// `2`: bad usage, configuration or migration files; nothing was run.
    Usage,
    /// `3`: the database could not be reached or refused the login.
    Connection,
    /// `130`: interrupted with Ctrl-C (SIGINT).
    Interrupted,
    /// `143`: stopped with SIGTERM.
    Terminated,
}

impl ExitStatus {
    /// Every status, in the order of their codes.
    pub const ALL: [ExitStatus; 6] = [
        ExitStatus::Ok,
        ExitStatus::Failed,
        ExitStatus::Usage,
        ExitStatus::Connection,
        ExitStatus::Interrupted,
        ExitStatus::Terminated,
    ];

    /// What the code means, for `--help` and the man page.
    pub const fn meaning(self) -> &'static str {
        match self {
            ExitStatus::Ok => "done (for validate: files and history agree)",
            ExitStatus::Failed => "the operation failed (a migration's SQL, validation, the lock)",
            ExitStatus::Usage => "bad usage, configuration or migration files; nothing was run",
            ExitStatus::Connection => "the database could not be reached or refused the login",
            ExitStatus::Interrupted => "migrate or undo stopped cleanly on Ctrl-C (SIGINT)",
            ExitStatus::Terminated => "migrate or undo stopped cleanly on SIGTERM",
        }
    }

    /// The number the process exits with.
    pub const fn code(self) -> u8 {
        match self {
            ExitStatus::Ok => 0,
            ExitStatus::Failed => 1,
            ExitStatus::Usage => 2,
            ExitStatus::Connection => 3,
            // 128 + the signal's number, as shells report it.
            ExitStatus::Interrupted => 130,
            ExitStatus::Terminated => 143,
        }
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        std::process::ExitCode::from(status.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_ones() {
        let codes = ExitStatus::ALL.map(ExitStatus::code);
        assert_eq!(codes, [0, 1, 2, 3, 130, 143]);
        let docs = include_str!("../../../docs/commands.md");
        for code in codes {
            assert!(docs.contains(&format!("| `{code}` |")), "exit code {code}");
        }
    }
}
