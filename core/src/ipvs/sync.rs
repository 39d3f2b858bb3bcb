//! Keeping the kernel's IPVS table in line with the one the config asks
//! for, sans-IO: the kernel is read ([`SyncOutput::Dump`]) and written
//! ([`SyncOutput::Apply`]) by the driver, who answers each request.
//!
//! A full sync reads the kernel's table, plans against the desired table
//! ([`super::plan`]: only owned and retired services are touched; foreign
//! ones are reported once) and sends the ops. Between full syncs the table
//! believed in is this model, updated with every op the kernel accepted,
//! so a health change costs its ops and nothing else. A full sync runs at
//! start, on reload, every `resync` interval and whenever the kernel
//! refuses an op: then the table is read and diffed again, up to
//! [`MAX_ROUNDS`] times; an op refused in a sync is not sent again in it,
//! and what is left waits for the next resync. One request is in flight
//! at a time; a desired table that changes meanwhile is planned once the
//! answer is in.

use std::collections::BTreeSet;
use std::time::Duration;

use super::event::Event;
use super::{Op, ServiceKey, Table, apply_one, plan};
use crate::time::Instant;

/// Dump-and-plan rounds one sync makes before it gives up until the next.
pub const MAX_ROUNDS: u32 = 3;

/// A request to the driver, or an observation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncOutput {
    /// Read the kernel's table; answer with [`Sync::dumped`].
    Dump,
    /// Apply these ops in order; answer with [`Sync::applied`].
    Apply(Vec<Op>),
    /// Something to trace (ops sent, refusals, foreign services).
    Event(Event),
    /// The table could not be brought in line; why (traced as an error).
    Stuck(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    Dumping,
    Applying(Vec<Op>),
}

/// The IPVS table's sync state.
#[derive(Clone, Debug)]
pub struct Sync {
    actual: Table,
    want: Table,
    retired: BTreeSet<ServiceKey>,
    phase: Phase,
    /// A full sync is wanted once the current request is answered.
    full_pending: bool,
    /// The desired table changed while a request was in flight.
    dirty: bool,
    /// Ops refused in the current sync.
    refused: Vec<Op>,
    rounds: u32,
    foreign: BTreeSet<ServiceKey>,
    resync: Option<Duration>,
    next_resync: Option<Instant>,
    out: Vec<SyncOutput>,
}

impl Sync {
    /// A sync that believes the kernel's table empty, reading it again
    /// every `resync` (never when `None`).
    pub fn new(resync: Option<Duration>) -> Sync {
        Sync {
            actual: Table::new(),
            want: Table::new(),
            retired: BTreeSet::new(),
            phase: Phase::Idle,
            full_pending: false,
            dirty: false,
            refused: Vec::new(),
            rounds: 0,
            foreign: BTreeSet::new(),
            resync,
            next_resync: None,
            out: Vec::new(),
        }
    }

    /// The table believed to be in the kernel.
    pub fn actual(&self) -> &Table {
        &self.actual
    }

    /// The table wanted.
    pub fn wanted(&self) -> &Table {
        &self.want
    }

    /// Whether a request is waiting for its answer.
    pub fn busy(&self) -> bool {
        self.phase != Phase::Idle
    }

