//! The CLI as a user runs it: the built binary, its stdout, stderr and exit code, on real
//! databases. One test binary, one module per area.

mod harness;

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
mod interrupted;
#[cfg(target_os = "linux")]
mod large;
mod lifecycle;
mod locking;
mod migrate;
mod placeholders;
#[cfg(unix)]
mod private;
mod progress;
mod rolling;
mod schemas;
mod session;
mod statement_limits;
mod transactions;
mod truth;
mod urls;
