//! vigild's director on real namespaces, judged from its event stream
//! (`--events`) and from a capture of the segment: adverts go to the
//! configured multicast group, and SIGHUP reloads change an instance in
//! place (a VIP added to the master, the backup's priority) unless
//! keepalived itself restarts it for the change (the VRID).

mod common;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::Vigild;
use vigil_core::vrrp::{EventKind, State};
use vigil_netns::capture::{Capture, Observation, Seen};
use vigil_netns::ns::{self, Lab};
use vigild::events::Line;

const T: Duration = Duration::from_secs(15);

/// A director's config: one instance, with `extra_global` in global_defs.
fn conf(extra_global: &str, vrid: u8, prio: u8, vips: &[&str]) -> String {
    format!(
        "global_defs {{\n  router_id t\n{extra_global}}}\n\
         vrrp_instance VI {{\n  state BACKUP\n  interface eth0\n  virtual_router_id {vrid}\n  \
         priority {prio}\n  advert_int 1\n  virtual_ipaddress {{\n{}  }}\n}}\n",
        vips.iter()
            .map(|v| format!("    {v}\n"))
            .collect::<String>()
    )
}

/// One vigild with its event stream.
struct Director {
    v: Vigild,
    conf: PathBuf,
    events: PathBuf,
}

impl Director {
    fn start(lab: &Lab, role: &str, text: &str) -> Director {
        let dir = lab.dir();
        let conf = dir.join(format!("{role}.conf"));
        std::fs::write(&conf, text).unwrap();
        let events = dir.join(format!("{role}.events"));
        let ev = events.to_string_lossy().to_string();
        let v = Vigild::start(lab.get(role), dir, role, &conf, &["--events", &ev]);
        Director { v, conf, events }
    }

    /// The event stream so far.
    fn lines(&self) -> Vec<Line> {
        read_events(&self.events)
    }

    /// Its state changes so far, as (from, to).
    fn states(&self) -> Vec<(State, State)> {
        self.lines()
            .into_iter()
            .filter_map(|l| match l.vrrp?.kind {
                EventKind::State { from, to, .. } => Some((from, to)),
                _ => None,
            })
            .collect()
    }

    fn wait_state(&self, to: State, count: usize) {
        ns::wait_for(T, &format!("{count} change(s) to {to:?}"), || {
            (self.states().iter().filter(|(_, t)| *t == to).count() >= count).then_some(())
        })
        .unwrap_or_else(|e| panic!("{e}\n{}", self.v.lines().join("\n")));
    }

    /// Writes `text` as the config and reloads; returns once it is done.
    fn reload(&self, text: &str) {
        std::fs::write(&self.conf, text).unwrap();
        let done = self.v.matching(&["reload done"]).len();
        self.v.proc.signal("HUP");
        self.v.wait_log(T, &["reload done"], done + 1);
    }
}

fn read_events(path: &Path) -> Vec<Line> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{path:?}: {l}: {e}")))
        .collect()
}

