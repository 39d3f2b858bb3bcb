//! One module per `vigil` subcommand.

pub mod check_config;
pub mod explore;
pub mod netns;
pub mod replay;
pub mod run;
