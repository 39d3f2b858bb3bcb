//! Feeds core's VRRP director ([`director::Vrrp`]) the capture: every
//! peer's VRRP datagram at its capture time, its timers run in between,
//! its daemon started, stopped and crashed when the real one was. The node's own packets are not
//! fed: they are what its replay is checked against. A peer's datagram
//! behind AH is fed whole: the node checks its ICV, SPI and sequence
//! number under the config's `auth_pass`, as keepalived does.

use std::net::IpAddr;
use std::time::Duration;

use vigil_core::director::{self, Input, Output};
use vigil_core::harness;
use vigil_core::time::Instant;
use vigil_core::trace::{Event, Record};
use vigil_core::vrrp::{self, InstanceConfig, State, Stats};

use super::decode::{Decoded, What};
use super::observe::{Life, LifeCause, LifeKind, Observation};

/// The origin of the replay's instants: capture time zero is this far
/// after core's origin, so that a node can start before the capture.
pub const BASE: Duration = Duration::from_secs(1000);

/// A capture time as the replay's [`Instant`].
pub fn instant(at: Duration) -> Instant {
    Instant::from_duration(BASE + at)
}

/// A replay instant as signed nanoseconds from the capture's start.
pub fn offset(i: Instant) -> i128 {
    i128::from(i.as_nanos()) - BASE.as_nanos() as i128
}

/// A state change Vigil's node made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    /// Index of the instance.
    pub instance: usize,
    /// From.
    pub from: State,
    /// To.
    pub to: State,
    /// Why.
    pub reason: vrrp::Reason,
    /// When.
    pub at: Instant,
    /// When the change is the master-down interval after the daemon's
    /// start, so that its time rests on the start: how that start was
    /// known.
    pub from_start: Option<LifeCause>,
}

/// What the replayed node did.
#[derive(Clone, Debug, Default)]
pub struct Replayed {
    /// Its trace (node name: its address).
    pub trace: Vec<Record>,
    /// Its state changes.
    pub transitions: Vec<Transition>,
    /// Adverts it sent.
    pub adverts: usize,
    /// Announcements (GARP/NA) it sent.
    pub announcements: usize,
    /// Datagrams fed to it.
    pub fed: usize,
    /// Datagrams no instance took (another VRID, malformed).
    pub unrouted: usize,
    /// Counters of each life of the daemon: (life number, instance, stats).
    pub stats: Vec<(usize, String, Stats)>,
    /// The current life's start.
    start: Option<(Instant, LifeCause)>,
}

enum Step<'a> {
    Life(&'a Life),
    Packet(usize),
}

