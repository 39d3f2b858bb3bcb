//! `vigild`: VRRP, health checks and IPVS from a keepalived.conf.

use clap::Parser;

fn main() {
    let cli = vigild::cli::Cli::parse();
    std::process::exit(vigild::daemon::run(cli));
}
