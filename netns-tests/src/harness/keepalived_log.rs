//! keepalived 2.2.7's console log (`-l`) read as core's trace events.
//!
//! keepalived logs its transitions in its own words (`(apache) Entering
//! MASTER STATE`); the reason is taken from the line before it
//! (`Backup received priority 0 advertisement`, `received lower priority
//! (90) advert ... - discarding`, `Master received advert ... with higher
//! priority`), and priorities, VIPs and the GARP repeat from the
//! instance's config. So the same vocabulary describes both daemons.

use std::collections::BTreeMap;
use std::net::IpAddr;

use vigil_core::trace::Event;
use vigil_core::vrrp::{self, EventKind, GarpCause, Reason, State};

/// What the parser knows of one `vrrp_instance` from its config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceInfo {
    /// Its name.
    pub name: String,
    /// Its configured priority.
    pub priority: u8,
    /// Its VIPs.
    pub vips: Vec<IpAddr>,
    /// GARPs per VIP on becoming master.
    pub garp_repeat: u32,
}

#[derive(Clone, Debug)]
struct Inst {
    info: InstanceInfo,
    state: State,
    pending: Option<Reason>,
    vips_set: bool,
    /// GARPs were sent since it last became master.
    announced: bool,
    /// Its effective priority, as the last `Changing effective priority`
    /// line said (the configured one before any).
    effective: u8,
}

/// Reads one keepalived process's log, line by line.
#[derive(Clone, Debug)]
pub struct KeepalivedLog {
    instances: BTreeMap<String, Inst>,
}

/// The message of a console line, without its timestamp.
///
/// keepalived 2.2.7 stamps console lines with strftime's `%c` in the C
/// locale, `Www Mmm dd HH:MM:SS YYYY: `, where the day of the month is
/// padded with a space (`Fri Dec  4 05:58:15 2026: `), and lines of its
/// log file (`-g`) with `Www Mmm DD HH:MM:SS.NNNNNNNNN YYYY: `. The prefix
/// is recognised by that shape, not by counting words; a line without it
/// is returned whole.
pub fn message(line: &str) -> &str {
    timestamp_len(line.as_bytes()).map_or(line, |n| &line[n..])
}

/// The length of a keepalived timestamp prefix (with its `: `) at the
/// start of `b`, if there is one.
fn timestamp_len(b: &[u8]) -> Option<usize> {
    let mut p = Shape { b, at: 0 };
    p.letters(3)?; // weekday
    p.byte(b' ')?;
    p.letters(3)?; // month
    p.byte(b' ')?;
    // The day: `%e` pads with a space, `%d` with a zero.
    if p.byte(b' ').is_none() {
        p.digits(1)?;
    }
    p.digits(1)?;
    p.byte(b' ')?;
    p.digits(2)?;
    p.byte(b':')?;
    p.digits(2)?;
    p.byte(b':')?;
    p.digits(2)?;
    if p.byte(b'.').is_some() {
        p.digits(9)?;
    }
    p.byte(b' ')?;
    p.digits(4)?; // year
    p.byte(b':')?;
    p.byte(b' ')?;
    Some(p.at)
}

/// A cursor matching a fixed shape of ASCII bytes.
struct Shape<'a> {
    b: &'a [u8],
    at: usize,
}

impl Shape<'_> {
    fn byte(&mut self, want: u8) -> Option<()> {
        (self.b.get(self.at) == Some(&want)).then(|| self.at += 1)
    }

    fn class(&mut self, n: usize, ok: fn(&u8) -> bool) -> Option<()> {
        let run = self.b.get(self.at..self.at + n)?;
        run.iter().all(ok).then(|| self.at += n)
    }

    fn letters(&mut self, n: usize) -> Option<()> {
        self.class(n, u8::is_ascii_alphabetic)
    }

    fn digits(&mut self, n: usize) -> Option<()> {
        self.class(n, u8::is_ascii_digit)
    }
}

