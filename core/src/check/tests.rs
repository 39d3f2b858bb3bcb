//! Engine timelines: a tiny driver answers probes from a model of the
//! servers, and the outputs are recorded with their times.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use super::*;
use crate::config::{Config, parse_str};
use crate::rng::Rng;
use crate::time::Instant;
use crate::trace;

/// How a server answers a probe sent at some time: after how long, what.
type Responder =
    Box<dyn FnMut(Instant, &ProbeKind, &ProbeTarget, Duration) -> (Duration, ProbeResult)>;

struct World {
    engine: Engine,
    now: Instant,
    /// (completion time, probe id) -> result.
    pending: BTreeMap<(Instant, ProbeId), ProbeResult>,
    respond: Responder,
    log: String,
    /// Every output, with its time.
    outputs: Vec<(Instant, Output)>,
    /// Log probe requests and results too (not only state changes).
    verbose: bool,
}

fn config(text: &str) -> Config {
    let p = parse_str("t.conf", text);
    p.config
        .unwrap_or_else(|| panic!("config does not parse: {:?}", p.diagnostics))
}

fn t(s: f64) -> Instant {
    Instant::from_nanos((s * 1e9).round() as u64)
}

impl World {
    fn new(conf: &str, opts: Options, respond: Responder) -> World {
        World {
            engine: Engine::new(&config(conf), Rng::new(1), opts),
            now: Instant::ZERO,
            pending: BTreeMap::new(),
            respond,
            log: String::new(),
            outputs: Vec::new(),
            verbose: true,
        }
    }

    fn input(&mut self, input: Input<'_>) {
        let outs: Vec<Output> = self.engine.handle(self.now, input).collect();
        for o in outs {
            self.record(o);
        }
    }

    fn record(&mut self, o: Output) {
        let now = self.now;
        match &o {
            Output::Probe {
                id,
                kind,
                target,
                timeout,
            } => {
                let (after, result) = (self.respond)(now, kind, target, *timeout);
                self.pending.insert((now + after, *id), result);
                if self.verbose {
                    let _ = writeln!(self.log, "{now} {o}");
                }
            }
            Output::Trace(trace::Event::Check(e)) => match e.kind {
                EventKind::Probe { .. } => {}
                EventKind::Result { .. } if !self.verbose => {}
                _ => {
                    let _ = writeln!(self.log, "{now} {e}");
                }
            },
            _ => {
                let _ = writeln!(self.log, "{now} {o}");
            }
        }
        self.outputs.push((now, o));
    }

    /// Runs every timer and probe completion up to and including `until`.
    fn run_until(&mut self, until: Instant) {
        loop {
            let next_done = self.pending.keys().next().map(|k| k.0);
            let next_timer = self.engine.next_deadline();
            let next = match (next_done, next_timer) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(n) => n,
                    None => break,
                },
            };
            if next > until {
                break;
            }
            self.now = next;
            if next_done == Some(next) {
                let (key, result) = self.pending.pop_first().unwrap();
                self.input(Input::ProbeDone { id: key.1, result });
            } else {
                self.input(Input::Timer);
            }
        }
        self.now = until;
    }

    fn verdicts(&self) -> Vec<(Instant, SocketAddr, bool)> {
        self.outputs
            .iter()
            .filter_map(|(at, o)| match o {
                Output::Verdict(v) => Some((*at, v.rs, v.alive)),
                _ => None,
            })
            .collect()
    }

    fn probe_times(&self) -> Vec<Instant> {
        self.outputs
            .iter()
            .filter_map(|(at, o)| matches!(o, Output::Probe { .. }).then_some(*at))
            .collect()
    }

    fn notifies(&self) -> Vec<String> {
        self.outputs
            .iter()
            .filter_map(|(at, o)| match o {
                Output::Notify(n) => Some(format!("{at} {} [{}]", n.event, n.command)),
                _ => None,
            })
            .collect()
    }
}

/// A TCP server that is up except during `down` (start, end) windows,
/// when it refuses (RST at once) or drops (the probe times out).
fn tcp_server(down: Vec<(f64, f64)>, refuse: bool) -> Responder {
    Box::new(move |at, _, _, timeout| {
        let is_down = down.iter().any(|&(a, b)| at >= t(a) && at < t(b));
        match (is_down, refuse) {
            (false, _) => (Duration::ZERO, ProbeResult::Connected),
            (true, true) => (Duration::ZERO, ProbeResult::Net(NetError::Refused)),
            (true, false) => (timeout, ProbeResult::Net(NetError::TimedOut)),
        }
    })
}

/// The reference deployment's virtual server (scenarios/seed), with a
/// fixed `warmup` so that the timeline is exact.
fn seed(warmup: &str) -> String {
    format!(
        "virtual_server 172.17.1.160 80 {{\n delay_loop 6\n lb_algo rr\n lb_kind DR\n \
         protocol TCP\n warmup {warmup}\n\
         real_server 172.17.1.152 80 {{\n weight 1\n TCP_CHECK {{\n connect_timeout 3\n \
         nb_get_retry 3\n delay_before_retry 3\n connect_port 80\n }}\n }}\n}}\n"
    )
}

