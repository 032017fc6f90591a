//! One file per subcommand.

pub mod baseline;
pub mod clean;
pub mod completions;
pub mod current;
pub mod flyway;
pub mod info;
pub mod init;
pub mod lint;
pub mod man;
pub mod migrate;
pub mod new;
pub mod repair;
pub mod undo;
pub mod validate;
pub mod verify_undo;
pub mod wait;
