//! `godwit current`: the database's current version alone on stdout.

use crate::config::Settings;
use crate::context::{self, CliError};
use crate::exit::ExitStatus;
use crate::output::Output;

pub async fn run(settings: &Settings, out: &Output) -> Result<ExitStatus, CliError> {
    // The current version comes from the history alone: files are not needed, and a broken
    // file must not keep a rollback script from learning where the database is.
    let migrator = godwit::Migrator::new(godwit::MigrationSet::default())
        .with_config(settings.config.clone())
        .with_observer(context::with_notices(None));
    let mut db = context::connect(settings, false).await?;
    let current = migrator.current(&mut db).await;
    let _ = db.close().await;
    let current = current?;
    let text = current
        .as_ref()
        .map_or_else(|| "none".to_string(), |v| v.to_string());
    if out.json {
        out.json_value(&serde_json::json!({ "current_version": current.map(|v| v.to_string()) }));
    } else {
        out.data(&text);
    }
    Ok(ExitStatus::Ok)
}
