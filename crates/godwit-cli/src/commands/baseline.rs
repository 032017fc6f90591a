//! `godwit baseline`: mark an existing database that godwit never managed.

use crate::config::Settings;
use crate::context::{self, CliError};
use crate::exit::ExitStatus;
use crate::output::{DryRunSql, Output};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Record this version as the baseline (default: `baseline_version`, else 1)
    #[arg(long, value_name = "VERSION")]
    pub baseline_version: Option<String>,

    /// Print the SQL that would run and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn run(settings: &Settings, args: &Args, out: &Output) -> Result<ExitStatus, CliError> {
    let progress = out.progress(args.dry_run);
    let mut config = settings.config.clone();
    if let Some(v) = &args.baseline_version {
        config.baseline_version = godwit::Version::parse(v).map_err(|e| CliError::Setting {
            message: format!("invalid baseline version: {e}"),
            hint: "give --baseline-version a version such as `1` or `3.2`".into(),
        })?;
    }
    // The files are not needed to record a baseline: an empty set keeps a broken file from
    // blocking the adoption of a database.
    let migrator = godwit::Migrator::new(godwit::MigrationSet::default())
        .with_config(config)
        .with_observer(context::with_notices(Some(context::observer(move |e| {
            progress.event(e)
        }))));
    let mut db = context::connect(settings, !args.dry_run).await?;
    let mut sql = DryRunSql::new(args.dry_run, out.json);
    let result = migrator.baseline(&mut db, None, sql.writer()).await;
    let _ = db.close().await;
    let version = result?;
    if out.json {
        out.json_value(&sql.into_json(&serde_json::json!({ "baseline_version": version.to_string(), "dry_run": args.dry_run })));
    }
    if args.dry_run {
        out.success(&format!(
            "Dry run: the database would be baselined at version {version}"
        ));
    } else {
        out.success(&format!(
            "Baselined the database at version {version}: `godwit migrate` now applies only later versions"
        ));
    }
    Ok(ExitStatus::Ok)
}
