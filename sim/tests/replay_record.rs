//! Records the pcaps/ corpus: real keepalived 2.2.7 and FRR 8.4 vrrpd in
//! two network namespaces on a private bridge, captured on lb2's eth0.
//!
//! Each capture holds the same story: lb2 (backup) starts, lb1 starts a
//! second later and preempts it, lb1 is SIGKILLed (lb2 takes over after
//! its master-down interval), lb1 comes back and preempts, lb1 is
//! SIGTERMed (priority 0: lb2 takes over after its skew).
//!
//! Ignored by `cargo test`; pcaps/regenerate.sh runs it (root) with
//! `VIGIL_RECORD_PCAPS=1`, without which it refuses to overwrite the
//! corpus. `VIGIL_RECORD_ONLY=name,name` records only those.
//! Addresses: 192.0.2.0/24 and 2001:db8::/64 inside namespaces created
//! here and removed on drop, even on failure.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use vigil_netns::ns::{self, Lab, Netns, Proc};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Peer {
    Keepalived,
    Frr,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tap {
    /// tcpdump on eth0: pcap, Ethernet.
    Ethernet,
    /// tcpdump on any: pcap, Linux cooked v2.
    Cooked,
    /// dumpcap on eth0: pcapng.
    PcapNg,
}

struct Spec {
    name: &'static str,
    peer: Peer,
    v6: bool,
    tap: Tap,
}

const SPECS: &[Spec] = &[
    Spec {
        name: "keepalived-v2",
        peer: Peer::Keepalived,
        v6: false,
        tap: Tap::Ethernet,
    },
    Spec {
        name: "keepalived-v3",
        peer: Peer::Keepalived,
        v6: false,
        tap: Tap::Ethernet,
    },
    Spec {
        name: "keepalived-v6",
        peer: Peer::Keepalived,
        v6: true,
        tap: Tap::PcapNg,
    },
    Spec {
        name: "keepalived-unicast",
        peer: Peer::Keepalived,
        v6: false,
        tap: Tap::Cooked,
    },
    Spec {
        name: "keepalived-vmac",
        peer: Peer::Keepalived,
        v6: false,
        tap: Tap::Ethernet,
    },
    Spec {
        name: "keepalived-ah",
        peer: Peer::Keepalived,
        v6: false,
        tap: Tap::Ethernet,
    },
    Spec {
        name: "keepalived-ah-unicast",
        peer: Peer::Keepalived,
        v6: false,
        tap: Tap::Cooked,
    },
    Spec {
        name: "frr-v2",
        peer: Peer::Frr,
        v6: false,
        tap: Tap::Ethernet,
    },
    Spec {
        name: "frr-v3",
        peer: Peer::Frr,
        v6: false,
        tap: Tap::Ethernet,
    },
    Spec {
        name: "frr-v6",
        peer: Peer::Frr,
        v6: true,
        tap: Tap::Ethernet,
    },
];

fn pcaps() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../pcaps")
}

fn epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// A running VRRP daemon of one role.
struct Daemon {
    procs: Vec<Proc>,
    /// The process to signal (keepalived: its VRRP child's pid file).
    vrrp_pid: Option<PathBuf>,
}

impl Daemon {
    fn signal(&mut self, sig: &str) {
        match &self.vrrp_pid {
            Some(f) if sig == "KILL" => {
                // keepalived: kill the VRRP child itself (-R: the parent
                // does not respawn it and exits).
                let pid = std::fs::read_to_string(f).unwrap_or_default();
                let pid = pid.trim();
                assert!(!pid.is_empty(), "no VRRP child pid in {}", f.display());
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", pid])
                    .status();
            }
            _ => {
                if let Some(p) = self.procs.last() {
                    p.signal(sig);
                }
            }
        }
        if let Some(p) = self.procs.last_mut() {
            let _ = p.wait_exit(Duration::from_secs(5));
        }
    }
}

struct Role {
    name: &'static str,
    v4: &'static str,
}

const LB1: Role = Role {
    name: "lb1",
    v4: "192.0.2.150",
};
const LB2: Role = Role {
    name: "lb2",
    v4: "192.0.2.151",
};