/// Replays `d` through `proto` (a node's director, not started) at
/// `node`, its life as `obs` says: each life of the daemon runs a fresh
/// copy of it.
pub fn run(d: &Decoded, node: IpAddr, proto: &director::Vrrp, obs: &Observation) -> Replayed {
    let name = node.to_string();
    let cfgs: Vec<InstanceConfig> = proto
        .instances()
        .iter()
        .map(|i| i.config().clone())
        .collect();
    let cfgs = &cfgs[..];
    let mut out = Replayed::default();
    let own = |a: IpAddr| a == node || cfgs.iter().any(|c| c.src == a);
    let mut steps: Vec<(i128, u8, usize, Step<'_>)> = Vec::new();
    for l in &obs.life {
        let at = l.at.as_nanos() as i128 - l.before.as_nanos() as i128;
        let rank = match l.kind {
            LifeKind::Start => 0,
            LifeKind::Stop | LifeKind::Crash => 2,
        };
        steps.push((at, rank, 0, Step::Life(l)));
    }
    for (i, p) in d.packets.iter().enumerate() {
        let peer = match &p.what {
            What::Vrrp(v) => !own(v.meta.src),
            _ => false,
        };
        if peer {
            steps.push((p.at.as_nanos() as i128, 1, p.index, Step::Packet(i)));
        }
    }
    steps.sort_by_key(|s| (s.0, s.1, s.2));
    let mut router: Option<director::Vrrp> = None;
    let mut lives = 0;
    let end = instant(d.span);
    for (_, _, _, step) in &steps {
        let at = match step {
            Step::Life(l) => Instant::from_duration((BASE + l.at).saturating_sub(l.before)),
            Step::Packet(i) => instant(d.packets[*i].at),
        };
        advance(&mut router, cfgs, at.min(end), &name, &mut out);
        match step {
            Step::Life(l) => match l.kind {
                LifeKind::Start => {
                    if let Some(r) = router.take() {
                        keep_stats(&mut out, lives, &r);
                        fault(&mut out, at, &name, "crash", "cause=restart");
                    }
                    lives += 1;
                    out.start = Some((at, l.cause.clone()));
                    fault(&mut out, at, &name, "start", &l.cause.to_string());
                    let mut r = proto.clone();
                    let outs: Vec<_> = r.handle(at, Input::Start).collect();
                    act(&mut out, cfgs, at, &name, outs);
                    router = Some(r);
                }
                LifeKind::Stop => {
                    if let Some(mut r) = router.take() {
                        fault(&mut out, at, &name, "stop", &l.cause.to_string());
                        let outs: Vec<_> = r
                            .handle(
                                at,
                                Input::Shutdown {
                                    keep_vips: false,
                                    keep_ipvs: false,
                                },
                            )
                            .collect();
                        act(&mut out, cfgs, at, &name, outs);
                        keep_stats(&mut out, lives, &r);
                    }
                }
                LifeKind::Crash => {
                    if let Some(r) = router.take() {
                        fault(&mut out, at, &name, "crash", &l.cause.to_string());
                        keep_stats(&mut out, lives, &r);
                    }
                }
            },
            Step::Packet(i) => {
                let Some(r) = router.as_mut() else { continue };
                let (family, vrid) = match &d.packets[*i].what {
                    What::Vrrp(v) => (v.family(), Some(v.vrid)),
                    _ => continue,
                };
                let interface = cfgs
                    .iter()
                    .find(|c| Some(c.vrid) == vrid && c.family() == family)
                    .or(cfgs.first())
                    .map_or_else(
                        || vrrp::DEFAULT_INTERFACE.to_string(),
                        |c| c.interface.clone(),
                    );
                out.fed += 1;
                let before = unrouted(r);
                let outs: Vec<_> = match &d.packets[*i].what {
                    // Behind AH: the whole datagram, for the ICV check.
                    What::Vrrp(v) if v.ah_seq.is_some() => r
                        .handle(
                            at,
                            Input::Datagram {
                                iface: &interface,
                                bytes: &v.datagram,
                            },
                        )
                        .collect(),
                    What::Vrrp(v) => r
                        .handle(
                            at,
                            Input::Message {
                                iface: &interface,
                                meta: v.meta,
                                message: &v.message,
                            },
                        )
                        .collect(),
                    _ => continue,
                };
                out.unrouted += (unrouted(r) - before) as usize;
                act(&mut out, cfgs, at, &name, outs);
            }
        }
    }
    advance(&mut router, cfgs, end, &name, &mut out);
    if let Some(r) = router {
        keep_stats(&mut out, lives, &r);
    }
    out
}

/// Datagrams no instance took so far (another VRID, malformed).
fn unrouted(r: &director::Vrrp) -> u64 {
    let s = r.router().stats();
    s.unknown_vrid + s.malformed
}

/// Runs the node's timers up to `until`, each at its deadline.
fn advance(
    router: &mut Option<director::Vrrp>,
    cfgs: &[InstanceConfig],
    until: Instant,
    name: &str,
    out: &mut Replayed,
) {
    let Some(r) = router.as_mut() else { return };
    // A deadline that does not move on would loop forever: bounded.
    for _ in 0..1_000_000 {
        match r.next_deadline() {
            Some(d) if d <= until => {
                let outs: Vec<_> = r.handle(d, Input::Timer).collect();
                act(out, cfgs, d, name, outs);
            }
            _ => return,
        }
    }
}

fn act(out: &mut Replayed, cfgs: &[InstanceConfig], at: Instant, name: &str, outs: Vec<Output>) {
    for o in outs {
        match o {
            Output::Send { .. } => out.adverts += 1,
            Output::Announce { .. } => out.announcements += 1,
            Output::Trace(e) => {
                if let Event::Vrrp(vrrp::Event {
                    instance,
                    kind:
                        vrrp::EventKind::State {
                            from, to, reason, ..
                        },
                }) = &e
                    && let Some(i) = cfgs.iter().position(|c| c.name == *instance)
                {
                    let c = &cfgs[i];
                    let md =
                        vrrp::timers::master_down(c.interval, c.priority, c.down_timer_adverts);
                    let from_start = out
                        .start
                        .as_ref()
                        .filter(|(s, _)| {
                            *to == State::Master
                                && matches!(
                                    reason,
                                    vrrp::Reason::MasterDownTimeout | vrrp::Reason::Preempt
                                )
                                && *s + md == at
                        })
                        .map(|(_, cause)| cause.clone());
                    out.transitions.push(Transition {
                        instance: i,
                        from: *from,
                        to: *to,
                        reason: *reason,
                        at,
                        from_start,
                    });
                }
                out.trace.push(Record {
                    at,
                    node: name.to_string(),
                    event: e,
                });
            }
            _ => {}
        }
    }
}

fn fault(out: &mut Replayed, at: Instant, name: &str, action: &str, detail: &str) {
    out.trace.push(Record {
        at,
        node: name.to_string(),
        event: Event::Harness(harness::Event::Fault {
            action: action.to_string(),
            detail: detail.to_string(),
        }),
    });
}

fn keep_stats(out: &mut Replayed, life: usize, r: &director::Vrrp) {
    for i in r.instances() {
        out.stats
            .push((life, i.name().to_string(), i.stats().clone()));
    }
}
