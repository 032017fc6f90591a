//! The `godwit` binary: configuration, argument parsing and output around the `godwit` library.
//! No migration logic lives here.

mod commands;
mod config;
mod context;
mod exit;
mod output;
mod signals;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::exit::ExitStatus;
use crate::output::Output;

/// Version database schemas with plain SQL files: Flyway's conventions, undo, data migrations
/// and a lock so that a fleet can migrate at once
///
/// Start a project with `godwit init`, write each change with `godwit new <description>`, and
/// apply what is pending with `godwit migrate`. Settings come from godwit.toml files, then
/// environment variables, then flags (docs/configuration.md).
#[derive(Parser, Debug)]
#[command(
    name = "godwit",
    version,
    long_version = LONG_VERSION,
    max_term_width = 100
)]
struct Cli {
    #[command(subcommand)]
    command: Command,

    /// Print machine-readable JSON on stdout instead of text
    #[arg(long, global = true)]
    json: bool,

    /// Print errors and the final line only
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,

    /// Also print each statement batch with its timing (and the library's trace events;
    /// RUST_LOG chooses others)
    #[arg(short, long, global = true)]
    verbose: bool,

    #[command(flatten)]
    config: config::ConfigArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Apply pending migrations (or go down to a lower --target)
    Migrate(commands::migrate::Args),
    /// Show every migration with its state
    Info,
    /// Check that the migration files agree with the history table
    Validate,
    /// Print the database's current version (`none` when empty)
    Current,
    /// Undo the newest applied migration, or every one above --target
    Undo(commands::undo::Args),
    /// Mark an existing database that godwit never managed as being at a version
    Baseline(commands::baseline::Args),
    /// Remove failed rows, realign checksums, mark missing migrations deleted (or one applied)
    Repair(commands::repair::Args),
    /// Drop every object in the managed schemas (needs clean_disabled = false and --yes)
    Clean(commands::clean::Args),
    /// Write the next migration file into the first location
    New(commands::new::Args),
    /// Wait until the database accepts a login, retrying while it is not up (init containers)
    Wait,
    /// Start a project here: a commented godwit.toml, the migrations directory and a first
    /// migration (overwrites nothing)
    Init(commands::init::Args),
    /// Print the shell completion script for bash, zsh, fish, powershell or elvish
    Completions(commands::completions::Args),
    /// Print the manual page (or write every page into a directory with --dir)
    Man(commands::man::Args),
    /// Check the pending migrations (or FILEs) for changes that break the previous release or
    /// lock tables (docs/lint.md)
    Lint(commands::lint::Args),
    /// Check every undo script on a scratch database: apply, undo, compare the schema, apply again
    VerifyUndo(commands::verify_undo::Args),
    /// Run Flyway's command line: `godwit flyway -url=jdbc:… -locations=filesystem:sql migrate`
    /// (Flyway's settings, files and FLYWAY_* variables; exit 0 or 1, as Flyway)
    Flyway(commands::flyway::Args),
}

/// `godwit --version`: the version, and what the binary was built from (build.rs).
const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\ncommit: ",
    env!("GODWIT_BUILD_COMMIT"),
    "\ntarget: ",
    env!("GODWIT_BUILD_TARGET"),
    "\nprofile: ",
    env!("GODWIT_BUILD_PROFILE"),
);

/// The command line as clap sees it, with the exit codes and environment variables after the
/// help (`-h`: in short; `--help`: in full). Parsing, completions and man pages all use it.
pub fn command() -> clap::Command {
    let codes: Vec<String> = ExitStatus::ALL
        .iter()
        .map(|s| format!("  {:<5}{}", s.code(), s.meaning()))
        .collect();
    let env: String = environment_lines()
        .iter()
        .map(|(vars, meaning)| format!("  {vars:<36}{meaning}\n"))
        .collect();
    Cli::command()
        .after_help(
            "Exit codes: 0 done, 1 failed, 2 bad usage, configuration or migration files (nothing \
             was run), 3 cannot connect, 130/143 stopped cleanly on SIGINT/SIGTERM.\n\
             Environment: GODWIT_<KEY> sets a key of godwit.toml (GODWIT_URL, else DATABASE_URL), \
             GODWIT_PLACEHOLDERS_<NAME> a placeholder. `godwit --help` lists both in full.",
        )
        .after_long_help(format!(
            "Exit codes:\n{}\n\nEnvironment (variables override godwit.toml files; flags override both):\n{env}",
            codes.join("\n")
        ))
}

/// The environment variables godwit reads, with what each does: those of the keys of
/// godwit.toml (config::keys), then the others. For `--help` and the man page.
pub fn environment_lines() -> Vec<(String, String)> {
    let mut lines: Vec<(String, String)> = config::environment_variables()
        .map(|(vars, key)| {
            let meaning = match (key, vars.len()) {
                ("placeholders", _) => "the placeholder NAME (placeholders.NAME)".to_owned(),
                (key, 1) => format!("the setting {key}"),
                (key, _) => format!("the setting {key} (the first one set wins)"),
            };
            (vars.join(", "), meaning)
        })
        .collect();
    let others = [
        ("NO_COLOR", "no colours, even on a terminal"),
        ("RUST_LOG", "which trace events to print, e.g. godwit=debug"),
        (
            "XDG_CONFIG_HOME, HOME",
            "where your own godwit/godwit.toml is (~/.config)",
        ),
        (
            "XDG_CACHE_HOME",
            "where the checksum cache is kept (~/.cache/godwit)",
        ),
    ];
    lines.extend(others.map(|(var, meaning)| (var.to_owned(), meaning.to_owned())));
    lines
}

