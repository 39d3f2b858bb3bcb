//! Random fault schedules, swarm-testing style: each seed picks a random
//! subset of fault kinds, then a few faults of those kinds at random
//! times, each a start step and (for lasting faults) an end step.

use std::time::Duration;

use vigil_core::rng::Rng;

use crate::scenario::{Action, Host, Peer, RsMode, Scenario, Step};

/// A kind of fault exploration can inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Datagram loss between the directors for a while.
    LossBurst,
    /// High latency from one director for a while.
    LatencySpike,
    /// One director cannot reach the other (one direction) for a while.
    PartitionOneWay,
    /// The directors cannot reach each other for a while (split brain).
    PartitionTwoWay,
    /// A director crashes and restarts later.
    DirectorCrash,
    /// A director stops gracefully and starts later.
    DirectorStop,
    /// A director's clock runs fast or slow for a while.
    Drift,
    /// A real server crashes and restarts later.
    RsCrash,
    /// A real server hangs (accepts, never answers) for a while.
    RsHang,
    /// A real server refuses and serves by turns for a while.
    RsFlap,
    /// A director reloads its configuration.
    Reload,
    /// A tracked `vrrp_script` fails on a director for a while.
    ScriptFail,
    /// A tracked file holds another value on a director for a while.
    FileValue,
    /// A tracked process stops on a director for a while.
    ProcessStop,
    /// One interface of a director with several goes down for a while.
    InterfaceDown,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 11] = [
        Kind::LossBurst,
        Kind::LatencySpike,
        Kind::PartitionOneWay,
        Kind::PartitionTwoWay,
        Kind::DirectorCrash,
        Kind::DirectorStop,
        Kind::Drift,
        Kind::RsCrash,
        Kind::RsHang,
        Kind::RsFlap,
        Kind::Reload,
    ];

    /// Stable kebab-case name.
    pub const fn name(self) -> &'static str {
        match self {
            Kind::LossBurst => "loss-burst",
            Kind::LatencySpike => "latency-spike",
            Kind::PartitionOneWay => "partition-oneway",
            Kind::PartitionTwoWay => "partition",
            Kind::DirectorCrash => "director-crash",
            Kind::DirectorStop => "director-stop",
            Kind::Drift => "drift",
            Kind::RsCrash => "rs-crash",
            Kind::RsHang => "rs-hang",
            Kind::RsFlap => "rs-flap",
            Kind::Reload => "reload",
            Kind::ScriptFail => "script-fail",
            Kind::FileValue => "file-value",
            Kind::ProcessStop => "process-stop",
            Kind::InterfaceDown => "interface-down",
        }
    }

    /// The tracker kinds, drawn only for scenarios whose configs give
    /// them something to act on.
    pub const TRACKERS: [Kind; 4] = [
        Kind::ScriptFail,
        Kind::FileValue,
        Kind::ProcessStop,
        Kind::InterfaceDown,
    ];
}

/// What a tracker fault can act on: (director, name) pairs.
fn targets(s: &Scenario, kind: Kind) -> Vec<(usize, String)> {
    use vigil_core::director::{host, tracked};
    let mut v = Vec::new();
    for (d, dir) in s.directors.iter().enumerate() {
        let c = &dir.config;
        let names: Vec<String> = match kind {
            Kind::ScriptFail => tracked::scripts(c).iter().map(|x| x.name.clone()).collect(),
            Kind::FileValue => tracked::files(c).iter().map(|x| x.path.clone()).collect(),
            Kind::ProcessStop => tracked::processes(c)
                .iter()
                .map(|x| x.process.clone())
                .collect(),
            Kind::InterfaceDown => {
                let all = host::interfaces(c);
                if all.len() > 1 { all } else { Vec::new() }
            }
            _ => Vec::new(),
        };
        v.extend(names.into_iter().map(|n| (d, n)));
    }
    v
}

