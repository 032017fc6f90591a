//! The CLI as a user runs it: the built binary, its stdout, stderr and exit code, on real
//! databases. One test binary, one module per area; the harness (test databases, the project
//! directory, private servers) is the `godwit-test-support` crate.

mod bench_smoke;
#[cfg(unix)]
mod bouncer;
mod callbacks;
mod checks;
mod connection;
mod copy;
mod data;
mod dialects;
mod durability;
mod equivalence;
#[cfg(unix)]
mod faults;
mod fidelity;
mod files;
mod first_minutes;
mod flyway;
mod flyway_history;
mod flyway_settings;
#[cfg(unix)]
mod galera;
mod group;
mod interrupted;
#[cfg(target_os = "linux")]
mod large;
mod lifecycle;
mod lint;
mod locking;
mod migrate;
mod output;
mod placeholders;
mod progress;
mod rollback;
mod rolling;
mod schemas;
mod session;
mod statement_limits;
mod transactions;
mod truth;
mod urls;

/// The harness finds the binary cargo built for these tests.
#[test]
fn the_harness_runs_the_binary_cargo_built() {
    assert_eq!(
        godwit_test_support::godwit_bin(),
        std::path::PathBuf::from(env!("CARGO_BIN_EXE_godwit"))
    );
}
