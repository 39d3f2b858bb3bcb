//! The truth the timeline scripted: when each real server was really
//! healthy (as its configured checkers would judge it), when the network
//! was faulty, and how long checkers may take to notice.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use vigil_core::config::{CheckerKind, Config, HttpCheck};
use vigil_core::time::Instant;

use super::History;
use crate::scenario::{Action, Host, Peer, RsMode, RsServices, Scenario};

/// Health and network faults over time, as scripted.
#[derive(Clone, Debug)]
pub struct Truth {
    /// Per real server: (when, crashed, services) changes in time order.
    servers: Vec<Vec<(Instant, bool, RsServices)>>,
    /// Per real server: its address:port and how its checkers judge.
    checks: Vec<(SocketAddr, Vec<CheckerKind>, Duration)>,
    /// Network fault windows: (start, end or None while open).
    faults: Vec<(Instant, Option<Instant>)>,
    /// Director (re)starts: when a director's checkers start from scratch.
    starts: Vec<Instant>,
    /// Longest time checkers may take to notice a change.
    bound: Duration,
}

impl Truth {
    /// The truth scripted by `s`.
    pub fn new(s: &Scenario) -> Truth {
        let mut servers: Vec<Vec<(Instant, bool, RsServices)>> = s
            .real_servers
            .iter()
            .map(|_| vec![(Instant::ZERO, false, RsServices::default())])
            .collect();
        let mut faults: Vec<(Instant, Option<Instant>)> = Vec::new();
        // Network faults active now; the network is healthy when empty.
        let mut active: BTreeSet<(u8, IpAddr, IpAddr)> = BTreeSet::new();
        let mut starts = vec![Instant::ZERO];
        let mut slowest = 1.0f64;
        let zero = IpAddr::from([0, 0, 0, 0]);
        for step in &s.timeline {
            let t = Instant::from_duration(step.at);
            let last =
                |v: &Vec<(Instant, bool, RsServices)>| v.last().cloned().expect("starts non-empty");
            let was_healthy = active.is_empty();
            let pairs = |a: Host, b: Peer| crate::world::links::pairs(s, a, b);
            match &step.action {
                Action::Crash(Host::RealServer(r)) => {
                    let (_, _, m) = last(&servers[*r]);
                    servers[*r].push((t, true, m));
                }
                Action::Restart(Host::RealServer(r)) => {
                    servers[*r].push((t, false, RsServices::default()))
                }
                Action::Serve { server, mode } => {
                    let (_, c, mut st) = last(&servers[*server]);
                    st.apply(mode);
                    servers[*server].push((t, c, st));
                }
                Action::Restart(Host::Director(_)) | Action::Start(_) => starts.push(t),
                Action::Partition { a, b, .. } => {
                    for (x, y) in pairs(*a, *b) {
                        active.insert((0, x.min(y), x.max(y)));
                    }
                }
                Action::Heal { a, b } => {
                    for (x, y) in pairs(*a, *b) {
                        active.remove(&(0, x.min(y), x.max(y)));
                    }
                }
                Action::Loss { a, b, rate } => {
                    for (x, y) in pairs(*a, *b) {
                        if *rate > 0.0 {
                            active.insert((1, x.min(y), x.max(y)));
                        } else {
                            active.remove(&(1, x.min(y), x.max(y)));
                        }
                    }
                }
                Action::Latency { a, b, delay } => {
                    for (x, y) in pairs(*a, *b) {
                        if *delay > s.network.latency {
                            active.insert((2, x.min(y), x.max(y)));
                        } else {
                            active.remove(&(2, x.min(y), x.max(y)));
                        }
                    }
                }
                Action::LinkDown(d) => {
                    active.insert((3, s.directors[*d].address, zero));
                }
                Action::LinkUp(d) => {
                    active.remove(&(3, s.directors[*d].address, zero));
                }
                // One interface of a director down: its instances there
                // go to FAULT, as with the whole link (one window per
                // director while any of its interfaces is down).
                Action::Interface { director, up, .. } => {
                    let key = (5, s.directors[*director].address, zero);
                    if *up {
                        active.remove(&key);
                    } else {
                        active.insert(key);
                    }
                }
                Action::Drift { director, factor } => {
                    slowest = slowest.min(*factor);
                    if (*factor - 1.0).abs() > f64::EPSILON {
                        active.insert((4, s.directors[*director].address, zero));
                    } else {
                        active.remove(&(4, s.directors[*director].address, zero));
                    }
                }
                _ => {}
            }
            match (was_healthy, active.is_empty()) {
                (true, false) => faults.push((t, None)),
                (false, true) => {
                    if let Some(w) = faults.last_mut() {
                        w.1 = Some(t);
                    }
                }
                _ => {}
            }
        }
        let config = s
            .directors
            .first()
            .map(|d| d.config.clone())
            .unwrap_or_default();
        let checks = s
            .real_servers
            .iter()
            .map(|r| checkers_of(&config, SocketAddr::new(r.address, r.port)))
            .collect();
        Truth {
            servers,
            checks,
            faults,
            starts,
            // A slow clock stretches every checker's timing.
            bound: detection_bound(&config).div_f64(slowest.min(1.0)),
        }
    }

