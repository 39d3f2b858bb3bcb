//! State-machine tests: instances wired through a tiny deterministic
//! segment (fixed latency, scripted crashes and partitions), with their
//! inputs and outputs rendered as snapshots.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::IpAddr;
use std::time::Duration;

use super::*;
use crate::packet::Family;
use crate::packet::ip::Meta;
use crate::packet::vrrp::{Advert, Auth, ChecksumContext, Interval, Version};
use crate::time::Instant;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The seed's lb1 (`state MASTER`, priority 100) or lb2 (`BACKUP`, 90).
fn seed(name: &str) -> InstanceConfig {
    let (src, prio, initial) = match name {
        "lb1" => ("172.17.1.150", 100, InitialState::Master),
        _ => ("172.17.1.151", 90, InitialState::Backup),
    };
    let mut c = InstanceConfig::new(
        "apache",
        "eth0",
        51,
        ip(src),
        vec![Vip::host(ip("172.17.1.160"))],
    );
    c.priority = prio;
    c.initial = initial;
    c.auth = Auth::pass("1111");
    c
}

struct Node {
    name: String,
    inst: Instance,
    /// Crashed nodes neither send nor receive nor run timers.
    up: bool,
}

/// Instances on one segment. Every delivered datagram takes `latency`.
struct Lab {
    nodes: Vec<Node>,
    now: Instant,
    latency: Duration,
    /// (deliver at, sequence, to node, meta, message)
    flight: Vec<(Instant, u64, usize, Meta, Vec<u8>)>,
    seq: u64,
    /// Pairs of node indexes that cannot reach each other.
    cut: Vec<(usize, usize)>,
    log: String,
    /// Whether to log every advert sent (long runs leave them out).
    log_sends: bool,
    /// (time, node, from, to, reason) of every state change.
    changes: Vec<(Instant, String, State, State)>,
}

impl Lab {
    fn new(cfgs: Vec<(&str, InstanceConfig)>) -> Lab {
        Lab {
            nodes: cfgs
                .into_iter()
                .map(|(n, c)| Node {
                    name: n.to_string(),
                    inst: Instance::new(c),
                    up: true,
                })
                .collect(),
            now: Instant::ZERO,
            latency: Duration::from_micros(100),
            flight: Vec::new(),
            seq: 0,
            cut: Vec::new(),
            log: String::new(),
            log_sends: true,
            changes: Vec::new(),
        }
    }

    fn idx(&self, name: &str) -> usize {
        self.nodes.iter().position(|n| n.name == name).unwrap()
    }

    fn input(&mut self, name: &str, input: Input<'_>) {
        let i = self.idx(name);
        let label = match input {
            Input::Start => "start".to_string(),
            Input::Timer => "timer".to_string(),
            Input::Advert { meta, .. } => format!("advert from {}", meta.src),
            Input::AuthHeader { meta, .. } => format!("ah from {}", meta.src),
            Input::Track { id, up } => format!("track {id} {}", if up { "up" } else { "down" }),
            Input::TrackValue { id, value } => format!("track {id} = {value}"),
            Input::Link { up } => format!("link {}", if up { "up" } else { "down" }),
            Input::AddressRemoved { addr, dev } => format!("{addr} removed from {dev}"),
            Input::Shutdown => "shutdown".to_string(),
        };
        if !matches!(input, Input::Timer | Input::Advert { .. }) {
            let _ = writeln!(self.log, "{} {} <- {label}", self.now, self.nodes[i].name);
        }
        let outs: Vec<Output> = self.nodes[i].inst.handle(self.now, input).collect();
        self.process(i, outs);
    }

    fn process(&mut self, i: usize, outs: Vec<Output>) {
        let name = self.nodes[i].name.clone();
        for o in outs {
            if let Output::Send(t) = &o {
                for j in 0..self.nodes.len() {
                    let reaches = j != i
                        && !self.cut.contains(&(i, j))
                        && !self.cut.contains(&(j, i))
                        && (t.dst.is_multicast() || self.nodes[j].inst.config().src == t.dst);
                    if reaches {
                        self.seq += 1;
                        let meta = Meta {
                            src: t.src,
                            dst: t.dst,
                            hop_limit: Some(255),
                        };
                        self.flight.push((
                            self.now + self.latency,
                            self.seq,
                            j,
                            meta,
                            t.message.clone(),
                        ));
                    }
                }
                if !self.log_sends {
                    continue;
                }
            }
            if let Output::Trace(crate::trace::Event::Vrrp(Event {
                kind: EventKind::State { from, to, .. },
                ..
            })) = &o
            {
                self.changes.push((self.now, name.clone(), *from, *to));
            }
            let _ = writeln!(self.log, "{} {} -> {o}", self.now, name);
        }
    }

