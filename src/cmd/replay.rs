//! `vigil replay PCAP --config CONF [--instance NAME] [--as ADDRESS]`:
//! plays a capture through a node running CONF and checks that it makes
//! the state changes the real node made, when it made them.
//!
//! The report ends with one of three verdicts, and the exit status
//! follows it:
//!
//! - 0, `PASS`: Vigil agrees with the capture within the tolerance on
//!   every state change it can check, it checked at least one, and it
//!   skipped no VRRP frame of the replayed instances;
//! - 1, `FAIL`: Vigil disagrees with the capture (the first disagreement
//!   is named); it wins over NOT CHECKED, but a difference at or after
//!   the first skipped frame of its instance is shown as `after-skip`,
//!   not judged;
//! - 3, `NOT CHECKED`: no disagreement, but the replay cannot vouch for
//!   the capture: VRRP frames of the replayed instances were skipped (AH
//!   authentication, an authentication type it cannot validate, a wrong
//!   checksum, undecodable, cut by the snap length or malformed; counted
//!   per reason with the first packet of each), or the capture shows no
//!   state change of the real node it could check;
//! - 2: the capture or the config cannot be used.

use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Duration;

use vigil_core::config::{self, source::FsSource};
use vigil_sim::replay;

/// Arguments of `vigil replay`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Exit status: 0 PASS, 1 FAIL (a disagreement), 2 the capture or the \
config cannot be used, 3 NOT CHECKED (VRRP frames of the replayed instances skipped, or no \
state change of the real node checked)."
)]
pub struct Args {
    /// The capture (pcap or pcapng; Ethernet, 802.1Q, Linux cooked SLL/SLL2).
    pub pcap: String,
    /// The keepalived.conf the node ran.
    #[arg(long, short = 'c', value_name = "CONF")]
    pub config: String,
    /// Replay only this vrrp_instance (default: every instance of CONF).
    #[arg(long, value_name = "NAME")]
    pub instance: Option<String>,
    /// The node's address in the capture (default: CONF's unicast_src_ip /
    /// mcast_src_ip, else the one source advertising at CONF's priority).
    #[arg(long = "as", value_name = "ADDRESS")]
    pub node: Option<IpAddr>,
    /// How far Vigil may be from the capture and still agree, in
    /// milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 5.0)]
    pub tolerance: f64,
    /// When the node's daemon started, in seconds from the capture's
    /// first packet (repeatable; for captures without group joins, such
    /// as unicast ones).
    #[arg(long = "start", value_name = "SECONDS")]
    pub starts: Vec<f64>,
    /// The node's own interface MAC (repeatable): its IGMP/MLD joins of
    /// the VRRP group come from it when it advertises from a virtual MAC
    /// (use_vmac, FRR).
    #[arg(long = "mac", value_name = "MAC")]
    pub macs: Vec<vigil_core::packet::MacAddr>,
    /// keepalived's `-i` on the captured node: which `@ID` config lines to
    /// read (default: none matches; give the node's host name).
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    pub config_id: Option<String>,
    /// Print only the verdict table and the result.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs the subcommand.
pub fn run(args: Args) -> ExitCode {
    let bytes = match std::fs::read(&args.pcap) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("vigil replay: {}: {e}", args.pcap);
            return ExitCode::from(2);
        }
    };
    let opts = config::ParseOptions {
        config_id: args.config_id.clone(),
    };
    let parsed = config::parse_with(&FsSource, &args.config, &opts);
    let mut failed = false;
    for d in &parsed.diagnostics {
        eprintln!("{d}");
        failed |= d.is_error();
    }
    let Some(conf) = parsed.config.filter(|_| !failed) else {
        eprintln!("vigil replay: {}: config has errors", args.config);
        return ExitCode::from(2);
    };
    let lane = "a capture does not show tracker states";
    for n in vigil_sim::scenario::untracked(&args.config, &conf, lane) {
        eprintln!("{n}");
    }
    let secs = |s: f64, what: &str| {
        if s.is_finite() && s >= 0.0 {
            Ok(Duration::from_secs_f64(s))
        } else {
            Err(format!("vigil replay: {what} {s} is not a time >= 0"))
        }
    };
    let tolerance = match secs(args.tolerance / 1000.0, "--tolerance") {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let mut starts = Vec::new();
    for s in &args.starts {
        match secs(*s, "--start") {
            Ok(t) => starts.push(t),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        }
    }
    let options = replay::Options {
        node: args.node,
        instance: args.instance.clone(),
        tolerance,
        starts,
        macs: args.macs.clone(),
    };
    let name = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
    let report = match replay::replay(
        &bytes,
        &name(&args.pcap),
        &conf,
        &name(&args.config),
        &options,
    ) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("vigil replay: {e}");
            return ExitCode::from(2);
        }
    };
    if args.quiet {
        out(&report.verdict.render());
        out(report.text.lines().last().unwrap_or(""));
        out("\n");
    } else {
        out(&report.text);
    }
    ExitCode::from(status(report.outcome()))
}

/// The exit status of an outcome: PASS 0, FAIL 1, NOT CHECKED 3 (2 is
/// for unusable input).
fn status(outcome: replay::verdict::Outcome) -> u8 {
    match outcome {
        replay::verdict::Outcome::Pass => 0,
        replay::verdict::Outcome::Fail => 1,
        replay::verdict::Outcome::NotChecked => 3,
    }
}

/// Writes to stdout; a closed pipe is not an error.
fn out(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}