    /// The longest time a checker may take to notice a change.
    pub fn detection_bound(&self) -> Duration {
        self.bound
    }

    /// Network fault windows, each opened `lead` early and extended by
    /// `settle` after it ends (open ones run to the end). A datagram is
    /// faulted when a fault touched its path between its send and its
    /// delivery, so a window starts one datagram flight (`lead`) before
    /// its fault: an advert sent just before a partition and lost to it
    /// is a fault's loss, not the protocol's. Overlapping windows are
    /// merged, so that a window covers any interval spent under
    /// back-to-back faults.
    pub fn unhealthy_windows(&self, lead: Duration, settle: Duration) -> Vec<(Instant, Instant)> {
        let mut merged: Vec<(Instant, Instant)> = Vec::new();
        for (a, b) in &self.faults {
            let start = Instant::from_nanos(a.as_nanos().saturating_sub(lead.as_nanos() as u64));
            let w = (
                start,
                b.map_or(Instant::from_nanos(u64::MAX), |b| b + settle),
            );
            match merged.last_mut() {
                Some(last) if w.0 <= last.1 => last.1 = last.1.max(w.1),
                _ => merged.push(w),
            }
        }
        merged
    }

    fn state_at(&self, r: usize, t: Instant) -> (Instant, bool, RsServices) {
        self.servers[r]
            .iter()
            .rfind(|(at, _, _)| *at <= t)
            .cloned()
            .expect("starts at zero")
    }

    /// Whether real server `r` is live (healthy, and with a weight above
    /// 0) when `crashed` and its services are `st`, as its checkers
    /// would judge it.
    fn healthy(&self, r: usize, crashed: bool, st: &RsServices) -> bool {
        if crashed || st.http == RsMode::Refuse {
            return false;
        }
        let (_, kinds, timeout) = &self.checks[r];
        kinds.iter().all(|k| match k {
            CheckerKind::Http(h) | CheckerKind::Ssl(h) => http_ok(h, &st.http, *timeout),
            CheckerKind::Udp(u) => !(st.udp_silent && u.require_reply.is_some()),
            CheckerKind::Dns(_) => !st.dns_nxdomain,
            CheckerKind::Smtp(_) => !st.smtp_refuse,
            // misc_dynamic: 2..=255 set the weight to status - 2 (0: out of
            // the live set).
            CheckerKind::Misc(m) => match st.misc_exit {
                0 => true,
                1 => false,
                n => m.dynamic && n > 2,
            },
            _ => true,
        })
    }

    /// The real servers truly healthy at `t`, as `address:port`, sorted.
    pub fn live_at(&self, t: Instant) -> Vec<String> {
        let mut v: Vec<String> = (0..self.servers.len())
            .filter(|&r| {
                let (_, c, m) = self.state_at(r, t);
                self.healthy(r, c, &m)
            })
            .map(|r| self.checks[r].0.to_string())
            .collect();
        v.sort();
        v
    }