    /// Runs every timer and delivery up to and including `until`.
    fn run_until(&mut self, until: Instant) {
        loop {
            let next_timer = self
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.up)
                .filter_map(|(i, n)| n.inst.next_deadline().map(|d| (d, i)))
                .min();
            let next_flight = self.flight.iter().map(|f| (f.0, f.1)).min();
            let t_timer = next_timer.map(|t| t.0);
            let t_flight = next_flight.map(|f| f.0);
            let t = match (t_timer, t_flight) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    None => break,
                },
            };
            if t > until {
                break;
            }
            self.now = t;
            if t_flight == Some(t) {
                let pos = self
                    .flight
                    .iter()
                    .position(|f| (f.0, f.1) == next_flight.unwrap())
                    .unwrap();
                let (_, _, j, meta, msg) = self.flight.remove(pos);
                if self.nodes[j].up {
                    let outs: Vec<Output> = self.nodes[j]
                        .inst
                        .handle(
                            t,
                            Input::Advert {
                                meta,
                                message: &msg,
                            },
                        )
                        .collect();
                    self.process(j, outs);
                }
            } else {
                let i = next_timer.unwrap().1;
                let outs: Vec<Output> = self.nodes[i].inst.handle(t, Input::Timer).collect();
                self.process(i, outs);
            }
        }
        self.now = until;
    }

    fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    /// Crash: the node stops sending, receiving and running timers.
    fn crash(&mut self, name: &str) {
        let i = self.idx(name);
        self.nodes[i].up = false;
        self.flight.retain(|f| f.2 != i);
        let _ = writeln!(self.log, "{} {name} <- crash", self.now);
    }

    /// Restart: a fresh instance with the same config, started.
    fn restart(&mut self, name: &str, cfg: InstanceConfig) {
        let i = self.idx(name);
        self.nodes[i].inst = Instance::new(cfg);
        self.nodes[i].up = true;
        self.input(name, Input::Start);
    }

    fn state(&self, name: &str) -> State {
        self.nodes[self.idx(name)].inst.state()
    }

    fn inst(&self, name: &str) -> &Instance {
        &self.nodes[self.idx(name)].inst
    }

    /// When `name` last entered `to`.
    fn entered(&self, name: &str, to: State) -> Option<Instant> {
        self.changes
            .iter()
            .rev()
            .find(|c| c.1 == name && c.3 == to)
            .map(|c| c.0)
    }

    /// When `name` last sent an advert before or at `t` (from the log).
    fn last_send_before(&self, name: &str, t: Instant) -> Instant {
        self.log
            .lines()
            .filter(|l| l.contains(&format!(" {name} -> send ")))
            .map(parse_time)
            .filter(|&x| x <= t)
            .max()
            .unwrap()
    }
}

fn parse_time(line: &str) -> Instant {
    let t = line
        .split_whitespace()
        .next()
        .unwrap()
        .trim_start_matches('+')
        .trim_end_matches('s');
    let (s, us) = t.split_once('.').unwrap();
    Instant::from_nanos(
        s.parse::<u64>().unwrap() * 1_000_000_000 + us.parse::<u64>().unwrap() * 1000,
    )
}

fn secs(s: f64) -> Instant {
    Instant::from_nanos((s * 1e9) as u64)
}

#[test]
fn owner_becomes_master_at_once() {
    let mut c = seed("lb1");
    c.priority = 255;
    let mut lab = Lab::new(vec![("lb1", c)]);
    lab.input("lb1", Input::Start);
    assert_eq!(lab.state("lb1"), State::Master);
    assert_eq!(lab.entered("lb1", State::Master), Some(Instant::ZERO));
    insta::assert_snapshot!(lab.log);
}

#[test]
fn state_master_below_owner_waits_master_down_interval() {
    let mut lab = Lab::new(vec![("lb1", seed("lb1"))]);
    lab.input("lb1", Input::Start);
    assert_eq!(lab.state("lb1"), State::Backup);
    lab.run_for(Duration::from_secs(10));
    // 3 s + (256 - 100) / 256 s = 3609.375 ms.
    assert_eq!(
        lab.entered("lb1", State::Master),
        Some(Instant::from_nanos(3_609_375_000))
    );
    insta::assert_snapshot!(lab.log);
}

