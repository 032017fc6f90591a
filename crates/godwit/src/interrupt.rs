//! Stopping a run from outside: the CLI's Ctrl-C and SIGTERM, a service's shutdown.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// A request to stop a running `migrate` or `undo` cleanly, shared between the run and whoever
/// may stop it (clones share one state).
///
/// Once [`Interrupt::trigger`] is called, the run asks the server to cancel the statement that
/// is running (PostgreSQL, MySQL; on SQLite the statement finishes), rolls back the migration's
/// transaction, records a migration that ran outside a transaction as failed, runs no further
/// migration, releases the lock and returns [`crate::Error::Migration`] whose
/// [`crate::MigrationFailure::cause`] is [`crate::FailureCause::Interrupted`], with the report of
/// what was applied before. A run waiting for the lock stops waiting.
///
/// ```no_run
/// # async fn run(
/// #     migrator: godwit::Migrator,
/// #     mut db: godwit::Database,
/// #     shutdown: tokio::sync::oneshot::Receiver<()>,
/// # ) {
/// let interrupt = godwit::Interrupt::new();
/// let migrator = migrator.with_interrupt(interrupt.clone());
/// // Your service's shutdown signal (a signal handler, an orchestrator's request, …).
/// tokio::spawn(async move {
///     let _ = shutdown.await;
///     interrupt.trigger();
/// });
/// let result = migrator.migrate(&mut db).await;
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Interrupt {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    triggered: AtomicBool,
    notify: Notify,
}

impl Interrupt {
    /// A request not made yet.
    pub fn new() -> Interrupt {
        Interrupt::default()
    }

    /// Asks the run to stop. Calling it again does nothing more.
    pub fn trigger(&self) {
        self.inner.triggered.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    /// Whether [`Interrupt::trigger`] was called.
    pub fn is_triggered(&self) -> bool {
        self.inner.triggered.load(Ordering::SeqCst)
    }

    /// Completes once [`Interrupt::trigger`] has been called.
    pub async fn triggered(&self) {
        loop {
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            // Register before checking the flag, so a trigger in between is not missed.
            notified.as_mut().enable();
            if self.is_triggered() {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_trigger_wakes_a_waiting_run() {
        let interrupt = Interrupt::new();
        let other = interrupt.clone();
        let waiter = tokio::spawn(async move { other.triggered().await });
        tokio::task::yield_now().await;
        assert!(!interrupt.is_triggered());
        interrupt.trigger();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .expect("joined");
        // Once triggered, it stays triggered.
        interrupt.triggered().await;
    }
}
