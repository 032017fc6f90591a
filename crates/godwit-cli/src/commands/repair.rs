//! `godwit repair`: fix the history table after a failure or a harmless edit.

use crate::context::{self, CliError};
use crate::output::{DryRunSql, Output};
use crate::{config::Settings, exit};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print the changes and their SQL, and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn run(settings: &Settings, args: &Args, out: &Output) -> Result<u8, CliError> {
    let progress = out.progress(args.dry_run);
    let (migrator, mut db) = context::open(
        settings,
        Some(context::observer(move |e| progress.event(e))),
        false,
    )
    .await?;
    let mut sql = DryRunSql::new(args.dry_run, out.json);
    let result = migrator.repair(&mut db, sql.writer()).await;
    let _ = db.close().await;
    let actions = result?;
    if out.json {
        out.json_value(
            &sql.into_json(&serde_json::json!({ "changes": actions, "dry_run": args.dry_run })),
        );
    }
    let verb = if args.dry_run { "Would" } else { "Repaired:" };
    for action in &actions {
        out.message(&format!("{verb} {action}"));
    }
    match (actions.len(), args.dry_run) {
        (0, _) => out.success("Nothing to repair: the history table agrees with the files"),
        (n, true) => out.success(&format!(
            "Dry run: repair would make {n} change{}",
            plural(n)
        )),
        (n, false) => out.success(&format!(
            "Repaired the history table: {n} change{}",
            plural(n)
        )),
    }
    Ok(exit::OK)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
