//! `godwit flyway <Flyway arguments>`: Flyway's command line, so that a deploy script changes one
//! word (`flyway -url=jdbc:… -locations=filesystem:sql migrate` becomes
//! `godwit flyway -url=jdbc:… -locations=filesystem:sql migrate`). Settings are `-name=value`
//! (Flyway's names, read with its files and `FLYWAY_*`: config::flyway); the commands run in the
//! order given, each as the godwit command of the same name; the exit code is Flyway's: 0 when
//! every command succeeded, 1 otherwise (docs/flyway.md).

use std::io::Write as _;

use crate::config::{self, ConfigArgs, FlywayCommandLine};
use crate::exit::ExitStatus;
use crate::output::{self, Output};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Flyway's settings (-url=… -user=… -locations=filesystem:sql -placeholders.NAME=… …) and
    /// commands (migrate, info, validate, baseline, repair, clean, undo), in Flyway's syntax
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "FLYWAY_ARGUMENTS"
    )]
    pub args: Vec<String>,
}

/// A Flyway command, and the godwit command that does it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FlywayCommand {
    Migrate,
    Info,
    Validate,
    Baseline,
    Repair,
    Clean,
    Undo,
}

/// Flyway's arguments, taken apart.
#[derive(Debug, Default, PartialEq, Eq)]
struct Parsed {
    commands: Vec<FlywayCommand>,
    settings: Vec<(String, String)>,
    verbose: bool,
    quiet: bool,
    /// `-?`, `-h`, `--help` or `help`: print the usage and run nothing.
    help: bool,
}

/// What cannot be run, and what to do instead.
#[derive(Debug)]
struct Refusal {
    message: String,
    hint: String,
}

const USAGE: &str = "Usage: godwit flyway [-name=value ...] command [command ...]

Flyway's command line, run by godwit. Commands, run in the order given:
  migrate, info, validate, baseline, repair, clean, undo
Settings are Flyway's, e.g. -url=jdbc:postgresql://localhost/app -user=app
-locations=filesystem:sql -placeholders.owner=app -configFiles=flyway.conf -environment=ci
-outputType=json; they are read with flyway.conf / flyway.toml and the FLYWAY_* variables.
Switches: -X (more output), -q (less), -n (godwit never asks).
Exit codes: 0 when every command succeeded, 1 otherwise.
Every setting and what godwit does with it: docs/flyway.md";

const COMMANDS: &str = "migrate, info, validate, baseline, repair, clean or undo";

fn parse(args: &[String]) -> Result<Parsed, Refusal> {
    let mut parsed = Parsed::default();
    for arg in args {
        if let Some(option) = arg.strip_prefix('-') {
            let option = option.strip_prefix('-').unwrap_or(option);
            match option {
                "?" | "h" | "help" => parsed.help = true,
                "X" => parsed.verbose = true,
                "q" => parsed.quiet = true,
                // godwit never asks a question.
                "n" => {}
                "community" | "oss" => {}
                _ => match option.split_once('=') {
                    Some((name, value)) if !name.is_empty() => {
                        parsed.settings.push((name.to_owned(), value.to_owned()));
                    }
                    _ => {
                        return Err(Refusal {
                            message: format!("unknown Flyway option `{}`", shown(arg)),
                            hint: "Flyway's settings are written -name=value (e.g. \
                                   -url=jdbc:postgresql://localhost/app); the switches godwit \
                                   takes are -X (more output), -q (less) and -n"
                                .into(),
                        })
                    }
                },
            }
            continue;
        }
        let command = match arg.as_str() {
            "help" => {
                parsed.help = true;
                continue;
            }
            "migrate" => FlywayCommand::Migrate,
            "info" => FlywayCommand::Info,
            "validate" => FlywayCommand::Validate,
            "baseline" => FlywayCommand::Baseline,
            "repair" => FlywayCommand::Repair,
            "clean" => FlywayCommand::Clean,
            "undo" => FlywayCommand::Undo,
            "check" | "snapshot" | "diff" | "diffText" | "diffApply" | "generate" | "deploy"
            | "prepare" | "model" | "add" | "init" | "auth" | "test" | "compare" => {
                return Err(Refusal {
                    message: format!("`{arg}` is a Flyway command godwit does not have"),
                    hint: format!(
                        "godwit runs {COMMANDS}; see docs/flyway.md for what godwit offers instead"
                    ),
                })
            }
            _ => {
                return Err(Refusal {
                    message: format!("unknown Flyway command `{}`", shown(arg)),
                    hint: format!("give one of {COMMANDS}"),
                })
            }
        };
        parsed.commands.push(command);
    }
    if parsed.commands.is_empty() && !parsed.help {
        return Err(Refusal {
            message: "no Flyway command given".into(),
            hint: format!("end the arguments with {COMMANDS}, e.g. godwit flyway -url=… migrate"),
        });
    }
    Ok(parsed)
}

/// An argument as it may be shown: one that may hold a secret is cut at its `=`.
fn shown(arg: &str) -> String {
    match arg.split_once('=') {
        Some((name, _)) => format!("{name}=…"),
        None if arg.chars().count() > 40 => "…".into(),
        None => arg.to_owned(),
    }
}

