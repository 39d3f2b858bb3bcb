//! IPVS programming cost on a real kernel, in the VM lane: 1,000 and
//! 10,000 services x 10 destinations.
//!
//! For each size, in a fresh network namespace of the VM: the netlink
//! backend programs the table from empty (one full sync), resyncs it
//! unchanged (one dump, no write), and applies a 1% weight change; then
//! vigild and keepalived 2.2.7 each load the same keepalived.conf (no
//! health checks, so every real server is up) and the time until the
//! kernel holds the whole table is taken. Netlink messages are counted by
//! the client, and for the daemons by an `nlmon` device (every netlink
//! datagram in the namespace, requests and replies).
//!
//! `cargo bench -p vigild --bench ipvs_netlink` (boots the VM; prints a
//! table). Guest code runs 6-20 times slower under TCG, so compare ratios.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vigil_core::ipvs::{self, DestKey, ServiceKey, Table};
use vigil_netns::vm::{self, Spec, guest};
use vigild::ipvs_netlink::NetlinkBackend;
use vigild::ipvs_netlink::reconcile::sync;

const DESTS: usize = 10;

fn config(services: usize) -> String {
    let mut s = String::new();
    for i in 0..services {
        let _ = writeln!(
            s,
            "virtual_server 192.0.2.{} {} {{\n  lb_algo wrr\n  lb_kind NAT\n  protocol TCP",
            1 + i / 100,
            1000 + i % 100
        );
        for d in 0..DESTS {
            let _ = writeln!(
                s,
                "  real_server 203.0.113.{} 8080 {{\n    weight 1\n  }}",
                1 + d
            );
        }
        s.push_str("}\n");
    }
    s
}

fn desired(text: &str) -> Table {
    let p = vigil_core::config::parse_str("bench.conf", text);
    let cfg = p.config.expect("the bench config parses");
    ipvs::desired(&cfg, &ipvs::Health::all_up(&cfg))
}

/// Runs `f` on a thread of its own in network namespace `name` (a fresh
/// one when `None`).
fn in_ns<T: Send>(name: Option<&str>, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            use std::os::fd::AsRawFd;
            let r = match name {
                // SAFETY: unshare/setns only move this thread.
                None => unsafe { libc::unshare(libc::CLONE_NEWNET) },
                Some(n) => {
                    let f = std::fs::File::open(format!("/run/netns/{n}")).expect("netns");
                    unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) }
                }
            };
            assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
            if name.is_none() {
                // No local table without it: IPv4 destinations get EINVAL.
                ip(&["link", "set", "lo", "up"]);
            }
            f()
        })
        .join()
        .expect("bench thread")
    })
}

fn ip(args: &[&str]) {
    let st = Command::new("ip").args(args).status().expect("ip");
    assert!(st.success(), "ip {}", args.join(" "));
}

/// Netlink datagrams seen by `nlmon0` in namespace `ns`.
fn nlmon_packets(ns: &str) -> u64 {
    let o = Command::new("ip")
        .args(["-n", ns, "-s", "link", "show", "nlmon0"])
        .output()
        .expect("ip");
    let text = String::from_utf8_lossy(&o.stdout);
    // "RX: bytes packets ..." then the numbers on the next line.
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if l.trim_start().starts_with("RX:") {
            return lines
                .next()
                .and_then(|n| n.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
        }
    }
    0
}

struct Row {
    what: String,
    messages: String,
    wall: Duration,
}

