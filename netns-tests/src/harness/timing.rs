//! Real timings checked against bounds, from the capture: a backup that
//! takes over from a silent master sends its first advert within the
//! master-down interval (+ 50 ms) of the master's last advert (within
//! its skew time + 50 ms after a priority-0 advert), and its first
//! gratuitous ARP / unsolicited NA within 10 ms of its first advert.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::{Duration, SystemTime};

use vigil_core::packet::MacAddr;
use vigil_core::packet::vrrp::Interval;
use vigil_core::time::{Instant, fmt_ms};
use vigil_core::vrrp::timers;

use crate::capture::{Observation, Seen};

/// Slack over the master-down interval (or skew) for a takeover.
pub const TAKEOVER_SLACK: Duration = Duration::from_millis(50);
/// Longest wait from a new master's first advert to its first GARP.
pub const GARP_BOUND: Duration = Duration::from_millis(10);

/// One VRRP instance of a director, as the timing checks need it.
#[derive(Clone, Debug)]
pub struct TimedInstance {
    /// Virtual router id.
    pub vrid: u8,
    /// Priority.
    pub priority: u8,
    /// Advert interval.
    pub interval: Interval,
    /// Adverts missed before the master is declared down (3).
    pub down_adverts: u32,
}

/// A director as the timing checks see it.
#[derive(Clone, Debug)]
pub struct TimedDirector {
    /// Name.
    pub name: String,
    /// The MAC its adverts come from.
    pub mac: MacAddr,
    /// Its instances.
    pub instances: Vec<TimedInstance>,
    /// When its daemon was started (each start).
    pub starts: Vec<SystemTime>,
}

/// One timing check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timed {
    /// When (the new master's first advert).
    pub at: Instant,
    /// What was measured.
    pub what: String,
    /// The bound, in words.
    pub bound: String,
    /// What was measured, in words.
    pub seen: String,
    /// Whether it held.
    pub pass: bool,
}

/// A new master seen in the capture: its first advert after silence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Takeover {
    /// VRID.
    pub vrid: u8,
    /// When its first advert passed the bridge.
    pub at: SystemTime,
    /// The new master (director index).
    pub new: usize,
    /// The previous advertiser, its last advert and its priority then.
    pub previous: Option<(usize, SystemTime, u8)>,
    /// Whether another director was still advertising (preemption,
    /// partition, loss): no bound applies.
    pub contested: bool,
}

/// The takeovers in `obs` for `dirs`, in time order.
pub fn takeovers(obs: &[Observation], dirs: &[TimedDirector]) -> Vec<Takeover> {
    let mut adverts: Vec<(SystemTime, usize, u8, u8)> = obs
        .iter()
        .filter_map(|o| match &o.seen {
            Seen::Advert {
                mac,
                vrid,
                priority,
                ..
            } => dirs
                .iter()
                .position(|d| d.mac == *mac)
                .map(|d| (o.at, d, *vrid, *priority)),
            _ => None,
        })
        .collect();
    adverts.sort_by_key(|a| a.0);
    let interval_of = |d: usize, vrid: u8| {
        dirs[d]
            .instances
            .iter()
            .find(|i| i.vrid == vrid)
            .map_or(Duration::from_secs(1), |i| i.interval.as_duration())
    };
    let mut last: BTreeMap<(u8, usize), (SystemTime, u8)> = BTreeMap::new();
    let mut out = Vec::new();
    for (t, d, vrid, prio) in adverts {
        let iv = interval_of(d, vrid);
        // New as master: never heard, silent for three intervals, or
        // silent for one and a half while another router advertised.
        let fresh = match last.get(&(vrid, d)) {
            None => true,
            Some((p, _)) => {
                let gap = t.duration_since(*p).unwrap_or_default();
                let other_since = last
                    .iter()
                    .any(|((v, o), (at, _))| *v == vrid && *o != d && *at > *p);
                gap > iv * 3 || (gap > iv * 3 / 2 && other_since)
            }
        };
        if fresh && prio > 0 {
            let others: Vec<(usize, SystemTime, u8)> = last
                .iter()
                .filter(|((v, o), _)| *v == vrid && *o != d)
                .map(|((_, o), (at, p))| (*o, *at, *p))
                .collect();
            let contested = others.iter().any(|(o, at, p)| {
                *p > 0 && t.duration_since(*at).unwrap_or_default() <= interval_of(*o, vrid) * 3 / 2
            });
            let previous = others.iter().max_by_key(|(_, at, _)| *at).copied();
            out.push(Takeover {
                vrid,
                at: t,
                new: d,
                previous,
                contested,
            });
        }
        last.insert((vrid, d), (t, prio));
    }
    out
}

