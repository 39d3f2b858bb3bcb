//! The run's record while it happens: every source (daemon logs, the
//! kernel's address events, faults, clients) feeds one [`Live`], which
//! fills the simulator's [`Recorder`] so that the simulator's verdict
//! judges a real run with the same code.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::SystemTime;

use vigil_core::ipvs::Op;
use vigil_core::time::Instant;
use vigil_core::trace::{Event, Record};
use vigil_core::vrrp::{self, EventKind, State};
use vigil_sim::record::{Recorder, StateChange, TableChange};

/// One director as the record sees it.
#[derive(Clone, Debug, Default)]
pub struct DirLive {
    /// Its name.
    pub name: String,
    /// Off the segment (crashed): nothing it does counts until restart.
    pub down: bool,
    /// Its configured VIPs.
    pub vips: BTreeSet<IpAddr>,
    /// Its VIPs configured on its interfaces now (the kernel's word).
    pub present: BTreeSet<IpAddr>,
    /// Whether it holds VIPs, as last recorded.
    pub holds: bool,
    /// Its instances' states, as last logged.
    pub states: BTreeMap<String, State>,
    /// Its (would-be) IPVS table: (service, real server) -> weight.
    pub table: BTreeMap<(String, String), u32>,
}

/// Everything recorded so far.
#[derive(Debug)]
pub struct Live {
    /// The run's time origin.
    pub origin: SystemTime,
    /// The simulator's record, filled from real events.
    pub rec: Recorder,
    /// Directors.
    pub dirs: Vec<DirLive>,
    /// Order of arrival of trace records (ties of time keep it).
    seq: Vec<u64>,
    next: u64,
}

impl Live {
    /// An empty record for `dirs` starting at `origin`.
    pub fn new(origin: SystemTime, dirs: Vec<DirLive>) -> Live {
        Live {
            origin,
            rec: Recorder::default(),
            dirs,
            seq: Vec::new(),
            next: 0,
        }
    }

    /// `t` on the run's clock.
    pub fn at(&self, t: SystemTime) -> Instant {
        Instant::from_duration(t.duration_since(self.origin).unwrap_or_default())
    }

    /// Adds a trace record.
    pub fn trace(&mut self, t: SystemTime, node: &str, event: Event) {
        let at = self.at(t);
        self.rec.trace.push(Record {
            at,
            node: node.to_string(),
            event,
        });
        self.seq.push(self.next);
        self.next += 1;
    }

    /// An event logged by director `d`'s daemon at `t`.
    pub fn director_event(&mut self, d: usize, t: SystemTime, event: Event) {
        if self.dirs[d].down {
            return;
        }
        let at = self.at(t);
        match &event {
            Event::Vrrp(vrrp::Event {
                instance,
                kind: EventKind::Priority { to, .. },
            }) => {
                self.rec.priorities.push((at, d, instance.clone(), *to));
            }
            Event::Vrrp(vrrp::Event {
                instance,
                kind: EventKind::State { to, priority, .. },
            }) => {
                self.rec
                    .priorities
                    .push((at, d, instance.clone(), *priority));
                self.dirs[d].states.insert(instance.clone(), *to);
                self.rec.states.push(StateChange {
                    at,
                    director: d,
                    instance: instance.clone(),
                    to: *to,
                });
            }
            Event::Ipvs(vigil_core::ipvs::Event::Op(op)) => self.table_op(d, at, op),
            _ => {}
        }
        let name = self.dirs[d].name.clone();
        self.trace(t, &name, event);
    }

    fn table_op(&mut self, d: usize, at: Instant, op: &Op) {
        let table = &mut self.dirs[d].table;
        let svc = op.service_key().to_string();
        match op {
            Op::AddService { .. } | Op::EditService { .. } => {}
            Op::DelService { .. } => table.retain(|(s, _), _| *s != svc),
            Op::AddDest { dest, params, .. } | Op::EditDest { dest, params, .. } => {
                table.insert((svc, dest.to_string()), params.weight);
            }
            Op::DelDest { dest, .. } => {
                table.remove(&(svc, dest.to_string()));
            }
        }
        let mut live: Vec<String> = table
            .iter()
            .filter(|(_, w)| **w > 0)
            .map(|((_, rs), _)| rs.clone())
            .collect();
        live.sort();
        live.dedup();
        let mut weights: Vec<(String, u32)> =
            table.iter().map(|((_, rs), w)| (rs.clone(), *w)).collect();
        weights.sort();
        weights.dedup();
        self.rec.tables.push(TableChange {
            at,
            director: d,
            live,
            weights,
        });
    }

    /// A line of `ip monitor address` from director `d`'s namespace.
    pub fn addr_line(&mut self, d: usize, t: SystemTime, line: &str) {
        let Some((deleted, addr)) = parse_addr_event(line) else {
            return;
        };
        let dir = &mut self.dirs[d];
        if !dir.vips.contains(&addr) {
            return;
        }
        if deleted {
            dir.present.remove(&addr);
        } else {
            dir.present.insert(addr);
        }
        if dir.down {
            return;
        }
        let holds = !dir.present.is_empty();
        if holds != dir.holds {
            dir.holds = holds;
            let at = self.at(t);
            self.rec.vips.push((at, d, holds));
        }
    }