fn start(spec: &Spec, lab: &Lab, role: &Role, life: usize) -> Daemon {
    let host = lab.get(role.name);
    let dir = lab.dir().join(format!("{}-{}", role.name, life));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let conf_dir = pcaps().join("configs").join(spec.name);
    let log = dir.join("log");
    let s = |p: &Path| p.to_string_lossy().to_string();
    match spec.peer {
        Peer::Keepalived => {
            let conf = s(&conf_dir.join(format!("{}.conf", role.name)));
            let pid = dir.join("keepalived.pid");
            let vrrp_pid = dir.join("vrrp.pid");
            let p = host.spawn(
                "keepalived",
                &[
                    "--vrrp",
                    "-n",
                    "-l",
                    "-D",
                    "-R",
                    "-G",
                    "-f",
                    &conf,
                    "-p",
                    &s(&pid),
                    "-r",
                    &s(&vrrp_pid),
                ],
                Some(&log),
            );
            let _ = ns::wait_for(Duration::from_secs(5), "keepalived's VRRP child", || {
                vrrp_pid.exists().then_some(())
            })
            .unwrap_or_else(|e| panic!("{e}\n{}", ns::log_lines(&log).join("\n")));
            Daemon {
                procs: vec![p],
                vrrp_pid: Some(vrrp_pid),
            }
        }
        Peer::Frr => {
            let zsock = s(&dir.join("zserv.api"));
            let conf = s(&conf_dir.join(format!("{}.frr", role.name)));
            let zconf = dir.join("zebra.conf");
            std::fs::write(&zconf, "!\n").expect("zebra.conf");
            // The daemons drop to the frr user: let it write here.
            for d in [lab.dir(), dir.as_path()] {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o777));
            }
            let common = |d: &str| {
                vec![
                    "-i".to_string(),
                    s(&dir.join(format!("{d}.pid"))),
                    "-z".to_string(),
                    zsock.clone(),
                    "--vty_socket".to_string(),
                    s(&dir),
                    "-u".to_string(),
                    "frr".to_string(),
                    "-g".to_string(),
                    "frr".to_string(),
                    "--log".to_string(),
                    "stdout".to_string(),
                ]
            };
            let mut zargs = common("zebra");
            zargs.extend(["-f".to_string(), s(&zconf)]);
            let za: Vec<&str> = zargs.iter().map(String::as_str).collect();
            let zebra = host.spawn("/usr/lib/frr/zebra", &za, Some(&dir.join("zebra.log")));
            let _ = ns::wait_for(Duration::from_secs(5), "zebra's socket", || {
                Path::new(&zsock).exists().then_some(())
            })
            .unwrap_or_else(|e| {
                panic!("{e}\n{}", ns::log_lines(&dir.join("zebra.log")).join("\n"))
            });
            let mut vargs = common("vrrpd");
            vargs.extend(["-f".to_string(), conf]);
            let va: Vec<&str> = vargs.iter().map(String::as_str).collect();
            let vrrpd = host.spawn("/usr/lib/frr/vrrpd", &va, Some(&log));
            Daemon {
                procs: vec![zebra, vrrpd],
                vrrp_pid: None,
            }
        }
    }
}

/// FRR needs a macvlan with the virtual MAC (and the VIP) per family.
fn frr_macvlan(host: &Netns, v6: bool) {
    if v6 {
        host.ip(&[
            "link", "add", "vrrp6-51", "link", "eth0", "type", "macvlan", "mode", "bridge",
        ]);
        host.ip(&["link", "set", "dev", "vrrp6-51", "addrgenmode", "random"]);
        host.ip(&[
            "link",
            "set",
            "dev",
            "vrrp6-51",
            "address",
            "00:00:5e:00:02:33",
        ]);
        host.ip(&["addr", "add", "2001:db8::160/64", "dev", "vrrp6-51"]);
        host.ip(&["link", "set", "dev", "vrrp6-51", "up"]);
    } else {
        host.ip(&[
            "link", "add", "vrrp4-51", "link", "eth0", "type", "macvlan", "mode", "bridge",
        ]);
        host.ip(&[
            "link",
            "set",
            "dev",
            "vrrp4-51",
            "address",
            "00:00:5e:00:01:33",
        ]);
        host.ip(&["addr", "add", "192.0.2.160/24", "dev", "vrrp4-51"]);
        host.ip(&["link", "set", "dev", "vrrp4-51", "up"]);
    }
}

/// The MAC address of `dev`.
fn mac(host: &Netns, dev: &str) -> String {
    host.mac(dev)
        .unwrap_or_else(|| panic!("no MAC on {dev} in {}", host.name()))
        .to_string()
}

/// Waits until `dev`'s IPv6 link-local address left DAD; returns it.
fn link_local(host: &Netns, dev: &str) -> String {
    vigil_netns::peers::router::link_local(host, dev)
        .expect("link-local address")
        .to_string()
}

