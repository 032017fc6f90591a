//! `godwit undo`: reverse the newest applied migration, or every one above `--target`.

use std::time::Duration;

use crate::config::Settings;
use crate::context::{self, CliError};
use crate::exit::ExitStatus;
use crate::output::{DryRunSql, Output};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print the SQL that would run, in order, and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn run(settings: &Settings, args: &Args, out: &Output) -> Result<ExitStatus, CliError> {
    // Down to `none` is a migrate to an empty database: every applied version is undone.
    let (target, to_empty) = match &settings.config.target {
        godwit::Target::Latest => (None, false),
        godwit::Target::Empty => (None, true),
        godwit::Target::Current => return Err(CliError::Setting {
            message: "`undo --target current` would undo nothing".into(),
            hint:
                "leave --target out to undo the newest migration, or name the version to go down to"
                    .into(),
        }),
        godwit::Target::Version(v) => (Some(v.clone()), false),
    };
    let progress = out.progress(args.dry_run);
    let (migrator, mut db) = context::open(
        settings,
        Some(context::observer(move |e| progress.event(e))),
        false,
    )
    .await?;
    let mut sql = DryRunSql::new(args.dry_run, out.json);
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
            godwit::format_duration(Duration::from_millis(report.duration_ms))
        ));
    }
    Ok(ExitStatus::Ok)
}
