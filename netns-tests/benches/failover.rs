//! Failover latency on real namespaces, vigild and keepalived 2.2.7 side
//! by side in the same run (two labs running at once).
//!
//! Each lab: routers `a` (priority 100) and `b` (priority 90) of one
//! implementation, a client pinging the VIP, a capture on the bridge.
//! Each trial SIGKILLs the master `a` and measures, from `a`'s last
//! advert on the wire:
//! - to `b`'s first advert (theory: the master-down interval),
//! - to the first echo reply from the VIP through `b` (the client's
//!   first request answered by the new master; without IPVS in this
//!   kernel the request is an ICMP echo to the VIP, not HTTP),
//!
//! then restarts `a` and waits until it has preempted and the client is
//! answered through it again. VRRPv2 with 1 s adverts and VRRPv3 with
//! 10 ms adverts, 20 trials each (`VIGIL_BENCH_TRIALS` to change).
//!
//! `cargo bench -p vigil-netns --bench failover` (root; prints a table
//! for BENCHMARKS.md).

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use vigil_core::packet::MacAddr;
use vigil_core::time::fmt_ms;
use vigil_core::vrrp::timers;
use vigil_netns::capture::{Capture, Seen};
use vigil_netns::harness::client::{Client, ClientMode, ClientSpec, Neigh, Results};
use vigil_netns::ns::{self, Lab};
use vigil_netns::peers::router::Router;
use vigil_netns::peers::{self, GroupSpec, Impl};

/// One trial's two delays.
#[derive(Clone, Copy, Debug)]
struct Trial {
    advert: Duration,
    answered: Duration,
}

fn since(a: SystemTime, b: SystemTime) -> Duration {
    a.duration_since(b).unwrap_or_default()
}

/// The first echo reply from `vip` through `mac` after `after`.
fn reply_through(
    cap: &Capture,
    vip: IpAddr,
    mac: MacAddr,
    after: SystemTime,
) -> Option<SystemTime> {
    cap.observations().into_iter().find_map(|o| match o.seen {
        Seen::Icmp { mac: m, src, .. } if src == vip && m == mac && o.at > after => Some(o.at),
        _ => None,
    })
}

fn lab_trials(imp: Impl, g: &GroupSpec, trials: usize) -> Result<Vec<Trial>, String> {
    let tag = format!("bench{}{}", imp, g.version);
    let mut lab = Lab::new(&tag);
    let ma = MacAddr([2, 0, 0, 0, 0, 0x0a]);
    let mb = MacAddr([2, 0, 0, 0, 0, 0x0b]);
    lab.host_dev("a", "eth0", Some(&ma.to_string()), &["192.0.2.10/24"]);
    lab.host_dev("b", "eth0", Some(&mb.to_string()), &["192.0.2.11/24"]);
    lab.host_dev("c", "eth0", Some("02:00:00:00:00:0c"), &["192.0.2.20/24"]);
    let dir = lab.dir().to_path_buf();
    let cap = Capture::start(lab.bridge().name(), "br0", &dir.join("segment.pcap"))?;
    let (na, nb) = (lab.get("a"), lab.get("b"));
    let v4 = |n: u8| -> (IpAddr, IpAddr) {
        (
            format!("192.0.2.{n}").parse().expect("literal"),
            format!("2001:db8::{n}").parse().expect("literal"),
        )
    };
    let mut a = Router::new(imp, "a", na, 100, v4(10), &dir);
    let mut b = Router::new(imp, "b", nb, 90, v4(11), &dir);
    a.setup(g, na, v4(11))?;
    b.setup(g, nb, v4(10))?;
    let (sa, sb) = (a.src.ok_or("no source")?, b.src.ok_or("no source")?);
    let deadline = g.interval().as_duration() * 5 + Duration::from_secs(5);
    let vip = g.vip();

    // b first, then a preempts: the steady state every trial starts from.
    let t = SystemTime::now();
    b.start(nb)?;
    peers::wait_advert(&cap, g.vrid, sb, t, |p| p > 0, deadline, "b master")?;
    let rate = if g.version == 3 { 1000.0 } else { 200.0 };
    let neigh: Neigh = Default::default();
    let mut client = Client::start(
        ClientSpec {
            idx: 0,
            netns: lab.get("c").name().to_string(),
            rate,
            target: std::net::SocketAddr::new(vip, 0),
            timeout: Duration::from_secs(1),
            count: u64::MAX / 2,
            pages: Vec::new(),
        },
        ClientMode::Reach,
        neigh,
        Results::default(),
    );
    let mut out = Vec::new();
    for _ in 0..trials {
        // a (re)starts and preempts; the client is answered through it.
        let t = SystemTime::now();
        a.start(na)?;
        let ta = peers::wait_advert(&cap, g.vrid, sa, t, |p| p > 0, deadline, "a preempts")?;
        ns::wait_for(deadline, "replies through a", || {
            reply_through(&cap, vip, ma, ta)
        })?;
        // A few adverts of steady state.
        std::thread::sleep(g.interval().as_duration() * 2 + Duration::from_millis(100));
        let tk = SystemTime::now();
        a.kill();
        let tb = peers::wait_advert(&cap, g.vrid, sb, tk, |p| p > 0, deadline, "b takes over")?;
        let last = peers::adverts(&cap, g.vrid)
            .into_iter()
            .filter(|(at, s, _)| *s == sa && *at < tb)
            .map(|(at, _, _)| at)
            .max()
            .ok_or("no advert from a")?;
        let (tr, _) = ns::wait_for(deadline, "a reply through b", || {
            reply_through(&cap, vip, mb, tk)
        })?;
        out.push(Trial {
            advert: since(tb, last),
            answered: since(tr, last),
        });
    }
    client.stop();
    drop(a);
    drop(b);
    Ok(out)
}

