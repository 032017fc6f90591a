//! `godwit migrate`: validate, lock, apply what is pending (or go down to a lower target).

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
    let progress = out.progress(args.dry_run);
    let (migrator, mut db) = context::open(
        settings,
        Some(context::observer(move |e| progress.event(e))),
        !args.dry_run,
    )
    .await?;
    // The table the run will use: a Flyway table found instead of the default one (the line
    // after this one says why).
    let table = match migrator.history_table(&mut db).await {
        Ok(table) if table != settings.config.table => table,
        _ => context::history_table_name(&settings.config),
    };
    out.message(&format!(
        "Migrating {} ({}), history table {table}",
        settings.cli.redacted_url().unwrap_or_default(),
        db.session().server_version,
    ));
    let (migrator, stopped) = match crate::commands::lint::pre_run_check(
        settings,
        &migrator,
        &db,
        out.json,
        "no migration was run",
    ) {
        Some((check, stopped)) => (migrator.with_pre_run_check(check), Some(stopped)),
        None => (migrator, None),
    };
    let mut sql = DryRunSql::new(args.dry_run, out.json);
    let report = match sql.writer() {
        Some(w) => migrator.migrate_dry_run(&mut db, w).await,
        None => migrator.migrate(&mut db).await,
    };
    let _ = db.close().await;
    // The lint stopped the run before anything was written; it said why.
    if let Some(status) = stopped.as_ref().and_then(|s| s.get()) {
        return Ok(*status);
    }
    let report = report?;
    if out.json {
        out.json_value(&sql.into_json(&report));
    }
    let version = report.final_version.as_deref().unwrap_or("none");
    let elapsed = Duration::from_millis(report.duration_ms);
    let summary = match (report.dry_run, report.migrations) {
        (true, 0) => format!("Dry run: nothing to migrate, database at version {version}"),
        (true, n) => format!(
            "Dry run: {n} migration{} would {}, database would be at version {version}",
            plural(n),
            if report
                .steps
                .iter()
                .any(|s| s.kind == godwit::MigrationKind::Undo)
            {
                "be undone"
            } else {
                "run"
            }
        ),
        (false, 0) => format!("Database is up to date at version {version}"),
        (false, n) => format!(
            "Successfully {} {n} migration{}, database now at version {version} ({})",
            if report.initial_version.is_some()
                && report
                    .steps
                    .iter()
                    .any(|s| s.kind == godwit::MigrationKind::Undo)
            {
                "undid"
            } else {
                "applied"
            },
            plural(n),
            godwit::format_duration(elapsed)
        ),
    };
    out.success(&summary);
    Ok(ExitStatus::Ok)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
