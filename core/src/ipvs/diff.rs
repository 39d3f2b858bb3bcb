//! The ops that take the kernel's table to the one a config asks for.
//!
//! The diff is minimal and ordered:
//! - parameters that can change in place do: a scheduler, flag or
//!   persistence change is one `EditService`, a weight, forwarding or
//!   threshold change one `EditDest` (never delete + add);
//! - a service is created before its destinations are added, and its
//!   destinations are removed before it is deleted;
//! - services come in key order, and within one service the ops come as
//!   `EditService`, then `AddDest`s, `EditDest`s, `DelDest`s (each in
//!   destination order): make before break, so a pool being swapped (for
//!   instance real servers for the sorry server) never goes empty between
//!   ops;
//! - only services the config owns are touched: those in the desired
//!   table, plus the `retired` ones (owned by a previous config, now to go).
//!   Every other service found in the actual table is left alone and
//!   reported as foreign.
//!
//! Graceful removal ([`Drainer`]) first sets a leaving destination's
//! weight to 0 and deletes it only once a drain time has passed.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::dest::{Dest, DestKey};
use super::op::Op;
use super::service::ServiceKey;
use super::table::{ServiceEntry, Table};
use crate::time::Instant;

/// The result of a diff: the ops, and what was left alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// The ops, in the order to apply them.
    pub ops: Vec<Op>,
    /// Services in the actual table that the config does not own, untouched.
    pub foreign: Vec<ServiceKey>,
    /// Destinations held at weight 0 while they drain (graceful removal).
    pub draining: Vec<(ServiceKey, DestKey)>,
}

/// The ops that turn `actual` into `desired`, touching only the services
/// in `desired` (a plain diff never deletes a whole service; see [`plan`]).
pub fn diff(actual: &Table, desired: &Table) -> Vec<Op> {
    plan(actual, desired, &BTreeSet::new()).ops
}

/// The ops that turn the owned part of `actual` into `desired`, where the
/// config owns the services in `desired` and those in `retired` (which it
/// wants gone); other services are reported in [`Plan::foreign`].
pub fn plan(actual: &Table, desired: &Table, retired: &BTreeSet<ServiceKey>) -> Plan {
    let mut out = Plan::default();
    let mut immediate = Immediate;
    merge(actual, desired, retired, &mut immediate, &mut out);
    out
}

/// Graceful removal: a leaving destination first gets weight 0, and is
/// deleted on a later plan once `drain` has passed since then. A service
/// being removed goes once all its destinations have drained.
///
/// It is a small state machine in the core's style: feed it the current
/// tables at `now`, and wake it again at [`Drainer::next_deadline`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drainer {
    drain: Duration,
    since: BTreeMap<(ServiceKey, DestKey), Instant>,
}

impl Drainer {
    /// A drainer holding leaving destinations at weight 0 for `drain`.
    pub fn new(drain: Duration) -> Drainer {
        Drainer {
            drain,
            since: BTreeMap::new(),
        }
    }

    /// The drain time.
    pub fn drain(&self) -> Duration {
        self.drain
    }

    /// Like [`plan`], with leaving destinations drained first.
    pub fn plan(
        &mut self,
        now: Instant,
        actual: &Table,
        desired: &Table,
        retired: &BTreeSet<ServiceKey>,
    ) -> Plan {
        let mut out = Plan::default();
        let mut g = Graceful {
            now,
            drain: self.drain,
            old: &self.since,
            new: BTreeMap::new(),
        };
        merge(actual, desired, retired, &mut g, &mut out);
        self.since = g.new;
        out
    }

    /// When the next draining destination is due for deletion.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.since.values().map(|t| *t + self.drain).min()
    }
}

/// What to do with a destination that has to leave.
enum Leave {
    /// Delete it now.
    Delete,
    /// Keep it, with these parameters (weight 0) if they differ.
    Hold(Option<Dest>),
}

trait Removal {
    fn leave(&mut self, svc: &ServiceKey, key: &DestKey, current: &Dest) -> Leave;
}

struct Immediate;

impl Removal for Immediate {
    fn leave(&mut self, _: &ServiceKey, _: &DestKey, _: &Dest) -> Leave {
        Leave::Delete
    }
}

