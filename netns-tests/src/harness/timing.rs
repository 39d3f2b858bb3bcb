//! Real timings checked against bounds, from the capture: a backup that
//! takes over from a silent master sends its first advert within the
//! master-down interval (+ 50 ms) of the master's last advert (within
//! its skew time + 50 ms after a priority-0 advert), and its first
//! gratuitous ARP / unsolicited NA within 10 ms of its first advert.

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
    /// Instance name.
    pub name: String,
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

/// A transition to master: its daemon logged it (`at` on the run's
/// clock, `director`, `instance`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BecameMaster {
    /// When it was logged.
    pub at: Instant,
    /// Director index.
    pub director: usize,
    /// Instance name.
    pub instance: String,
}

/// A new master as the capture shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Takeover {
    /// VRID.
    pub vrid: u8,
    /// Its first advert as master passed the bridge then (or, when no
    /// advert left it, e.g. unicast to an unresolved peer, when it
    /// logged the transition).
    pub at: Instant,
    /// Whether an advert was seen.
    pub advert: bool,
    /// The new master (director index).
    pub new: usize,
    /// The last other advertiser before it, its last advert and its
    /// priority then.
    pub previous: Option<(usize, Instant, u8)>,
    /// Whether another director was still advertising (preemption,
    /// partition, loss): no takeover bound applies.
    pub contested: bool,
}

/// How long before its logged transition a new master's first advert
/// may pass the bridge (the log line is read after the advert is sent).
const LOG_LAG: Duration = Duration::from_millis(20);

/// The takeovers the transitions in `masters` stand for, located in the
/// capture `obs`.
pub fn takeovers(
    obs: &[Observation],
    dirs: &[TimedDirector],
    masters: &[BecameMaster],
    origin: SystemTime,
) -> Vec<Takeover> {
    let at = |t: SystemTime| Instant::from_duration(t.duration_since(origin).unwrap_or_default());
    let mut adverts: Vec<(Instant, usize, u8, u8)> = obs
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
                .map(|d| (at(o.at), d, *vrid, *priority)),
            _ => None,
        })
        .collect();
    adverts.sort_by_key(|a| a.0);
    let mut out = Vec::new();
    for m in masters {
        let Some(inst) = dirs[m.director]
            .instances
            .iter()
            .find(|i| i.name == m.instance)
        else {
            continue;
        };
        let iv = inst.interval.as_duration();
        let first = adverts.iter().find(|(t, d, v, p)| {
            *d == m.director && *v == inst.vrid && *p > 0 && *t + LOG_LAG >= m.at && *t <= m.at + iv
        });
        let t2 = first.map_or(m.at, |a| a.0);
        let before: Vec<&(Instant, usize, u8, u8)> = adverts
            .iter()
            .filter(|(t, d, v, _)| *v == inst.vrid && *d != m.director && *t < t2)
            .collect();
        let previous = before.last().map(|(t, d, _, p)| (*d, *t, *p));
        // Contested: another router's latest advert is recent and not a
        // priority-0 farewell.
        let mut latest: Vec<&(Instant, usize, u8, u8)> = Vec::new();
        for a in before.iter().rev() {
            if !latest.iter().any(|l| l.1 == a.1) {
                latest.push(a);
            }
        }
        let contested = latest.iter().any(|(t, d, _, p)| {
            let their = dirs[*d]
                .instances
                .iter()
                .find(|i| i.vrid == inst.vrid)
                .map_or(iv, |i| i.interval.as_duration());
            *p > 0 && t2 - *t <= their * 3 / 2
        });
        out.push(Takeover {
            vrid: inst.vrid,
            at: t2,
            advert: first.is_some(),
            new: m.director,
            previous,
            contested,
        });
    }
    out
}

