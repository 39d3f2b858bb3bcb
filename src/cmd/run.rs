//! `vigil run [SCENARIO]`: run a scenario in the deterministic simulator
//! and print its timeline, summary and verdict. With no scenario, the
//! reference deployment's failover (embedded in the binary).

use std::process::ExitCode;

use vigil_core::config::source::FsSource;
use vigil_sim::{embedded, scenario, world};

/// Arguments of `vigil run`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Scenario file (TOML); the embedded reference failover when omitted.
    pub scenario: Option<String>,
    /// Seed of the simulated world (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write the trace to this file instead of printing it.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<String>,
    /// Write every frame on the segment to this pcap file.
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<String>,
    /// Write a self-contained HTML timeline report to this file.
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<String>,
    /// Print only the summary and verdict.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs the subcommand.
pub fn run(args: Args) -> ExitCode {
    let loaded = match &args.scenario {
        Some(path) => scenario::load(&FsSource, path),
        None => scenario::load(&embedded::source(), embedded::SEED_SCENARIO),
    };
    let s = match loaded {
        Ok(s) => s,
        Err(errors) => {
            for e in errors {
                eprintln!("{e}");
            }
            return ExitCode::from(2);
        }
    };
    for w in &s.warnings {
        eprintln!("{w}");
    }
    // Trackers follow the timeline's script, file, process and link
    // actions; what the simulated network or real servers run in a
    // simpler shape is said.
    for d in &s.directors {
        for n in scenario::unmodelled_network(&d.name, &d.config) {
            eprintln!("{n}");
        }
        for n in scenario::unmodelled_checks(&d.name, &d.config) {
            eprintln!("{n}");
        }
    }
    let options = world::Options {
        seed: args.seed,
        capture: args.pcap.is_some(),
        ..Default::default()
    };
    let outcome = match vigil_sim::run(&s, &options) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("vigil run: {e}");
            return ExitCode::from(2);
        }
    };
    let trace = vigil_sim::render_trace(&s, &outcome.run);
    match &args.trace {
        Some(path) => {
            if let Err(e) = std::fs::write(path, &trace) {
                eprintln!("vigil run: cannot write trace {path}: {e}");
                return ExitCode::from(2);
            }
        }
        None if !args.quiet => out(&trace),
        None => {}
    }
    if let Some(path) = &args.pcap {
        let written = vigil_sim::pcap(&outcome.run)
            .and_then(|b| std::fs::write(path, b).map_err(|e| e.to_string()));
        if let Err(e) = written {
            eprintln!("vigil run: cannot write pcap {path}: {e}");
            return ExitCode::from(2);
        }
    }
    if let Some(path) = &args.report {
        let html = vigil_sim::report::html(&s, &outcome.run, &outcome.verdict);
        if let Err(e) = std::fs::write(path, html) {
            eprintln!("vigil run: cannot write report {path}: {e}");
            return ExitCode::from(2);
        }
    }
    out(&outcome.verdict.summary);
    out(&outcome.verdict.render());
    match outcome.verdict.first_failure() {
        None => {
            out(&format!("PASS {}\n", s.name));
            ExitCode::SUCCESS
        }
        Some(f) => {
            out(&format!("FAIL {}: {f}\n", s.name));
            ExitCode::from(1)
        }
    }
}

/// Writes to stdout; a closed pipe (`vigil run | head`) is not an error.
fn out(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}
