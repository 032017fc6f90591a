//! `godwit repair`: fix the history table after a failure, an interruption or a harmless edit;
//! `--mark-applied` records one migration finished by hand.

use crate::config::Settings;
use crate::context::{self, CliError};
use crate::exit::ExitStatus;
use crate::output::{DryRunSql, Output};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print the changes and their SQL, and change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Record this version as applied without running it (after finishing it by hand); only
    /// this change is made
    #[arg(long, value_name = "VERSION")]
    pub mark_applied: Option<String>,
}

pub async fn run(settings: &Settings, args: &Args, out: &Output) -> Result<ExitStatus, CliError> {
    let mark_applied = match &args.mark_applied {
        Some(text) => Some(godwit::Version::parse(text.trim()).map_err(|e| {
            CliError::Setting {
                message: format!("invalid version for --mark-applied: {e}"),
                hint: "pass the version of one migration, such as `--mark-applied 21` for `V21__….sql`; `godwit info` lists them".into(),
            }
        })?),
        None => None,
    };
    let progress = out.progress(args.dry_run);
    let (migrator, mut db) = context::open(
        settings,
        Some(context::observer(move |e| progress.event(e))),
        false,
    )
    .await?;
    let mut sql = DryRunSql::new(args.dry_run, out.json);
    let result = match &mark_applied {
        Some(version) => migrator
            .repair_mark_applied(&mut db, version, sql.writer())
            .await
            .map(|action| vec![action]),
        None => migrator.repair(&mut db, sql.writer()).await,
    };
    let _ = db.close().await;
    let actions = result?;
    if out.json {
        out.json_value(
            &sql.into_json(&serde_json::json!({ "changes": actions, "dry_run": args.dry_run })),
        );
    }
    out.repair_summary(&actions, args.dry_run);
    Ok(ExitStatus::Ok)
}
