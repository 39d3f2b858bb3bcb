//! Benchmark: simulated seconds per wall-clock second of the reference
//! scenario stretched to one simulated hour (its timeline spread 30 times
//! wider), at 1 ms and 10 ms resolution, beside the engine's floor
//! measured in the same run: a bare turmoil world with the same hosts and
//! tick doing nothing but one UDP datagram per host per second.
//!
//! `cargo bench -p vigil-sim --bench sim_speed`. Each case runs in its own
//! process (this binary re-executed) so that peak memory is its own.

use std::process::Command;
use std::time::{Duration, Instant};

use vigil_sim::{embedded, scenario, world};

const HOUR: Duration = Duration::from_secs(3600);

fn floor(tick: Duration) {
    let mut sim = turmoil::Builder::new()
        .simulation_duration(HOUR + Duration::from_secs(1))
        .tick_duration(tick)
        .min_message_latency(Duration::from_micros(100))
        .max_message_latency(Duration::from_micros(300))
        .build();
    let hosts = [
        "172.17.1.150",
        "172.17.1.151",
        "172.17.1.152",
        "172.17.1.153",
        "172.17.1.200",
    ];
    for (i, h) in hosts.iter().enumerate() {
        let peer = hosts[(i + 1) % hosts.len()];
        sim.host(*h, move || async move {
            let sock = turmoil::net::UdpSocket::bind(("0.0.0.0", 9)).await?;
            let mut buf = [0u8; 64];
            let mut next = tokio::time::Instant::now();
            loop {
                tokio::select! {
                    biased;
                    r = sock.recv_from(&mut buf) => { r?; }
                    _ = tokio::time::sleep_until(next) => {
                        sock.send_to(b"tick", (peer, 9)).await?;
                        next += Duration::from_secs(1);
                    }
                }
            }
        });
    }
    while sim.elapsed() < HOUR {
        sim.step().unwrap();
    }
}

fn full(tick: Duration) {
    let mut s = scenario::load(&embedded::source(), embedded::SEED_SCENARIO).unwrap();
    s.duration = HOUR;
    s.resolution = tick;
    for step in &mut s.timeline {
        step.at *= 30;
    }
    s.expectations.clear();
    let out = vigil_sim::run(&s, &world::Options::default()).unwrap();
    assert!(out.run.rec.requests.len() > 70_000);
}

fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(case) = args
        .iter()
        .position(|a| a == "--case")
        .map(|i| args[i + 1].clone())
    {
        let tick = Duration::from_millis(args[args.len() - 1].parse().unwrap());
        let t = Instant::now();
        match case.as_str() {
            "floor" => floor(tick),
            _ => full(tick),
        }
        let secs = t.elapsed().as_secs_f64();
        println!("{secs} {}", peak_kib());
        return;
    }
    let exe = std::env::current_exe().unwrap();
    println!(
        "{:<34} {:>10} {:>12} {:>10} {:>10}",
        "case (1 simulated hour)", "wall", "sim s / s", "of floor", "peak RSS"
    );
    for ms in ["1", "10"] {
        let mut floor_rate = 0.0;
        for case in ["floor", "full"] {
            let out = Command::new(&exe)
                .args(["--case", case, ms])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            let mut it = text.split_whitespace();
            let secs: f64 = it.next().unwrap().parse().unwrap();
            let kib: u64 = it.next().unwrap().parse().unwrap();
            let rate = HOUR.as_secs_f64() / secs;
            if case == "floor" {
                floor_rate = rate;
            }
            let label = format!("{case} @ {ms} ms");
            println!(
                "{label:<34} {secs:>9.2}s {rate:>11.0}x {:>9.0}% {:>8.1}MiB",
                100.0 * rate / floor_rate,
                kib as f64 / 1024.0
            );
            if case == "full" {
                println!(
                    "summary: simulator at {ms} ms: {rate:.0}x real time, {:.0}% of the bare turmoil floor, peak {:.1} MiB",
                    100.0 * rate / floor_rate,
                    kib as f64 / 1024.0
                );
            }
        }
    }
}
