//! `godwit info`: every migration known from files or history, with its state.

use crate::config::Settings;
use crate::context::{self, CliError};
use crate::exit::ExitStatus;
use crate::output::Output;

pub async fn run(settings: &Settings, out: &Output) -> Result<ExitStatus, CliError> {
    let (migrator, mut db) = context::open(settings, None, false).await?;
    let info = migrator.info(&mut db).await;
    let _ = db.close().await;
    let info = info?;
    if out.json {
        out.json_value(&info);
    } else {
        out.info_table(&info);
    }
    Ok(ExitStatus::Ok)
}
