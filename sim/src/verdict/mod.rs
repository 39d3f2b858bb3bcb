//! Judging a run: the invariants every run must keep, the scenario's own
//! expectations, and the summary table.

mod health;
mod history;
mod summary;

use std::fmt::Write;
use std::time::Duration;

use vigil_core::time::{Instant, fmt_ms};

pub use health::Truth;
pub use history::History;

use crate::scenario::{Action, Expectation, Scenario, TableOf};
use crate::world::Run;

/// A broken invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Which invariant.
    pub invariant: &'static str,
    /// When it was broken.
    pub at: Instant,
    /// What happened.
    pub detail: String,
}

/// The result of one expectation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    /// The line of the `[[expect]]` entry.
    pub line: usize,
    /// What was expected, in words.
    pub what: String,
    /// Whether it held.
    pub pass: bool,
    /// What was seen.
    pub seen: String,
}

/// Everything judged about a run.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// Broken invariants.
    pub violations: Vec<Violation>,
    /// Expectations, in file order.
    pub expectations: Vec<Checked>,
    /// The summary table, rendered.
    pub summary: String,
}

impl Verdict {
    /// Whether every invariant and expectation held.
    pub fn pass(&self) -> bool {
        self.violations.is_empty() && self.expectations.iter().all(|e| e.pass)
    }

    /// The first failure, in words, if any.
    pub fn first_failure(&self) -> Option<String> {
        if let Some(v) = self.violations.first() {
            return Some(format!(
                "invariant {} broken at {}: {}",
                v.invariant, v.at, v.detail
            ));
        }
        self.expectations.iter().find(|e| !e.pass).map(|e| {
            format!(
                "expectation on line {} failed: {} (seen: {})",
                e.line, e.what, e.seen
            )
        })
    }

    /// Expectations and invariants, one line each.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for e in &self.expectations {
            let _ = writeln!(
                s,
                "expect {:<4} line {:>3}: {} (seen: {})",
                if e.pass { "ok" } else { "FAIL" },
                e.line,
                e.what,
                e.seen
            );
        }
        if self.violations.is_empty() {
            let _ = writeln!(
                s,
                "invariants ok: single master, vip with master, table within detection bound, no traffic to dead servers"
            );
        }
        for v in &self.violations {
            let _ = writeln!(
                s,
                "invariant FAIL {} at {}: {}",
                v.invariant, v.at, v.detail
            );
        }
        s
    }
}

/// The longest master-down interval of any instance of any director:
/// how long a healthy network may take to settle on one master.
pub fn settle_time(s: &Scenario) -> Duration {
    s.directors
        .iter()
        .flat_map(|d| {
            d.config.vrrp_instances.iter().map(move |i| {
                let cfg = vigil_core::vrrp::InstanceConfig::from_config(&d.config, i, d.address);
                vigil_core::vrrp::timers::master_down(cfg.interval, 1, cfg.down_timer_adverts)
            })
        })
        .max()
        .unwrap_or(Duration::from_secs(4))
}

/// How long two masters may coexist on a healthy network at a handover:
/// one message's travel and processing.
pub fn handover_grace(s: &Scenario) -> Duration {
    s.network.latency + s.network.jitter + s.resolution * 2
}

/// The longest a datagram may spend between its send and its delivery:
/// the worst one-way latency the scenario sets (its network's, or a
/// `latency` fault's), its jitter, and a tick of the simulator at each end.
pub fn max_flight(s: &Scenario) -> Duration {
    let worst = s
        .timeline
        .iter()
        .filter_map(|st| match st.action {
            Action::Latency { delay, .. } => Some(delay),
            _ => None,
        })
        .fold(s.network.latency, Duration::max);
    worst + s.network.jitter + s.resolution * 2
}

/// What a verdict tolerates beyond the simulator's own timing: real
/// runs (the namespace harness) log a state change and configure its VIP
/// in separate steps, and stamp events as they are read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tolerance {
    /// Added to [`handover_grace`]: how much longer two masters may
    /// coexist at a handover, and how long the VIP holders may lag the
    /// masters. Zero for the simulator.
    pub extra_grace: Duration,
}

/// Judges `run` of `scenario`.
pub fn judge(s: &Scenario, run: &Run) -> Verdict {
    judge_with(s, run, Tolerance::default())
}

