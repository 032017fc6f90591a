//! `godwit completions <shell>`: print the shell's completion script, generated from the
//! command line's definition (clap_complete), on stdout.

use crate::context::CliError;
use crate::exit::ExitStatus;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The shell: bash, zsh, fish, powershell or elvish
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

pub fn run(mut command: clap::Command, args: &Args) -> Result<ExitStatus, CliError> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "godwit", &mut script);
    crate::output::write_stdout(&script)?;
    Ok(ExitStatus::Ok)
}
