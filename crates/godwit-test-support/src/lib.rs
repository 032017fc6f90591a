//! The one test harness of the godwit workspace, used by every test suite, the example service's
//! tests and the benchmark (a dev-only crate: `publish = false`, never a dependency of what ships).
//!
//! - [`TestDb`]: a database that exists for one test: a SQLite file, or a PostgreSQL / MariaDB
//!   database created on the shared server (`GODWIT_TEST_PG_URL`, `GODWIT_TEST_MYSQL_URL`, or
//!   the defaults below) and dropped when the value is dropped. Nothing a test checks may depend
//!   on the rest of the server: other suites run on it at the same time.
//! - [`Project`] and [`Run`]: the `godwit` binary run as a user runs it, in a temporary project
//!   directory, with a clean environment; [`Running`] for a run the test watches while it goes on.
//! - [`PrivatePg`], [`PrivateMaria`] and [`Bouncer`] (Unix): servers a test owns, so that it can
//!   crash them or start them late, on a free loopback port with their files in a temporary
//!   directory; the shared servers are never touched.
//! - The admin functions ([`create_database`], [`drop_database`], [`database_url`],
//!   [`mariadb_connection_args`]) the benchmark uses too.

mod db;
mod project;

#[cfg(unix)]
mod private;

pub use db::{
    admin_execute, create_database, database_url, drop_database, mariadb_connection_args,
    mysql_admin_url, pg_admin_url, unique_name, Kind, TestDb,
};
pub use project::{godwit_bin, run, Project, Run, Running};

#[cfg(unix)]
pub use private::{Bouncer, PrivateMaria, PrivatePg};

/// A current-thread runtime for the harness's own database calls.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Runs the future `make` returns to completion from synchronous test code. Inside a runtime (a
/// `#[tokio::test]`) it runs on a thread of its own, since a runtime cannot block on another
/// one; the future is made on that thread, so it need not be `Send`.
fn block_on<M, F>(make: M) -> F::Output
where
    M: FnOnce() -> F + Send,
    F: std::future::Future,
    F::Output: Send,
{
    if tokio::runtime::Handle::try_current().is_err() {
        return runtime().block_on(make());
    }
    std::thread::scope(|s| {
        s.spawn(|| runtime().block_on(make()))
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Generates one `#[test]` per database (`sqlite`, `postgres`, `mysql`) for each named function
/// taking a [`Kind`].
#[macro_export]
macro_rules! on_every_database {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    super::$name($crate::Kind::Sqlite)
                }
                #[test]
                fn postgres() {
                    super::$name($crate::Kind::Postgres)
                }
                #[test]
                fn mysql() {
                    super::$name($crate::Kind::MySql)
                }
            }
        )+
    };
}