/// The timing checks of a run.
pub fn check(obs: &[Observation], dirs: &[TimedDirector], origin: SystemTime) -> Vec<Timed> {
    let at = |t: SystemTime| Instant::from_duration(t.duration_since(origin).unwrap_or_default());
    let mut out = Vec::new();
    for tk in takeovers(obs, dirs) {
        let new = &dirs[tk.new];
        let Some(inst) = new.instances.iter().find(|i| i.vrid == tk.vrid) else {
            continue;
        };
        if let (Some((p, last, prio)), false) = (tk.previous, tk.contested) {
            // Only a backup that was running before the master fell
            // silent times its takeover from the master's last advert.
            let running = new
                .starts
                .iter()
                .filter(|s| **s <= tk.at)
                .max()
                .is_some_and(|s| *s <= last);
            if running {
                let gap = tk.at.duration_since(last).unwrap_or_default();
                let (what, due) = if prio == 0 {
                    ("skew time", timers::skew(inst.interval, inst.priority))
                } else {
                    (
                        "master-down interval",
                        timers::master_down(inst.interval, inst.priority, inst.down_adverts),
                    )
                };
                let lower = if prio == 0 {
                    Duration::ZERO
                } else {
                    due.saturating_sub(Duration::from_millis(20))
                };
                out.push(Timed {
                    at: at(tk.at),
                    what: format!(
                        "vrid {} {} took over from {} after its last advert{}",
                        tk.vrid,
                        new.name,
                        dirs[p].name,
                        if prio == 0 { " (priority 0)" } else { "" }
                    ),
                    bound: format!("{} {} + {}", what, fmt_ms(due), fmt_ms(TAKEOVER_SLACK)),
                    seen: fmt_ms(gap),
                    pass: gap >= lower && gap <= due + TAKEOVER_SLACK,
                });
            }
        }
        // GARP / NA from the new master right after its first advert.
        let garp = obs
            .iter()
            .filter(|o| match &o.seen {
                Seen::Garp { mac, .. } | Seen::Na { mac, .. } => *mac == new.mac,
                _ => false,
            })
            .map(|o| o.at)
            .filter(|g| *g + GARP_BOUND >= tk.at)
            .min();
        let (seen, pass) = match garp {
            Some(g) => {
                let d = g
                    .duration_since(tk.at)
                    .or_else(|e| Ok::<_, ()>(e.duration()))
                    .unwrap_or_default();
                (fmt_ms(d), d <= GARP_BOUND)
            }
            None => ("none".to_string(), false),
        };
        out.push(Timed {
            at: at(tk.at),
            what: format!(
                "vrid {} {} announced the VIPs on becoming master",
                tk.vrid, new.name
            ),
            bound: format!(
                "first GARP/NA within {} of its first advert",
                fmt_ms(GARP_BOUND)
            ),
            seen,
            pass,
        });
    }
    out
}

/// The checks, one line each.
pub fn render(checks: &[Timed]) -> String {
    let mut s = String::new();
    for c in checks {
        let _ = writeln!(
            s,
            "timing {:<4} {} {}: {} (bound: {})",
            if c.pass { "ok" } else { "FAIL" },
            c.at,
            c.what,
            c.seen,
            c.bound
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(n: u8, prio: u8) -> TimedDirector {
        TimedDirector {
            name: format!("lb{n}"),
            mac: MacAddr::local(u32::from(n)),
            instances: vec![TimedInstance {
                vrid: 51,
                priority: prio,
                interval: Interval::Seconds(1),
                down_adverts: 3,
            }],
            starts: vec![SystemTime::UNIX_EPOCH],
        }
    }

    fn advert(ms: u64, n: u8, prio: u8) -> Observation {
        Observation {
            at: SystemTime::UNIX_EPOCH + Duration::from_millis(ms),
            seen: Seen::Advert {
                mac: MacAddr::local(u32::from(n)),
                src: "192.0.2.150".parse().unwrap(),
                dst: "224.0.0.18".parse().unwrap(),
                version: 2,
                vrid: 51,
                priority: prio,
            },
        }
    }

    fn garp(ms: u64, n: u8) -> Observation {
        Observation {
            at: SystemTime::UNIX_EPOCH + Duration::from_millis(ms),
            seen: Seen::Garp {
                mac: MacAddr::local(u32::from(n)),
                addr: "192.0.2.160".parse().unwrap(),
            },
        }
    }

    #[test]
    fn failover_within_the_master_down_interval() {
        let dirs = [dir(1, 100), dir(2, 90)];
        // lb1 master from 3.6 s, last advert at 10.6 s; lb2 at 14.25 s
        // (3648.4 ms later), GARP 1 ms after.
        let mut obs: Vec<Observation> = (0..8).map(|i| advert(3600 + i * 1000, 1, 100)).collect();
        obs.push(garp(3601, 1));
        obs.push(advert(14_249, 2, 90));
        obs.push(garp(14_250, 2));
        let checks = check(&obs, &dirs, SystemTime::UNIX_EPOCH);
        assert_eq!(checks.len(), 3, "{}", render(&checks));
        assert!(checks.iter().all(|c| c.pass), "{}", render(&checks));
        assert!(render(&checks).contains("lb2 took over from lb1 after its last advert: 3649ms (bound: master-down interval 3648.437ms + 50ms)"));

        // Late by 100 ms: fails.
        let mut late = obs.clone();
        late[9] = advert(14_349, 2, 90);
        late[10] = garp(14_350, 2);
        let checks = check(&late, &dirs, SystemTime::UNIX_EPOCH);
        assert!(!checks[1].pass);
    }

    #[test]
    fn preemption_is_not_timed_and_priority_zero_uses_skew() {
        let dirs = [dir(1, 100), dir(2, 90)];
        let obs = vec![
            advert(1000, 2, 90),
            garp(1001, 2),
            advert(2000, 2, 90),
            advert(2500, 1, 100), // preempts while lb2 advertises
            garp(2501, 1),
            advert(3500, 1, 0), // stops
            advert(4150, 2, 90),
            garp(4150, 2),
        ];
        let t = takeovers(&obs, &dirs);
        assert_eq!(t.len(), 3);
        assert!(t[1].contested);
        let checks = check(&obs, &dirs, SystemTime::UNIX_EPOCH);
        let timed: Vec<&Timed> = checks
            .iter()
            .filter(|c| c.what.contains("took over"))
            .collect();
        assert_eq!(timed.len(), 1);
        assert!(timed[0].what.contains("(priority 0)"));
        assert!(timed[0].pass, "{}", render(&checks));
        assert!(checks.iter().all(|c| c.pass));
    }
}