/// Judges `run` of `scenario` with `tolerance` (the simulator uses none).
pub fn judge_with(s: &Scenario, run: &Run, tolerance: Tolerance) -> Verdict {
    let h = History::new(&run.rec);
    let truth = Truth::new(s);
    let end = Instant::from_duration(s.duration);
    let mut violations = Vec::new();
    let grace = handover_grace(s) + tolerance.extra_grace;
    let settle = settle_time(s);

    // 1. No two masters for one VRID outside the fault windows: from one
    //    datagram flight before a network fault starts until one
    //    master-down interval (plus a handover) after the last one ends.
    let unhealthy = truth.unhealthy_windows(max_flight(s) + tolerance.extra_grace, settle + grace);
    for inst in h.instances() {
        for (from, to, ds) in h.multi_master(&inst, end, grace) {
            let covered = unhealthy.iter().any(|(a, b)| *a <= from && to <= *b);
            if !covered {
                let names: Vec<&str> = ds.iter().map(|d| s.directors[*d].name.as_str()).collect();
                violations.push(Violation {
                    invariant: "single-master",
                    at: from,
                    detail: format!(
                        "{inst}: {} masters together for {} on a healthy network",
                        names.join(" and "),
                        fmt_ms(to - from)
                    ),
                });
            }
        }
    }

    // 2. The VIP is held exactly by the master.
    for t in h.change_times() {
        let masters = h.any_masters_at(t);
        let holders = h.vip_holders_at(t);
        if masters != holders {
            // The same instant may carry the state change and the VIP change
            // in two steps; judge what stands once the instant is over.
            let next = t + Duration::from_nanos(1) + tolerance.extra_grace;
            if h.any_masters_at(next) != h.vip_holders_at(next) {
                let name = |v: &[usize]| {
                    v.iter()
                        .map(|d| s.directors[*d].name.clone())
                        .collect::<Vec<_>>()
                        .join(",")
                };
                violations.push(Violation {
                    invariant: "vip-with-master",
                    at: t,
                    detail: format!(
                        "masters [{}] but VIP holders [{}]",
                        name(&masters),
                        name(&holders)
                    ),
                });
                break;
            }
        }
    }

    // 3. The master's table equals the true health within the bound.
    let bound = truth.detection_bound() + grace;
    if !run.rec.tables.is_empty() {
        for t in truth.table_check_points(&h, end, bound) {
            let Some(&m) = h.any_masters_at(t).first() else {
                continue;
            };
            let Some(live) = h.table_at(m, t) else {
                continue;
            };
            let want = truth.live_at(t);
            if live != want.as_slice() {
                violations.push(Violation {
                    invariant: "table-matches-health",
                    at: t,
                    detail: format!(
                        "{} holds [{}], true health says [{}] ({} after the last change)",
                        s.directors[m].name,
                        live.join(" "),
                        want.join(" "),
                        fmt_ms(bound)
                    ),
                });
                break;
            }
        }
    }

    // 4. No request forwarded to a crashed real server past the bound.
    for (t, d, addr) in &run.rec.forwards {
        if let Some(since) = truth.dead_since(*addr, *t)
            && *t - since > bound
        {
            violations.push(Violation {
                invariant: "no-traffic-to-dead-server",
                at: *t,
                detail: format!(
                    "{} forwarded to {addr}, dead since {since}",
                    s.directors[*d].name
                ),
            });
            break;
        }
    }

    let expectations = s
        .expectations
        .iter()
        .map(|e| expectation(s, run, &h, e.line, &e.check, grace))
        .collect();
    let summary = summary::render(s, run, &h);
    Verdict {
        violations,
        expectations,
        summary,
    }
}

