//! `godwit man`: the manual pages, generated from the command line's definition (clap_mangen):
//! `godwit(1)` and `godwit-<command>(1)` for each command. Printed on stdout (`godwit man |
//! man -l -`), or written into a directory with `--dir` (for packages: `godwit man --dir
//! /usr/local/share/man/man1`).

use std::path::{Path, PathBuf};

use clap_mangen::roff::{bold, roman, Roff};
use clap_mangen::Man;

use crate::context::CliError;
use crate::exit::ExitStatus;
use crate::output::Output;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The page of this command (`godwit-<COMMAND>(1)`) instead of godwit(1)
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,

    /// Write the pages (every one, or COMMAND's) into this directory, as godwit.1 and
    /// godwit-<command>.1, instead of printing one
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

fn usage(message: impl Into<String>, hint: impl Into<String>) -> CliError {
    CliError::Setting {
        message: message.into(),
        hint: hint.into(),
    }
}

pub fn run(command: clap::Command, args: &Args, out: &Output) -> Result<ExitStatus, CliError> {
    let mut command = command.disable_help_subcommand(true);
    command.build();
    let names: Vec<String> = command
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| c.get_name().to_owned())
        .collect();
    let pages: Vec<Vec<u8>> = match &args.command {
        Some(name) => {
            let Some(sub) = command.find_subcommand(name) else {
                return Err(usage(
                    format!("`{name}` is not a godwit command"),
                    format!("the commands are {}", names.join(", ")),
                ));
            };
            vec![render_command(sub)?]
        }
        None if args.dir.is_none() => vec![render_main(&command)?],
        None => {
            let mut pages = vec![render_main(&command)?];
            for sub in command.get_subcommands().filter(|c| !c.is_hide_set()) {
                pages.push(render_command(sub)?);
            }
            pages
        }
    };
    let Some(dir) = &args.dir else {
        for page in &pages {
            crate::output::write_stdout(page)?;
        }
        return Ok(ExitStatus::Ok);
    };
    std::fs::create_dir_all(dir).map_err(|e| {
        usage(
            format!("cannot create the directory {}: {e}", dir.display()),
            "check the path and its permissions",
        )
    })?;
    let file_names: Vec<String> = match &args.command {
        Some(name) => vec![format!("godwit-{name}.1")],
        None => std::iter::once("godwit.1".to_owned())
            .chain(names.iter().map(|n| format!("godwit-{n}.1")))
            .collect(),
    };
    for (name, page) in file_names.iter().zip(&pages) {
        let path = dir.join(name);
        write_page(&path, page)?;
        out.data(&path.display().to_string());
    }
    Ok(ExitStatus::Ok)
}

fn write_page(path: &Path, page: &[u8]) -> Result<(), CliError> {
    std::fs::write(path, page).map_err(|e| {
        usage(
            format!("cannot write {}: {e}", path.display()),
            "check the directory's permissions",
        )
    })
}

fn rendering_failed(e: std::io::Error) -> CliError {
    usage(
        format!("cannot render the manual page: {e}"),
        "this is a bug in godwit: please report it",
    )
}

/// godwit(1): clap's sections, then the exit codes and the environment (in place of clap's
/// EXTRA section, which would repeat `--help`'s text).
fn render_main(command: &clap::Command) -> Result<Vec<u8>, CliError> {
    let man = Man::new(command.clone()).manual("godwit manual");
    let mut page = Vec::new();
    man.render_title(&mut page).map_err(rendering_failed)?;
    man.render_name_section(&mut page)
        .map_err(rendering_failed)?;
    man.render_synopsis_section(&mut page)
        .map_err(rendering_failed)?;
    man.render_description_section(&mut page)
        .map_err(rendering_failed)?;
    man.render_options_section(&mut page)
        .map_err(rendering_failed)?;
    man.render_subcommands_section(&mut page)
        .map_err(rendering_failed)?;

    let mut roff = Roff::default();
    roff.control("SH", ["EXIT STATUS"]);
    for status in ExitStatus::ALL {
        roff.control("TP", []);
        roff.text([bold(status.code().to_string())]);
        roff.text([roman(status.meaning())]);
    }
    roff.control("SH", ["ENVIRONMENT"]);
    roff.text([roman(
        "Environment variables override godwit.toml files; flags override both.",
    )]);
    for (vars, meaning) in crate::environment_lines() {
        roff.control("TP", []);
        roff.text([bold(vars)]);
        roff.text([roman(meaning)]);
    }
    roff.control("SH", ["SEE ALSO"]);
    let see_also: Vec<String> = command
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| format!("godwit-{}(1)", c.get_name()))
        .collect();
    roff.text([roman(see_also.join(", "))]);
    roff.to_writer(&mut page).map_err(rendering_failed)?;
    man.render_version_section(&mut page)
        .map_err(rendering_failed)?;
    Ok(page)
}

/// godwit-<command>(1), clap's sections.
fn render_command(command: &clap::Command) -> Result<Vec<u8>, CliError> {
    let man = Man::new(command.clone()).manual("godwit manual");
    let mut page = Vec::new();
    man.render(&mut page).map_err(rendering_failed)?;
    let mut roff = Roff::default();
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman(
        "godwit(1), whose EXIT STATUS and ENVIRONMENT apply to every command",
    )]);
    roff.to_writer(&mut page).map_err(rendering_failed)?;
    Ok(page)
}
