//! LVS-DR end to end with the seed deployment moved to 192.0.2.0/24:
//! client -> VIP on lb1 -> IPVS DR -> rs1/rs2 (VIP on loopback, ARP as
//! `lvsrsdr` sets it) -> straight back to the client. Responses alternate
//! under rr; a stopped real server leaves the table within the TCP_CHECK
//! bound and clients stop seeing errors; it comes back; killing the master
//! director moves the VIP to lb2 and traffic continues through it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vigil_netns::ns::{self, Lab, Netns};
use vigil_netns::vm::guest;

use crate::common::Vigild;
use crate::support::{enter_netns, http_get, httpd, in_netns, ipvsadm_in, lvsrsdr, seed_config};

const VIP: &str = "192.0.2.160";
const T: Duration = Duration::from_secs(60);
const REQ_TIMEOUT: Duration = Duration::from_secs(1);

fn vip() -> SocketAddr {
    format!("{VIP}:80").parse().unwrap()
}

/// The seed's TCP_CHECK: delay_loop 6, connect_timeout 3, retry 3
/// (`nb_get_retry`), delay_before_retry 3. A server that stops is down
/// after the next check and its retries: at most delay_loop + retry *
/// (connect_timeout + delay_before_retry) + connect_timeout.
const DOWN_BOUND: Duration = Duration::from_secs(6 + 3 * (3 + 3) + 3);
/// Back up at the next check: at most delay_loop + connect_timeout.
const UP_BOUND: Duration = Duration::from_secs(6 + 3);
/// Slack for the VM's slowness (TCG) and polling.
const SLACK: Duration = Duration::from_secs(5);

/// When a request ended, and its body or error.
type Outcomes = Arc<Mutex<Vec<(Instant, Result<String, String>)>>>;

/// A client in its namespace sending one GET after another.
struct Client {
    stop: Arc<AtomicBool>,
    log: Outcomes,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Client {
    fn start(ns: &Netns, gap: Duration) -> Client {
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (s, l, name) = (stop.clone(), log.clone(), ns.name().to_string());
        let thread = std::thread::spawn(move || {
            enter_netns(&name);
            while !s.load(Ordering::Relaxed) {
                let r = http_get(vip(), REQ_TIMEOUT);
                let failed = r.is_err();
                l.lock().unwrap().push((Instant::now(), r));
                std::thread::sleep(if failed { gap / 2 } else { gap });
            }
        });
        Client {
            stop,
            log,
            thread: Some(thread),
        }
    }

    /// Results since `from`.
    fn since(&self, from: Instant) -> Vec<Result<String, String>> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, _)| *t >= from)
            .map(|(_, r)| r.clone())
            .collect()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn has_rs(ns: &Netns, rs: &str) -> bool {
    ipvsadm_in(ns, &["-Ln"]).contains(&format!("-> {rs}:80"))
}

/// Conns, InPkts, OutPkts, InBytes, OutBytes of the VIP's service in
/// `ns`'s table.
fn service_stats(ns: &Netns) -> Vec<u64> {
    let stats = ipvsadm_in(ns, &["-Ln", "--stats", "--exact"]);
    stats
        .lines()
        .find(|l| l.starts_with("TCP  192.0.2.160:80"))
        .map(|l| {
            l.split_whitespace()
                .skip(2)
                .map(|c| c.parse().unwrap_or(0))
                .collect()
        })
        .unwrap_or_else(|| panic!("{stats}"))
}

fn gets(client: &Netns, n: usize) -> Vec<String> {
    in_netns(client.name(), || {
        (0..n)
            .map(|i| http_get(vip(), REQ_TIMEOUT).unwrap_or_else(|e| panic!("GET {i}: {e}")))
            .collect()
    })
}

fn alternates(bodies: &[String]) -> bool {
    bodies.windows(2).all(|w| w[0] != w[1])
        && bodies.iter().any(|b| b == "rs1")
        && bodies.iter().any(|b| b == "rs2")
}

fn ratio(rs: &[Result<String, String>]) -> (usize, usize) {
    (rs.iter().filter(|r| r.is_ok()).count(), rs.len())
}