struct Graceful<'a> {
    now: Instant,
    drain: Duration,
    old: &'a BTreeMap<(ServiceKey, DestKey), Instant>,
    new: BTreeMap<(ServiceKey, DestKey), Instant>,
}

impl Removal for Graceful<'_> {
    fn leave(&mut self, svc: &ServiceKey, key: &DestKey, current: &Dest) -> Leave {
        if self.drain.is_zero() {
            return Leave::Delete;
        }
        let since = self.old.get(&(*svc, *key)).copied().unwrap_or(self.now);
        if self.now.saturating_since(since) >= self.drain {
            return Leave::Delete;
        }
        self.new.insert((*svc, *key), since);
        let quiesced = (current.weight != 0).then(|| current.with_weight(0));
        Leave::Hold(quiesced)
    }
}

fn merge(
    actual: &Table,
    desired: &Table,
    retired: &BTreeSet<ServiceKey>,
    rm: &mut impl Removal,
    out: &mut Plan,
) {
    let mut a = actual.iter().peekable();
    let mut d = desired.iter().peekable();
    let mut scratch = Scratch::default();
    loop {
        let ord = match (a.peek(), d.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((ka, _)), Some((kd, _))) => ka.cmp(kd),
        };
        match ord {
            Ordering::Less => {
                let (k, e) = a.next().expect("peeked");
                if retired.contains(k) {
                    remove_service(k, e, rm, out);
                } else {
                    out.foreign.push(*k);
                }
            }
            Ordering::Greater => {
                let (k, e) = d.next().expect("peeked");
                out.ops.push(Op::AddService {
                    key: *k,
                    service: e.service.clone(),
                });
                for (dk, dd) in e.dests() {
                    out.ops.push(Op::AddDest {
                        service: *k,
                        dest: *dk,
                        params: *dd,
                    });
                }
            }
            Ordering::Equal => {
                let (k, ea) = a.next().expect("peeked");
                let (_, ed) = d.next().expect("peeked");
                if ea != ed {
                    update_service(k, ea, ed, rm, &mut scratch, out);
                }
            }
        }
    }
}

fn remove_service(k: &ServiceKey, e: &ServiceEntry, rm: &mut impl Removal, out: &mut Plan) {
    let mut held = false;
    for (dk, dd) in e.dests() {
        match rm.leave(k, dk, dd) {
            Leave::Delete => out.ops.push(Op::DelDest {
                service: *k,
                dest: *dk,
            }),
            Leave::Hold(edit) => {
                held = true;
                out.draining.push((*k, *dk));
                if let Some(params) = edit {
                    out.ops.push(Op::EditDest {
                        service: *k,
                        dest: *dk,
                        params,
                    });
                }
            }
        }
    }
    if !held {
        out.ops.push(Op::DelService { key: *k });
    }
}

#[derive(Default)]
struct Scratch {
    edits: Vec<Op>,
    dels: Vec<Op>,
}

