//! The state of a start-up migration, as a value a health endpoint reads.
//!
//! A [`MigrationStatus`] is a cheap-to-clone handle: give one clone to the migrator
//! ([`crate::Migrator::with_status`]) and keep another in the HTTP handler that answers the
//! readiness probe. The migrator updates it from its progress [`Event`]s and from the result of
//! the run; the handler reads it with [`MigrationStatus::get`] or waits with
//! [`MigrationStatus::wait_finished`].

use std::sync::Arc;

use tokio::sync::watch;

use crate::execute::Event;

/// Where a start-up migration is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MigrationState {
    /// No run has started yet (or it is connecting and reading the history).
    NotStarted,
    /// Waiting for another process (another instance) to release the migration lock.
    WaitingForLock,
    /// Running step `step` of `of` (from 1): `migration` is its label, `V3` or `R__views`.
    Migrating {
        /// This step's number, from 1.
        step: usize,
        /// How many steps the run has (callbacks and data migrations included).
        of: usize,
        /// `V3`, `R__views`, `D4`, `beforeMigrate`.
        migration: crate::model::Label,
    },
    /// The run ended well (or `GODWIT_AUTO_MIGRATE=false` told [`crate::auto_migrate`] not to
    /// migrate): the database is ready for this version of the service.
    Done,
    /// The run failed: the error's message.
    Failed(String),
}

impl MigrationState {
    /// Whether the migration is over and went well: what a readiness probe asks.
    pub fn is_ready(&self) -> bool {
        matches!(self, MigrationState::Done)
    }

    /// Whether the run is over, well or not.
    pub fn is_finished(&self) -> bool {
        matches!(self, MigrationState::Done | MigrationState::Failed(_))
    }
}

impl std::fmt::Display for MigrationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MigrationState::NotStarted => write!(f, "migration not started"),
            MigrationState::WaitingForLock => {
                write!(f, "waiting for another process's migration lock")
            }
            MigrationState::Migrating {
                step,
                of,
                migration,
            } => {
                write!(f, "migrating: step {step} of {of} ({migration})")
            }
            MigrationState::Done => write!(f, "migrated"),
            MigrationState::Failed(message) => write!(f, "migration failed: {message}"),
        }
    }
}

/// A shared, cheap-to-clone view of a start-up migration's [`MigrationState`].
///
/// ```
/// let status = godwit::MigrationStatus::new();
/// assert_eq!(status.get(), godwit::MigrationState::NotStarted);
/// assert!(!status.is_ready());
/// ```
#[derive(Clone, Debug)]
pub struct MigrationStatus {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: watch::Sender<MigrationState>,
    /// Steps in the current run, from [`Event::Planned`].
    of: std::sync::atomic::AtomicUsize,
}

impl Default for MigrationStatus {
    fn default() -> Self {
        MigrationStatus::new()
    }
}

impl MigrationStatus {
    /// A status in [`MigrationState::NotStarted`].
    pub fn new() -> MigrationStatus {
        let (state, _) = watch::channel(MigrationState::NotStarted);
        MigrationStatus {
            inner: Arc::new(Inner {
                state,
                of: std::sync::atomic::AtomicUsize::new(0),
            }),
        }
    }

    /// The state now.
    pub fn get(&self) -> MigrationState {
        self.inner.state.borrow().clone()
    }

    /// Whether the migration is done and went well.
    pub fn is_ready(&self) -> bool {
        self.inner.state.borrow().is_ready()
    }

    /// Sets the state (the migrator does; an application may, e.g. for a step of its own).
    pub fn set(&self, state: MigrationState) {
        self.inner.state.send_replace(state);
    }

    /// Waits until the run is over ([`MigrationState::Done`] or [`MigrationState::Failed`])
    /// and returns that state.
    pub async fn wait_finished(&self) -> MigrationState {
        let mut rx = self.inner.state.subscribe();
        loop {
            let state = rx.borrow_and_update().clone();
            if state.is_finished() {
                return state;
            }
            // The sender lives in `self`, so this cannot fail while `self` is borrowed.
            if rx.changed().await.is_err() {
                return self.get();
            }
        }
    }

    /// Updates the state from one of the executor's events.
    pub(crate) fn observe(&self, event: &Event) {
        use std::sync::atomic::Ordering;
        match event {
            Event::WaitingForLock => self.set(MigrationState::WaitingForLock),
            Event::Planned { steps } => {
                self.inner.of.store(*steps, Ordering::Relaxed);
            }
            Event::Started { migration, .. } => {
                let step = match &*self.inner.state.borrow() {
                    MigrationState::Migrating { step, .. } => step + 1,
                    _ => 1,
                };
                let of = self.inner.of.load(Ordering::Relaxed).max(step);
                self.set(MigrationState::Migrating {
                    step,
                    of,
                    migration: migration.clone(),
                });
            }
            _ => {}
        }
    }

    /// A run starts: back to [`MigrationState::NotStarted`] until its first event.
    pub(crate) fn begin(&self) {
        self.inner.of.store(0, std::sync::atomic::Ordering::Relaxed);
        self.set(MigrationState::NotStarted);
    }

    /// A run ended, well or not.
    pub(crate) fn end<T>(&self, result: &Result<T, crate::Error>) {
        match result {
            Ok(_) => self.set(MigrationState::Done),
            Err(e) => self.set(MigrationState::Failed(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_move_the_state() {
        let status = MigrationStatus::new();
        let reader = status.clone();
        status.begin();
        status.observe(&Event::WaitingForLock);
        assert_eq!(reader.get(), MigrationState::WaitingForLock);
        status.observe(&Event::Planned { steps: 2 });
        let v = |t: &str| crate::model::Label::versioned(&crate::Version::parse(t).unwrap());
        for label in ["V1", "V2"] {
            status.observe(&Event::Started {
                migration: v(&label[1..]),
                description: String::new(),
            });
        }
        assert_eq!(
            reader.get(),
            MigrationState::Migrating {
                step: 2,
                of: 2,
                migration: v("2")
            }
        );
        assert_eq!(reader.get().to_string(), "migrating: step 2 of 2 (V2)");
        assert!(!reader.is_ready());
        status.end::<()>(&Ok(()));
        assert!(reader.is_ready());
        status.end::<()>(&Err(crate::Error::Config("boom".into())));
        assert_eq!(reader.get(), MigrationState::Failed("boom".into()));
    }
}