/// The seed deployment: election, lb1 crash, lb2 takeover after exactly
/// 3648.4375 ms of silence, lb1 back and preempting.
#[test]
fn seed_crash_failover_and_preemption() {
    let mut lab = Lab::new(vec![("lb1", seed("lb1")), ("lb2", seed("lb2"))]);
    lab.input("lb1", Input::Start);
    lab.input("lb2", Input::Start);
    lab.run_until(secs(10.0));
    assert_eq!(
        (lab.state("lb1"), lab.state("lb2")),
        (State::Master, State::Backup)
    );

    lab.crash("lb1");
    lab.run_until(secs(20.0));
    assert_eq!(lab.state("lb2"), State::Master);
    let last_heard = lab.last_send_before("lb1", secs(10.0)) + lab.latency;
    let took_over = lab.entered("lb2", State::Master).unwrap();
    assert_eq!(took_over - last_heard, Duration::from_nanos(3_648_437_500));
    assert_eq!(lab.inst("lb2").stats().become_master, 1);

    lab.restart("lb1", seed("lb1"));
    lab.run_until(secs(30.0));
    assert_eq!(
        (lab.state("lb1"), lab.state("lb2")),
        (State::Master, State::Backup)
    );
    // lb1 ignores lb2's lower-priority adverts and takes over after its
    // own master-down interval: 3609.375 ms after restarting at 20 s.
    assert_eq!(
        lab.entered("lb1", State::Master),
        Some(Instant::from_nanos(23_609_375_000))
    );
    insta::assert_snapshot!(lab.log);
}

/// Graceful stop: the master's priority-0 advert makes the backup take
/// over after its skew only, 648.4375 ms.
#[test]
fn seed_graceful_stop_takes_skew_only() {
    let mut lab = Lab::new(vec![("lb1", seed("lb1")), ("lb2", seed("lb2"))]);
    lab.input("lb1", Input::Start);
    lab.input("lb2", Input::Start);
    lab.run_until(secs(10.0));
    lab.input("lb1", Input::Shutdown);
    let stop_sent = lab.now;
    lab.crash("lb1");
    lab.run_until(secs(12.0));
    let took_over = lab.entered("lb2", State::Master).unwrap();
    assert_eq!(
        took_over - (stop_sent + lab.latency),
        Duration::from_nanos(648_437_500)
    );
    assert_eq!(lab.inst("lb2").stats().priority_zero_received, 1);
    insta::assert_snapshot!(lab.log);
}

#[test]
fn equal_priority_resolves_to_higher_address() {
    let mut a = seed("lb1");
    let mut b = seed("lb2");
    a.initial = InitialState::Backup;
    b.priority = 100;
    let mut lab = Lab::new(vec![("lb1", a), ("lb2", b)]);
    lab.input("lb1", Input::Start);
    lab.input("lb2", Input::Start);
    lab.run_until(secs(10.0));
    // Both time out together and become master; lb1 (.150) hears lb2
    // (.151) at equal priority from a higher address and steps down.
    assert_eq!(
        (lab.state("lb1"), lab.state("lb2")),
        (State::Backup, State::Master)
    );
    insta::assert_snapshot!(lab.log);
}

/// RFC 9568: a master hearing a lower priority re-advertises at once,
/// so the lower-priority master (here after a partition heals) yields
/// without waiting an interval.
#[test]
fn master_hearing_lower_priority_readvertises_at_once() {
    let mut lab = Lab::new(vec![("lb1", seed("lb1")), ("lb2", seed("lb2"))]);
    lab.input("lb1", Input::Start);
    lab.input("lb2", Input::Start);
    lab.run_until(secs(10.0));
    lab.cut.push((0, 1));
    lab.run_until(secs(20.0));
    assert_eq!(
        (lab.state("lb1"), lab.state("lb2")),
        (State::Master, State::Master)
    );
    lab.log.clear();
    lab.cut.clear();
    lab.run_until(secs(22.0));
    assert_eq!(
        (lab.state("lb1"), lab.state("lb2")),
        (State::Master, State::Backup)
    );
    let seen = lab
        .log
        .lines()
        .position(|l| l.contains("lb1 -> trace vrrp/apache lower-priority-seen"))
        .unwrap();
    let next = lab.log.lines().nth(seen + 1).unwrap();
    assert!(
        next.contains("lb1 -> send") && next.contains("prio=100"),
        "{next}"
    );
    insta::assert_snapshot!(lab.log);
}

#[test]
fn nopreempt_returning_master_stays_backup() {
    let mut lab = Lab::new(vec![("lb1", seed("lb1")), ("lb2", seed("lb2"))]);
    lab.input("lb1", Input::Start);
    lab.input("lb2", Input::Start);
    lab.run_until(secs(10.0));
    lab.crash("lb1");
    lab.run_until(secs(20.0));
    let mut c = seed("lb1");
    c.preempt = false;
    lab.restart("lb1", c);
    lab.run_until(secs(40.0));
    assert_eq!(
        (lab.state("lb1"), lab.state("lb2")),
        (State::Backup, State::Master)
    );
}