fn record(spec: &Spec) -> String {
    let mut lab = Lab::new("rec");
    let v6 = |a: &str| a.replace("192.0.2.", "2001:db8::");
    for r in [&LB1, &LB2] {
        let mut addrs = vec![format!("{}/24", r.v4)];
        if spec.v6 {
            addrs.push(format!("{}/64", v6(r.v4)));
        }
        let a: Vec<&str> = addrs.iter().map(String::as_str).collect();
        lab.host(r.name, &a);
    }
    let mut lls = Vec::new();
    let mut macs = Vec::new();
    for r in [&LB1, &LB2] {
        let h = lab.get(r.name);
        macs.push(mac(h, "eth0"));
        if spec.peer == Peer::Frr {
            frr_macvlan(h, spec.v6);
        }
        if spec.v6 {
            // FRR sends IPv6 adverts from the macvlan's link-local.
            let dev = if spec.peer == Peer::Frr {
                "vrrp6-51"
            } else {
                "eth0"
            };
            lls.push(link_local(h, dev));
        }
    }
    let out = pcaps().join(format!(
        "{}.{}",
        spec.name,
        if spec.tap == Tap::PcapNg {
            "pcapng"
        } else {
            "pcap"
        }
    ));
    let tmp = lab.dir().join("capture");
    let tap_log = lab.dir().join("tap.log");
    let t = tmp.to_string_lossy().to_string();
    let lb2 = lab.get("lb2");
    let mut tap = match spec.tap {
        Tap::Ethernet => lb2.spawn(
            "tcpdump",
            &["-i", "eth0", "-n", "-U", "-w", &t],
            Some(&tap_log),
        ),
        Tap::Cooked => lb2.spawn(
            "tcpdump",
            &["-i", "any", "-n", "-U", "-w", &t],
            Some(&tap_log),
        ),
        Tap::PcapNg => lb2.spawn("dumpcap", &["-i", "eth0", "-q", "-w", &t], Some(&tap_log)),
    };
    let _ = ns::wait_for(Duration::from_secs(10), "the capture to start", || {
        ns::log_lines(&tap_log)
            .iter()
            .any(|l| l.contains("listening on") || l.contains("Capturing on"))
            .then_some(())
    });
    std::thread::sleep(Duration::from_millis(500));
    let mut starts: Vec<(&str, Duration)> = Vec::new();
    let sleep = |s: f64| std::thread::sleep(Duration::from_secs_f64(s));

    // lb2 starts, lb1 a second later: lb2 becomes master, lb1 preempts.
    starts.push(("lb2", epoch()));
    let mut d2 = start(spec, &lab, &LB2, 1);
    sleep(1.0);
    starts.push(("lb1", epoch()));
    let mut d1 = start(spec, &lab, &LB1, 1);
    sleep(7.0);
    // SIGKILL lb1: lb2 takes over after its master-down interval.
    d1.signal("KILL");
    drop(d1);
    sleep(6.0);
    // lb1 comes back and preempts.
    starts.push(("lb1", epoch()));
    let mut d1 = start(spec, &lab, &LB1, 2);
    sleep(7.0);
    // SIGTERM lb1: priority 0, lb2 takes over after its skew.
    d1.signal("TERM");
    drop(d1);
    sleep(3.0);
    tap.signal("INT");
    let _ = tap.wait_exit(Duration::from_secs(5));
    d2.signal("TERM");
    drop(d2);
    std::fs::copy(&tmp, &out).unwrap_or_else(|e| panic!("{}: {e}", tmp.display()));
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644));
    }

    // The manifest entry: each role, its address, its config.
    let first = vigil_sim::replay::reader::read(&std::fs::read(&out).expect("capture"))
        .expect("capture reads")
        .frames
        .iter()
        .map(|f| f.timestamp)
        .min()
        .unwrap_or_default();
    let mut m = String::new();
    let _ = writeln!(m, "[[capture]]");
    let _ = writeln!(m, "file = {:?}", out.file_name().unwrap().to_string_lossy());
    let _ = writeln!(
        m,
        "peer = {:?}",
        if spec.peer == Peer::Keepalived {
            "keepalived 2.2.7"
        } else {
            "frr 8.4 vrrpd"
        }
    );
    for (i, r) in [&LB1, &LB2].iter().enumerate() {
        let addr = if spec.v6 {
            lls[i].clone()
        } else {
            r.v4.to_string()
        };
        let _ = writeln!(m, "[[capture.role]]");
        let _ = writeln!(m, "name = {:?}", r.name);
        let _ = writeln!(m, "address = {addr:?}");
        let _ = writeln!(m, "mac = {:?}", macs[i]);
        let _ = writeln!(m, "config = \"configs/{}/{}.conf\"", spec.name, r.name);
        let s: Vec<String> = starts
            .iter()
            .filter(|(n, _)| *n == r.name)
            .map(|(_, t)| format!("{:.6}", t.saturating_sub(first).as_secs_f64()))
            .collect();
        // When the recorder spawned the daemon: tens of milliseconds
        // before it runs, so information only (not replay starts).
        let _ = writeln!(m, "spawned = [{}]", s.join(", "));
    }
    m
}

#[test]
#[ignore = "records the pcaps/ corpus: run by pcaps/regenerate.sh (root)"]
fn record_corpus() {
    if std::env::var("VIGIL_RECORD_PCAPS").as_deref() != Ok("1") {
        eprintln!(
            "SKIPPED record_corpus: set VIGIL_RECORD_PCAPS=1 (pcaps/regenerate.sh) to record"
        );
        return;
    }
    assert!(ns::require_root("record_corpus"), "recording needs root");
    let only = std::env::var("VIGIL_RECORD_ONLY").unwrap_or_default();
    for spec in SPECS {
        if !only.is_empty() && !only.split(',').any(|n| n == spec.name) {
            continue;
        }
        eprintln!("recording {}", spec.name);
        let entry = record(spec);
        let path = pcaps().join(format!("{}.toml", spec.name));
        std::fs::write(&path, format!("# written by pcaps/regenerate.sh\n{entry}"))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}
