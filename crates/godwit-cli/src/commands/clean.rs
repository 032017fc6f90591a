//! `godwit clean`: drop every object in the managed schemas. Refused unless
//! `clean_disabled = false` and `--yes`.

use crate::config::Settings;
use crate::context::{self, CliError};
use crate::exit::ExitStatus;
use crate::output::{DryRunSql, Output};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Confirm that every object in the managed schemas may be dropped
    #[arg(long)]
    pub yes: bool,

    /// Print the DROP statements and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn run(settings: &Settings, args: &Args, out: &Output) -> Result<ExitStatus, CliError> {
    let progress = out.progress(args.dry_run);
    if settings.cli.clean_disabled && !args.dry_run {
        return Err(CliError::Setting {
            message: "clean is disabled: it would drop every object in the managed schemas".into(),
            hint: "to allow it, set `clean_disabled = false` (or GODWIT_CLEAN_DISABLED=false) and pass `--yes`; never on a production database".into(),
        });
    }
    if !args.yes && !args.dry_run {
        return Err(CliError::Setting {
            message: "clean drops every object in the managed schemas and needs confirmation"
                .into(),
            hint: "run `godwit clean --yes` (or `--dry-run` to see what it would drop)".into(),
        });
    }
    let migrator = godwit::Migrator::new(godwit::MigrationSet::default())
        .with_config(settings.config.clone())
        .with_observer(context::with_notices(Some(context::observer(move |e| {
            progress.event(e)
        }))));
    let mut db = context::connect(settings, false).await?;
    let target = settings.cli.redacted_url().unwrap_or_default();
    let mut sql = DryRunSql::new(args.dry_run, out.json);
    let result = migrator.clean(&mut db, sql.writer()).await;
    let _ = db.close().await;
    let statements = result?;
    if out.json {
        out.json_value(
            &sql.into_json(
                &serde_json::json!({ "statements": statements, "dry_run": args.dry_run }),
            ),
        );
    }
    if args.dry_run {
        out.success(&format!(
            "Dry run: clean would run {} statements on {target}",
            statements.len()
        ));
    } else {
        out.success(&format!(
            "Cleaned {target}: ran {} statements",
            statements.len()
        ));
    }
    Ok(ExitStatus::Ok)
}