fn backend_rows(n: usize, want: &Table, out: &mut Vec<Row>) {
    in_ns(None, || {
        let none = BTreeSet::new();
        let mut b = NetlinkBackend::open().expect("IPVS family");
        let mut actual = vigil_core::ipvs::Sync::new(None);
        let c0 = b.counters();
        let t = Instant::now();
        let r = sync(&mut b, &mut actual, want, &none, true);
        let wall = t.elapsed();
        let c1 = b.counters();
        assert!(
            r.converged && r.refused.is_empty(),
            "{} refused, first: {:?}",
            r.refused.len(),
            r.refused.first()
        );
        out.push(Row {
            what: format!("{n} x {DESTS}: program from empty (backend)"),
            messages: format!(
                "{} writes in {} sends (after one dump of the empty table)",
                c1.writes - c0.writes,
                c1.sends - c0.sends - (c1.dumps - c0.dumps),
            ),
            wall,
        });
        let t = Instant::now();
        let r = sync(&mut b, &mut actual, want, &none, true);
        let wall = t.elapsed();
        let c2 = b.counters();
        assert_eq!((r.dumps, r.sent), (1, 0));
        out.push(Row {
            what: format!("{n} x {DESTS}: no-op resync"),
            messages: format!(
                "one dump ({} requests, {} entries), {} writes",
                c2.dumps - c1.dumps,
                c2.dump_entries - c1.dump_entries,
                c2.writes - c1.writes
            ),
            wall,
        });
        // 1%: every hundredth destination gets weight 2.
        let mut changed = want.clone();
        let keys: Vec<(ServiceKey, DestKey)> = want
            .iter()
            .flat_map(|(k, e)| e.dests().iter().map(move |(d, _)| (*k, *d)))
            .collect();
        for (k, d) in keys.iter().step_by(100) {
            if let Some(dest) = changed.service_mut(k).and_then(|e| e.dest_mut(d)) {
                dest.weight = 2;
            }
        }
        let t = Instant::now();
        let r = sync(&mut b, &mut actual, &changed, &none, false);
        let wall = t.elapsed();
        let c3 = b.counters();
        assert!(r.converged);
        out.push(Row {
            what: format!("{n} x {DESTS}: 1% of weights changed"),
            messages: format!(
                "{} writes in {} sends, no dump",
                c3.writes - c2.writes,
                c3.sends - c2.sends
            ),
            wall,
        });
        assert_eq!(b.read_table().unwrap(), changed);
        b.flush().unwrap();
    });
}