impl KeepalivedLog {
    /// A parser for a keepalived running `instances`, all initialising.
    pub fn new(instances: Vec<InstanceInfo>) -> KeepalivedLog {
        KeepalivedLog {
            instances: instances
                .into_iter()
                .map(|info| {
                    let effective = info.priority;
                    (
                        info.name.clone(),
                        Inst {
                            info,
                            state: State::Initialize,
                            pending: None,
                            vips_set: false,
                            announced: false,
                            effective,
                        },
                    )
                })
                .collect(),
        }
    }

    /// The events line `line` stands for (often none).
    pub fn line(&mut self, line: &str) -> Vec<Event> {
        let msg = message(line).trim_end();
        if msg == "Stopped" || msg == "Stopping" || msg.starts_with("Stopped Keepalived") {
            return self.stop_all();
        }
        // `Netlink reflector reports IP 192.0.2.1 removed from eth0`:
        // the next transition of the instances holding it is that.
        if let Some(rest) = msg.strip_prefix("Netlink reflector reports IP ")
            && let Some((addr, _)) = rest.split_once(" removed from ")
            && let Ok(addr) = addr.parse::<IpAddr>()
        {
            for inst in self.instances.values_mut() {
                if inst.info.vips.contains(&addr) {
                    inst.pending = Some(Reason::AddressRemoved);
                }
            }
            return Vec::new();
        }
        let Some(rest) = msg.strip_prefix('(') else {
            return Vec::new();
        };
        let Some((name, what)) = rest.split_once(") ") else {
            return Vec::new();
        };
        let Some(inst) = self.instances.get_mut(name) else {
            return Vec::new();
        };
        let ev = |kind| {
            vec![Event::Vrrp(vrrp::Event {
                instance: name.to_string(),
                kind,
            })]
        };
        let prio = inst.effective;
        let go = |inst: &mut Inst, to: State, reason: Reason| {
            let from = inst.state;
            inst.state = to;
            inst.pending = None;
            inst.announced = false;
            ev(EventKind::State {
                from,
                to,
                reason,
                priority: prio,
            })
        };
        match what {
            "Entering BACKUP STATE (init)" => go(inst, State::Backup, Reason::Startup),
            "Entering FAULT STATE (init)" => go(inst, State::Fault, Reason::Fault),
            "Entering BACKUP STATE" => {
                let reason = match inst.state {
                    State::Fault => Reason::FaultCleared,
                    State::Initialize => Reason::Startup,
                    _ => inst.pending.unwrap_or(Reason::HigherPrioritySeen),
                };
                go(inst, State::Backup, reason)
            }
            "Entering FAULT STATE" | "entering FAULT state" => {
                go(inst, State::Fault, Reason::Fault)
            }
            "Entering MASTER STATE" => {
                let reason = inst.pending.unwrap_or(Reason::MasterDownTimeout);
                go(inst, State::Master, reason)
            }
            "Backup received priority 0 advertisement" => {
                inst.pending = Some(Reason::PriorityZeroReceived);
                Vec::new()
            }
            // A master stopping; the same line follows a step down (an
            // address removed), after its `Entering BACKUP STATE`.
            "sent 0 priority" if inst.state == State::Master => {
                go(inst, State::Initialize, Reason::Shutdown)
            }
            "setting VIPs." => {
                inst.vips_set = true;
                ev(EventKind::Vips {
                    added: true,
                    addrs: inst.info.vips.clone(),
                })
            }
            "removing VIPs." if inst.vips_set => {
                inst.vips_set = false;
                ev(EventKind::Vips {
                    added: false,
                    addrs: inst.info.vips.clone(),
                })
            }
            w if w.starts_with("Changing effective priority from ") => {
                let mut n = w["Changing effective priority from ".len()..]
                    .split(" to ")
                    .map(|x| x.trim().parse::<u8>().ok());
                let (Some(Some(from)), Some(Some(to))) = (n.next(), n.next()) else {
                    return Vec::new();
                };
                inst.effective = to;
                ev(EventKind::Priority {
                    from,
                    to,
                    cause: String::new(),
                })
            }
            w if w.starts_with("received lower priority") && w.ends_with("- discarding") => {
                inst.pending = Some(Reason::Preempt);
                Vec::new()
            }
            w if w.starts_with("Master received advert from") && w.contains("higher") => {
                inst.pending = Some(Reason::HigherPrioritySeen);
                Vec::new()
            }
            w if w.starts_with("Sending/queueing gratuitous ARPs")
                || w.starts_with("Sending/queueing Unsolicited Neighbour Adverts") =>
            {
                // The first burst after becoming master; later ones are
                // garp_master_delay's.
                let cause = if inst.announced {
                    GarpCause::Delayed
                } else {
                    GarpCause::BecomeMaster
                };
                inst.announced = true;
                ev(EventKind::Garp {
                    addrs: inst.info.vips.clone(),
                    repeat: inst.info.garp_repeat,
                    cause,
                })
            }
            _ => Vec::new(),
        }
    }