#[test]
#[ignore = "runs inside the IPVS VM (booted by ipvs_vm_lane)"]
fn guest_lvs_dr_end_to_end() {
    if !guest::require("guest_lvs_dr_end_to_end") {
        return;
    }
    let mut lab = Lab::new("dr");
    lab.host("client", &["192.0.2.10/24"]);
    lab.host("lb1", &["192.0.2.150/24"]);
    lab.host("lb2", &["192.0.2.151/24"]);
    lab.host("rs1", &["192.0.2.152/24"]);
    lab.host("rs2", &["192.0.2.153/24"]);
    // The seed's lb2 binds its instance to ens32.
    let lb2 = lab.get("lb2");
    lb2.ip(&["link", "set", "eth0", "down"]);
    lb2.ip(&["link", "set", "eth0", "name", "ens32"]);
    lb2.ip(&["link", "set", "ens32", "up"]);
    let dir = lab.dir().to_path_buf();
    let mut servers = Vec::new();
    for (role, addr) in [("rs1", "192.0.2.152"), ("rs2", "192.0.2.153")] {
        lvsrsdr(lab.get(role), VIP);
        servers.push(Some(httpd(lab.get(role), &dir.join(role), addr, role)));
    }
    let mut v = Vec::new();
    for lb in ["lb1", "lb2"] {
        let conf = dir.join(format!("{lb}.conf"));
        std::fs::write(&conf, seed_config(lb)).unwrap();
        v.push(Vigild::start(lab.get(lb), &dir, lb, &conf, &[]));
    }
    let logs = || {
        v.iter()
            .map(|x| format!("--- {} ---\n{}", x.log.display(), x.lines().join("\n")))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (lb1, lb2, client) = (lab.get("lb1"), lab.get("lb2"), lab.get("client"));
    ns::wait_for(T, "lb1 holding the VIP and both tables full", || {
        (lb1.has_addr(VIP)
            && !lb2.has_addr(VIP)
            && [lb1, lb2]
                .iter()
                .all(|n| has_rs(n, "192.0.2.152") && has_rs(n, "192.0.2.153")))
        .then_some(())
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", logs()));
    let mut report = String::new();

    // rr: answers alternate between the two pages, and come straight
    // from the real servers (the director forwards nothing back).
    let first = gets(client, 8);
    assert!(alternates(&first), "{first:?}");
    // The kernel folds its per-CPU counters into the listed ones every
    // 2 s (Linux 6.1's estimator timer).
    let (cols, _) = ns::wait_for(Duration::from_secs(10), "lb1's counters", || {
        let c = service_stats(lb1);
        (c[0] >= 8).then_some(c)
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", ipvsadm_in(lb1, &["-Ln", "--stats"])));
    assert_eq!(cols[2], 0, "DR: no packet back through the director");
    report += &format!("rr: {}\n", first.join(" "));

    // rs1 stops: it leaves lb1's table within the TCP_CHECK bound, and
    // then clients see no error.
    let c = Client::start(client, Duration::from_millis(200));
    let stopped = Instant::now();
    servers[0] = None;
    let (_, down) = ns::wait_for(DOWN_BOUND + SLACK, "rs1 out of lb1's table", || {
        (!has_rs(lb1, "192.0.2.152")).then_some(())
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", logs()));
    let errors_before = ratio(&c.since(stopped));
    std::thread::sleep(Duration::from_millis(500));
    let clean_from = Instant::now();
    std::thread::sleep(Duration::from_secs(4));
    let after = c.since(clean_from);
    assert!(after.len() >= 5, "{after:?}");
    assert!(
        after.iter().all(|r| r.as_deref() == Ok("rs2")),
        "errors after rs1 left: {after:?}"
    );
    report += &format!(
        "rs1 stopped: out of the table after {down:.1?} (bound {DOWN_BOUND:?}); \
         {} of {} requests failed meanwhile, none after\n",
        errors_before.1 - errors_before.0,
        errors_before.1
    );
    drop(c);

    // rs1 comes back.
    let restarted = Instant::now();
    servers[0] = Some(httpd(
        lab.get("rs1"),
        &dir.join("rs1"),
        "192.0.2.152",
        "rs1",
    ));
    ns::wait_for(UP_BOUND + SLACK, "rs1 back in lb1's table", || {
        has_rs(lb1, "192.0.2.152").then_some(())
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", logs()));
    let up = restarted.elapsed();
    let again = gets(client, 6);
    assert!(alternates(&again), "{again:?}");
    report += &format!("rs1 restarted: back after {up:.1?} (bound {UP_BOUND:?})\n");

    // The master director dies (vigild killed, its link down): lb2 takes
    // the VIP and traffic continues through it.
    let c = Client::start(client, Duration::from_millis(100));
    std::thread::sleep(Duration::from_secs(2));
    let killed = Instant::now();
    v[0].proc.signal("KILL");
    lb1.ip(&["link", "set", "eth0", "down"]);
    let (_, moved) = ns::wait_for(T, "lb2 holding the VIP", || lb2.has_addr(VIP).then_some(()))
        .unwrap_or_else(|e| panic!("{e}\n{}", logs()));
    let resumed = ns::wait_for(T, "a successful request after the failover", || {
        c.since(killed + moved)
            .iter()
            .any(|r| r.is_ok())
            .then_some(())
    })
    .map(|(_, t)| moved + t)
    .unwrap_or_else(|e| panic!("{e}\n{}", logs()));
    std::thread::sleep(Duration::from_secs(5));
    let window = c.since(killed);
    let (ok, total) = ratio(&window);
    let tail = c.since(Instant::now() - Duration::from_secs(3));
    drop(c);
    assert!(
        tail.iter().all(|r| r.is_ok()) && !tail.is_empty(),
        "errors through lb2: {tail:?}"
    );
    let (conns, _) = ns::wait_for(Duration::from_secs(10), "lb2's counters", || {
        let c = service_stats(lb2)[0];
        (c > 0).then_some(c)
    })
    .unwrap_or_else(|e| panic!("lb2 forwarded nothing: {e}"));
    let pages: Vec<&str> = window
        .iter()
        .rev()
        .take(4)
        .filter_map(|r| r.as_deref().ok())
        .collect();
    assert!(
        pages.contains(&"rs1") && pages.contains(&"rs2"),
        "{pages:?}"
    );
    report += &format!(
        "lb1 killed: VIP on lb2 after {moved:.1?}, traffic again after {resumed:.1?}; \
         client success {ok}/{total} ({:.0}%) over {:.1?} from the kill; lb2 forwarded {conns} connections\n",
        100.0 * ok as f64 / total.max(1) as f64,
        killed.elapsed()
    );
    guest::write("e2e/report", &report);
    for x in &v {
        let name = x.log.file_name().unwrap().to_string_lossy().to_string();
        guest::write(&format!("e2e/{name}"), &(x.lines().join("\n") + "\n"));
    }
    eprint!("{report}");
}