/// Judges one `[[expect]]` entry of `s` against the run. An expectation
/// that saw nothing to judge fails, never passes unchecked: no master (or
/// no table) at its time, no request in its window, no failover, or no
/// VRRP state recorded at all.
fn expectation(
    s: &Scenario,
    run: &Run,
    h: &History,
    line: usize,
    e: &Expectation,
    grace: Duration,
) -> Checked {
    let names = |v: &[usize]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.iter()
                .map(|d| s.directors[*d].name.clone())
                .collect::<Vec<_>>()
                .join(",")
        }
    };
    let at = |d: Duration| Instant::from_duration(d);
    match e {
        Expectation::Master {
            node,
            at: t,
            instance,
        } => {
            let m = match instance {
                Some(i) => h.masters_at(i, at(*t)),
                None => h.any_masters_at(at(*t)),
            };
            Checked {
                line,
                what: describe(s, e),
                pass: m == vec![*node],
                seen: format!("masters {}", names(&m)),
            }
        }
        Expectation::State {
            node,
            instance,
            state,
            at: t,
        } => {
            let now = h.states_at(instance, at(*t)).get(node).copied();
            Checked {
                line,
                what: describe(s, e),
                pass: now == Some(*state),
                seen: match now {
                    Some(st) => format!("{st}"),
                    None => "no state recorded".to_string(),
                },
            }
        }
        Expectation::Priority {
            node,
            instance,
            value,
            at: t,
        } => {
            let now = run
                .rec
                .priorities
                .iter()
                .take_while(|(when, ..)| *when <= at(*t))
                .filter(|(_, d, i, _)| d == node && i == instance)
                .last()
                .map(|p| p.3);
            Checked {
                line,
                what: describe(s, e),
                pass: now == Some(*value),
                seen: match now {
                    Some(p) => format!("priority {p}"),
                    None => "no priority recorded".to_string(),
                },
            }
        }
        Expectation::Notify {
            node,
            argv,
            from,
            to,
        } => {
            let calls: Vec<&(Instant, usize, Vec<String>)> = run
                .rec
                .notifies
                .iter()
                .filter(|(when, d, _)| d == node && *when >= at(*from) && *when <= at(*to))
                .collect();
            let hit = calls.iter().find(|(_, _, a)| a.starts_with(argv));
            Checked {
                line,
                what: describe(s, e),
                pass: hit.is_some(),
                seen: match (hit, calls.last()) {
                    (Some((when, _, a)), _) => format!("{} at {when}", a.join(" ")),
                    (None, Some((when, _, a))) => {
                        format!("{} calls, the last {} at {when}", calls.len(), a.join(" "))
                    }
                    (None, None) => "no notify call in the window".to_string(),
                },
            }
        }
        Expectation::VipHolder { node, at: t } => {
            let m = h.vip_holders_at(at(*t));
            Checked {
                line,
                what: describe(s, e),
                pass: m == vec![*node],
                seen: format!("holders {}", names(&m)),
            }
        }
        Expectation::MaxFailover { max } => {
            let all: Vec<Duration> = h
                .instances()
                .iter()
                .flat_map(|i| h.failovers(i))
                .map(|(a, b, _, _)| b - a)
                .collect();
            let worst = all.iter().max().copied();
            Checked {
                line,
                what: describe(s, e),
                pass: worst.is_some_and(|w| w <= *max),
                seen: match worst {
                    Some(w) => format!("{} failovers, longest {}", all.len(), fmt_ms(w)),
                    None => "no failover seen".to_string(),
                },
            }
        }
        Expectation::SuccessRatio { min, from, to } => {
            let reqs: Vec<_> = run
                .rec
                .requests
                .iter()
                .filter(|r| r.start >= at(*from) && r.start < at(*to))
                .collect();
            let ok = reqs.iter().filter(|r| r.outcome.is_ok()).count();
            let ratio = (!reqs.is_empty()).then(|| ok as f64 / reqs.len() as f64);
            Checked {
                line,
                what: describe(s, e),
                pass: ratio.is_some_and(|r| r >= *min),
                seen: match ratio {
                    Some(r) => format!("{ok}/{} = {:.2}%", reqs.len(), r * 100.0),
                    None => "no request in the window".to_string(),
                },
            }
        }
        Expectation::InTable {
            server,
            at: t,
            present,
            weight,
            on,
        } => {
            let rs = &s.real_servers[*server];
            let key = format!("{}:{}", rs.address, rs.port);
            let masters = h.any_masters_at(at(*t));
            let (role, whose): (&str, Vec<usize>) = match on {
                TableOf::Master => ("master", masters.first().copied().into_iter().collect()),
                TableOf::Backup => (
                    "backup",
                    (0..s.directors.len())
                        .filter(|d| !masters.contains(d) && h.table_at(*d, at(*t)).is_some())
                        .collect(),
                ),
            };
            // Each director judged: its weights, or none recorded.
            // (director, its table's weights if recorded)
            type Seen<'a> = (usize, Option<&'a [(String, u32)]>);
            let seen: Vec<Seen> = whose
                .iter()
                .map(|d| (*d, h.weights_at(*d, at(*t))))
                .collect();
            let holds = |ws: &[(String, u32)]| {
                let w = ws.iter().find(|(k, _)| *k == key).map(|(_, w)| *w);
                match weight {
                    Some(want) => w == Some(*want),
                    None => w.is_some_and(|w| w > 0) == *present,
                }
            };
            // The live servers, or with a weight asked for, every
            // destination with its weight.
            let show = |ws: &[(String, u32)]| {
                let mut v: Vec<String> = ws
                    .iter()
                    .filter(|(_, w)| weight.is_some() || *w > 0)
                    .map(|(k, w)| match weight {
                        Some(_) => format!("{k}@{w}"),
                        None => k.clone(),
                    })
                    .collect();
                v.dedup();
                v.join(" ")
            };
            Checked {
                line,
                what: describe(s, e),
                // No such director, or one with no table yet: nothing seen.
                pass: !seen.is_empty() && seen.iter().all(|(_, ws)| ws.is_some_and(holds)),
                seen: if seen.is_empty() && *on == TableOf::Master {
                    "master none, no table recorded".to_string()
                } else if seen.is_empty() {
                    format!("no backup with a table (masters {})", names(&masters))
                } else {
                    seen.iter()
                        .map(|(d, ws)| match ws {
                            Some(ws) => {
                                format!("{role} {} table [{}]", s.directors[*d].name, show(ws))
                            }
                            None => format!("{role} {}, no table recorded", s.directors[*d].name),
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                },
            }
        }
        Expectation::SingleMaster { except } => {
            let end = Instant::from_duration(s.duration);
            let bad: Vec<_> = h
                .instances()
                .iter()
                .flat_map(|i| h.multi_master(i, end, grace))
                .filter(|(a, b, _)| !except.iter().any(|(x, y)| at(*x) <= *a && *b <= at(*y)))
                .collect();
            // Without any VRRP state there was nothing to count.
            let seen_any = !h.instances().is_empty();
            Checked {
                line,
                what: describe(s, e),
                pass: seen_any && bad.is_empty(),
                seen: match bad.first() {
                    None if !seen_any => "no VRRP state recorded".to_string(),
                    None => "one master at most".to_string(),
                    Some((a, b, ds)) => format!("{} masters from {a} to {b}", names(ds)),
                },
            }
        }
    }
}