#[test]
fn preempt_delay_holds_back_preemption() {
    let mut lab = Lab::new(vec![("lb1", seed("lb1")), ("lb2", seed("lb2"))]);
    lab.input("lb1", Input::Start);
    lab.input("lb2", Input::Start);
    lab.run_until(secs(10.0));
    lab.crash("lb1");
    lab.run_until(secs(20.0));
    let mut c = seed("lb1");
    c.preempt_delay = Duration::from_secs(10);
    lab.restart("lb1", c);
    lab.run_until(secs(29.0));
    assert_eq!(lab.state("lb1"), State::Backup);
    lab.run_until(secs(40.0));
    assert_eq!(lab.state("lb1"), State::Master);
    // The delay starts at the first lower-priority advert heard; adverts
    // keep resetting the timer until it ends; then the master-down
    // interval runs from the last accepted advert.
    let t = lab.entered("lb1", State::Master).unwrap();
    assert!(t > secs(30.0) && t < secs(34.0), "{t}");
}

/// Tracker weights move the priority of a running instance: the backup
/// gains 20 (110 > 100) and preempts; losing it again lets lb1 back.
#[test]
fn tracker_weight_moves_priority_without_restart() {
    let mut b = seed("lb2");
    b.trackers.push(TrackSpec {
        id: TrackerId::Script("chk".into()),
        weight: 20,
        reverse: false,
    });
    let mut lab = Lab::new(vec![("lb1", seed("lb1")), ("lb2", b)]);
    lab.input(
        "lb2",
        Input::Track {
            id: &TrackerId::Script("chk".into()),
            up: false,
        },
    );
    lab.input("lb1", Input::Start);
    lab.input("lb2", Input::Start);
    assert_eq!(lab.inst("lb2").priority(), 90);
    lab.run_until(secs(10.0));
    lab.input(
        "lb2",
        Input::Track {
            id: &TrackerId::Script("chk".into()),
            up: true,
        },
    );
    assert_eq!(lab.inst("lb2").priority(), 110);
    lab.run_until(secs(20.0));
    assert_eq!(
        (lab.state("lb1"), lab.state("lb2")),
        (State::Backup, State::Master)
    );
    lab.input(
        "lb2",
        Input::Track {
            id: &TrackerId::Script("chk".into()),
            up: false,
        },
    );
    lab.run_until(secs(30.0));
    assert_eq!(
        (lab.state("lb1"), lab.state("lb2")),
        (State::Master, State::Backup)
    );
    assert_eq!(lab.inst("lb2").stats().become_master, 1);
    insta::assert_snapshot!(lab.log);
}

#[test]
fn fault_on_link_down_and_back() {
    let mut lab = Lab::new(vec![("lb1", seed("lb1")), ("lb2", seed("lb2"))]);
    lab.input("lb1", Input::Start);
    lab.input("lb2", Input::Start);
    lab.run_until(secs(10.0));
    lab.input("lb1", Input::Link { up: false });
    assert_eq!(lab.state("lb1"), State::Fault);
    assert!(!lab.inst("lb1").holds_vips());
    lab.run_until(secs(12.0));
    // The fault sent priority 0: lb2 took over after its skew.
    assert_eq!(lab.state("lb2"), State::Master);
    lab.input("lb1", Input::Link { up: true });
    assert_eq!(lab.state("lb1"), State::Backup);
    lab.run_until(secs(20.0));
    assert_eq!(
        (lab.state("lb1"), lab.state("lb2")),
        (State::Master, State::Backup)
    );
    insta::assert_snapshot!(lab.log);
}

#[test]
fn weight_zero_tracker_down_means_fault() {
    let mut c = seed("lb1");
    c.trackers.push(TrackSpec {
        id: TrackerId::Interface("eth1".into()),
        weight: 0,
        reverse: false,
    });
    let mut lab = Lab::new(vec![("lb1", c)]);
    lab.input(
        "lb1",
        Input::Track {
            id: &TrackerId::Interface("eth1".into()),
            up: false,
        },
    );
    lab.input("lb1", Input::Start);
    assert_eq!(lab.state("lb1"), State::Fault);
    lab.input(
        "lb1",
        Input::Track {
            id: &TrackerId::Interface("eth1".into()),
            up: true,
        },
    );
    assert_eq!(lab.state("lb1"), State::Backup);
}

