//! `vigil explore [SCENARIO] --seeds N`: random fault schedules (swarm
//! testing) run in the simulator with every invariant checked; a schedule
//! that breaks one is shrunk to a minimal reproduction, written as a
//! scenario file, with the command that replays it.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use vigil_core::config::source::FsSource;
use vigil_sim::embedded;
use vigil_sim::explore::{self, SeedRun};
use vigil_sim::scenario::{self, Scenario, duration};

/// Arguments of `vigil explore`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Base scenario (its topology and configs; its own timeline is kept);
    /// the embedded reference deployment when omitted.
    pub scenario: Option<String>,
    /// How many seeds.
    #[arg(long, default_value_t = 100)]
    pub seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 1)]
    pub first: u64,
    /// Worker threads.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Simulated time per seed (default: 60s).
    #[arg(long, value_parser = parse_duration, default_value = "60s")]
    pub duration: Duration,
    /// Simulator tick (default: the scenario's).
    #[arg(long, value_parser = parse_duration)]
    pub resolution: Option<Duration>,
    /// Only shard K of N of the seeds (`--shard 2/8`), for CI fleets.
    #[arg(long, value_parser = parse_shard)]
    pub shard: Option<(u64, u64)>,
    /// Where shrunk reproductions are written.
    #[arg(long, default_value = "explore-out")]
    pub out: String,
    /// Shrink and write at most this many violating seeds.
    #[arg(long, default_value_t = 3)]
    pub max_repro: usize,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    duration::parse(s)
}

fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let (k, n) = s
        .split_once('/')
        .ok_or_else(|| format!("--shard {s:?}: expected K/N, e.g. 2/8"))?;
    let k: u64 = k
        .parse()
        .map_err(|_| format!("--shard {s:?}: K is not a number"))?;
    let n: u64 = n
        .parse()
        .map_err(|_| format!("--shard {s:?}: N is not a number"))?;
    if n == 0 || k == 0 || k > n {
        return Err(format!("--shard {s:?}: need 1 <= K <= N"));
    }
    Ok((k, n))
}

fn out(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Runs the subcommand.
pub fn run(args: Args) -> ExitCode {
    let loaded = match &args.scenario {
        Some(p) => scenario::load(&FsSource, p),
        None => scenario::load(&embedded::source(), embedded::SEED_SCENARIO),
    };
    let base = match loaded {
        Ok(s) => explore::prepare(&s, Some(args.duration), args.resolution),
        Err(errors) => {
            for e in errors {
                eprintln!("{e}");
            }
            return ExitCode::from(2);
        }
    };
    // The same bound as a scenario file's duration: every seed's run ends.
    if let Err(e) = scenario::limits::check(base.duration, Some(base.resolution)) {
        eprintln!("error: --duration: {e}");
        return ExitCode::from(2);
    }
    let (k, n) = args.shard.unwrap_or((1, 1));
    let seeds = explore::shard(args.first, args.seeds, k, n);
    let tty = std::io::stdout().is_terminal();
    let start = Instant::now();
    out(&format!(
        "explore {} seeds={} (shard {k}/{n}) jobs={} duration={} resolution={}\n",
        base.name,
        seeds.len(),
        args.jobs,
        duration::render(base.duration),
        duration::render(base.resolution)
    ));
    let total = seeds.len();
    let step = (total / 10).max(1);
    let results = explore::explore(&base, &seeds, args.jobs, Default::default(), |done, bad| {
        let line = format!(
            "seeds {done}/{total}  {:.1} seeds/s  violations {bad}",
            explore::rate(done, start)
        );
        if tty {
            out(&format!("\r{line}   "));
        } else if done % step == 0 || done == total {
            out(&format!("{line}\n"));
        }
    });
    if tty {
        out("\n");
    }
    let bad: Vec<&SeedRun> = results
        .iter()
        .filter(|r| r.violation.is_some() || r.error.is_some())
        .collect();
    out(&format!(
        "done: {} seeds in {:.1}s ({:.1} seeds/s), {} violating\n",
        results.len(),
        start.elapsed().as_secs_f64(),
        explore::rate(results.len(), start),
        bad.len()
    ));
    for r in bad.iter().take(args.max_repro) {
        if let Some(e) = &r.error {
            out(&format!("seed {}: simulation error: {e}\n", r.seed));
            continue;
        }
        let v = r.violation.as_ref().expect("filtered");
        out(&format!(
            "violation seed={} invariant={} at {}: {}\n",
            r.seed, v.invariant, v.at, v.detail
        ));
        out(&format!(
            "  kinds: {}\n",
            r.kinds
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        out(&format!(
            "  schedule ({} faults):\n{}",
            r.faults.len(),
            describe(&base, &r.faults)
        ));
        let shrunk = explore::shrink(&base, r.seed, &r.faults, v.invariant, Default::default());
        out(&format!(
            "  shrunk to {} faults:\n{}",
            shrunk.len(),
            describe(&base, &shrunk)
        ));
        let repro = explore::reproduction(&base, r.seed, &shrunk);
        match write_repro(&args.out, &repro) {
            Ok(path) => {
                out(&format!("  replay: vigil run {path} --seed {}\n", r.seed));
                let report = Path::new(&path).with_file_name("report.html");
                let opts = vigil_sim::world::Options {
                    seed: Some(r.seed),
                    capture: false,
                    ..Default::default()
                };
                if let Ok(o) = vigil_sim::run(&repro, &opts)
                    && std::fs::write(&report, vigil_sim::report::html(&repro, &o.run, &o.verdict))
                        .is_ok()
                {
                    out(&format!("  report: {}\n", report.display()));
                }
            }
            Err(e) => out(&format!("  cannot write the reproduction: {e}\n")),
        }
    }
    if bad.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn describe(s: &Scenario, faults: &[explore::Fault]) -> String {
    let mut t = String::new();
    for f in faults {
        let steps: Vec<String> = f
            .steps
            .iter()
            .map(|st| format!("{} at {}", st.action.describe(s), duration::render(st.at)))
            .collect();
        t.push_str(&format!("    {}: {}\n", f.kind.name(), steps.join("; ")));
    }
    t
}

/// Writes the reproduction (scenario and its directors' configs) into a
/// directory of its own under `dir`; the scenario's path.
fn write_repro(dir: &str, s: &Scenario) -> Result<String, String> {
    let d = Path::new(dir).join(&s.name);
    std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
    for dir in &s.directors {
        let p = d.join(format!("{}.keepalived.conf", dir.name));
        std::fs::write(&p, vigil_core::config::dump(&dir.config))
            .map_err(|e| format!("{}: {e}", p.display()))?;
    }
    let text = scenario::to_toml(s, |_, dir| format!("{}.keepalived.conf", dir.name));
    let p = d.join("scenario.toml");
    std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(p.display().to_string())
}
