//! `godwit wait`: connect, retrying while the database is not up yet, and exit 0 as soon as a
//! login succeeds (3 once the retries run out). For init containers and compose files.

use crate::config::Settings;
use crate::context::{self, CliError};
use crate::exit::ExitStatus;
use crate::output::Output;

/// Retries when `connect_retries` is not set: about eight minutes of backoff with the default
/// interval, enough for a database container to start.
const DEFAULT_RETRIES: u32 = 10;

pub async fn run(settings: &Settings, out: &Output) -> Result<ExitStatus, CliError> {
    let mut settings = settings.clone();
    if settings.cli.connect_retries == 0 {
        settings.cli.connect_retries = DEFAULT_RETRIES;
    }
    let db = context::connect(&settings, false).await?;
    let version = db.session().server_version.clone();
    let _ = db.close().await;
    let url = settings.cli.redacted_url().unwrap_or_default();
    if out.json {
        out.json_value(&serde_json::json!({ "up": true, "url": url, "server_version": version }));
    }
    out.success(&format!("Database is up: {url} ({version})"));
    Ok(ExitStatus::Ok)
}