#[test]
fn garp_bursts_on_becoming_master_and_after_delay() {
    let mut lab = Lab::new(vec![("lb1", seed("lb1"))]);
    lab.log_sends = false;
    lab.input("lb1", Input::Start);
    lab.run_until(secs(12.0));
    let announces: Vec<Instant> = lab
        .log
        .lines()
        .filter(|l| l.contains("-> announce 172.17.1.160"))
        .map(parse_time)
        .collect();
    let became = lab.entered("lb1", State::Master).unwrap();
    assert_eq!(announces.len(), 10);
    assert!(announces[..5].iter().all(|&t| t == became));
    assert!(
        announces[5..]
            .iter()
            .all(|&t| t == became + Duration::from_secs(5))
    );
    insta::assert_snapshot!(lab.log);
}

#[test]
fn garp_interval_spaces_announcements() {
    let mut c = seed("lb1");
    c.priority = 255;
    c.garp.interval = Duration::from_millis(10);
    c.garp.master_delay = Duration::ZERO;
    let mut lab = Lab::new(vec![("lb1", c)]);
    lab.log_sends = false;
    lab.input("lb1", Input::Start);
    lab.run_until(secs(1.0));
    let announces: Vec<Instant> = lab
        .log
        .lines()
        .filter(|l| l.contains("-> announce"))
        .map(parse_time)
        .collect();
    assert_eq!(
        announces,
        (0..5)
            .map(|i| Instant::from_millis(10 * i))
            .collect::<Vec<_>>()
    );
}

#[test]
fn unicast_peers_get_one_advert_each() {
    let mut a = seed("lb1");
    a.priority = 255;
    a.unicast_peers = vec![ip("172.17.1.151"), ip("172.17.1.152")];
    a.interval = Interval::Centiseconds(100);
    let mut lab = Lab::new(vec![("lb1", a)]);
    lab.input("lb1", Input::Start);
    let sends: Vec<&str> = lab.log.lines().filter(|l| l.contains("-> send")).collect();
    assert_eq!(sends.len(), 2);
    assert!(sends[0].contains("-> 172.17.1.151") && sends[1].contains("-> 172.17.1.152"));
}

#[test]
fn unicast_pair_fails_over() {
    let mut a = seed("lb1");
    let mut b = seed("lb2");
    a.unicast_peers = vec![ip("172.17.1.151")];
    b.unicast_peers = vec![ip("172.17.1.150")];
    let mut lab = Lab::new(vec![("lb1", a), ("lb2", b)]);
    lab.input("lb1", Input::Start);
    lab.input("lb2", Input::Start);
    lab.run_until(secs(10.0));
    assert_eq!(
        (lab.state("lb1"), lab.state("lb2")),
        (State::Master, State::Backup)
    );
    lab.crash("lb1");
    lab.run_until(secs(20.0));
    assert_eq!(lab.state("lb2"), State::Master);
}

/// VRRPv3 with 10 ms adverts: the backup takes over 3 x 10 ms + skew
/// after the last advert, and learns the master's interval.
#[test]
fn v3_fast_adverts_failover() {
    let mut a = seed("lb1");
    let mut b = seed("lb2");
    a.interval = Interval::Centiseconds(1);
    b.interval = Interval::Centiseconds(1);
    a.auth = Auth::None;
    b.auth = Auth::None;
    let mut lab = Lab::new(vec![("lb1", a), ("lb2", b)]);
    lab.log_sends = false;
    lab.input("lb1", Input::Start);
    lab.input("lb2", Input::Start);
    lab.run_until(secs(1.0));
    lab.crash("lb1");
    let crash = lab.now;
    lab.run_until(secs(2.0));
    let last = lab.log.lines().count();
    let _ = last;
    let took_over = lab.entered("lb2", State::Master).unwrap();
    // (256 - 90) * 10 ms / 256 = 6.484375 ms skew; 36.484375 ms in all,
    // counted from the last advert delivered before the crash.
    let down = Duration::from_nanos(36_484_375);
    assert!(took_over - crash <= down && took_over - crash > down - Duration::from_millis(10));
}

#[test]
fn v3_backup_learns_master_interval() {
    let mut a = seed("lb1");
    let mut b = seed("lb2");
    a.interval = Interval::Centiseconds(50);
    b.interval = Interval::Centiseconds(100);
    a.auth = Auth::None;
    b.auth = Auth::None;
    let mut lab = Lab::new(vec![("lb1", a), ("lb2", b)]);
    lab.input("lb1", Input::Start);
    lab.input("lb2", Input::Start);
    lab.run_until(secs(10.0));
    assert_eq!(
        lab.inst("lb2").master_interval(),
        Interval::Centiseconds(50)
    );
    // 3 x 500 ms + 166 x 500 ms / 256.
    assert_eq!(
        lab.inst("lb2").master_down_interval(),
        Duration::from_nanos(1_824_218_750)
    );
}