pub async fn run(config_args: &ConfigArgs, args: &Args, json: bool) -> ExitStatus {
    let parsed = match parse(&args.args) {
        Ok(parsed) => parsed,
        Err(refusal) => {
            Output::new(json).error_text(&refusal.message, Some(&refusal.hint));
            return ExitStatus::Failed;
        }
    };
    if parsed.help {
        // A closed stdout (`| head`) is no error.
        let _ = writeln!(std::io::stdout().lock(), "{USAGE}");
        return ExitStatus::Ok;
    }
    if parsed.verbose {
        output::set_verbosity(output::Verbosity::Verbose);
    } else if parsed.quiet {
        output::set_verbosity(output::Verbosity::Quiet);
    }
    let mut config_args = config_args.clone();
    config_args.flyway = Some(FlywayCommandLine {
        settings: parsed.settings.clone(),
    });
    let quick_json = json
        || parsed
            .settings
            .iter()
            .any(|(n, v)| n == "outputType" && v.eq_ignore_ascii_case("json"));
    let settings = match config::load_from_process(&config_args) {
        Ok(settings) => settings,
        Err(e) => {
            Output::new(quick_json).config_error(&e);
            return ExitStatus::Failed;
        }
    };
    let json = quick_json || config::flyway_wants_json(&config_args).unwrap_or(false);
    let out = Output::new(json);
    if settings.cli.url.is_none() {
        out.error_text(
            "no database URL is configured",
            Some(
                "give it as -url=jdbc:postgresql://host:5432/app (or jdbc:mysql://, jdbc:mariadb://, \
                 jdbc:sqlite:), in FLYWAY_URL, or as flyway.url in flyway.conf (url in \
                 [environments.<name>] of flyway.toml)",
            ),
        );
        return ExitStatus::Failed;
    }
    for command in parsed.commands {
        let result = match command {
            FlywayCommand::Migrate => {
                let args = super::migrate::Args { dry_run: false };
                super::migrate::run(&settings, &args, &out).await
            }
            FlywayCommand::Info => super::info::run(&settings, &out).await,
            FlywayCommand::Validate => super::validate::run(&settings, &out).await,
            FlywayCommand::Baseline => {
                let args = super::baseline::Args {
                    baseline_version: None,
                    dry_run: false,
                };
                super::baseline::run(&settings, &args, &out).await
            }
            FlywayCommand::Repair => {
                let args = super::repair::Args {
                    dry_run: false,
                    mark_applied: None,
                };
                super::repair::run(&settings, &args, &out).await
            }
            FlywayCommand::Clean => {
                // Flyway asks nothing: `cleanDisabled` (true unless set to false) is the guard.
                let args = super::clean::Args {
                    yes: true,
                    dry_run: false,
                };
                super::clean::run(&settings, &args, &out).await
            }
            FlywayCommand::Undo => {
                let args = super::undo::Args { dry_run: false };
                super::undo::run(&settings, &args, &out).await
            }
        };
        if output::stdout_closed() {
            return ExitStatus::Ok;
        }
        match result {
            Ok(ExitStatus::Ok) => {}
            // Flyway's exit codes: anything but success is 1.
            Ok(_) => return ExitStatus::Failed,
            Err(e) => {
                match (crate::signals::exit_status(), &e) {
                    (Some(_), crate::context::CliError::Lib(err))
                        if crate::is_interruption(err) =>
                    {
                        out.interrupted(err, crate::signals::name());
                    }
                    _ => {
                        out.failure(&e);
                    }
                }
                return ExitStatus::Failed;
            }
        }
    }
    ExitStatus::Ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn flyway_arguments_are_taken_apart() {
        let parsed = parse(&args(
            "-url=jdbc:postgresql://h/db?x=1 -user=app -locations=filesystem:sql -placeholders.a=b=c \
             -X -n clean migrate",
        ))
        .unwrap();
        assert_eq!(
            parsed.commands,
            [FlywayCommand::Clean, FlywayCommand::Migrate]
        );
        assert_eq!(
            parsed.settings,
            [
                ("url".to_owned(), "jdbc:postgresql://h/db?x=1".to_owned()),
                ("user".to_owned(), "app".to_owned()),
                ("locations".to_owned(), "filesystem:sql".to_owned()),
                ("placeholders.a".to_owned(), "b=c".to_owned()),
            ]
        );
        assert!(parsed.verbose);
    }

    #[test]
    fn refusals_say_what_to_do() {
        for (text, says) in [
            ("-url=x", "no Flyway command"),
            ("migrat", "unknown Flyway command `migrat`"),
            ("-password migrate", "unknown Flyway option `-password`"),
            ("check", "does not have"),
        ] {
            let refusal = parse(&args(text)).unwrap_err();
            assert!(refusal.message.contains(says), "{text}: {refusal:?}");
        }
        let refusal = parse(&args(
            "-secret_value_here_that_is_long_enough_to_cut_x migrate",
        ))
        .unwrap_err();
        assert!(!refusal.message.contains("enough_to_cut"), "{refusal:?}");
    }
}
