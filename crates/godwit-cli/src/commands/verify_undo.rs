//! `godwit verify-undo`: on a scratch database, apply each versioned migration, run its undo
//! script, compare the schema with the one before (through the database's catalog), apply it
//! again, and report every undo script that does not restore the schema (`docs/design.md` §23).

use crate::config::Settings;
use crate::context::{self, CliError};
use crate::exit::ExitStatus;
use crate::output::Output;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Use this empty database instead of creating one (it is left at the newest version)
    #[arg(long, value_name = "URL")]
    pub scratch_url: Option<String>,
}

pub async fn run(settings: &Settings, args: &Args, out: &Output) -> Result<ExitStatus, CliError> {
    let migrator = context::migrator(settings)?;
    let (result, scratch_name) = match &args.scratch_url {
        Some(url) => {
            let mut given = settings.clone();
            given.cli.url = Some(url.clone());
            given.cli.password = None;
            given.cli.password_file = None;
            let mut db = context::connect(&given, true).await?;
            let result = migrator.verify_undo(&mut db).await;
            let _ = db.close().await;
            (result, godwit::redact_url(url))
        }
        None => {
            let url = settings.cli.require_url()?;
            let sqlite = godwit::check_url(url)
                .map_err(|p| CliError::Setting {
                    message: p.message,
                    hint: p.hint,
                })?
                .dialect
                == godwit::Dialect::Sqlite;
            // On a server, the scratch database is created next to the configured one, through
            // a connection to it; for SQLite it is a file in a temporary directory.
            let mut admin = if sqlite {
                None
            } else {
                Some(context::connect(settings, false).await?)
            };
            let scratch = match admin.as_mut() {
                Some(admin) => godwit::ScratchDatabase::create(admin, url).await,
                None => godwit::ScratchDatabase::sqlite(),
            };
            let scratch = match scratch {
                Ok(s) => s,
                Err(e) => {
                    if let Some(admin) = admin {
                        let _ = admin.close().await;
                    }
                    return Err(e.into());
                }
            };
            let name = scratch.name();
            out.message(&format!("Scratch database {name}"));
            let mut on_scratch = settings.clone();
            on_scratch.cli.url = Some(scratch.url().to_string());
            let result = match context::connect(&on_scratch, true).await {
                Ok(mut db) => {
                    let result = migrator.verify_undo(&mut db).await;
                    let _ = db.close().await;
                    result
                }
                Err(e) => Err(match e {
                    CliError::Lib(e) => e,
                    _ => godwit::Error::Refused {
                        message: format!("cannot connect to the scratch database {name}"),
                        hint: "give the URL of an empty database with --scratch-url".into(),
                    },
                }),
            };
            let dropped = match admin.as_mut() {
                Some(admin) => scratch.drop_with(admin).await,
                None => scratch.drop_with_file(),
            };
            if let Some(admin) = admin {
                let _ = admin.close().await;
            }
            if let Err(e) = dropped {
                out.error_text(
                    &format!("could not drop the scratch database {name}: {e}"),
                    Some("drop it by hand"),
                );
            }
            (result, name)
        }
    };
    let verification = result?;
    if out.json {
        out.json_value(&serde_json::json!({
            "passed": verification.passed(),
            "scratch": scratch_name,
            "checked": verification.checked,
            "without_undo": verification.without_undo,
            "stopped_at": verification.stopped_at,
        }));
    }
    for check in &verification.checked {
        if check.differences.is_empty() {
            out.message(&format!(
                "{}: {} restores the schema",
                check.migration, check.undo_path
            ));
        } else {
            out.error_text(
                &format!(
                    "{}: {} does not restore the schema:\n  {}",
                    check.migration,
                    check.undo_path,
                    check.differences.join("\n  ")
                ),
                None,
            );
        }
    }
    if !verification.without_undo.is_empty() {
        out.message(&format!(
            "No undo script (not checked): {}",
            verification.without_undo.join(", ")
        ));
    }
    if let Some(at) = &verification.stopped_at {
        out.error_text(
            &format!("verification stopped after {at}: the scratch database could not be rebuilt up to it, so the migrations after it were not checked"),
            None,
        );
    }
    let failed = verification
        .checked
        .iter()
        .filter(|c| !c.differences.is_empty())
        .count();
    let n = verification.checked.len();
    let s = if n == 1 { "" } else { "s" };
    if failed == 0 {
        out.success(&format!(
            "Verified {n} undo script{s}: each restores the schema"
        ));
        Ok(ExitStatus::Ok)
    } else {
        out.error_text(
            &format!(
                "{failed} of {n} undo script{s} {} not restore the schema",
                if failed == 1 { "does" } else { "do" }
            ),
            Some("make each undo script reverse everything its migration does (indexes, constraints, defaults too)"),
        );
        Ok(ExitStatus::Failed)
    }
}