#[test]
fn two_owners_resolve() {
    let mut a = seed("lb1");
    let mut b = seed("lb2");
    a.priority = 255;
    b.priority = 255;
    let mut lab = Lab::new(vec![("lb1", a), ("lb2", b)]);
    lab.input("lb1", Input::Start);
    lab.input("lb2", Input::Start);
    lab.run_until(secs(5.0));
    let masters = [lab.state("lb1"), lab.state("lb2")]
        .iter()
        .filter(|s| **s == State::Master)
        .count();
    assert_eq!(masters, 1);
}

// ----- validation, one reason at a time -----

fn advert_bytes(mutate: impl FnOnce(&mut Advert), src: &str, dst: &str) -> (Meta, Vec<u8>) {
    let mut a = Advert {
        version: Version::V2,
        vrid: 51,
        priority: 100,
        interval: Interval::Seconds(1),
        auth: Auth::pass("1111"),
        addresses: vec![ip("172.17.1.160")],
    };
    mutate(&mut a);
    let meta = Meta {
        src: ip(src),
        dst: ip(dst),
        hop_limit: Some(255),
    };
    let bytes = a.to_bytes(&ChecksumContext::new(meta.src, meta.dst));
    (meta, bytes)
}

fn check(meta: &Meta, bytes: &[u8]) -> Result<Advert, Reject> {
    validate(&seed("lb2"), meta, bytes)
}

#[test]
fn validation_reasons_are_distinct() {
    let (m, b) = advert_bytes(|_| {}, "172.17.1.150", "224.0.0.18");
    assert!(check(&m, &b).is_ok());

    let mut cases: BTreeMap<&str, Reject> = BTreeMap::new();
    let mut ttl = m;
    ttl.hop_limit = Some(64);
    cases.insert("ttl", check(&ttl, &b).unwrap_err());
    cases.insert(
        "own",
        check(
            &Meta {
                src: ip("172.17.1.151"),
                ..m
            },
            &b,
        )
        .unwrap_err(),
    );
    cases.insert("short", check(&m, &b[..b.len() - 1]).unwrap_err());
    let mut long = b.clone();
    long.push(0);
    cases.insert("long", check(&m, &long).unwrap_err());
    let (m3, b3) = advert_bytes(
        |a| {
            a.version = Version::V3;
            a.interval = Interval::Centiseconds(100);
            a.auth = Auth::None;
        },
        "172.17.1.150",
        "224.0.0.18",
    );
    cases.insert("version", check(&m3, &b3).unwrap_err());
    let (m, bad_auth) = advert_bytes(
        |a| a.auth = Auth::pass("2222"),
        "172.17.1.150",
        "224.0.0.18",
    );
    cases.insert("auth-failure", check(&m, &bad_auth).unwrap_err());
    let (m, none) = advert_bytes(|a| a.auth = Auth::None, "172.17.1.150", "224.0.0.18");
    cases.insert("auth-type", check(&m, &none).unwrap_err());
    let (m, other) = advert_bytes(
        |a| {
            a.auth = Auth::Other {
                kind: 7,
                data: [0; 8],
            }
        },
        "172.17.1.150",
        "224.0.0.18",
    );
    cases.insert("invalid-auth-type", check(&m, &other).unwrap_err());
    let (m, int) = advert_bytes(
        |a| a.interval = Interval::Seconds(2),
        "172.17.1.150",
        "224.0.0.18",
    );
    cases.insert("interval", check(&m, &int).unwrap_err());
    let (m, two) = advert_bytes(
        |a| a.addresses.push(ip("172.17.1.161")),
        "172.17.1.150",
        "224.0.0.18",
    );
    cases.insert("count", check(&m, &two).unwrap_err());
    let (m, wrong) = advert_bytes(
        |a| a.addresses = vec![ip("172.17.1.199")],
        "172.17.1.150",
        "224.0.0.18",
    );
    cases.insert("list", check(&m, &wrong).unwrap_err());
    let (m, mut cs) = advert_bytes(|_| {}, "172.17.1.150", "224.0.0.18");
    cs[2] ^= 1;
    cases.insert("checksum", check(&m, &cs).unwrap_err());
    let (m, mut ty) = advert_bytes(|_| {}, "172.17.1.150", "224.0.0.18");
    ty[0] = 0x22;
    crate::packet::vrrp::Packet::new_unchecked(&mut ty[..])
        .fill_checksum(Family::V4, &ChecksumContext::new(m.src, m.dst));
    cases.insert("type", check(&m, &ty).unwrap_err());
    let (m, uni) = advert_bytes(|_| {}, "172.17.1.150", "172.17.1.151");
    cases.insert("cast", check(&m, &uni).unwrap_err());
    let m6 = Meta {
        src: ip("fe80::1"),
        dst: ip("ff02::12"),
        hop_limit: Some(255),
    };
    cases.insert("family", check(&m6, &b).unwrap_err());

    let rendered: String = cases.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
    insta::assert_snapshot!(rendered);

    // Each reason lands in its own counter.
    let mut stats = Stats::default();
    for r in cases.values() {
        stats.count(r);
    }
    assert_eq!(
        stats.address_list_errors, 3,
        "count, list and cast share the RFC's address-list counter"
    );
    assert_eq!(stats.packet_length_errors, 2);
    for c in [
        stats.ttl_errors,
        stats.version_errors,
        stats.auth_failures,
        stats.auth_type_mismatch,
        stats.invalid_auth_type,
        stats.interval_errors,
        stats.checksum_errors,
        stats.invalid_type,
        stats.family_errors,
        stats.own_address,
    ] {
        assert_eq!(c, 1);
    }
}