fn main() -> ExitCode {
    let cli = match command()
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches))
    {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                ExitStatus::Usage
            } else {
                ExitStatus::Ok
            });
        }
    };
    output::set_verbosity(if cli.quiet {
        output::Verbosity::Quiet
    } else if cli.verbose {
        output::Verbosity::Verbose
    } else {
        output::Verbosity::Normal
    });
    install_tracing(cli.verbose);
    let out = Output::new(cli.json);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            out.error_text(&format!("cannot start the async runtime: {e}"), None);
            return ExitCode::from(ExitStatus::Failed);
        }
    };
    ExitCode::from(runtime.block_on(run(cli, &out)))
}

async fn run(cli: Cli, out: &Output) -> ExitStatus {
    if matches!(
        cli.command,
        Command::Migrate(_) | Command::Undo(_) | Command::VerifyUndo(_) | Command::Flyway(_)
    ) {
        signals::stop_cleanly();
    }
    signals::listen();
    // Flyway's command line reads its own settings and ends with Flyway's exit codes.
    if let Command::Flyway(args) = &cli.command {
        return commands::flyway::run(&cli.config, args, cli.json).await;
    }
    // These need no settings: a broken configuration file must not stop them.
    let early = match &cli.command {
        Command::Init(args) => Some(commands::init::run(&cli.config, args, out).await),
        Command::Completions(args) => Some(commands::completions::run(command(), args)),
        Command::Man(args) => Some(commands::man::run(command(), args, out)),
        _ => None,
    };
    if let Some(result) = early {
        return match result {
            Ok(status) => status,
            Err(_) if output::stdout_closed() => ExitStatus::Ok,
            Err(e) => out.failure(&e),
        };
    }
    let settings = match config::load_from_process(&cli.config) {
        Ok(s) => s,
        Err(e) => {
            out.config_error(&e);
            return ExitStatus::Usage;
        }
    };
    let result = match cli.command {
        Command::Migrate(args) => commands::migrate::run(&settings, &args, out).await,
        Command::Info => commands::info::run(&settings, out).await,
        Command::Validate => commands::validate::run(&settings, out).await,
        Command::Current => commands::current::run(&settings, out).await,
        Command::Undo(args) => commands::undo::run(&settings, &args, out).await,
        Command::Baseline(args) => commands::baseline::run(&settings, &args, out).await,
        Command::Repair(args) => commands::repair::run(&settings, &args, out).await,
        Command::Clean(args) => commands::clean::run(&settings, &args, out).await,
        Command::New(args) => commands::new::run(&settings, &args, out).await,
        Command::Wait => commands::wait::run(&settings, out).await,
        Command::Lint(args) => commands::lint::run(&settings, &args, out).await,
        Command::VerifyUndo(args) => commands::verify_undo::run(&settings, &args, out).await,
        // Handled above, before the settings were loaded.
        Command::Init(_) | Command::Completions(_) | Command::Man(_) | Command::Flyway(_) => {
            Ok(ExitStatus::Ok)
        }
    };
    if output::stdout_closed() {
        // The reader of stdout went away (`| head`): nothing more is wanted, end quietly.
        return ExitStatus::Ok;
    }
    match result {
        Ok(status) => status,
        Err(e) => match (signals::exit_status(), &e) {
            (Some(status), context::CliError::Lib(err)) if is_interruption(err) => {
                out.interrupted(err, signals::name());
                status
            }
            _ => out.failure(&e),
        },
    }
}

/// Sends the library's `tracing` events to stderr: with `-v`, godwit's own at debug level
/// (each statement batch with its timing); with `RUST_LOG`, what it selects (it wins over
/// `-v`). Without either, no subscriber: the events cost nothing.
fn install_tracing(verbose: bool) {
    use tracing_subscriber::EnvFilter;
    let from_env = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .and_then(|v| match EnvFilter::try_new(&v) {
            Ok(filter) => Some(filter),
            Err(e) => {
                eprintln!(
                    "warning: RUST_LOG={v:?} is not a valid filter ({e}), ignored; e.g. RUST_LOG=godwit=debug"
                );
                None
            }
        });
    let filter = match (from_env, verbose) {
        (Some(filter), _) => filter,
        (None, true) => EnvFilter::new("godwit=debug"),
        (None, false) => return,
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .with_ansi(output::stderr_colours())
        .try_init();
}

/// Whether the run stopped because it was interrupted.
fn is_interruption(err: &godwit::Error) -> bool {
    match err {
        godwit::Error::Interrupted(_) => true,
        godwit::Error::Migration(f) => f.cause == godwit::FailureCause::Interrupted,
        _ => false,
    }
}
