//! Ctrl-C (SIGINT) and SIGTERM.
//!
//! While `migrate` or `undo` runs, the first signal stops the run cleanly through the library's
//! [`godwit::Interrupt`]: the server cancels the running statement, the migration's transaction
//! rolls back (or, outside a transaction, it is recorded as failed), the lock is released, one
//! line says what state the database is in, and godwit exits with 130 (SIGINT) or 143 (SIGTERM).
//! A second signal exits at once. Every other command changes nothing half-way (reads, or one
//! transaction the server rolls back when the connection closes), so a signal ends it at once.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::OnceLock;

use crate::exit::ExitStatus;

/// Which signal arrived first; 0 for none.
static RECEIVED: AtomicU8 = AtomicU8::new(0);
/// The running command stops cleanly on a signal (migrate, undo).
static GRACEFUL: AtomicBool = AtomicBool::new(false);
static INTERRUPT: OnceLock<godwit::Interrupt> = OnceLock::new();

const SIGINT: u8 = 2;
const SIGTERM: u8 = 15;

/// The interrupt that signals trigger.
pub fn interrupt() -> godwit::Interrupt {
    INTERRUPT.get_or_init(godwit::Interrupt::new).clone()
}

/// Marks the running command as one that stops cleanly on a signal.
pub fn stop_cleanly() {
    GRACEFUL.store(true, Ordering::SeqCst);
}

/// The exit status for the signal that interrupted the run, if one did.
pub fn exit_status() -> Option<ExitStatus> {
    status_of(RECEIVED.load(Ordering::SeqCst))
}

fn status_of(signal: u8) -> Option<ExitStatus> {
    match signal {
        SIGINT => Some(ExitStatus::Interrupted),
        SIGTERM => Some(ExitStatus::Terminated),
        _ => None,
    }
}

/// The name of the signal that interrupted the run.
pub fn name() -> &'static str {
    match RECEIVED.load(Ordering::SeqCst) {
        SIGTERM => "SIGTERM",
        _ => "SIGINT",
    }
}

/// Starts listening for SIGINT and SIGTERM on the current runtime.
pub fn listen() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        tokio::spawn(async move {
            loop {
                let number = tokio::select! {
                    _ = int.recv() => SIGINT,
                    _ = term.recv() => SIGTERM,
                };
                received(number);
            }
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            received(SIGINT);
        }
    });
}

fn received(number: u8) {
    let first = RECEIVED
        .compare_exchange(0, number, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok();
    if first && GRACEFUL.load(Ordering::SeqCst) {
        eprintln!(
            "Stopping: cancelling the running statement (press Ctrl-C again to quit at once)..."
        );
        interrupt().trigger();
    } else {
        let status = status_of(number).unwrap_or(ExitStatus::Interrupted);
        std::process::exit(i32::from(status.code()));
    }
}
