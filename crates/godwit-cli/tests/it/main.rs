//! The CLI as a user runs it: the built binary, its stdout, stderr and exit code, on real
//! databases. One test binary, one module per area.

mod harness;

mod bench_smoke;
mod callbacks;
mod checks;
mod connection;
mod data;
mod dialects;
mod durability;
#[cfg(unix)]
mod faults;
mod files;
mod interrupted;
#[cfg(target_os = "linux")]
mod large;
mod lifecycle;
mod locking;
mod migrate;
mod placeholders;
#[cfg(unix)]
mod private;
mod rolling;
mod schemas;
mod session;
mod transactions;
