//! Vigil's deterministic simulator: a turmoil world of directors, real
//! servers and clients that runs `vigil-core` under faults.
//!
//! - [`scenario`]: scenario files (TOML) and their validation.
//! - [`world`]: the turmoil hosts and the runner that applies the timeline.
//! - [`record`]: what a run recorded (trace, requests, frames).
//! - [`verdict`]: invariants, expectations and the summary.
//!
//! The same scenario and seed give a byte-identical trace and pcap.

pub mod embedded;
pub mod explore;
pub mod record;
pub mod replay;
pub mod report;
pub mod scenario;
pub mod verdict;
pub mod world;

use std::fmt::Write;

/// A run and its verdict.
pub struct Outcome {
    /// The run.
    pub run: world::Run,
    /// Its verdict.
    pub verdict: verdict::Verdict,
}

/// Runs `scenario` with `options` and judges it.
pub fn run(scenario: &scenario::Scenario, options: &world::Options) -> Result<Outcome, String> {
    let run = world::run(scenario, options)?;
    let verdict = verdict::judge(scenario, &run);
    Ok(Outcome { run, verdict })
}

/// The trace header: what was run, how, and with which seed.
pub fn trace_header(s: &scenario::Scenario, seed: u64) -> String {
    let mut h = String::new();
    let _ = writeln!(
        h,
        "# vigil sim scenario={} file={} seed={seed}",
        s.name, s.path
    );
    let _ = writeln!(
        h,
        "# resolution={} duration={}",
        crate::scenario::duration::render(s.resolution),
        crate::scenario::duration::render(s.duration)
    );
    for d in &s.directors {
        let _ = writeln!(
            h,
            "# director {} address={} config={}",
            d.name, d.address, d.config_path
        );
    }
    for r in &s.real_servers {
        let _ = writeln!(
            h,
            "# real-server {} address={}:{} page={}",
            r.name, r.address, r.port, r.page
        );
    }
    for c in &s.clients {
        let _ = writeln!(
            h,
            "# client {} address={} rate={}/s target={}",
            c.name, c.address, c.rate, c.target
        );
    }
    for p in &s.recorded_peers {
        let _ = writeln!(
            h,
            "# recorded-peer {} address={} pcap={} source={} at={}",
            p.name,
            p.address,
            p.pcap,
            p.source,
            crate::scenario::duration::render(p.at)
        );
    }
    h
}

/// The whole trace as text: header, then one line per event.
pub fn render_trace(s: &scenario::Scenario, run: &world::Run) -> String {
    let mut out = trace_header(s, run.seed);
    for r in &run.rec.trace {
        let _ = writeln!(out, "{r}");
    }
    out
}

/// The run as pcap bytes (requires `Options::capture`).
pub fn pcap(run: &world::Run) -> Result<Vec<u8>, String> {
    record::pcap::write(Vec::new(), &run.rec.frames)
}