#[test]
fn unicast_skips_ttl_check() {
    let mut c = seed("lb2");
    c.unicast_peers = vec![ip("172.17.1.150")];
    let (mut m, b) = advert_bytes(|_| {}, "172.17.1.150", "172.17.1.151");
    m.hop_limit = Some(63);
    assert!(validate(&c, &m, &b).is_ok());
}

#[test]
fn router_dispatches_by_vrid_and_counts_unknown() {
    let mut r = Router::new(vec![Instance::new(seed("lb2"))]);
    let _ = r
        .handle(Instant::ZERO, RouterEvent::All(Input::Start))
        .count();
    let (m, b) = advert_bytes(|a| a.vrid = 52, "172.17.1.150", "224.0.0.18");
    let message = RouterEvent::Message {
        interface: "eth0",
        datagram: crate::packet::ip::Datagram {
            meta: m,
            payload: &b,
            auth: None,
        },
    };
    assert_eq!(r.handle(Instant::ZERO, message).count(), 0);
    assert!(matches!(
        r.unrouted(),
        Some(Unrouted::UnknownVrid { vrid: 52, .. })
    ));
    assert_eq!(r.stats().unknown_vrid, 1);
    let (m, b) = advert_bytes(|_| {}, "172.17.1.150", "224.0.0.18");
    let d = crate::packet::ip::datagram(m.src, m.dst, &b);
    let datagram = |bytes| RouterEvent::Datagram {
        interface: "eth0",
        bytes,
    };
    let _ = r.handle(Instant::from_secs(1), datagram(&d)).count();
    assert_eq!(r.unrouted(), None);
    assert_eq!(r.instance("apache").unwrap().stats().adverts_received, 1);
    let _ = r
        .handle(Instant::from_secs(1), datagram(&[1, 2, 3]))
        .count();
    assert!(matches!(r.unrouted(), Some(Unrouted::Malformed(_))));
}

#[test]
fn ah_advert_on_an_instance_without_ah_is_a_type_mismatch() {
    let mut r = Router::new(vec![Instance::new(seed("lb2"))]);
    let _ = r
        .handle(Instant::ZERO, RouterEvent::All(Input::Start))
        .count();
    let (m, b) = advert_bytes(|_| {}, "172.17.1.150", "224.0.0.18");
    let mut d = crate::packet::ip::header(m.src, m.dst, 24 + b.len());
    d[9] = 51;
    let mut ah = vec![112u8, 4, 0, 0];
    ah.extend_from_slice(&[0; 20]);
    d.extend_from_slice(&ah);
    d.extend_from_slice(&b);
    let outs: Vec<String> = r
        .handle(
            Instant::ZERO,
            RouterEvent::Datagram {
                interface: "eth0",
                bytes: &d,
            },
        )
        .map(|(_, o)| o.to_string())
        .collect();
    assert_eq!(
        outs,
        vec!["trace vrrp/apache reject src=172.17.1.150 reason=ah-unexpected".to_string()]
    );
    assert_eq!(r.instance("apache").unwrap().stats().auth_type_mismatch, 1);
}