const RS1: &str = "172.17.1.152:80";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn seed_tcp_check_refused_detection_time() {
    // rs1 refuses connections from 20 s to 60 s. Probes every 6 s from
    // 1 s: 1, 7, 13, 19 pass; 25 fails, then retries at 28, 31, 34: the
    // 4th consecutive failure (retry + 1) at 34 s takes it down, 9 s
    // (3 x delay_before_retry) after the first failed probe and 14 s
    // after it broke. Down, TCP_CHECK keeps its retry cycle: 40, 43, 46,
    // 49, then 55, 58, and 61 passes: back on the first success.
    let mut w = World::new(
        &seed("0"),
        Options::default(),
        tcp_server(vec![(20.0, 60.0)], true),
    );
    w.input(Input::Start);
    w.run_until(t(70.0));
    let probes: Vec<Instant> = w.probe_times();
    let want: Vec<Instant> = [1, 7, 13, 19, 25, 28, 31, 34, 40, 43, 46, 49, 55, 58, 61, 67]
        .iter()
        .map(|&s| t(s as f64))
        .collect();
    assert_eq!(probes, want);
    assert_eq!(
        w.verdicts(),
        vec![(t(34.0), addr(RS1), false), (t(61.0), addr(RS1), true)]
    );
    insta::assert_snapshot!(w.log);
}

#[test]
fn seed_tcp_check_blackholed_detection_time() {
    // rs1 drops everything from 20 s: each probe now takes its
    // connect_timeout (3 s) to fail, and the next starts 3 s after that.
    // Probes at 25, 31, 37, 43 fail at 28, 34, 40, 46: down at 46 s,
    // 21 s after the first failed probe. Worst case from the moment of
    // failure: delay_loop + retry * delay_before_retry + (retry + 1) *
    // connect_timeout = 6 + 9 + 12 = 27 s.
    let mut w = World::new(
        &seed("0"),
        Options::default(),
        tcp_server(vec![(20.0, 200.0)], false),
    );
    w.input(Input::Start);
    w.run_until(t(50.0));
    assert_eq!(w.verdicts(), vec![(t(46.0), addr(RS1), false)]);
    let probes = w.probe_times();
    assert_eq!(&probes[4..], &[t(25.0), t(31.0), t(37.0), t(43.0)]);
    // Every probe carries the connect_timeout.
    assert!(w.outputs.iter().all(|(_, o)| match o {
        Output::Probe { timeout, .. } => *timeout == Duration::from_secs(3),
        _ => true,
    }));
}

#[test]
fn first_failure_is_enough_at_start() {
    // keepalived starts a checker with its retry count used up: a server
    // that is down from the start is removed at the first failed probe.
    let mut w = World::new(
        &seed("0"),
        Options::default(),
        tcp_server(vec![(0.0, 100.0)], true),
    );
    w.input(Input::Start);
    w.run_until(t(2.0));
    assert_eq!(w.verdicts(), vec![(t(1.0), addr(RS1), false)]);
}

#[test]
fn warmup_draws_the_first_probe_from_the_seeded_rng() {
    // Default warmup is the delay_loop: the first probe comes
    // BOOTSTRAP_DELAY + U[0, 6 s] after start, the same for the same seed.
    let first = |seed: u64| {
        let mut e = Engine::new(&config(&seed_default()), Rng::new(seed), Options::default());
        let _ = e.handle(Instant::ZERO, Input::Start).count();
        e.next_deadline().unwrap()
    };
    let a = first(1);
    assert_eq!(a, first(1));
    let all: Vec<Instant> = (0..50).map(first).collect();
    assert!(all.iter().all(|&d| d >= t(1.0) && d <= t(7.0)), "{all:?}");
    let distinct: std::collections::BTreeSet<_> = all.iter().collect();
    assert!(distinct.len() > 40, "warmup is not spread: {all:?}");
    // warmup 0: exactly the bootstrap delay.
    let mut e = Engine::new(&config(&seed("0")), Rng::new(9), Options::default());
    let _ = e.handle(Instant::ZERO, Input::Start).count();
    assert_eq!(e.next_deadline(), Some(Instant::ZERO + BOOTSTRAP_DELAY));
}

fn seed_default() -> String {
    seed("6").replace(" warmup 6\n", "")
}

#[test]
fn warmup_spreads_the_second_server_independently() {
    // Two real servers, each its own checker: each draws its own delay.
    let conf = seed_default().replace(
        "}\n}\n",
        "}\n real_server 172.17.1.153 80 {\n weight 1\n TCP_CHECK {\n connect_timeout 3\n }\n }\n}\n",
    );
    let mut w = World::new(&conf, Options::default(), tcp_server(vec![], true));
    w.input(Input::Start);
    w.run_until(t(7.0));
    let p = w.probe_times();
    assert_eq!(p.len(), 2);
    assert_ne!(p[0], p[1]);
}

#[test]
fn alpha_starts_down_and_first_result_decides() {
    let conf = seed("0")
        .replace(" warmup 0\n", " warmup 0\n alpha\n")
        .replace(
            " weight 1\n",
            " weight 1\n notify_up \"/bin/up rs1\"\n notify_down \"/bin/down rs1\"\n",
        );
    // Passing server: down until the first probe, then up with notify_up.
    let mut w = World::new(&conf, Options::default(), tcp_server(vec![], true));
    let vs = w.engine.health().virtual_servers[0].id.clone();
    assert!(!w.engine.health().real_server(&vs, addr(RS1)).unwrap().alive);
    w.input(Input::Start);
    w.run_until(t(2.0));
    assert_eq!(w.verdicts(), vec![(t(1.0), addr(RS1), true)]);
    assert_eq!(
        w.notifies(),
        vec!["+0001.000000s rs-up vs=172.17.1.160:80/tcp rs=172.17.1.152:80 [/bin/up rs1]"]
    );
    // Failing server: stays down, and keepalived runs notify_down once
    // for the first (confirming) result.
    let mut w = World::new(
        &conf,
        Options::default(),
        tcp_server(vec![(0.0, 100.0)], true),
    );
    w.input(Input::Start);
    w.run_until(t(20.0));
    assert_eq!(w.verdicts(), vec![]);
    assert_eq!(
        w.notifies(),
        vec!["+0001.000000s rs-down vs=172.17.1.160:80/tcp rs=172.17.1.152:80 [/bin/down rs1]"]
    );
    // Without alpha, a passing first result notifies nothing.
    let conf = conf.replace(" alpha\n", "");
    let mut w = World::new(&conf, Options::default(), tcp_server(vec![], true));
    w.input(Input::Start);
    w.run_until(t(20.0));
    assert!(w.notifies().is_empty());
    assert!(w.verdicts().is_empty());
}