/// The timing checks of a run whose directors logged `masters`.
pub fn check(
    obs: &[Observation],
    dirs: &[TimedDirector],
    masters: &[BecameMaster],
    origin: SystemTime,
) -> Vec<Timed> {
    let at = |t: SystemTime| Instant::from_duration(t.duration_since(origin).unwrap_or_default());
    let mut out = Vec::new();
    for tk in takeovers(obs, dirs, masters, origin) {
        let new = &dirs[tk.new];
        let Some(inst) = new.instances.iter().find(|i| i.vrid == tk.vrid) else {
            continue;
        };
        if let (Some((p, last, prio)), false, true) = (tk.previous, tk.contested, tk.advert) {
            // Only a backup that was running before the master fell
            // silent times its takeover from the master's last advert.
            let running = new
                .starts
                .iter()
                .map(|s| at(*s))
                .filter(|s| *s <= tk.at)
                .max()
                .is_some_and(|s| s <= last);
            if running {
                let gap = tk.at - last;
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
                    at: tk.at,
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
        // GARP / NA from the new master right after it became master.
        let garp = obs
            .iter()
            .filter(|o| match &o.seen {
                Seen::Garp { mac, .. } | Seen::Na { mac, .. } => *mac == new.mac,
                _ => false,
            })
            .map(|o| at(o.at))
            .filter(|g| *g + GARP_BOUND >= tk.at)
            .min();
        let (seen, pass) = match garp {
            Some(g) => {
                let d = if g >= tk.at { g - tk.at } else { tk.at - g };
                (fmt_ms(d), d <= GARP_BOUND)
            }
            None => ("none".to_string(), false),
        };
        out.push(Timed {
            at: tk.at,
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
                name: "apache".into(),
                vrid: 51,
                priority: prio,
                interval: Interval::Seconds(1),
                down_adverts: 3,
            }],
            starts: vec![SystemTime::UNIX_EPOCH],
        }
    }

    fn t(ms: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
    }

    fn advert(ms: u64, n: u8, prio: u8) -> Observation {
        Observation {
            at: t(ms),
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
            at: t(ms),
            seen: Seen::Garp {
                mac: MacAddr::local(u32::from(n)),
                addr: "192.0.2.160".parse().unwrap(),
            },
        }
    }

    fn master(ms: u64, d: usize) -> BecameMaster {
        BecameMaster {
            at: Instant::from_millis(ms),
            director: d,
            instance: "apache".into(),
        }
    }

    #[test]
    fn failover_within_the_master_down_interval() {
        let dirs = [dir(1, 100), dir(2, 90)];
        // lb1 master from 3.6 s, last advert at 10.6 s; lb2 at 14.249 s
        // (3649 ms later), GARP 1 ms after.
        let mut obs: Vec<Observation> = (0..8).map(|i| advert(3600 + i * 1000, 1, 100)).collect();
        obs.push(garp(3601, 1));
        obs.push(advert(14_249, 2, 90));
        obs.push(garp(14_250, 2));
        let masters = [master(3601, 0), master(14_250, 1)];
        let checks = check(&obs, &dirs, &masters, SystemTime::UNIX_EPOCH);
        assert_eq!(checks.len(), 3, "{}", render(&checks));
        assert!(checks.iter().all(|c| c.pass), "{}", render(&checks));
        assert!(render(&checks).contains("lb2 took over from lb1 after its last advert: 3649ms (bound: master-down interval 3648.437ms + 50ms)"));

        // Late by 100 ms: fails.
        let mut late = obs.clone();
        late[9] = advert(14_349, 2, 90);
        late[10] = garp(14_350, 2);
        let masters = [master(3601, 0), master(14_350, 1)];
        let checks = check(&late, &dirs, &masters, SystemTime::UNIX_EPOCH);
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
            advert(3500, 1, 100),
            advert(3600, 1, 0), // stops, 100 ms after its last advert
            advert(4250, 2, 90),
            garp(4250, 2),
        ];
        let masters = [master(1000, 1), master(2500, 0), master(4251, 1)];
        let tk = takeovers(&obs, &dirs, &masters, SystemTime::UNIX_EPOCH);
        assert_eq!(tk.len(), 3);
        assert!(tk[1].contested);
        let checks = check(&obs, &dirs, &masters, SystemTime::UNIX_EPOCH);
        let timed: Vec<&Timed> = checks
            .iter()
            .filter(|c| c.what.contains("took over"))
            .collect();
        assert_eq!(timed.len(), 1);
        assert!(timed[0].what.contains("(priority 0)"));
        assert!(checks.iter().all(|c| c.pass), "{}", render(&checks));
    }

    #[test]
    fn a_master_whose_adverts_cannot_leave_is_not_timed() {
        // Unicast to a peer that is gone: no advert on the wire after the
        // transition; the GARP is still checked against the log time.
        let dirs = [dir(1, 100), dir(2, 90)];
        let obs = vec![advert(1000, 1, 100), garp(4650, 2)];
        let masters = [master(4649, 1)];
        let checks = check(&obs, &dirs, &masters, SystemTime::UNIX_EPOCH);
        assert_eq!(checks.len(), 1, "{}", render(&checks));
        assert!(checks[0].pass);
    }
}