/// Both seed routers with `auth_type AH`, key `key`.
fn ah_seed(name: &str, key: &[u8; 8]) -> InstanceConfig {
    let mut c = seed(name);
    c.auth = Auth::Other {
        kind: 2,
        data: [0; 8],
    };
    c.ah_key = Some(*key);
    c
}

/// The first advert `r` sends once started and master, as a datagram.
fn first_sent(r: &mut Router, now: Instant) -> Vec<u8> {
    let mut t = now;
    for _ in 0..20 {
        let outs: Vec<_> = r
            .handle(t, RouterEvent::All(Input::Timer))
            .filter_map(|(_, o)| match o {
                Output::Send(x) => x.datagram,
                _ => None,
            })
            .collect();
        if let Some(d) = outs.into_iter().next() {
            return d;
        }
        t = r.next_deadline().expect("a deadline");
    }
    panic!("no advert sent");
}

#[test]
fn ah_adverts_are_signed_checked_and_not_replayed() {
    let key = *b"1111\0\0\0\0";
    let mut m = Router::new(vec![Instance::new(ah_seed("lb1", &key))]);
    let _ = m
        .handle(Instant::ZERO, RouterEvent::All(Input::Start))
        .count();
    let d = first_sent(&mut m, Instant::ZERO);
    let parsed = crate::packet::ip::parse(&d).unwrap();
    let auth = parsed.auth.expect("an authentication header");
    assert_eq!((auth.seq, d[9], d[4..6] != [0, 0]), (1, 51, true));
    let feed = |r: &mut Router, at: u64, d: &[u8]| -> Vec<String> {
        r.handle(
            Instant::from_secs(at),
            RouterEvent::Datagram {
                interface: "eth0",
                bytes: d,
            },
        )
        .map(|(_, o)| o.to_string())
        .filter(|o| o.contains("reject"))
        .collect()
    };
    // The backup with the same key accepts it, once.
    let mut b = Router::new(vec![Instance::new(ah_seed("lb2", &key))]);
    let _ = b
        .handle(Instant::ZERO, RouterEvent::All(Input::Start))
        .count();
    assert!(feed(&mut b, 1, &d).is_empty());
    assert_eq!(b.instances()[0].stats().adverts_received, 1);
    assert_eq!(
        feed(&mut b, 2, &d),
        ["trace vrrp/apache reject src=172.17.1.150 reason=ah-replay seq=1"]
    );
    // Another key, or one changed byte: refused.
    let mut w = Router::new(vec![Instance::new(ah_seed("lb2", b"2222\0\0\0\0"))]);
    let _ = w
        .handle(Instant::ZERO, RouterEvent::All(Input::Start))
        .count();
    assert_eq!(
        feed(&mut w, 1, &d),
        ["trace vrrp/apache reject src=172.17.1.150 reason=auth-failure"]
    );
    let mut t = d.clone();
    *t.last_mut().unwrap() ^= 0x01;
    let mut b2 = Router::new(vec![Instance::new(ah_seed("lb2", &key))]);
    let _ = b2
        .handle(Instant::ZERO, RouterEvent::All(Input::Start))
        .count();
    assert_eq!(
        feed(&mut b2, 1, &t),
        ["trace vrrp/apache reject src=172.17.1.150 reason=auth-failure"]
    );
    // A plain advert for an AH instance: a type mismatch.
    let (mm, bytes) = advert_bytes(|_| {}, "172.17.1.150", "224.0.0.18");
    let plain = crate::packet::ip::datagram(mm.src, mm.dst, &bytes);
    assert_eq!(
        feed(&mut b2, 2, &plain),
        ["trace vrrp/apache reject src=172.17.1.150 reason=auth-type-mismatch got=1 want=2"]
    );
}

/// The seed's keepalived.conf files resolve to what the tests above use.
#[test]
fn seed_configs_map_to_instance_configs() {
    for (name, file) in [
        (
            "lb1",
            include_str!("../../../scenarios/seed/lb1.keepalived.conf"),
        ),
        (
            "lb2",
            include_str!("../../../scenarios/seed/lb2.keepalived.conf"),
        ),
    ] {
        let parsed = crate::config::parse_str(name, file);
        let cfg = parsed.config.expect("seed config parses");
        let inst = &cfg.vrrp_instances[0];
        let src = seed(name).src;
        let mut got = InstanceConfig::from_config(&cfg, inst, src);
        let mut want = seed(name);
        // lb2's article config names its interface ens32.
        want.interface = got.interface.clone();
        assert_eq!(got.interface, if name == "lb1" { "eth0" } else { "ens32" });
        got.interface = want.interface.clone();
        assert_eq!(got, want, "{name}");
    }
}