/// `n` real servers of weight 1 with TCP_CHECK (retry 0, so each failure
/// counts), `quorum`, `hysteresis`, quorum scripts.
fn quorum_conf_n(n: u32, quorum: u32, hysteresis: u32, extra: &str) -> String {
    let mut s = format!(
        "virtual_server 192.0.2.10 80 {{\n protocol TCP\n delay_loop 1\n warmup 0\n \
         quorum {quorum}\n hysteresis {hysteresis}\n quorum_up \"/bin/qup\"\n \
         quorum_down \"/bin/qdown\"\n{extra}"
    );
    for i in 1..=n {
        let _ = write!(
            s,
            " real_server 198.51.100.{i} 80 {{\n weight 1\n TCP_CHECK {{\n retry 0\n }}\n }}\n"
        );
    }
    s.push_str("}\n");
    s
}

/// Three servers, quorum 2, hysteresis 1.
fn quorum_conf(extra: &str) -> String {
    quorum_conf_n(3, 2, 1, extra)
}

/// Servers answer from a per-address schedule of down windows.
fn per_server(windows: Vec<(&'static str, f64, f64)>) -> Responder {
    Box::new(move |at, _, target, _| {
        let dst = target.dst().unwrap().ip().to_string();
        let down = windows
            .iter()
            .any(|&(ip, a, b)| ip == dst && at >= t(a) && at < t(b));
        if down {
            (Duration::ZERO, ProbeResult::Net(NetError::Refused))
        } else {
            (Duration::ZERO, ProbeResult::Connected)
        }
    })
}

#[test]
fn quorum_with_hysteresis_and_scripts() {
    // Four servers of weight 1, quorum 3, hysteresis 1. Start: live
    // weight 4 >= 3 + 1: up. Up, it is lost below 3 - 1 = 2: not at 3
    // or 2 live, only at 1. Down, it is regained at 3 + 1 = 4: not at 2
    // or 3 live.
    let windows = vec![
        ("198.51.100.1", 2.0, 20.0),
        ("198.51.100.2", 3.0, 30.0),
        ("198.51.100.3", 4.0, 40.0),
        ("198.51.100.4", 0.0, 0.0),
    ];
    let mut w = World::new(
        &quorum_conf_n(4, 3, 1, ""),
        Options::default(),
        per_server(windows),
    );
    w.verbose = false;
    assert!(w.engine.health().virtual_servers[0].quorum_up);
    w.input(Input::Start);
    w.run_until(t(45.0));
    insta::assert_snapshot!(w.log);
    let q: Vec<(Instant, bool)> = w
        .outputs
        .iter()
        .filter_map(|(at, o)| match o {
            Output::Quorum(q) => Some((*at, q.up)),
            _ => None,
        })
        .collect();
    assert_eq!(q, vec![(t(4.0), false), (t(40.0), true)]);
    assert_eq!(
        w.notifies(),
        vec![
            "+0004.000000s quorum-down vs=192.0.2.10:80/tcp [/bin/qdown]",
            "+0040.000000s quorum-up vs=192.0.2.10:80/tcp [/bin/qup]",
        ]
    );
    // Without hysteresis the same run flips at 3 live both ways.
    let windows = vec![("198.51.100.1", 2.0, 20.0), ("198.51.100.2", 3.0, 30.0)];
    let mut w = World::new(
        &quorum_conf_n(4, 3, 0, ""),
        Options::default(),
        per_server(windows),
    );
    w.input(Input::Start);
    w.run_until(t(45.0));
    let q: Vec<(Instant, bool)> = w
        .outputs
        .iter()
        .filter_map(|(at, o)| match o {
            Output::Quorum(q) => Some((*at, q.up)),
            _ => None,
        })
        .collect();
    assert_eq!(q, vec![(t(3.0), false), (t(20.0), true)]);
}

#[test]
fn sorry_server_replaces_the_pool_while_quorum_is_lost() {
    let conf = quorum_conf(" sorry_server 203.0.113.9 80\n");
    let windows = vec![
        ("198.51.100.1", 0.0, 20.0),
        ("198.51.100.2", 0.0, 20.0),
        ("198.51.100.3", 0.0, 20.0),
    ];
    let mut w = World::new(&conf, Options::default(), per_server(windows));
    w.verbose = false;
    w.input(Input::Start);
    w.run_until(t(1.0));
    let h = w.engine.health();
    assert!(!h.virtual_servers[0].quorum_up);
    assert!(h.virtual_servers[0].sorry_active());
    w.run_until(t(25.0));
    let h = w.engine.health();
    assert!(h.virtual_servers[0].quorum_up);
    assert!(!h.virtual_servers[0].sorry_active());
    insta::assert_snapshot!(w.log);
}

#[test]
fn sorry_server_at_start_when_quorum_is_not_met() {
    // alpha servers start down: keepalived starts with quorum down and
    // puts the sorry server in at once.
    let conf = quorum_conf(" sorry_server 203.0.113.9 80\n alpha\n");
    let mut w = World::new(&conf, Options::default(), per_server(vec![]));
    w.input(Input::Start);
    let q: Vec<&Output> = w
        .outputs
        .iter()
        .map(|(_, o)| o)
        .filter(|o| matches!(o, Output::Quorum(_)))
        .collect();
    assert_eq!(q.len(), 1);
    assert_eq!(
        q[0].to_string(),
        "quorum 192.0.2.10:80/tcp down sorry-in=203.0.113.9:80"
    );
    assert_eq!(
        w.engine.health().to_string(),
        "vs 192.0.2.10:80/tcp quorum=down sorry=203.0.113.9:80(active)\n\
         \x20 rs 198.51.100.1:80 dead weight=1\n\
         \x20 rs 198.51.100.2:80 dead weight=1\n\
         \x20 rs 198.51.100.3:80 dead weight=1\n"
    );
    // The three servers come up at 1 s; quorum comes back with the third.
    w.run_until(t(1.0));
    assert!(w.engine.health().virtual_servers[0].quorum_up);
    assert_eq!(
        w.engine.health().to_string(),
        "vs 192.0.2.10:80/tcp quorum=up sorry=203.0.113.9:80\n\
         \x20 rs 198.51.100.1:80 alive weight=1\n\
         \x20 rs 198.51.100.2:80 alive weight=1\n\
         \x20 rs 198.51.100.3:80 alive weight=1\n"
    );
}

#[test]
fn inhibit_on_failure_keeps_the_server_at_weight_zero() {
    let conf = seed("0").replace(" weight 1\n", " weight 5\n inhibit_on_failure\n");
    let mut w = World::new(
        &conf,
        Options::default(),
        tcp_server(vec![(0.0, 100.0)], true),
    );
    w.input(Input::Start);
    w.run_until(t(2.0));
    let v: Vec<&RsVerdict> = w
        .outputs
        .iter()
        .filter_map(|(_, o)| match o {
            Output::Verdict(v) => Some(v),
            _ => None,
        })
        .collect();
    assert_eq!(v.len(), 1);
    assert!(!v[0].alive && v[0].inhibit);
    let rs = w.engine.health().virtual_servers[0].real_servers[0];
    assert_eq!(rs.pool_weight(), Some(0));
    // Without inhibit_on_failure it leaves the pool.
    let mut w = World::new(
        &seed("0"),
        Options::default(),
        tcp_server(vec![(0.0, 100.0)], true),
    );
    w.input(Input::Start);
    w.run_until(t(2.0));
    assert_eq!(
        w.engine.health().virtual_servers[0].real_servers[0].pool_weight(),
        None
    );
}

#[test]
fn omega_runs_down_scripts_on_shutdown() {
    let conf =
        quorum_conf(" omega\n").replace(" weight 1\n", " weight 1\n notify_down \"/bin/rsdown\"\n");
    let mut w = World::new(
        &conf,
        Options::default(),
        per_server(vec![("198.51.100.3", 0.0, 100.0)]),
    );
    w.input(Input::Start);
    w.run_until(t(5.0));
    w.outputs.clear();
    w.input(Input::Shutdown);
    assert_eq!(
        w.notifies(),
        vec![
            "+0005.000000s rs-down vs=192.0.2.10:80/tcp rs=198.51.100.1:80 [/bin/rsdown]",
            "+0005.000000s rs-down vs=192.0.2.10:80/tcp rs=198.51.100.2:80 [/bin/rsdown]",
            "+0005.000000s quorum-down vs=192.0.2.10:80/tcp [/bin/qdown]",
        ]
    );
    assert!(w.outputs.iter().all(|(_, o)| match o {
        Output::Notify(n) => n.stopping,
        _ => true,
    }));
    assert_eq!(w.engine.next_deadline(), None);
    // Without omega: nothing is run.
    let conf = conf.replace(" omega\n", "");
    let mut w = World::new(&conf, Options::default(), per_server(vec![]));
    w.input(Input::Start);
    w.run_until(t(5.0));
    w.outputs.clear();
    w.input(Input::Shutdown);
    assert!(w.notifies().is_empty());
}

#[test]
fn ha_suspend_probes_only_while_master() {
    let conf = seed("0").replace(" protocol TCP\n", " protocol TCP\n ha_suspend\n");
    let mut w = World::new(
        &conf,
        Options::default(),
        tcp_server(vec![(0.0, 1000.0)], true),
    );
    w.input(Input::Start);
    w.run_until(t(20.0));
    // Timers run (1, 7, 13, 19) but no probe goes out.
    assert!(w.probe_times().is_empty());
    assert!(w.verdicts().is_empty());
    w.input(Input::Mastership { master: true });
    w.run_until(t(30.0));
    // The next tick (25 s) probes; the server is down: removed at once
    // (its retry count is still the initial one).
    assert_eq!(w.probe_times(), vec![t(25.0)]);
    assert_eq!(w.verdicts(), vec![(t(25.0), addr(RS1), false)]);
    w.input(Input::Mastership { master: false });
    let n = w.probe_times().len();
    w.run_until(t(60.0));
    assert_eq!(w.probe_times().len(), n);
    // A virtual server without ha_suspend ignores mastership.
    let mut w = World::new(&seed("0"), Options::default(), tcp_server(vec![], true));
    w.input(Input::Start);
    w.run_until(t(2.0));
    assert_eq!(w.probe_times(), vec![t(1.0)]);
}

#[test]
fn identical_checks_run_once_and_fan_out() {
    // The same real server and TCP_CHECK under two virtual servers: one
    // probe per round, a verdict for each virtual server.
    let conf = format!(
        "{}{}",
        seed("0"),
        seed("0").replace("172.17.1.160 80", "172.17.1.161 80")
    );
    let mut w = World::new(
        &conf,
        Options::default(),
        tcp_server(vec![(10.0, 100.0)], true),
    );
    assert_eq!(w.engine.checker_count(), 1);
    w.input(Input::Start);
    w.run_until(t(30.0));
    assert_eq!(w.probe_times()[..4], [t(1.0), t(7.0), t(13.0), t(16.0)]);
    let v: Vec<String> = w
        .outputs
        .iter()
        .filter(|(_, o)| matches!(o, Output::Verdict(_)))
        .map(|(at, o)| format!("{at} {o}"))
        .collect();
    assert_eq!(
        v,
        vec![
            "+0022.000000s verdict 172.17.1.160:80/tcp 172.17.1.152:80 down weight=1 cause=TCP_CHECK:refused",
            "+0022.000000s verdict 172.17.1.161:80/tcp 172.17.1.152:80 down weight=1 cause=TCP_CHECK:refused",
        ]
    );
    // A different connect_timeout is a different checker.
    let conf = format!(
        "{}{}",
        seed("0"),
        seed("0")
            .replace("172.17.1.160 80", "172.17.1.161 80")
            .replace("connect_timeout 3", "connect_timeout 4")
    );
    let e = Engine::new(&config(&conf), Rng::new(1), Options::default());
    assert_eq!(e.checker_count(), 2);
}

#[test]
fn server_is_alive_only_when_all_its_checkers_pass() {
    // TCP on port 80 and PING: either failing takes the server down; it
    // comes back when both pass again.
    let conf = "virtual_server 192.0.2.10 80 {\n protocol TCP\n delay_loop 2\n warmup 0\n \
                real_server 198.51.100.1 80 {\n TCP_CHECK {\n retry 0\n }\n \
                PING_CHECK {\n retry 0\n }\n }\n}\n";
    let respond: Responder = Box::new(|at, kind, _, _| {
        let tcp_down = at >= t(4.0) && at < t(12.0);
        let ping_down = at >= t(8.0) && at < t(16.0);
        let r = match kind {
            ProbeKind::Tcp if tcp_down => ProbeResult::Net(NetError::Refused),
            ProbeKind::Tcp => ProbeResult::Connected,
            ProbeKind::Icmp if ping_down => ProbeResult::Net(NetError::TimedOut),
            ProbeKind::Icmp => ProbeResult::EchoReply,
            _ => unreachable!(),
        };
        (Duration::ZERO, r)
    });
    let mut w = World::new(conf, Options::default(), respond);
    w.verbose = false;
    w.input(Input::Start);
    w.run_until(t(20.0));
    assert_eq!(
        w.verdicts(),
        vec![
            (t(5.0), addr("198.51.100.1:80"), false),
            (t(17.0), addr("198.51.100.1:80"), true)
        ]
    );
    insta::assert_snapshot!(w.log);
}

#[test]
fn misc_dynamic_sets_weight_from_exit_codes() {
    // Exit 0: configured weight (3); 12: weight 10; 1: down.
    let conf = "virtual_server 192.0.2.10 80 {\n protocol TCP\n delay_loop 5\n warmup 0\n \
                real_server 198.51.100.1 80 {\n weight 3\n MISC_CHECK {\n \
                misc_path \"/usr/local/bin/load 198.51.100.1\"\n misc_timeout 2\n misc_dynamic\n }\n }\n}\n";
    let respond: Responder = Box::new(|at, kind, target, timeout| {
        assert_eq!(*target, ProbeTarget::Local);
        assert_eq!(timeout, Duration::from_secs(2));
        assert!(matches!(kind, ProbeKind::Misc { dynamic: true, .. }));
        let code = if at < t(10.0) {
            0
        } else if at < t(20.0) {
            12
        } else if at < t(30.0) {
            1
        } else {
            0
        };
        // Each run takes 500 ms; the next starts delay_loop after the
        // start of this one.
        (
            Duration::from_millis(500),
            ProbeResult::Exit(ScriptExit::Code(code)),
        )
    });
    let mut w = World::new(conf, Options::default(), respond);
    w.verbose = false;
    w.input(Input::Start);
    w.run_until(t(40.0));
    assert_eq!(
        w.probe_times(),
        [1, 6, 11, 16, 21, 26, 31, 36].map(|s| t(f64::from(s)))
    );
    insta::assert_snapshot!(w.log);
    let rs = w.engine.health().virtual_servers[0].real_servers[0];
    assert!(rs.alive);
    assert_eq!(rs.weight, 3);
}

#[test]
fn http_get_checks_each_url_in_turn_with_digest() {
    // Two URLs, the second with a digest; retry 1, delay_before_retry 2,
    // delay_loop 5. /health breaks from 20 s to 40 s.
    let body = b"ok\n";
    let digest = verdict::http::hex(
        &verdict::http::genhash(&match ProbeResult::http_response(200, body) {
            ProbeResult::Http(r) => r,
            _ => unreachable!(),
        })
        .unwrap(),
    );
    let conf = format!(
        "virtual_server 192.0.2.10 80 {{\n protocol TCP\n delay_loop 5\n warmup 0\n \
         real_server 198.51.100.1 8080 {{\n HTTP_GET {{\n url {{\n path /\n }}\n \
         url {{\n path /health\n digest {digest}\n }}\n retry 1\n delay_before_retry 2\n \
         virtualhost www.example.com\n }}\n }}\n}}\n"
    );
    let respond: Responder = Box::new(move |at, kind, _, _| {
        let ProbeKind::Http(get) = kind else {
            unreachable!()
        };
        assert!(
            get.request()
                .starts_with(&format!("GET {} HTTP/1.0\r\n", get.path))
        );
        assert!(get.request().ends_with("Host: www.example.com\r\n\r\n"));
        let broken = get.path == "/health" && at >= t(20.0) && at < t(40.0);
        let r = if broken {
            ProbeResult::http_response(200, b"degraded\n")
        } else {
            ProbeResult::http_response(200, b"ok\n")
        };
        (Duration::from_millis(10), r)
    });
    let mut w = World::new(&conf, Options::default(), respond);
    w.input(Input::Start);
    w.run_until(t(60.0));
    insta::assert_snapshot!(w.log);
}

#[test]
fn ping_check_does_not_retry_while_down() {
    // PING_CHECK (like UDP and DNS) stops its retry cycle once down and
    // probes every delay_loop, unlike TCP_CHECK.
    let conf = "virtual_server 192.0.2.10 80 {\n protocol TCP\n delay_loop 10\n warmup 0\n \
                real_server 198.51.100.1 80 {\n PING_CHECK {\n retry 2\n delay_before_retry 1\n }\n }\n}\n";
    let respond: Responder = Box::new(|at, _, _, _| {
        if at >= t(5.0) {
            (Duration::ZERO, ProbeResult::Net(NetError::TimedOut))
        } else {
            (Duration::ZERO, ProbeResult::EchoReply)
        }
    });
    let mut w = World::new(conf, Options::default(), respond);
    w.input(Input::Start);
    w.run_until(t(50.0));
    // 1 passes; 11 fails, retries at 12 and 13 (down), then 23, 33, 43.
    assert_eq!(
        w.probe_times(),
        [1, 11, 12, 13, 23, 33, 43].map(|s| t(f64::from(s)))
    );
    assert_eq!(
        w.verdicts(),
        vec![(t(13.0), addr("198.51.100.1:80"), false)]
    );
}

#[test]
fn smtp_check_needs_retry_plus_one_failures_even_at_start() {
    let conf = "virtual_server 192.0.2.10 25 {\n protocol TCP\n delay_loop 10\n warmup 0\n \
                real_server 198.51.100.1 25 {\n SMTP_CHECK {\n retry 2\n delay_before_retry 1\n }\n }\n}\n";
    let respond: Responder = Box::new(|_, kind, _, _| {
        assert!(matches!(kind, ProbeKind::Smtp { .. }));
        (
            Duration::ZERO,
            ProbeResult::Smtp {
                greeting: 421,
                helo: 0,
            },
        )
    });
    let mut w = World::new(conf, Options::default(), respond);
    w.input(Input::Start);
    w.run_until(t(24.0));
    // 1, 2, 3 fail: down at 3; a new round at 13 retries again.
    assert_eq!(
        w.probe_times(),
        [1, 2, 3, 13, 14, 15].map(|s| t(f64::from(s)))
    );
    assert_eq!(w.verdicts(), vec![(t(3.0), addr("198.51.100.1:25"), false)]);
}

#[test]
fn rise_and_fall_extension() {
    // fall 2 replaces retry 3; rise 3 needs three passes, spaced by
    // delay_before_retry, to come back.
    let opts = Options {
        ext: Extensions {
            rise: 3,
            fall: Some(2),
        },
        ..Options::default()
    };
    let mut w = World::new(&seed("0"), opts, tcp_server(vec![(20.0, 40.0)], true));
    w.verbose = false;
    w.input(Input::Start);
    w.run_until(t(70.0));
    // 25 fails, 28 fails: down (2 failures). Down: 34, 37 fail (cycle),
    // 43 passes (1/3), 46 (2/3), 49 (3/3): up.
    assert_eq!(
        w.verdicts(),
        vec![(t(28.0), addr(RS1), false), (t(49.0), addr(RS1), true)]
    );
    assert_eq!(
        w.probe_times(),
        [1, 7, 13, 19, 25, 28, 34, 37, 43, 46, 49, 55, 61, 67].map(|s| t(f64::from(s)))
    );
    // Defaults change nothing: the same run as keepalived's.
    let mut a = World::new(
        &seed("0"),
        Options::default(),
        tcp_server(vec![(20.0, 40.0)], true),
    );
    a.input(Input::Start);
    a.run_until(t(70.0));
    assert_eq!(a.verdicts()[0], (t(34.0), addr(RS1), false));
}

#[test]
fn stale_and_unknown_results_are_ignored() {
    let mut w = World::new(&seed("0"), Options::default(), tcp_server(vec![], true));
    w.input(Input::Start);
    w.input(Input::ProbeDone {
        id: ProbeId::from_raw(12345),
        result: ProbeResult::Connected,
    });
    assert!(w.log.contains("check stale-result id=12345"), "{}", w.log);
    assert_eq!(w.engine.next_deadline(), Some(t(1.0)));
}

#[test]
fn notify_scripts_on_every_change() {
    let conf = seed("0").replace(
        " weight 1\n",
        " weight 1\n notify_up \"/bin/up\"\n notify_down \"/bin/down\"\n",
    );
    let mut w = World::new(
        &conf,
        Options::default(),
        tcp_server(vec![(20.0, 60.0)], true),
    );
    w.input(Input::Start);
    w.run_until(t(70.0));
    assert_eq!(
        w.notifies(),
        vec![
            "+0034.000000s rs-down vs=172.17.1.160:80/tcp rs=172.17.1.152:80 [/bin/down]",
            "+0061.000000s rs-up vs=172.17.1.160:80/tcp rs=172.17.1.152:80 [/bin/up]",
        ]
    );
}

#[test]
fn reload_keeps_the_state_of_unchanged_checkers() {
    let conf = seed("0").replace(
            "}\n}\n",
            "}\n real_server 172.17.1.153 80 {\n weight 1\n notify_down /bin/gone\n TCP_CHECK {\n connect_timeout 3\n }\n }\n}\n"
        );
    let mut w = World::new(
        &conf,
        Options::default(),
        per_server(vec![("172.17.1.152", 0.0, 1000.0)]),
    );
    w.input(Input::Start);
    w.run_until(t(10.0));
    let vs = w.engine.health().virtual_servers[0].id.clone();
    assert!(!w.engine.health().real_server(&vs, addr(RS1)).unwrap().alive);
    // Same config: rs1 stays down, nothing changes, timers restart.
    let same = config(&conf);
    w.outputs.clear();
    w.input(Input::Reload(&same));
    assert!(w.verdicts().is_empty());
    assert!(!w.engine.health().real_server(&vs, addr(RS1)).unwrap().alive);
    assert_eq!(w.engine.next_deadline(), Some(t(11.0)));
    // rs2 removed (its notify_down runs), rs1's retry changed: its state
    // is carried over all the same.
    let smaller = config(&seed("0").replace("nb_get_retry 3", "retry 1"));
    w.outputs.clear();
    w.input(Input::Reload(&smaller));
    assert_eq!(
        w.notifies(),
        vec!["+0010.000000s rs-down vs=172.17.1.160:80/tcp rs=172.17.1.153:80 [/bin/gone]"]
    );
    assert!(!w.engine.health().real_server(&vs, addr(RS1)).unwrap().alive);
    assert!(
        w.log.contains("check reload kept=1 added=0 removed=1"),
        "{}",
        w.log
    );
}

#[test]
fn reload_brings_up_a_server_whose_failed_checker_is_gone() {
    // rs1 is down by its TCP_CHECK; the new config drops that checker:
    // no checker has failed, so keepalived brings it up at once.
    let conf = seed("0").replace(" weight 1\n", " weight 1\n notify_up /bin/up\n");
    let mut w = World::new(
        &conf,
        Options::default(),
        tcp_server(vec![(0.0, 1000.0)], true),
    );
    w.input(Input::Start);
    w.run_until(t(2.0));
    assert_eq!(w.verdicts(), vec![(t(1.0), addr(RS1), false)]);
    let bare = config(
        "virtual_server 172.17.1.160 80 {\n delay_loop 6\n lb_algo rr\n lb_kind DR\n protocol TCP\n \
         real_server 172.17.1.152 80 {\n weight 1\n notify_up /bin/up\n }\n}\n",
    );
    w.input(Input::Reload(&bare));
    assert_eq!(w.verdicts()[1], (t(2.0), addr(RS1), true));
    assert_eq!(
        w.notifies(),
        vec!["+0002.000000s rs-up vs=172.17.1.160:80/tcp rs=172.17.1.152:80 [/bin/up]"]
    );
    assert_eq!(w.engine.next_deadline(), None);
}

#[test]
fn health_drives_the_ipvs_table() {
    let conf_text = seed("0").replace(
        "}\n}\n",
        "}\n real_server 172.17.1.153 80 {\n weight 1\n TCP_CHECK {\n connect_timeout 3\n }\n }\n}\n",
    );
    let conf = config(&conf_text);
    let mut w = World::new(
        &conf_text,
        Options::default(),
        per_server(vec![("172.17.1.152", 0.0, 1000.0)]),
    );
    w.input(Input::Start);
    w.run_until(t(2.0));
    let h = w.engine.health();
    let table = crate::ipvs::desired(&conf, &h);
    let text = crate::ipvs::ipvsadm_ln(&table);
    assert!(!text.contains("172.17.1.152"), "{text}");
    assert!(text.contains("172.17.1.153:80"), "{text}");
    assert_eq!(crate::ipvs::desired(&conf, &w.engine.health()), table);
}

/// A virtual server whose only real server (weight 10, notify scripts)
/// has one FILE_CHECK following `tf` with `check` as its body.
fn file_conf(check: &str) -> String {
    format!(
        "track_file tf {{\n file /run/tf\n}}\n\
         virtual_server 10.0.0.1 80 {{\n lb_algo wrr\n lb_kind DR\n protocol TCP\n \
         real_server 192.0.2.201 80 {{\n weight 10\n notify_up /bin/up\n notify_down /bin/down\n \
         {check}\n }}\n}}\n"
    )
}

const FILE_RS: &str = "192.0.2.201:80";

fn file_rs(w: &World) -> RsHealth {
    w.engine.health().virtual_servers[0].real_servers[0]
}

fn no_probes() -> Responder {
    Box::new(|_, _, _, _| panic!("a FILE_CHECK sends no probe"))
}

#[test]
fn file_check_weight_zero_follows_the_file_without_probes() {
    let conf = file_conf("FILE_CHECK {\n track_file tf\n weight 0\n }");
    let mut w = World::new(&conf, Options::default(), no_probes());
    w.input(Input::Start);
    assert_eq!(w.engine.next_deadline(), None);
    assert!(file_rs(&w).alive);
    w.now = t(1.0);
    w.input(Input::TrackFile {
        name: "tf",
        value: 3,
    });
    w.now = t(2.0);
    w.input(Input::TrackFile {
        name: "tf",
        value: -1,
    });
    w.now = t(3.0);
    w.input(Input::TrackFile {
        name: "tf",
        value: 0,
    });
    // Another file changes nothing.
    w.input(Input::TrackFile {
        name: "other",
        value: 9,
    });
    assert_eq!(
        w.verdicts(),
        vec![
            (t(1.0), addr(FILE_RS), false),
            (t(3.0), addr(FILE_RS), true)
        ]
    );
    assert_eq!(
        w.notifies(),
        vec![
            "+0001.000000s rs-down vs=10.0.0.1:80/tcp rs=192.0.2.201:80 [/bin/down]",
            "+0003.000000s rs-up vs=10.0.0.1:80/tcp rs=192.0.2.201:80 [/bin/up]",
        ]
    );
    assert_eq!(file_rs(&w).weight, 10);
}

#[test]
fn file_check_value_before_start_sets_the_starting_state() {
    // keepalived reads the file before init_services: a weighted checker
    // starts with its weight applied, a weight-0 one down.
    let conf = file_conf("FILE_CHECK {\n track_file tf\n weight 3\n }");
    let mut w = World::new(&conf, Options::default(), no_probes());
    w.input(Input::TrackFile {
        name: "tf",
        value: 4,
    });
    w.input(Input::Start);
    assert!(w.verdicts().is_empty());
    assert_eq!(file_rs(&w).weight, 22);
    assert!(file_rs(&w).alive);

    let conf = file_conf("FILE_CHECK {\n track_file tf\n weight 0\n }");
    let mut w = World::new(&conf, Options::default(), no_probes());
    w.input(Input::TrackFile {
        name: "tf",
        value: 4,
    });
    w.input(Input::Start);
    assert!(!file_rs(&w).alive);
    assert!(w.notifies().is_empty());
}

#[test]
fn file_check_reverse_weight_zero_is_judged_without_reverse_at_start() {
    // keepalived 2.2.7 (check_file.c set_track_file_checkers_down,
    // ipwrapper.c init_service_rs): at start a non-zero value is a fault
    // and 0 is not, `reverse` or not; afterwards `reverse` makes 0 the
    // fault. So a reverse checker starting on 0 is up, and the first
    // change to non-zero (which leaves the "fault") changes nothing.
    let conf = file_conf("FILE_CHECK {\n track_file tf\n weight 0 reverse\n }");
    let mut w = World::new(&conf, Options::default(), no_probes());
    w.input(Input::Start);
    assert!(file_rs(&w).alive);
    w.now = t(1.0);
    w.input(Input::TrackFile {
        name: "tf",
        value: 5,
    });
    assert!(w.verdicts().is_empty());
    w.now = t(2.0);
    w.input(Input::TrackFile {
        name: "tf",
        value: 0,
    });
    assert_eq!(w.verdicts(), vec![(t(2.0), addr(FILE_RS), false)]);

    // Starting on 5: down, and going to 0 (the reverse fault) keeps it
    // down; 3 brings it up.
    let mut w = World::new(&conf, Options::default(), no_probes());
    w.input(Input::TrackFile {
        name: "tf",
        value: 5,
    });
    w.input(Input::Start);
    assert!(!file_rs(&w).alive);
    w.now = t(1.0);
    w.input(Input::TrackFile {
        name: "tf",
        value: 0,
    });
    assert!(w.verdicts().is_empty());
    w.now = t(2.0);
    w.input(Input::TrackFile {
        name: "tf",
        value: 3,
    });
    assert_eq!(w.verdicts(), vec![(t(2.0), addr(FILE_RS), true)]);
}

#[test]
fn file_check_fault_at_start_keeps_its_weight_as_keepalived_does() {
    // keepalived's set_track_file_weights applies value * weight even
    // when it is a fault, and leaving the fault adds the new status on
    // top without taking that back: the server comes up at weight 0.
    let conf = file_conf("FILE_CHECK {\n track_file tf\n weight 1\n }");
    let mut w = World::new(&conf, Options::default(), no_probes());
    w.input(Input::TrackFile {
        name: "tf",
        value: i64::from(i32::MIN),
    });
    w.input(Input::Start);
    assert!(!file_rs(&w).alive);
    w.now = t(1.0);
    w.input(Input::TrackFile {
        name: "tf",
        value: 5,
    });
    let rs = file_rs(&w);
    assert!(rs.alive);
    assert_eq!(rs.weight, 10 + i64::from(i32::MIN) + 5);
    assert_eq!(rs.pool_weight(), Some(0));
}

#[test]
fn file_check_weight_moves_with_misc_dynamic() {
    // Both move keepalived's effective weight: misc_dynamic to its exit
    // status - 2, the file by value * weight on top.
    let conf = file_conf(
        "FILE_CHECK {\n track_file tf\n weight 2\n }\n \
         MISC_CHECK {\n misc_path /bin/w\n misc_dynamic\n delay_loop 5\n }",
    );
    let mut w = World::new(
        &conf,
        Options::default(),
        Box::new(|_, _, _, _| (Duration::ZERO, ProbeResult::Exit(ScriptExit::Code(7)))),
    );
    w.input(Input::Start);
    w.run_until(t(10.0));
    assert_eq!(file_rs(&w).weight, 5);
    w.input(Input::TrackFile {
        name: "tf",
        value: 10,
    });
    assert_eq!(file_rs(&w).weight, 25);
}

#[test]
fn file_check_failing_alone_on_reload_takes_the_server_down_with_its_script() {
    // The file holds 1 while no FILE_CHECK follows it; a reload adds one
    // (weight 0): keepalived's set_track_file_checkers_down takes the
    // server down through perform_svr_state, notify_down included.
    let before = file_conf("");
    let mut w = World::new(&before, Options::default(), no_probes());
    w.input(Input::Start);
    w.input(Input::TrackFile {
        name: "tf",
        value: 1,
    });
    assert!(file_rs(&w).alive);
    w.now = t(1.0);
    let after = config(&file_conf("FILE_CHECK {\n track_file tf\n weight 0\n }"));
    w.input(Input::Reload(&after));
    assert!(!file_rs(&w).alive);
    assert_eq!(
        w.notifies(),
        vec!["+0001.000000s rs-down vs=10.0.0.1:80/tcp rs=192.0.2.201:80 [/bin/down]"]
    );
    // The value going back to 0 brings it up.
    w.now = t(2.0);
    w.input(Input::TrackFile {
        name: "tf",
        value: 0,
    });
    assert!(file_rs(&w).alive);
}