/// Starts `argv` in a fresh named namespace with an nlmon device and
/// waits until the kernel there holds `want`; the time and the netlink
/// datagrams it took (the poller's own subtracted).
fn daemon_row(tag: &str, argv: &[&str], want: &Table, log: &Path) -> (Duration, u64) {
    let ns = format!("vgl-{}-bench-{tag}", std::process::id());
    ip(&["netns", "add", &ns]);
    ip(&["-n", &ns, "link", "set", "lo", "up"]);
    ip(&["-n", &ns, "link", "add", "nlmon0", "type", "nlmon"]);
    ip(&["-n", &ns, "link", "set", "nlmon0", "up"]);
    let (last, last_entry) = want.iter().last().expect("a service");
    let before = nlmon_packets(&ns);
    let f = std::fs::File::create(log).expect("log");
    let t = Instant::now();
    let mut child: Child = Command::new("ip")
        .args(["netns", "exec", &ns])
        .args(argv)
        .stdin(Stdio::null())
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .spawn()
        .expect("spawn");
    let (took, own) = in_ns(Some(&ns), || {
        let mut b = NetlinkBackend::open().expect("IPVS family");
        loop {
            let done = b
                .dests(last)
                .map(|d| d.len() == last_entry.dests().len())
                .unwrap_or(false);
            if done {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(1800), "{tag}: timed out");
            assert!(
                child.try_wait().ok().flatten().is_none(),
                "{tag} exited; see {}",
                log.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let took = t.elapsed();
        let table = b.read_table().unwrap();
        assert_eq!(table.dest_count(), want.dest_count(), "{tag}");
        let c = b.counters();
        (took, c.sends + c.recvs)
    });
    let after = nlmon_packets(&ns);
    let _ = child.kill();
    let _ = child.wait();
    let _ = Command::new("ip")
        .args(["netns", "pids", &ns])
        .output()
        .map(|o| {
            for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        });
    ip(&["netns", "del", &ns]);
    (took, (after - before).saturating_sub(own))
}

fn guest_main() {
    let sizes: Vec<usize> = std::env::var("VIGIL_BENCH_SIZES")
        .unwrap_or_else(|_| "1000,10000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let dir = guest::out_dir();
    let mut rows = Vec::new();
    for n in sizes {
        let text = config(n);
        let conf = dir.join(format!("bench-{n}.conf"));
        std::fs::write(&conf, &text).unwrap();
        let want = desired(&text);
        assert_eq!(want.dest_count(), n * DESTS);
        backend_rows(n, &want, &mut rows);
        let c = conf.to_string_lossy().to_string();
        let p = |s: &str| dir.join(format!("{s}-{n}")).to_string_lossy().to_string();
        let (t, skbs) = daemon_row(
            "vigild",
            &[
                env!("CARGO_BIN_EXE_vigild"),
                "-f",
                &c,
                "-p",
                &p("vigild.pid"),
                "-n",
                "-l",
                "-G",
            ],
            &want,
            &dir.join(format!("vigild-{n}.log")),
        );
        rows.push(Row {
            what: format!("{n} x {DESTS}: vigild -f -l (start to full table, console log)"),
            messages: format!("{skbs} netlink datagrams (nlmon)"),
            wall: t,
        });
        let (t, skbs) = daemon_row(
            "vigild-quiet",
            &[
                env!("CARGO_BIN_EXE_vigild"),
                "-f",
                &c,
                "-p",
                &p("vigildq.pid"),
                "-n",
                "-G",
            ],
            &want,
            &dir.join(format!("vigild-quiet-{n}.log")),
        );
        rows.push(Row {
            what: format!("{n} x {DESTS}: vigild -f, no log sink (start to full table)"),
            messages: format!("{skbs} netlink datagrams (nlmon)"),
            wall: t,
        });
        let (t, skbs) = daemon_row(
            "keepalived",
            &[
                "keepalived",
                "--dont-fork",
                "--log-console",
                "--use-file",
                &c,
                "--pid",
                &p("k.pid"),
                "--vrrp_pid",
                &p("kv.pid"),
                "--checkers_pid",
                &p("kc.pid"),
            ],
            &want,
            &dir.join(format!("keepalived-{n}.log")),
        );
        rows.push(Row {
            what: format!("{n} x {DESTS}: keepalived 2.2.7 -f (start to full table)"),
            messages: format!("{skbs} netlink datagrams (nlmon)"),
            wall: t,
        });
    }
    let mut out = String::from("| case | netlink | wall (VM, TCG) |\n|---|---|---|\n");
    for r in &rows {
        let _ = writeln!(
            out,
            "| {} | {} | {:.3} s |",
            r.what,
            r.messages,
            r.wall.as_secs_f64()
        );
    }
    guest::write("bench.md", &out);
    print!("{out}");
}

fn main() {
    if std::env::args().any(|a| a == "--guest") {
        guest_main();
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let exe = std::env::current_exe().expect("bench path");
    let mut spec = Spec::new("ipvs-bench", &[&exe.to_string_lossy(), "--guest"]);
    if let Ok(s) = std::env::var("VIGIL_BENCH_SIZES") {
        spec = spec.env("VIGIL_BENCH_SIZES", &s);
    }
    spec.memory_mb = 2048;
    spec.timeout = Duration::from_secs(3600);
    match vm::run(&spec) {
        Ok(o) => {
            eprintln!("{}", o.output);
            assert!(o.success(), "{}", o.report());
            eprintln!(
                "VM: kernel {} boot {:?}, whole run {:?}",
                o.release, o.boot, o.wall
            );
        }
        Err(e) => eprintln!("ipvs_netlink bench skipped: {e}"),
    }
}