    /// Real server `r`'s health over the run: (from, to, healthy) intervals.
    pub fn intervals(&self, r: usize, end: Instant) -> Vec<(Instant, Instant, bool)> {
        let v = &self.servers[r];
        v.iter()
            .enumerate()
            .map(|(i, (at, crashed, mode))| {
                let next = v.get(i + 1).map_or(end, |n| n.0);
                (*at, next.min(end), self.healthy(r, *crashed, mode))
            })
            .filter(|(a, b, _)| b > a)
            .collect()
    }

    /// When the real server at `addr` became unreachable, if it is at `t`.
    pub fn dead_since(&self, addr: SocketAddr, t: Instant) -> Option<Instant> {
        let r = self.checks.iter().position(|c| c.0 == addr)?;
        let mut since = None;
        for (at, crashed, st) in &self.servers[r] {
            if *at > t {
                break;
            }
            let dead = *crashed || st.http == RsMode::Refuse;
            since = match (dead, since) {
                (true, None) => Some(*at),
                (true, s) => s,
                (false, _) => None,
            };
        }
        since
    }

    /// Times at which a master's table must match the truth: `bound`
    /// after every change of health, master or director start, and the end.
    pub fn table_check_points(&self, h: &History, end: Instant, bound: Duration) -> Vec<Instant> {
        let mut events: Vec<Instant> = self
            .servers
            .iter()
            .flat_map(|v| v.iter().map(|c| c.0))
            .collect();
        events.extend(self.starts.iter().copied());
        for i in h.instances() {
            events.extend(h.master_changes(&i).iter().map(|c| c.0));
        }
        events.sort();
        let mut points: Vec<Instant> = events
            .iter()
            .map(|e| *e + bound)
            .filter(|p| *p <= end)
            .collect();
        points.push(end);
        points.retain(|p| events.iter().filter(|e| *e <= p).all(|e| *p - *e >= bound));
        points.sort();
        points.dedup();
        points
    }
}

/// Whether an HTTP checker would pass against a server in `mode`.
fn http_ok(h: &HttpCheck, mode: &RsMode, timeout: Duration) -> bool {
    match mode {
        RsMode::Ok => true,
        RsMode::Hang | RsMode::Refuse => false,
        RsMode::Slow(d) => *d < timeout,
        RsMode::Status(c) => h.urls.iter().all(|u| u.status_codes.contains(*c)),
        RsMode::Body(_) => h
            .urls
            .iter()
            .all(|u| u.digest.is_none() && u.regex.is_none()),
        // Not HTTP modes: the HTTP service serves its page.
        RsMode::UdpSilent | RsMode::DnsNxdomain | RsMode::SmtpRefuse | RsMode::MiscExit(_) => true,
    }
}

/// The checkers configured for the real server at `addr`, and their
/// connect timeout.
fn checkers_of(c: &Config, addr: SocketAddr) -> (SocketAddr, Vec<CheckerKind>, Duration) {
    for vs in &c.virtual_servers {
        for rs in &vs.real_servers {
            if rs.addr == addr {
                let kinds = rs.checkers.iter().map(|k| k.kind.clone()).collect();
                return (addr, kinds, rs.connect_timeout);
            }
        }
    }
    (addr, Vec::new(), Duration::from_secs(5))
}

/// The longest time any checker of `c` may take from a change of health
/// to its verdict: a full delay_loop before the first probe notices, then
/// retry+1 probes each up to connect_timeout, spaced by delay_before_retry.
pub fn detection_bound(c: &Config) -> Duration {
    c.virtual_servers
        .iter()
        .flat_map(|vs| vs.real_servers.iter())
        .flat_map(|rs| rs.checkers.iter())
        .map(|k| {
            let t = &k.timing;
            let timeout = k
                .conn
                .as_ref()
                .map_or(Duration::from_secs(5), |c| c.connect_timeout);
            t.delay_loop + (timeout + t.delay_before_retry) * (t.retry + 1)
        })
        .max()
        .unwrap_or(Duration::ZERO)
}
