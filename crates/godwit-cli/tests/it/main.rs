//! The CLI as a user runs it: the built binary, its stdout, stderr and exit code, on real
//! databases. One test binary, one module per area.

mod harness;

mod files;
mod lifecycle;
mod migrate;