    /// Every instance not yet initialising goes there (the process ends).
    fn stop_all(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        for (name, inst) in &mut self.instances {
            if inst.state != State::Initialize {
                let from = inst.state;
                inst.state = State::Initialize;
                out.push(Event::Vrrp(vrrp::Event {
                    instance: name.clone(),
                    kind: EventKind::State {
                        from,
                        to: State::Initialize,
                        reason: Reason::Shutdown,
                        priority: inst.effective,
                    },
                }));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser() -> KeepalivedLog {
        KeepalivedLog::new(vec![InstanceInfo {
            name: "apache".into(),
            priority: 90,
            vips: vec!["192.0.2.160".parse().unwrap()],
            garp_repeat: 5,
        }])
    }

    fn run(p: &mut KeepalivedLog, lines: &[&str]) -> Vec<String> {
        lines
            .iter()
            .flat_map(|l| p.line(&format!("Tue Nov 24 22:25:35 2026: {l}")))
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn failover_and_preemption_in_core_words() {
        let mut p = parser();
        let got = run(
            &mut p,
            &[
                "Starting Keepalived v2.2.7 (01/16,2022)",
                "(apache) removing VIPs.",
                "(apache) Entering BACKUP STATE (init)",
                "(apache) Receive advertisement timeout",
                "(apache) Entering MASTER STATE",
                "(apache) setting VIPs.",
                "(apache) Sending/queueing gratuitous ARPs on eth0 for 192.0.2.160",
                "Sending gratuitous ARP on eth0 for 192.0.2.160",
                "(apache) Sending/queueing gratuitous ARPs on eth0 for 192.0.2.160",
                "(apache) Master received advert from 192.0.2.150 with higher priority 100, ours 90",
                "(apache) Entering BACKUP STATE",
                "(apache) removing VIPs.",
                "(apache) Backup received priority 0 advertisement",
                "(apache) Receive advertisement timeout",
                "(apache) Entering MASTER STATE",
                "(apache) setting VIPs.",
                "(apache) sent 0 priority",
                "(apache) removing VIPs.",
                "Stopped",
            ],
        );
        assert_eq!(
            got,
            [
                "vrrp/apache state from=initialize to=backup reason=startup prio=90",
                "vrrp/apache state from=backup to=master reason=master-down-timeout prio=90",
                "vrrp/apache vip-add addrs=192.0.2.160",
                "vrrp/apache garp addrs=192.0.2.160 repeat=5 cause=become-master",
                "vrrp/apache garp addrs=192.0.2.160 repeat=5 cause=delayed",
                "vrrp/apache state from=master to=backup reason=higher-priority-seen prio=90",
                "vrrp/apache vip-del addrs=192.0.2.160",
                "vrrp/apache state from=backup to=master reason=priority-0-received prio=90",
                "vrrp/apache vip-add addrs=192.0.2.160",
                "vrrp/apache state from=master to=initialize reason=shutdown prio=90",
                "vrrp/apache vip-del addrs=192.0.2.160",
            ]
        );
    }

    #[test]
    fn preemption_and_stop_from_backup() {
        let mut p = parser();
        let got = run(
            &mut p,
            &[
                "(apache) Entering BACKUP STATE (init)",
                "(apache) received lower priority (80) advert from 192.0.2.151 - discarding",
                "(apache) Receive advertisement timeout",
                "(apache) Entering MASTER STATE",
                "(other) Entering MASTER STATE",
            ],
        );
        assert_eq!(
            got[1],
            "vrrp/apache state from=backup to=master reason=preempt prio=90"
        );
        assert_eq!(got.len(), 2);
        let mut p = parser();
        let got = run(
            &mut p,
            &["(apache) Entering BACKUP STATE (init)", "Stopping"],
        );
        assert_eq!(
            got[1],
            "vrrp/apache state from=backup to=initialize reason=shutdown prio=90"
        );
        assert_eq!(message("no date here"), "no date here");
    }

    /// keepalived says when a tracker moves the effective priority; the
    /// transitions after it carry the new one.
    #[test]
    fn effective_priority_changes_are_followed() {
        let mut p = parser();
        let got = run(
            &mut p,
            &[
                "(apache) Entering BACKUP STATE (init)",
                "(apache) Changing effective priority from 90 to 70",
                "(apache) Changing effective priority from 70 to nonsense",
                "(apache) Receive advertisement timeout",
                "(apache) Entering MASTER STATE",
            ],
        );
        assert_eq!(
            got,
            [
                "vrrp/apache state from=initialize to=backup reason=startup prio=90",
                "vrrp/apache priority from=90 to=70 cause=\"\"",
                "vrrp/apache state from=backup to=master reason=master-down-timeout prio=70",
            ]
        );
    }

    /// An address removed by hand: BACKUP for that reason, then the
    /// priority-0 advert's line, which is no stop.
    #[test]
    fn an_address_removed_steps_down_without_stopping() {
        let mut p = parser();
        let got = run(
            &mut p,
            &[
                "(apache) Entering BACKUP STATE (init)",
                "(apache) Entering MASTER STATE",
                "Netlink reflector reports IP 192.0.2.160 removed from eth0",
                "(apache) Entering BACKUP STATE",
                "(apache) sent 0 priority",
                "(apache) Entering MASTER STATE",
            ],
        );
        assert_eq!(
            got[2..],
            [
                "vrrp/apache state from=master to=backup reason=address-removed prio=90",
                "vrrp/apache state from=backup to=master reason=master-down-timeout prio=90",
            ]
        );
    }

    #[test]
    fn timestamp_prefix_on_any_day() {
        // Days 1 and 9 are padded with a space (strftime %c), 10 and 31 are not.
        for line in [
            "Fri Dec  1 05:58:15 2026: (apache) Entering MASTER STATE",
            "Wed Dec  9 23:59:59 2026: (apache) Entering MASTER STATE",
            "Thu Dec 10 00:00:00 2026: (apache) Entering MASTER STATE",
            "Thu Dec 31 12:00:00 2026: (apache) Entering MASTER STATE",
            // The log file's (-g) stamp: zero-padded day, nanoseconds.
            "Fri Dec 04 05:58:15.123456789 2026: (apache) Entering MASTER STATE",
        ] {
            assert_eq!(message(line), "(apache) Entering MASTER STATE", "{line:?}");
        }
        for day in 1..=31 {
            let line =
                format!("Tue Jan {day:>2} 22:25:35 2027: (apache) Entering BACKUP STATE (init)");
            let mut p = parser();
            let got: Vec<String> = p.line(&line).iter().map(|e| e.to_string()).collect();
            assert_eq!(
                got,
                ["vrrp/apache state from=initialize to=backup reason=startup prio=90"],
                "{line:?}"
            );
        }
        // Near misses are not a stamp: the line is kept whole.
        for line in [
            "Fri Dec   4 05:58:15 2026: x",
            "Fri Dec 4 05:58:15 2026: x",
            "Fri Dec  4 05:58 2026: x",
            "Fri Dec  4 05:58:15 26: x",
            "Fri Dec  4 05:58:15 2026 x",
            "Fri Dec  4 05:58:15.12 2026: x",
            "Fri",
            "",
        ] {
            assert_eq!(message(line), line);
        }
        // A message that itself holds a date-like text is left alone.
        assert_eq!(
            message("Thu Dec 10 00:00:00 2026: Starting Keepalived v2.2.7 (01/16,2022)"),
            "Starting Keepalived v2.2.7 (01/16,2022)"
        );
    }
}
