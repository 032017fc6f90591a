//! One file per subcommand.

pub mod current;
pub mod info;
pub mod migrate;
pub mod validate;
