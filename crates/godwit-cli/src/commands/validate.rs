//! `godwit validate`: exit 0 when files and history agree, otherwise every problem at once.

use crate::config::Settings;
use crate::context::{self, CliError};
use crate::exit::ExitStatus;
use crate::output::Output;

pub async fn run(settings: &Settings, out: &Output) -> Result<ExitStatus, CliError> {
    // The files `migrate` would run are checked too: one that holds no statement is named.
    let warn = context::observer(|event| {
        if let godwit::Event::NoStatements { migration, path } = event {
            crate::output::no_statements_warning(migration, path, true);
        }
    });
    let (migrator, mut db) = context::open(settings, Some(warn), false).await?;
    // The files `migrate` would run are linted too, once files and history agree.
    let (migrator, stopped) = match crate::commands::lint::pre_run_check(
        settings,
        &migrator,
        &db,
        out.json,
        "the files `migrate` would run do not pass the lint",
    ) {
        Some((check, stopped)) => (migrator.with_pre_run_check(check), Some(stopped)),
        None => (migrator, None),
    };
    let problems = migrator.validate(&mut db).await;
    let _ = db.close().await;
    if let Some(status) = stopped.as_ref().and_then(|s| s.get()) {
        return Ok(*status);
    }
    let problems = problems?;
    if out.json {
        out.json_value(&serde_json::json!({
            "valid": problems.is_empty(),
            "migrations": migrator.migrations().len(),
            "problems": problems,
        }));
    }
    if problems.is_empty() {
        out.success(&format!(
            "Validated {} migration files: files and history agree",
            migrator.migrations().len()
        ));
        Ok(ExitStatus::Ok)
    } else {
        out.problems(&problems);
        Ok(ExitStatus::Failed)
    }
}