/// One injected fault: its steps, kept together when shrinking.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// Its kind.
    pub kind: Kind,
    /// The steps it adds to the timeline.
    pub steps: Vec<Step>,
}

fn pick<T: Clone>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.below(items.len() as u64) as usize].clone()
}

fn secs(rng: &mut Rng, lo: f64, hi: f64) -> Duration {
    // Whole milliseconds, so written schedules read back exactly.
    Duration::from_millis(((lo + rng.unit() * (hi - lo)) * 1000.0) as u64)
}

fn step(at: Duration, action: Action) -> Step {
    Step {
        at,
        action,
        line: 0,
    }
}

/// The fault schedule of `seed` over `s` (whose own timeline is kept as
/// the base and not part of the schedule).
pub fn schedule(s: &Scenario, seed: u64) -> (Vec<Kind>, Vec<Fault>) {
    let mut rng = Rng::new(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x00e4_10e5);
    let mut kinds: Vec<Kind> = Kind::ALL
        .iter()
        .copied()
        .filter(|_| rng.below(2) == 0)
        .collect();
    if s.real_servers.is_empty() {
        kinds.retain(|k| !matches!(k, Kind::RsCrash | Kind::RsHang | Kind::RsFlap));
    }
    if s.directors.len() < 2 {
        kinds.retain(|k| {
            !matches!(
                k,
                Kind::LossBurst | Kind::PartitionOneWay | Kind::PartitionTwoWay
            )
        });
    }
    // Tracker kinds draw only where the configs track something, so the
    // schedules of scenarios without trackers stay as they were.
    for k in Kind::TRACKERS {
        if !targets(s, k).is_empty() && rng.below(2) == 0 {
            kinds.push(k);
        }
    }
    if kinds.is_empty() {
        kinds.push(if s.directors.len() > 1 {
            Kind::PartitionTwoWay
        } else {
            Kind::DirectorCrash
        });
    }
    let total = s.duration.as_secs_f64();
    let count = 1 + rng.below(4);
    let mut faults = Vec::new();
    for _ in 0..count {
        let kind = pick(&mut rng, &kinds);
        let start = secs(&mut rng, 5.0, (total - 8.0).max(5.5));
        let len = secs(&mut rng, 1.0, 20.0);
        let end = (start + len)
            .min(s.duration - Duration::from_secs(1))
            .max(start);
        let dirs: Vec<usize> = (0..s.directors.len()).collect();
        let d = pick(&mut rng, &dirs);
        let other = Host::Director((d + 1) % s.directors.len().max(1));
        let dh = Host::Director(d);
        let steps = match kind {
            Kind::LossBurst => {
                let rate = (0.2 + 0.6 * rng.unit() * 100.0).round() / 100.0;
                vec![
                    step(
                        start,
                        Action::Loss {
                            a: dh,
                            b: Peer::Host(other),
                            rate,
                        },
                    ),
                    step(
                        end,
                        Action::Loss {
                            a: dh,
                            b: Peer::Host(other),
                            rate: 0.0,
                        },
                    ),
                ]
            }
            Kind::LatencySpike => {
                let delay = secs(&mut rng, 0.05, 0.8);
                vec![
                    step(
                        start,
                        Action::Latency {
                            a: dh,
                            b: Peer::All,
                            delay,
                        },
                    ),
                    step(
                        end,
                        Action::Latency {
                            a: dh,
                            b: Peer::All,
                            delay: s.network.latency,
                        },
                    ),
                ]
            }
            Kind::PartitionOneWay => vec![
                step(
                    start,
                    Action::Partition {
                        a: dh,
                        b: Peer::Host(other),
                        oneway: true,
                    },
                ),
                step(
                    end,
                    Action::Heal {
                        a: dh,
                        b: Peer::Host(other),
                    },
                ),
            ],
            Kind::PartitionTwoWay => vec![
                step(
                    start,
                    Action::Partition {
                        a: dh,
                        b: Peer::Host(other),
                        oneway: false,
                    },
                ),
                step(
                    end,
                    Action::Heal {
                        a: dh,
                        b: Peer::Host(other),
                    },
                ),
            ],
            Kind::DirectorCrash => vec![
                step(start, Action::Crash(dh)),
                step(end, Action::Restart(dh)),
            ],
            Kind::DirectorStop => vec![step(start, Action::Stop(d)), step(end, Action::Start(d))],
            Kind::Drift => {
                let factor = (80.0 + 45.0 * rng.unit()).round() / 100.0;
                vec![
                    step(
                        start,
                        Action::Drift {
                            director: d,
                            factor,
                        },
                    ),
                    step(
                        end,
                        Action::Drift {
                            director: d,
                            factor: 1.0,
                        },
                    ),
                ]
            }
            Kind::RsCrash | Kind::RsHang | Kind::RsFlap => {
                let rss: Vec<usize> = (0..s.real_servers.len()).collect();
                let r = pick(&mut rng, &rss);
                let rh = Host::RealServer(r);
                match kind {
                    Kind::RsCrash => vec![
                        step(start, Action::Crash(rh)),
                        step(end, Action::Restart(rh)),
                    ],
                    Kind::RsHang => vec![
                        step(
                            start,
                            Action::Serve {
                                server: r,
                                mode: RsMode::Hang,
                            },
                        ),
                        step(
                            end,
                            Action::Serve {
                                server: r,
                                mode: RsMode::Ok,
                            },
                        ),
                    ],
                    _ => {
                        let mut v = Vec::new();
                        let mut t = start;
                        let mut up = false;
                        while t < end {
                            let mode = if up { RsMode::Ok } else { RsMode::Refuse };
                            v.push(step(t, Action::Serve { server: r, mode }));
                            up = !up;
                            t += secs(&mut rng, 0.5, 4.0);
                        }
                        v.push(step(
                            end,
                            Action::Serve {
                                server: r,
                                mode: RsMode::Ok,
                            },
                        ));
                        v
                    }
                }
            }
            Kind::Reload => vec![step(start, Action::Reload(d))],
            Kind::ScriptFail | Kind::FileValue | Kind::ProcessStop | Kind::InterfaceDown => {
                let (director, name) = pick(&mut rng, &targets(s, kind));
                let (on, off) = match kind {
                    Kind::ScriptFail => (
                        Action::Script {
                            director,
                            script: name.clone(),
                            ok: false,
                        },
                        Action::Script {
                            director,
                            script: name,
                            ok: true,
                        },
                    ),
                    Kind::FileValue => {
                        let value = rng.below(201) as i64 - 100;
                        (
                            Action::File {
                                director,
                                path: name.clone(),
                                content: format!("{value}\n"),
                            },
                            Action::File {
                                director,
                                path: name,
                                content: "0\n".into(),
                            },
                        )
                    }
                    Kind::ProcessStop => (
                        Action::Process {
                            director,
                            process: name.clone(),
                            running: false,
                        },
                        Action::Process {
                            director,
                            process: name,
                            running: true,
                        },
                    ),
                    _ => (
                        Action::Interface {
                            director,
                            iface: name.clone(),
                            up: false,
                        },
                        Action::Interface {
                            director,
                            iface: name,
                            up: true,
                        },
                    ),
                };
                vec![step(start, on), step(end, off)]
            }
        };
        faults.push(Fault { kind, steps });
    }
    (kinds, faults)
}

/// `s` with `faults` added to its own timeline, in time order (stable:
/// the base steps first at equal times).
pub fn apply(s: &Scenario, faults: &[Fault]) -> Scenario {
    let mut out = s.clone();
    out.timeline
        .extend(faults.iter().flat_map(|f| f.steps.iter().cloned()));
    out.timeline.sort_by_key(|st| st.at);
    out.expectations.clear();
    out
}
