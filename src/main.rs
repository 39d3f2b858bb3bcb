//! `vigil`: run, check and replay keepalived failovers.
//!
//! A thin dispatcher: each subcommand lives in its own file under `cmd/`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

/// Vigil: keepalived + LVS, rebuilt so failovers can be tested like code.
#[derive(Parser, Debug)]
#[command(name = "vigil", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check a keepalived.conf: diagnostics, summary, normalised dump, IPVS table.
    CheckConfig(cmd::check_config::Args),
    /// Run a failover scenario in the deterministic simulator (default: the reference deployment).
    Run(cmd::run::Args),
    /// Explore random fault schedules with every invariant checked; shrink what breaks one.
    Explore(cmd::explore::Args),
    /// Replay a capture (pcap/pcapng) through a node and check it against what the real node did.
    Replay(cmd::replay::Args),
    /// Run a scenario on real network namespaces with vigild (or keepalived) on the directors (root).
    Netns(cmd::netns::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig(args) => cmd::check_config::run(args),
        Command::Run(args) => cmd::run::run(args),
        Command::Explore(args) => cmd::explore::run(args),
        Command::Replay(args) => cmd::replay::run(args),
        Command::Netns(args) => cmd::netns::run(args),
    }
}
