//! vigild's check throughput and memory (needs root; see BENCHMARKS.md).
//!
//! - RSS of vigild with the seed config (moved to 192.0.2.0/24) running
//!   as master, and of `keepalived --vrrp` with the same config.
//! - For N real servers (TCP_CHECK, delay_loop 1, connect_timeout 1,
//!   NAT, 1,000 per virtual server) against listeners in a namespace
//!   (one thread in that namespace, one listener per port on 0.0.0.0,
//!   100 addresses): checks per second from vigild's own counters
//!   (SIGUSR2 `check stats`) and from the listeners' accept count, the
//!   worst lateness of a check timer and of a result's judgement, CPU
//!   used by vigild, and VmRSS / VmHWM.
//! - keepalived's checker is tried on the 1,000-server config: on a
//!   kernel without IPVS it refuses to run, and the bench says so.
//!
//! `VIGILD_BENCH_SERVERS=1000,20000` (default) and
//! `VIGILD_BENCH_SECS=20` (measuring window) tune it.

use std::fmt::Write as _;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use vigil_netns::ns::{self, Lab, Netns};

const ADDRS: usize = 100;

fn vigild() -> &'static str {
    env!("CARGO_BIN_EXE_vigild")
}

fn status_kb(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> (u64, u64) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let get = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // Fields after ')' start at field 3 (state); utime is 14, stime 15.
    (get(11), get(12))
}

fn seed_memory(out: &mut String) {
    let mut lab = Lab::new("bs");
    lab.host("lb1", &["192.0.2.150/24"]);
    let dir = lab.dir().to_path_buf();
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs/lb1.conf");
    let log = dir.join("vigild.log");
    let conf_s = conf.to_string_lossy().to_string();
    let pid = dir.join("v.pid").to_string_lossy().to_string();
    let p = lab.get("lb1").spawn(
        vigild(),
        &["-f", &conf_s, "-p", &pid, "-n", "-l", "-G"],
        Some(&log),
    );
    ns::wait_for(Duration::from_secs(15), "vigild master", || {
        ns::log_lines(&log)
            .iter()
            .any(|l| l.contains("to=master"))
            .then_some(())
    })
    .expect("vigild becomes master");
    std::thread::sleep(Duration::from_secs(2));
    let (rss, hwm) = (status_kb(p.pid(), "VmRSS:"), status_kb(p.pid(), "VmHWM:"));
    writeln!(
        out,
        "| vigild, seed config (master, 2 TCP_CHECKs) | {rss} KiB | {hwm} KiB | 1 |"
    )
    .unwrap();
    drop(p);

    // keepalived --vrrp with the same config, its processes summed.
    let ka_log = dir.join("ka.log");
    let d = dir.to_string_lossy().to_string();
    let args = [
        "-f",
        &conf_s,
        "-p",
        &format!("{d}/ka.pid"),
        "-r",
        &format!("{d}/ka-vrrp.pid"),
        "-c",
        &format!("{d}/ka-chk.pid"),
        "-n",
        "-l",
        "-P",
    ];
    if ns::run("sh", &["-c", "command -v keepalived || true"])
        .stdout
        .is_empty()
    {
        writeln!(
            out,
            "| keepalived --vrrp, seed config | not installed | | |"
        )
        .unwrap();
        return;
    }
    let ka = lab.get("lb1").spawn("keepalived", &args, Some(&ka_log));
    let ok = ns::wait_for(Duration::from_secs(15), "keepalived master", || {
        ns::log_lines(&ka_log)
            .iter()
            .any(|l| l.contains("Entering MASTER STATE"))
            .then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    let pids = pids_in(lab.get("lb1"));
    let rss: u64 = pids.iter().map(|p| status_kb(*p, "VmRSS:")).sum();
    let hwm: u64 = pids.iter().map(|p| status_kb(*p, "VmHWM:")).sum();
    writeln!(
        out,
        "| keepalived 2.2.7 --vrrp, seed config{} | {rss} KiB | {hwm} KiB | {} |",
        if ok.is_ok() {
            " (master)"
        } else {
            " (did not reach master)"
        },
        pids.len()
    )
    .unwrap();
    drop(ka);
}

fn pids_in(ns: &Netns) -> Vec<u32> {
    String::from_utf8_lossy(&ns::run("ip", &["netns", "pids", ns.name()]).stdout)
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn config(n: usize) -> String {
    let per_vs = 1000.min(n);
    let ports = n.div_ceil(ADDRS);
    let mut s = String::new();
    let mut made = 0;
    let mut vs = 0;
    while made < n {
        writeln!(
            s,
            "virtual_server 192.0.2.160 {} {{\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol TCP",
            1000 + vs
        )
        .unwrap();
        for _ in 0..per_vs.min(n - made) {
            let addr = made % ADDRS + 1;
            let port = 20000 + (made / ADDRS) % ports;
            writeln!(
                s,
                " real_server 192.0.2.{addr} {port} {{\n  TCP_CHECK {{\n   connect_timeout 1\n  }}\n }}"
            )
            .unwrap();
            made += 1;
        }
        s.push_str("}\n");
        vs += 1;
    }
    s
}

/// Listens on `ports` (0.0.0.0) inside `ns`, accepting and closing;
/// returns the accept counter. The thread lives until the process ends.
fn listeners(ns: &Netns, ports: std::ops::Range<u16>) -> Arc<AtomicU64> {
    let count = Arc::new(AtomicU64::new(0));
    let c = count.clone();
    let path = format!("/run/netns/{}", ns.name());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let f = std::fs::File::open(&path).expect("netns file");
        // SAFETY: setns on this thread only, with a valid namespace fd.
        let r = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(r, 0, "setns");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            for port in ports {
                let l = tokio::net::TcpListener::bind(("0.0.0.0", port))
                    .await
                    .expect("bind");
                let c = c.clone();
                tokio::spawn(async move {
                    loop {
                        if let Ok((s, _)) = l.accept().await {
                            c.fetch_add(1, Ordering::Relaxed);
                            drop(s);
                        }
                    }
                });
            }
            tx.send(()).unwrap();
            std::future::pending::<()>().await;
        });
    });
    rx.recv().expect("listeners up");
    count
}