    /// When the next periodic resync is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.next_resync
    }

    /// Services the config no longer owns (a reload dropped them, or the
    /// director stops): removed on the next sync.
    pub fn retire(&mut self, keys: impl IntoIterator<Item = ServiceKey>) {
        self.retired.extend(keys);
    }

    /// The desired table is now `want`: a new sync (its own rounds; ops
    /// an earlier sync left refused are tried again).
    pub fn want(&mut self, now: Instant, want: Table) -> std::vec::Drain<'_, SyncOutput> {
        self.want = want;
        match self.phase {
            Phase::Idle => {
                self.rounds = 0;
                self.refused.clear();
                self.plan(now)
            }
            _ => self.dirty = true,
        }
        self.out.drain(..)
    }

    /// Reads the kernel's table and plans against `want` (start, reload).
    pub fn full(&mut self, now: Instant, want: Table) -> std::vec::Drain<'_, SyncOutput> {
        self.want = want;
        self.start_full(now);
        self.out.drain(..)
    }

    /// Time passed: a periodic resync may be due.
    pub fn timer(&mut self, now: Instant) -> std::vec::Drain<'_, SyncOutput> {
        if self.next_resync.is_some_and(|t| t <= now) {
            self.next_resync = None;
            self.start_full(now);
        }
        self.out.drain(..)
    }

    /// The kernel's table as read, or why it could not be.
    pub fn dumped(
        &mut self,
        now: Instant,
        r: Result<Table, String>,
    ) -> std::vec::Drain<'_, SyncOutput> {
        if self.phase != Phase::Dumping {
            return self.out.drain(..);
        }
        self.phase = Phase::Idle;
        match r {
            Ok(t) => {
                self.actual = t;
                self.plan_round(now, true);
            }
            Err(e) => {
                self.out
                    .push(SyncOutput::Stuck(format!("{e}; the next resync retries")));
                self.arm_resync(now);
            }
        }
        self.out.drain(..)
    }

    /// The ops of the last [`SyncOutput::Apply`] were applied, but for
    /// `refused` (each with the kernel's reason).
    pub fn applied(
        &mut self,
        now: Instant,
        refused: Vec<(Op, String)>,
    ) -> std::vec::Drain<'_, SyncOutput> {
        let Phase::Applying(ops) = std::mem::replace(&mut self.phase, Phase::Idle) else {
            return self.out.drain(..);
        };
        let mut need_dump = !refused.is_empty();
        for op in &ops {
            if refused.iter().any(|(r, _)| r == op) {
                continue;
            }
            if apply_one(&mut self.actual, op).is_err() {
                // The kernel took an op the model would not: read it again.
                need_dump = true;
            }
        }
        for (op, error) in refused {
            self.out.push(SyncOutput::Event(Event::Refused {
                op: op.clone(),
                error,
            }));
            self.refused.push(op);
        }
        if need_dump {
            if self.rounds < MAX_ROUNDS {
                self.phase = Phase::Dumping;
                self.out.push(SyncOutput::Dump);
            } else {
                self.out.push(SyncOutput::Stuck(format!(
                    "table not in line after {} round(s): {} op(s) refused; the next resync retries",
                    self.rounds,
                    self.refused.len()
                )));
                self.end_sync(now);
            }
        } else {
            self.plan_round(now, false);
        }
        self.out.drain(..)
    }

    fn start_full(&mut self, now: Instant) {
        if self.phase != Phase::Idle {
            self.full_pending = true;
            return;
        }
        self.full_pending = false;
        self.dirty = false;
        self.rounds = 0;
        self.refused.clear();
        self.phase = Phase::Dumping;
        self.out.push(SyncOutput::Dump);
        let _ = now;
    }

    /// Plans from the model (no dump) when nothing is in flight.
    fn plan(&mut self, now: Instant) {
        if self.full_pending {
            self.start_full(now);
            return;
        }
        self.plan_round(now, false);
    }

    /// One plan against the believed table; sends its ops or ends the sync.
    fn plan_round(&mut self, now: Instant, after_dump: bool) {
        self.dirty = false;
        let p = plan(&self.actual, &self.want, &self.retired);
        if after_dump {
            let now_foreign: BTreeSet<ServiceKey> = p.foreign.iter().copied().collect();
            for k in now_foreign.difference(&self.foreign) {
                self.out.push(SyncOutput::Event(Event::Foreign(*k)));
            }
            self.foreign = now_foreign;
        }
        let ops: Vec<Op> = p
            .ops
            .into_iter()
            .filter(|op| !self.refused.contains(op))
            .collect();
        if ops.is_empty() {
            if self.refused.is_empty() {
                self.retired.clear();
            }
            self.end_sync(now);
            return;
        }
        self.rounds += 1;
        for op in &ops {
            self.out.push(SyncOutput::Event(Event::Op(op.clone())));
        }
        self.phase = Phase::Applying(ops.clone());
        self.out.push(SyncOutput::Apply(ops));
    }

    fn end_sync(&mut self, now: Instant) {
        self.phase = Phase::Idle;
        self.arm_resync(now);
        if self.full_pending {
            self.start_full(now);
        } else if self.dirty {
            self.rounds = 0;
            self.refused.clear();
            self.plan_round(now, false);
        }
    }

    fn arm_resync(&mut self, now: Instant) {
        if let Some(every) = self.resync
            && self.next_resync.is_none()
        {
            self.next_resync = Some(now + every);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::{Dest, DestKey, ForwardMethod, Scheduler, Service, ServiceEntry};

    fn key() -> ServiceKey {
        ServiceKey::tcp("192.0.2.160".parse().unwrap(), 80)
    }

    fn table(dests: &[u8]) -> Table {
        let mut e = ServiceEntry::new(Service::new(Scheduler::Rr));
        for d in dests {
            e.insert_dest(
                DestKey::new(format!("192.0.2.{d}").parse().unwrap(), 80),
                Dest::new(ForwardMethod::Route, 1),
            );
        }
        [(key(), e)].into_iter().collect()
    }

    /// Drives `s` like a kernel holding `kernel` that refuses `refuse`;
    /// the requests made (Dump / Apply) in order.
    fn drive(
        s: &mut Sync,
        kernel: &mut Table,
        first: Vec<SyncOutput>,
        refuse: &[Op],
    ) -> Vec<SyncOutput> {
        let now = Instant::ZERO;
        let mut seen = Vec::new();
        let mut queue = first;
        while !queue.is_empty() {
            let mut next = Vec::new();
            for o in queue {
                match &o {
                    SyncOutput::Dump => next.extend(s.dumped(now, Ok(kernel.clone()))),
                    SyncOutput::Apply(ops) => {
                        let mut refused = Vec::new();
                        for op in ops {
                            if refuse.contains(op) {
                                refused.push((op.clone(), "ENOENT".to_string()));
                            } else {
                                apply_one(kernel, op).unwrap();
                            }
                        }
                        next.extend(s.applied(now, refused));
                    }
                    _ => continue,
                }
                seen.push(o);
            }
            queue = next;
        }
        seen
    }

    #[test]
    fn an_op_refused_in_one_sync_is_tried_again_in_the_next() {
        let mut s = Sync::new(None);
        let mut k = Table::new();
        let first: Vec<_> = s.full(Instant::ZERO, table(&[152])).collect();
        drive(&mut s, &mut k, first, &[]);
        let add = Op::AddDest {
            service: key(),
            dest: DestKey::new("192.0.2.153".parse().unwrap(), 80),
            params: Dest::new(ForwardMethod::Route, 1),
        };
        let first: Vec<_> = s.want(Instant::ZERO, table(&[152, 153])).collect();
        drive(&mut s, &mut k, first, std::slice::from_ref(&add));
        assert_eq!(k, table(&[152]), "refused this time");
        // Another change: the refused op goes again, and is taken.
        let first: Vec<_> = s.want(Instant::ZERO, table(&[152, 153])).collect();
        let reqs = drive(&mut s, &mut k, first, &[]);
        assert_eq!(reqs, [SyncOutput::Apply(vec![add])]);
        assert_eq!(k, table(&[152, 153]));
    }

    #[test]
    fn rounds_count_per_sync_so_a_late_refusal_still_rereads() {
        let mut s = Sync::new(None);
        let mut k = Table::new();
        let first: Vec<_> = s.full(Instant::ZERO, table(&[152])).collect();
        drive(&mut s, &mut k, first, &[]);
        for d in [&[152, 153][..], &[152], &[152, 153], &[152]] {
            let first: Vec<_> = s.want(Instant::ZERO, table(d)).collect();
            drive(&mut s, &mut k, first, &[]);
        }
        // Removed behind its back; the edit it sends next is refused: the
        // table is read again (not given up on as too many rounds).
        k = table(&[152]);
        let del = Op::DelDest {
            service: key(),
            dest: DestKey::new("192.0.2.152".parse().unwrap(), 80),
        };
        k.service_mut(&key())
            .unwrap()
            .remove_dest(&DestKey::new("192.0.2.152".parse().unwrap(), 80));
        let first: Vec<_> = s.want(Instant::ZERO, table(&[])).collect();
        let reqs = drive(&mut s, &mut k, first, std::slice::from_ref(&del));
        assert!(reqs.contains(&SyncOutput::Dump), "{reqs:?}");
    }
}
