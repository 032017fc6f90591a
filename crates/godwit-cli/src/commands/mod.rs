//! One file per subcommand.

pub mod baseline;
pub mod clean;
pub mod current;
pub mod info;
pub mod migrate;
pub mod new;
pub mod repair;
pub mod undo;
pub mod validate;
pub mod wait;
