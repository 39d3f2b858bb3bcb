//! `vigil netns [--director-impl vigild|keepalived] [SCENARIO]`: run a
//! scenario on real network namespaces with real daemons on the
//! directors (vigild, or keepalived to regression-test a real
//! keepalived.conf), judged by the simulator's verdict. Needs root. With
//! no scenario, the reference deployment's failover (embedded).

use std::process::ExitCode;

use vigil_core::config::source::FsSource;
use vigil_netns::harness::{self, DirectorImpl, Keep, Options};

/// Arguments of `vigil netns`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Scenario file (TOML); the embedded reference failover when omitted.
    pub scenario: Option<String>,
    /// The daemon run on every director: vigild (this workspace's) or
    /// keepalived (Debian's 2.2.7, `--vrrp`).
    #[arg(long, value_name = "vigild|keepalived", default_value = "vigild")]
    pub director_impl: DirectorImpl,
    /// Write the trace to this file instead of printing it.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<String>,
    /// Keep the run directory (daemon logs, configs, capture) even when
    /// the run passes (it is kept when it fails).
    #[arg(long)]
    pub keep: bool,
    /// Print only the summary and verdict.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs the subcommand.
pub fn run(args: Args) -> ExitCode {
    if !vigil_netns::ns::is_root() {
        eprintln!("vigil netns: needs root (it creates network namespaces)");
        return ExitCode::from(2);
    }
    let prepared = match &args.scenario {
        Some(path) => harness::prepare(&FsSource, path),
        None => Ok(harness::prepare_seed()),
    };
    let p = match prepared {
        Ok(p) => p,
        Err(errors) => {
            for e in errors {
                eprintln!("{e}");
            }
            return ExitCode::from(2);
        }
    };
    // Trackers are real here (the daemons run them); the configs'
    // warnings are said once, as `vigil run` says them.
    for w in &p.scenario.warnings {
        eprintln!("{w}");
    }
    let options = Options {
        director_impl: args.director_impl,
        keep: if args.keep {
            Keep::Always
        } else {
            Keep::OnFailure
        },
        tag: "cli".into(),
        ..Options::default()
    };
    let outcome = match harness::run(&p, &options) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("vigil netns: {e}");
            return ExitCode::from(2);
        }
    };
    let trace = harness::report::trace(&outcome);
    match &args.trace {
        Some(path) => {
            if let Err(e) = std::fs::write(path, &trace) {
                eprintln!("vigil netns: cannot write trace {path}: {e}");
                return ExitCode::from(2);
            }
        }
        None if !args.quiet => out(&trace),
        None => {}
    }
    out(&harness::report::verdict(&outcome));
    if outcome.pass() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Writes to stdout; a closed pipe is not an error.
fn out(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}
