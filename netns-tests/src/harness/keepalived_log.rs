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
}

/// Reads one keepalived process's log, line by line.
#[derive(Clone, Debug)]
pub struct KeepalivedLog {
    instances: BTreeMap<String, Inst>,
}

/// The message of a console line, without `Tue Nov 24 22:25:35 2026: `.
pub fn message(line: &str) -> &str {
    // The date is five words, the last one the year followed by ':'.
    let mut words = 0;
    for (i, c) in line.char_indices() {
        if c == ' ' {
            words += 1;
            if words == 5 && line[..i].ends_with(':') {
                return &line[i + 1..];
            }
        }
    }
    line
}

impl KeepalivedLog {
    /// A parser for a keepalived running `instances`, all initialising.
    pub fn new(instances: Vec<InstanceInfo>) -> KeepalivedLog {
        KeepalivedLog {
            instances: instances
                .into_iter()
                .map(|info| {
                    (
                        info.name.clone(),
                        Inst {
                            info,
                            state: State::Initialize,
                            pending: None,
                            vips_set: false,
                            announced: false,
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
        let prio = inst.info.priority;
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
            "sent 0 priority" => go(inst, State::Initialize, Reason::Shutdown),
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
                        priority: inst.info.priority,
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
}
