//! One module per `vigil` subcommand.

pub mod check_config;
pub mod replay;
pub mod run;