    /// Director `d` left the segment at `t` (crash): like the simulator,
    /// it holds nothing and its instances are initialising from then on.
    pub fn lost(&mut self, d: usize, t: SystemTime) {
        let at = self.at(t);
        let dir = &mut self.dirs[d];
        dir.down = true;
        if dir.holds {
            dir.holds = false;
            self.rec.vips.push((at, d, false));
        }
        let instances: Vec<String> = dir.states.keys().cloned().collect();
        dir.states.clear();
        for instance in instances {
            self.rec.states.push(StateChange {
                at,
                director: d,
                instance,
                to: State::Initialize,
            });
        }
        dir.table.clear();
    }

    /// Director `d` is back on the segment at `t` (its VIPs were
    /// flushed while it was down).
    pub fn back(&mut self, d: usize, t: SystemTime) {
        let at = self.at(t);
        let dir = &mut self.dirs[d];
        dir.down = false;
        let holds = !dir.present.is_empty();
        if holds != dir.holds {
            dir.holds = holds;
            self.rec.vips.push((at, d, holds));
        }
    }

    /// The record, every list in time order (arrival order for ties).
    pub fn finish(mut self) -> Recorder {
        let mut trace: Vec<(u64, Record)> =
            self.seq.drain(..).zip(self.rec.trace.drain(..)).collect();
        trace.sort_by_key(|(s, r)| (r.at, *s));
        self.rec.trace = trace.into_iter().map(|(_, r)| r).collect();
        self.rec.states.sort_by_key(|c| c.at);
        self.rec.vips.sort_by_key(|v| v.0);
        self.rec.tables.sort_by_key(|c| c.at);
        self.rec.requests.sort_by_key(|r| r.end);
        self.rec.forwards.sort_by_key(|f| f.0);
        self.rec
    }
}

/// `(deleted, address)` of an `ip monitor address` line such as
/// `2: eth0    inet 192.0.2.160/32 scope global eth0` or `Deleted 2: eth0
/// inet6 2001:db8::160/64 scope global`.
pub fn parse_addr_event(line: &str) -> Option<(bool, IpAddr)> {
    let line = line.trim_start();
    let deleted = line.starts_with("Deleted ");
    let mut words = line.split_whitespace();
    while let Some(w) = words.next() {
        if w == "inet" || w == "inet6" {
            let a = words.next()?;
            let a = a.split('/').next()?;
            return a.parse().ok().map(|a| (deleted, a));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn live() -> Live {
        let d = DirLive {
            name: "lb1".into(),
            vips: ["192.0.2.160".parse().unwrap()].into(),
            ..DirLive::default()
        };
        Live::new(SystemTime::UNIX_EPOCH, vec![d])
    }

    fn t(ms: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
    }

    #[test]
    fn kernel_address_events_make_vip_holding() {
        let mut l = live();
        l.addr_line(0, t(5), "2: eth0    inet 192.0.2.150/24 scope global eth0");
        l.addr_line(0, t(10), "2: eth0    inet 192.0.2.160/32 scope global eth0");
        l.addr_line(0, t(11), "       valid_lft forever preferred_lft forever");
        l.addr_line(
            0,
            t(20),
            "Deleted 2: eth0    inet 192.0.2.160/32 scope global eth0",
        );
        let v: Vec<_> = l
            .rec
            .vips
            .iter()
            .map(|(a, d, h)| (a.as_nanos() / 1_000_000, *d, *h))
            .collect();
        assert_eq!(v, [(10, 0, true), (20, 0, false)]);
        assert_eq!(
            parse_addr_event("Deleted 3: ens32    inet6 2001:db8::160/128 scope global"),
            Some((true, "2001:db8::160".parse().unwrap()))
        );
    }

    #[test]
    fn a_lost_director_holds_nothing_until_back() {
        let mut l = live();
        l.director_event(
            0,
            t(1),
            vigil_core::trace::Event::Vrrp(vigil_core::vrrp::Event {
                instance: "apache".into(),
                kind: vigil_core::vrrp::EventKind::State {
                    from: State::Backup,
                    to: State::Master,
                    reason: vigil_core::vrrp::Reason::MasterDownTimeout,
                    priority: 100,
                },
            }),
        );
        l.addr_line(0, t(2), "2: eth0    inet 192.0.2.160/32 scope global eth0");
        l.director_event(
            0,
            t(3),
            vigil_core::trace::Event::Ipvs(vigil_core::ipvs::Event::Op(
                vigil_core::ipvs::Op::AddDest {
                    service: vigil_core::ipvs::ServiceKey::tcp("192.0.2.160".parse().unwrap(), 80),
                    dest: vigil_core::ipvs::DestKey::new("192.0.2.152".parse().unwrap(), 80),
                    params: vigil_core::ipvs::Dest::new(vigil_core::ipvs::ForwardMethod::Route, 1),
                },
            )),
        );
        l.lost(0, t(4));
        // The flush of the leftover VIP while down is not a change.
        l.addr_line(
            0,
            t(5),
            "Deleted 2: eth0    inet 192.0.2.160/32 scope global eth0",
        );
        l.back(0, t(6));
        let rec = l.finish();
        let states: Vec<_> = rec.states.iter().map(|c| c.to).collect();
        assert_eq!(states, [State::Master, State::Initialize]);
        assert_eq!(rec.vips.len(), 2);
        assert_eq!(rec.tables[0].live, ["192.0.2.152:80"]);
        assert_eq!(rec.trace.len(), 2);
    }
}