fn adverts(obs: &[Observation]) -> Vec<(IpAddr, IpAddr, u8, u8)> {
    obs.iter()
        .filter_map(|o| match o.seen {
            Seen::Advert {
                src,
                dst,
                vrid,
                priority,
                ..
            } => Some((src, dst, vrid, priority)),
            _ => None,
        })
        .collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn vrrp_mcast_group4_is_where_adverts_go_and_are_heard() {
    if !ns::require_root("vrrp_mcast_group4_is_where_adverts_go_and_are_heard") {
        return;
    }
    let mut lab = Lab::new("mg");
    lab.host("lb1", &["192.0.2.150/24"]);
    lab.host("lb2", &["192.0.2.151/24"]);
    let cap = Capture::start(lab.bridge().name(), "br0", &lab.dir().join("segment.pcap")).unwrap();
    let group = "  vrrp_mcast_group4 224.0.0.19\n";
    let lb1 = Director::start(&lab, "lb1", &conf(group, 52, 150, &["192.0.2.170"]));
    lb1.wait_state(State::Master, 1);
    let lb2 = Director::start(&lab, "lb2", &conf(group, 52, 100, &["192.0.2.170"]));
    lb2.wait_state(State::Backup, 1);
    // Twice lb2's master-down interval (3.6 s): it must hear lb1 on the
    // group it joined, or it would take over.
    std::thread::sleep(Duration::from_secs(7));
    assert_eq!(
        lb2.states(),
        [(State::Initialize, State::Backup)],
        "lb2 did not hear lb1's adverts on 224.0.0.19"
    );
    assert_eq!(lab.holders("192.0.2.170"), ["lb1"]);
    let ads = adverts(&cap.finish());
    let from_lb1: Vec<_> = ads.iter().filter(|a| a.0 == ip("192.0.2.150")).collect();
    assert!(from_lb1.len() >= 6, "{ads:?}");
    assert!(
        ads.iter().all(|a| a.1 == ip("224.0.0.19") && a.2 == 52),
        "an advert not to 224.0.0.19: {ads:?}"
    );
}

#[test]
fn sighup_changes_instances_in_place_and_restarts_on_a_new_vrid() {
    if !ns::require_root("sighup_changes_instances_in_place_and_restarts_on_a_new_vrid") {
        return;
    }
    let mut lab = Lab::new("hu");
    lab.host("lb1", &["192.0.2.150/24"]);
    lab.host("lb2", &["192.0.2.151/24"]);
    let cap = Capture::start(lab.bridge().name(), "br0", &lab.dir().join("segment.pcap")).unwrap();
    let lb1 = Director::start(&lab, "lb1", &conf("", 51, 150, &["192.0.2.160"]));
    lb1.wait_state(State::Master, 1);
    let lb2 = Director::start(&lab, "lb2", &conf("", 51, 100, &["192.0.2.160"]));
    lb2.wait_state(State::Backup, 1);
    std::thread::sleep(Duration::from_secs(2));

    // A VIP added to the master: no priority 0, no state change; the new
    // VIP is added and announced. (Added to the backup first: a VRRPv2
    // backup drops adverts whose address list differs from its own, as
    // keepalived's vrrp_check_packet does, and would take over.)
    let before1 = lb1.states();
    let seen_before = cap.observations().len();
    let two = ["192.0.2.160", "192.0.2.161"];
    lb2.reload(&conf("", 51, 100, &two));
    lb1.reload(&conf("", 51, 150, &two));
    lb1.v
        .wait_log(T, &["reload vrrp kept=1 started=0 stopped=0"], 1);
    ns::wait_for(T, "lb1 holds 192.0.2.161", || {
        lab.get("lb1").has_addr("192.0.2.161").then_some(())
    })
    .unwrap();
    ns::wait_for(T, "a gratuitous ARP for 192.0.2.161", || {
        cap.observations()[seen_before..]
            .iter()
            .any(|o| matches!(o.seen, Seen::Garp { addr, .. } if addr == ip("192.0.2.161")))
            .then_some(())
    })
    .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(lb1.states(), before1, "lb1 changed state on reload");
    assert!(
        lb1.lines().iter().any(|l| matches!(
            &l.vrrp,
            Some(e) if matches!(&e.kind, EventKind::Vips { added: true, addrs } if addrs == &[ip("192.0.2.161")])
        )),
        "no vip-add of 192.0.2.161 alone in lb1's events"
    );
    let after_vip = adverts(&cap.observations()[seen_before..]);
    assert!(
        after_vip.iter().all(|a| a.3 != 0),
        "a priority-0 advert after the reload: {after_vip:?}"
    );
    assert!(
        after_vip
            .iter()
            .any(|a| a.0 == ip("192.0.2.150") && a.3 == 150),
        "lb1 stopped advertising: {after_vip:?}"
    );
    assert_eq!(lb2.states(), [(State::Initialize, State::Backup)]);
    assert_eq!(lab.holders("192.0.2.160"), ["lb1"]);

    // The backup's priority changed (still below the master's): no
    // restart, no state change.
    lb2.reload(&conf("", 51, 120, &two));
    lb2.v
        .wait_log(T, &["reload vrrp kept=1 started=0 stopped=0"], 2);
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(lb2.states(), [(State::Initialize, State::Backup)]);
    assert_eq!(lab.holders("192.0.2.160"), ["lb1"]);

    // The backup's VRID changed: keepalived restarts the instance for
    // that. The new instance starts as backup and, hearing no master of
    // VRID 61, becomes its master.
    let seen_before = cap.observations().len();
    lb2.reload(&conf("", 61, 120, &two));
    lb2.v
        .wait_log(T, &["reload vrrp kept=0 started=1 stopped=1"], 1);
    lb2.wait_state(State::Master, 1);
    let s = lb2.states();
    assert_eq!(
        s.iter()
            .filter(|c| **c == (State::Initialize, State::Backup))
            .count(),
        2,
        "the instance did not start again: {s:?}"
    );
    let ads = adverts(&cap.finish()[seen_before..]);
    assert!(
        ads.iter()
            .any(|a| a.0 == ip("192.0.2.151") && a.2 == 61 && a.3 == 120),
        "no advert of VRID 61 from lb2: {ads:?}"
    );
    assert!(
        !ads.iter().any(|a| a.0 == ip("192.0.2.151") && a.2 == 51),
        "lb2 still advertises VRID 51: {ads:?}"
    );
}
