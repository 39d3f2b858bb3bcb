//! Checker scheduling overhead: 10,000 real servers, each with its own
//! TCP_CHECK (delay_loop 1 s, default warmup), driven through 60
//! simulated seconds by a driver that answers every probe at once.
//!
//! Cases: all probes pass; 10% of the servers refuse every probe (they go
//! down at their first probe and keep their retry cycle); both with and
//! without per-probe trace events. Reports wall time per probe decision
//! (one Output::Probe plus its Input::ProbeDone, timers included) and per
//! run, best and median of 5 runs.
//!
//! Run: `cargo bench -p vigil-core --bench check_sched`.

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant as WallClock};

use vigil_core::check::{Engine, Input, NetError, Options, Output, ProbeResult};
use vigil_core::config::{Config, parse_str};
use vigil_core::rng::Rng;
use vigil_core::time::Instant;

const VIRTUAL_SERVERS: u32 = 10;
const PER_VS: u32 = 1_000;
const SIM_SECONDS: u64 = 60;

/// 10 virtual servers x 1,000 real servers (250 addresses x 4 ports per
/// virtual server, all distinct), TCP_CHECK with delay_loop 1 s.
fn config() -> Config {
    let mut s = String::new();
    for v in 0..VIRTUAL_SERVERS {
        let _ = write!(
            s,
            "virtual_server 192.0.2.{} 80 {{\n protocol TCP\n delay_loop 1\n",
            v + 1
        );
        for r in 0..PER_VS {
            let port = 8000 + v * 4 + r % 4;
            let _ = write!(
                s,
                " real_server 198.51.100.{} {port} {{\n TCP_CHECK {{\n connect_timeout 1\n retry 1\n delay_before_retry 1\n }}\n }}\n",
                r / 4 + 1
            );
        }
        s.push_str("}\n");
    }
    let p = parse_str("bench.conf", &s);
    p.config.expect("bench config parses")
}

struct Run {
    decisions: u64,
    wall: Duration,
    down: usize,
}

/// Drives the engine for SIM_SECONDS; `failing(port, last octet)` says
/// which servers refuse.
fn run(config: &Config, trace_probes: bool, fail_every: Option<u32>) -> Run {
    let opts = Options {
        trace_probes,
        ..Options::default()
    };
    let mut engine = Engine::new(config, Rng::new(42), opts);
    let end = Instant::from_secs(SIM_SECONDS);
    let mut decisions = 0u64;
    let mut pending = Vec::new();
    let started = WallClock::now();
    let mut now = Instant::ZERO;
    pending.extend(
        engine
            .handle(now, Input::Start)
            .filter_map(probe_of(fail_every)),
    );
    loop {
        // Every probe is answered at once, at the time it was sent.
        while let Some((id, result)) = pending.pop() {
            decisions += 1;
            let outs = engine.handle(now, Input::ProbeDone { id, result });
            for o in outs {
                black_box(&o);
            }
        }
        match engine.next_deadline() {
            Some(at) if at <= end => now = at,
            _ => break,
        }
        pending.extend(
            engine
                .handle(now, Input::Timer)
                .filter_map(probe_of(fail_every)),
        );
    }
    let wall = started.elapsed();
    let down = engine
        .health()
        .virtual_servers
        .iter()
        .flat_map(|v| v.real_servers.iter())
        .filter(|r| !r.alive)
        .count();
    Run {
        decisions,
        wall,
        down,
    }
}

/// The probe requests among the outputs, with the answer they get:
/// servers whose destination port's low digit and address pick them as
/// one in `n` refuse; the others connect.
fn probe_of(
    fail_every: Option<u32>,
) -> impl FnMut(Output) -> Option<(vigil_core::check::ProbeId, ProbeResult)> {
    move |o| match o {
        Output::Probe { id, target, .. } => {
            let dst = target.dst().expect("TCP probes have a destination");
            let n = match dst.ip() {
                std::net::IpAddr::V4(a) => u32::from(a.octets()[3]) * 4 + u32::from(dst.port() % 4),
                std::net::IpAddr::V6(_) => 0,
            };
            let fails = fail_every.is_some_and(|k| n.is_multiple_of(k));
            Some((
                id,
                if fails {
                    ProbeResult::Net(NetError::Refused)
                } else {
                    ProbeResult::Connected
                },
            ))
        }
        _ => None,
    }
}

fn main() {
    let t = WallClock::now();
    let config = config();
    println!(
        "config: {} real servers, parsed in {:.1} ms",
        VIRTUAL_SERVERS * PER_VS,
        t.elapsed().as_secs_f64() * 1e3
    );
    let e = Engine::new(&config, Rng::new(42), Options::default());
    assert_eq!(e.checker_count(), (VIRTUAL_SERVERS * PER_VS) as usize);
    drop(e);

    for (name, trace, fail) in [
        ("all pass, traces on", true, None),
        ("all pass, traces off", false, None),
        ("10% failing, traces on", true, Some(10)),
        ("10% failing, traces off", false, Some(10)),
    ] {
        let mut runs: Vec<Run> = (0..5).map(|_| run(&config, trace, fail)).collect();
        runs.sort_by_key(|r| r.wall);
        let (best, median) = (&runs[0], &runs[2]);
        let per = |r: &Run| r.wall.as_nanos() as f64 / r.decisions as f64;
        println!(
            "{name:<26} decisions {:>7}  down {:>5}  best {:>7.1} ms ({:>5.0} ns/decision)  median {:>7.1} ms ({:>5.0} ns/decision)",
            best.decisions,
            best.down,
            best.wall.as_secs_f64() * 1e3,
            per(best),
            median.wall.as_secs_f64() * 1e3,
            per(median),
        );
        println!(
            "summary: checker scheduling, {name}: {:.0} ns per probe decision (best)",
            per(best)
        );
    }
}