/// An expectation in words, as a report shows it.
pub fn describe(s: &Scenario, e: &Expectation) -> String {
    let at = |d: Duration| Instant::from_duration(d);
    match e {
        Expectation::Master {
            node,
            at: t,
            instance: None,
        } => {
            format!("{} is master at {}", s.directors[*node].name, at(*t))
        }
        Expectation::Master {
            node,
            at: t,
            instance: Some(i),
        } => format!("{} is master of {i} at {}", s.directors[*node].name, at(*t)),
        Expectation::State {
            node,
            instance,
            state,
            at: t,
        } => format!(
            "{} {instance} is {state} at {}",
            s.directors[*node].name,
            at(*t)
        ),
        Expectation::Priority {
            node,
            instance,
            value,
            at: t,
        } => format!(
            "{} {instance} has priority {value} at {}",
            s.directors[*node].name,
            at(*t)
        ),
        Expectation::Notify {
            node,
            argv,
            from,
            to,
        } => format!(
            "{} calls {} from {} to {}",
            s.directors[*node].name,
            argv.join(" "),
            at(*from),
            at(*to)
        ),
        Expectation::VipHolder { node, at: t } => format!(
            "only {} holds the VIP at {}",
            s.directors[*node].name,
            at(*t)
        ),
        Expectation::MaxFailover { max } => format!("every failover within {}", fmt_ms(*max)),
        Expectation::SuccessRatio { min, from, to } => format!(
            "at least {:.1}% of requests from {} to {} succeed",
            min * 100.0,
            at(*from),
            at(*to)
        ),
        Expectation::InTable {
            server,
            at: t,
            present,
            weight,
            on,
        } => format!(
            "{} {} the {} table at {}",
            s.real_servers[*server].name,
            match weight {
                Some(w) => format!("has weight {w} in"),
                None if *present => "is in".to_string(),
                None => "is not in".to_string(),
            },
            match on {
                TableOf::Master => "master's",
                TableOf::Backup => "backups'",
            },
            at(*t)
        ),
        Expectation::SingleMaster { except } if except.is_empty() => "never two masters".into(),
        Expectation::SingleMaster { .. } => "never two masters outside the allowed windows".into(),
    }
}