fn stats(log: &Path) -> Vec<std::collections::HashMap<String, String>> {
    ns::log_lines(log)
        .iter()
        .filter(|l| l.contains("check stats "))
        .map(|l| {
            l.split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn checks(n: usize, secs: u64, out: &mut String, mem: &mut String) {
    let mut lab = Lab::new("bc");
    lab.host("lb1", &["192.0.2.200/24"]);
    lab.host("rs", &["192.0.2.1/24"]);
    for a in 2..=ADDRS {
        lab.get("rs")
            .ip(&["addr", "add", &format!("192.0.2.{a}/24"), "dev", "eth0"]);
    }
    let ports = n.div_ceil(ADDRS) as u16;
    let accepted = listeners(lab.get("rs"), 20000..20000 + ports);
    let dir = lab.dir().to_path_buf();
    let conf = dir.join("keepalived.conf");
    std::fs::write(&conf, config(n)).unwrap();
    let log = dir.join("vigild.log");
    let conf_s = conf.to_string_lossy().to_string();
    let pid = dir.join("v.pid").to_string_lossy().to_string();
    let p = lab.get("lb1").spawn(
        vigild(),
        &["-f", &conf_s, "-p", &pid, "-n", "-l", "-G"],
        Some(&log),
    );
    ns::wait_for(Duration::from_secs(60), "check engine started", || {
        ns::log_lines(&log)
            .iter()
            .any(|l| l.contains("check start"))
            .then_some(())
    })
    .expect("vigild starts its checks");
    // Warm-up: the first checks are spread over one delay_loop.
    std::thread::sleep(Duration::from_secs(3));
    p.signal("USR2");
    let a0 = accepted.load(Ordering::Relaxed);
    let c0 = cpu_ticks(p.pid());
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    p.signal("USR2");
    let a1 = accepted.load(Ordering::Relaxed);
    let c1 = cpu_ticks(p.pid());
    let el = t0.elapsed().as_secs_f64();
    ns::wait_for(Duration::from_secs(10), "second stats line", || {
        (stats(&log).len() >= 2).then_some(())
    })
    .expect("stats lines");
    let s = stats(&log);
    let g = |i: usize, k: &str| s[i].get(k).cloned().unwrap_or_default();
    let num = |i: usize, k: &str| g(i, k).parse::<f64>().unwrap_or(0.0);
    let probes = (num(1, "probes") - num(0, "probes")) / el;
    let results = (num(1, "results") - num(0, "results")) / el;
    let late = num(1, "late-over-100ms") - num(0, "late-over-100ms");
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let user = (c1.0 - c0.0) as f64 / hz / el;
    let sys = (c1.1 - c0.1) as f64 / hz / el;
    let done = num(1, "results") - num(0, "results");
    let mean_ms = (num(1, "probe-time-ms") - num(0, "probe-time-ms")) / done.max(1.0);
    let failed = num(1, "failed") - num(0, "failed");
    let slow = num(1, "probe-over-100ms") - num(0, "probe-over-100ms");
    let down = ns::log_lines(&log)
        .iter()
        .filter(|l| l.contains(" rs-down "))
        .count();
    writeln!(
        out,
        "| {n} | {probes:.0} | {results:.0} | {:.0} | {mean_ms:.2} ms | {slow} | {failed} | {} | {} | {late} | {:.0}% + {:.0}% | {down} |",
        (a1 - a0) as f64 / el,
        g(1, "timer-late-max"),
        g(1, "result-late-max"),
        user * 100.0,
        sys * 100.0
    )
    .unwrap();
    let (rss, hwm) = (status_kb(p.pid(), "VmRSS:"), status_kb(p.pid(), "VmHWM:"));
    writeln!(
        mem,
        "| vigild, {n} real servers (TCP_CHECK, delay_loop 1) | {rss} KiB | {hwm} KiB | 1 |"
    )
    .unwrap();
    drop(p);

    // keepalived's checker with the same config, where it can run.
    if n <= 1000 {
        let ka_log = dir.join("ka.log");
        let d = dir.to_string_lossy().to_string();
        let ka = lab.get("lb1").spawn(
            "keepalived",
            &[
                "-f",
                &conf_s,
                "-p",
                &format!("{d}/ka.pid"),
                "-r",
                &format!("{d}/ka-vrrp.pid"),
                "-c",
                &format!("{d}/ka-chk.pid"),
                "-n",
                "-l",
                "-C",
            ],
            Some(&ka_log),
        );
        let _ = ns::wait_for(
            Duration::from_secs(10),
            "keepalived checker outcome",
            || {
                ns::log_lines(&ka_log)
                    .iter()
                    .find(|l| {
                        l.contains("Can't initialize ipvs")
                            || l.contains("Activating healthchecker")
                    })
                    .cloned()
            },
        )
        .map(|(l, _)| {
            writeln!(
                mem,
                "\nkeepalived 2.2.7 -C, {n} real servers: `{}`",
                l.trim()
            )
            .unwrap()
        });
        drop(ka);
    }
}

fn main() {
    if !ns::require_root("vigild checks bench") {
        return;
    }
    let servers: Vec<usize> = std::env::var("VIGILD_BENCH_SERVERS")
        .unwrap_or_else(|_| "1000,20000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let secs: u64 = std::env::var("VIGILD_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let mut mem = String::from("| process | VmRSS | VmHWM | processes |\n|---|---|---|---|\n");
    seed_memory(&mut mem);
    let mut out = String::from(
        "| real servers | probes/s (vigild) | results/s (vigild) | accepts/s (listeners) | \
         mean probe | probes > 100 ms | failed | timer late max | result late max | late > 100 ms | \
         vigild CPU user + sys | rs-down |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for n in servers {
        checks(n, secs, &mut out, &mut mem);
    }
    println!("\n{out}\n{mem}");
}
