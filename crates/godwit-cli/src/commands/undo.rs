//! `godwit undo`: reverse the newest applied migration, or every one above `--target`.

use std::time::Duration;

use crate::context::{self, CliError};
use crate::output::{DryRunSql, Output};
use crate::{config::Settings, exit};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print the SQL that would run, in order, and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn run(settings: &Settings, args: &Args, out: &Output) -> Result<u8, CliError> {
    let mut to_empty = false;
    let target = match settings.target.trim().to_ascii_lowercase().as_str() {
        "latest" | "" => None,
        "none" => {
            to_empty = true;
            None
        }
        "current" => return Err(CliError::Setting {
            message: "`undo --target current` would undo nothing".into(),
            hint:
                "leave --target out to undo the newest migration, or name the version to go down to"
                    .into(),
        }),
        _ => match context::library_config(settings)?.target {
            godwit::Target::Version(v) => Some(v),
            _ => None,
        },
    };
    let progress = out.progress(args.dry_run);
    let (migrator, mut db) = context::open(
        settings,
        Some(context::observer(move |e| progress.event(e))),
        false,
    )
    .await?;
    let mut sql = DryRunSql::new(args.dry_run, out.json);
    // Down to `none` is a migrate to an empty database: every applied version is undone.
    let report = match (sql.writer(), to_empty) {
        (Some(w), true) => migrator.migrate_dry_run(&mut db, w).await,
        (None, true) => migrator.migrate(&mut db).await,
        (Some(w), false) => migrator.undo_dry_run(&mut db, target, w).await,
        (None, false) => migrator.undo(&mut db, target).await,
    };
    let _ = db.close().await;
    let report = report?;
    if out.json {
        out.json_value(&sql.into_json(&report));
    }
    let version = report.final_version.as_deref().unwrap_or("none");
    let n = report.migrations;
    let s = if n == 1 { "" } else { "s" };
    if report.dry_run {
        out.success(&format!(
            "Dry run: {n} migration{s} would be undone, database would be at version {version}"
        ));
    } else {
        out.success(&format!(
            "Undid {n} migration{s}, database now at version {version} ({})",
            Output::duration(Duration::from_millis(report.duration_ms))
        ));
    }
    Ok(exit::OK)
}