fn pct(v: &[Duration], p: f64) -> Duration {
    let mut s = v.to_vec();
    s.sort();
    let i = ((p / 100.0) * (s.len() as f64 - 1.0)).ceil() as usize;
    s[i.min(s.len() - 1)]
}

fn line(name: &str, v: &[Duration], theory: Duration) -> String {
    let p50 = pct(v, 50.0);
    let p99 = pct(v, 99.0);
    let min = *v.iter().min().expect("trials");
    let max = *v.iter().max().expect("trials");
    let over = |d: Duration| {
        if d >= theory {
            format!("+{}", fmt_ms(d - theory))
        } else {
            format!("-{}", fmt_ms(theory - d))
        }
    };
    format!(
        "| {name} | {} | {} | {} | {} | {} | {} |",
        fmt_ms(min),
        fmt_ms(p50),
        fmt_ms(p99),
        fmt_ms(max),
        over(p50),
        over(p99)
    )
}

fn main() {
    if !ns::is_root() {
        eprintln!("failover bench: needs root (network namespaces); skipped");
        return;
    }
    let trials: usize = std::env::var("VIGIL_BENCH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let groups = [
        GroupSpec {
            version: 2,
            v6: false,
            unicast: false,
            auth: None,
            interval_cs: 100,
            vrid: 51,
        },
        GroupSpec {
            version: 3,
            v6: false,
            unicast: false,
            auth: None,
            interval_cs: 1,
            vrid: 51,
        },
    ];
    println!(
        "failover latency, {trials} trials each, SIGKILL of the master (priority 100), backup priority 90"
    );
    println!(
        "| run | min | p50 | p99 | max | p50 - theory | p99 - theory |\n|---|---|---|---|---|---|---|"
    );
    for g in &groups {
        let theory = timers::master_down(g.interval(), 90, 3);
        let results: Vec<(Impl, Result<Vec<Trial>, String>)> = std::thread::scope(|sc| {
            let hs: Vec<_> = [Impl::Vigild, Impl::Keepalived]
                .into_iter()
                .map(|imp| (imp, sc.spawn(move || lab_trials(imp, g, trials))))
                .collect();
            hs.into_iter()
                .map(|(imp, h)| (imp, h.join().unwrap_or_else(|_| Err("panicked".into()))))
                .collect()
        });
        let label = if g.version == 2 {
            "VRRPv2 advert 1 s".to_string()
        } else {
            "VRRPv3 advert 10 ms".to_string()
        };
        for (imp, r) in results {
            match r {
                Ok(t) => {
                    let adv: Vec<Duration> = t.iter().map(|x| x.advert).collect();
                    let ans: Vec<Duration> = t.iter().map(|x| x.answered).collect();
                    println!(
                        "{}",
                        line(
                            &format!(
                                "{label}, {imp}: last advert -> backup's first advert (theory {})",
                                fmt_ms(theory)
                            ),
                            &adv,
                            theory
                        )
                    );
                    println!(
                        "{}",
                        line(
                            &format!(
                                "{label}, {imp}: last advert -> first echo answered through the new master"
                            ),
                            &ans,
                            theory
                        )
                    );
                }
                Err(e) => println!("| {label}, {imp} | failed: {e} | | | | | |"),
            }
        }
    }
}