fn update_service(
    k: &ServiceKey,
    ea: &ServiceEntry,
    ed: &ServiceEntry,
    rm: &mut impl Removal,
    s: &mut Scratch,
    out: &mut Plan,
) {
    if ea.service != ed.service {
        out.ops.push(Op::EditService {
            key: *k,
            service: ed.service.clone(),
        });
    }
    if ea.dests() == ed.dests() {
        return;
    }
    let (mut i, mut j) = (0, 0);
    let (da, dd) = (ea.dests(), ed.dests());
    while i < da.len() || j < dd.len() {
        let ord = match (da.get(i), dd.get(j)) {
            (Some((ka, _)), Some((kd, _))) => ka.cmp(kd),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        match ord {
            Ordering::Less => {
                let (key, cur) = &da[i];
                match rm.leave(k, key, cur) {
                    Leave::Delete => s.dels.push(Op::DelDest {
                        service: *k,
                        dest: *key,
                    }),
                    Leave::Hold(edit) => {
                        out.draining.push((*k, *key));
                        if let Some(params) = edit {
                            s.edits.push(Op::EditDest {
                                service: *k,
                                dest: *key,
                                params,
                            });
                        }
                    }
                }
                i += 1;
            }
            Ordering::Greater => {
                let (key, want) = &dd[j];
                out.ops.push(Op::AddDest {
                    service: *k,
                    dest: *key,
                    params: *want,
                });
                j += 1;
            }
            Ordering::Equal => {
                let ((key, cur), (_, want)) = (&da[i], &dd[j]);
                if cur != want {
                    s.edits.push(Op::EditDest {
                        service: *k,
                        dest: *key,
                        params: *want,
                    });
                }
                i += 1;
                j += 1;
            }
        }
    }
    out.ops.append(&mut s.edits);
    out.ops.append(&mut s.dels);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::{ForwardMethod, Scheduler, Service, apply};

    fn vip(n: u8) -> ServiceKey {
        ServiceKey::tcp(format!("192.0.2.{n}").parse().unwrap(), 80)
    }
    fn rs(n: u8) -> DestKey {
        DestKey::new(format!("198.51.100.{n}").parse().unwrap(), 80)
    }
    fn route(w: u32) -> Dest {
        Dest::new(ForwardMethod::Route, w)
    }
    /// (vip, scheduler, [(rs, weight)]) per service.
    type Spec<'a> = &'a [(u8, Scheduler, &'a [(u8, u32)])];

    fn table(services: Spec) -> Table {
        let mut t = Table::new();
        for (v, sched, dests) in services {
            let e = t.upsert_service(vip(*v), Service::new(*sched));
            for (d, w) in *dests {
                e.insert_dest(rs(*d), route(*w));
            }
        }
        t
    }
    fn show(ops: &[Op]) -> Vec<String> {
        ops.iter().map(|o| o.to_string()).collect()
    }

    #[test]
    fn in_sync_is_empty() {
        let t = table(&[(1, Scheduler::Rr, &[(10, 1), (11, 1)])]);
        assert!(diff(&t, &t).is_empty());
    }

    #[test]
    fn weight_change_is_an_edit() {
        let a = table(&[(1, Scheduler::Rr, &[(10, 1), (11, 1)])]);
        let b = table(&[(1, Scheduler::Rr, &[(10, 1), (11, 0)])]);
        assert_eq!(
            show(&diff(&a, &b)),
            ["edit-dest svc=tcp/192.0.2.1:80 rs=198.51.100.11:80 fwd=route weight=0"]
        );
    }

    #[test]
    fn scheduler_change_edits_service_in_place() {
        let a = table(&[(1, Scheduler::Rr, &[(10, 1)])]);
        let b = table(&[(1, Scheduler::Wlc, &[(10, 1)])]);
        assert_eq!(
            show(&diff(&a, &b)),
            ["edit-service svc=tcp/192.0.2.1:80 sched=wlc"]
        );
    }

    #[test]
    fn new_service_then_its_dests_and_pool_swap_is_make_before_break() {
        let a = table(&[(1, Scheduler::Rr, &[(10, 1), (11, 1)])]);
        let b = table(&[
            (1, Scheduler::Rr, &[(12, 1)]),
            (2, Scheduler::Rr, &[(10, 1)]),
        ]);
        assert_eq!(
            show(&diff(&a, &b)),
            [
                "add-dest svc=tcp/192.0.2.1:80 rs=198.51.100.12:80 fwd=route weight=1",
                "del-dest svc=tcp/192.0.2.1:80 rs=198.51.100.10:80",
                "del-dest svc=tcp/192.0.2.1:80 rs=198.51.100.11:80",
                "add-service svc=tcp/192.0.2.2:80 sched=rr",
                "add-dest svc=tcp/192.0.2.2:80 rs=198.51.100.10:80 fwd=route weight=1",
            ]
        );
    }

    #[test]
    fn unowned_services_stay_and_are_reported_retired_ones_go() {
        let a = table(&[
            (1, Scheduler::Rr, &[(10, 1)]),
            (2, Scheduler::Rr, &[(10, 1)]),
            (3, Scheduler::Rr, &[]),
        ]);
        let b = table(&[(1, Scheduler::Rr, &[(10, 1)])]);
        assert!(diff(&a, &b).is_empty());
        let p = plan(&a, &b, &BTreeSet::from([vip(2)]));
        assert_eq!(
            show(&p.ops),
            [
                "del-dest svc=tcp/192.0.2.2:80 rs=198.51.100.10:80",
                "del-service svc=tcp/192.0.2.2:80"
            ]
        );
        assert_eq!(p.foreign, [vip(3)]);
        let mut after = a.clone();
        apply(&mut after, &p.ops).unwrap();
        assert_eq!(
            after,
            table(&[(1, Scheduler::Rr, &[(10, 1)]), (3, Scheduler::Rr, &[])])
        );
    }

    #[test]
    fn graceful_removal_quiesces_then_deletes_after_drain() {
        let drain = Duration::from_secs(30);
        let mut g = Drainer::new(drain);
        let mut actual = table(&[
            (1, Scheduler::Rr, &[(10, 1), (11, 4)]),
            (2, Scheduler::Rr, &[(10, 2)]),
        ]);
        let desired = table(&[(1, Scheduler::Rr, &[(10, 1)])]);
        let retired = BTreeSet::from([vip(2)]);
        let t0 = Instant::from_secs(100);

        let p = g.plan(t0, &actual, &desired, &retired);
        assert_eq!(
            show(&p.ops),
            [
                "edit-dest svc=tcp/192.0.2.1:80 rs=198.51.100.11:80 fwd=route weight=0",
                "edit-dest svc=tcp/192.0.2.2:80 rs=198.51.100.10:80 fwd=route weight=0",
            ]
        );
        assert_eq!(p.draining, [(vip(1), rs(11)), (vip(2), rs(10))]);
        assert_eq!(g.next_deadline(), Some(t0 + drain));
        apply(&mut actual, &p.ops).unwrap();

        // Before the deadline: nothing more to do, still draining.
        let p = g.plan(t0 + Duration::from_secs(29), &actual, &desired, &retired);
        assert!(p.ops.is_empty());
        assert_eq!(p.draining.len(), 2);

        // At the deadline: delete, then the retired service goes too.
        let p = g.plan(t0 + drain, &actual, &desired, &retired);
        assert_eq!(
            show(&p.ops),
            [
                "del-dest svc=tcp/192.0.2.1:80 rs=198.51.100.11:80",
                "del-dest svc=tcp/192.0.2.2:80 rs=198.51.100.10:80",
                "del-service svc=tcp/192.0.2.2:80",
            ]
        );
        apply(&mut actual, &p.ops).unwrap();
        assert_eq!(actual, desired);
        assert_eq!(g.next_deadline(), None);
        assert!(
            g.plan(t0 + drain, &actual, &desired, &retired)
                .ops
                .is_empty()
        );
    }

    #[test]
    fn draining_dest_that_comes_back_is_restored_and_forgotten() {
        let mut g = Drainer::new(Duration::from_secs(30));
        let mut actual = table(&[(1, Scheduler::Rr, &[(10, 1), (11, 4)])]);
        let without = table(&[(1, Scheduler::Rr, &[(10, 1)])]);
        let t0 = Instant::from_secs(1);
        let p = g.plan(t0, &actual, &without, &BTreeSet::new());
        apply(&mut actual, &p.ops).unwrap();
        let with = table(&[(1, Scheduler::Rr, &[(10, 1), (11, 4)])]);
        let p = g.plan(
            t0 + Duration::from_secs(5),
            &actual,
            &with,
            &BTreeSet::new(),
        );
        assert_eq!(
            show(&p.ops),
            ["edit-dest svc=tcp/192.0.2.1:80 rs=198.51.100.11:80 fwd=route weight=4"]
        );
        assert_eq!(g.next_deadline(), None);
        // A later removal starts a fresh drain.
        apply(&mut actual, &p.ops).unwrap();
        let t1 = t0 + Duration::from_secs(60);
        let p = g.plan(t1, &actual, &without, &BTreeSet::new());
        assert_eq!(p.ops.len(), 1);
        assert_eq!(g.next_deadline(), Some(t1 + Duration::from_secs(30)));
    }

    #[test]
    fn zero_drain_is_immediate() {
        let mut g = Drainer::new(Duration::ZERO);
        let a = table(&[(1, Scheduler::Rr, &[(10, 1), (11, 4)])]);
        let b = table(&[(1, Scheduler::Rr, &[(10, 1)])]);
        assert_eq!(
            g.plan(Instant::ZERO, &a, &b, &BTreeSet::new()).ops,
            diff(&a, &b)
        );
    }
}
