//! A node's VRRP instances behind one entry point, [`Router::handle`]:
//! received datagrams are dispatched by interface, family and VRID;
//! timers and trackers fan out.

use std::net::IpAddr;

use super::instance::{Instance, SyncGate};
use super::io::{Input, NotifyState, Output};
use super::state::State;
use super::sync::SyncGroup;
use crate::packet::{Error, Family, ip};
use crate::time::Instant;

/// Counters that belong to no instance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouterStats {
    /// Adverts for a VRID no instance on that interface runs.
    pub unknown_vrid: u64,
    /// Datagrams too malformed to find their instance.
    pub malformed: u64,
}

/// A rejected datagram that no instance could be blamed for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unrouted {
    /// No instance for this VRID on the interface.
    UnknownVrid {
        /// Source address.
        src: IpAddr,
        /// The VRID in the packet.
        vrid: u8,
    },
    /// The datagram could not be decoded far enough.
    Malformed(Error),
}

/// What a [`Router`] is told.
#[derive(Clone, Copy, Debug)]
pub enum Event<'a> {
    /// An input for every instance: start, a tracker's result, shutdown.
    /// [`Input::Timer`] reaches only the instances whose deadline passed.
    All(Input<'a>),
    /// An input for the instance at this index only (a driver's
    /// per-instance facts: its own interface's link state); nothing when
    /// there is no such instance.
    One(usize, Input<'a>),
    /// A whole IP datagram received on `interface` (IPv4 raw sockets and
    /// captures deliver the header too).
    Datagram {
        /// The receiving interface.
        interface: &'a str,
        /// The datagram, IP header first.
        bytes: &'a [u8],
    },
    /// A datagram already split into its IP facts and VRRP message.
    Message {
        /// The receiving interface.
        interface: &'a str,
        /// The datagram.
        datagram: ip::Datagram<'a>,
    },
}

/// All VRRP instances of one node.
#[derive(Clone, Debug, Default)]
pub struct Router {
    instances: Vec<Instance>,
    groups: Vec<SyncGroup>,
    /// The group of each instance, by index.
    group_of: Vec<Option<usize>>,
    /// Whether each instance notified since it started (keepalived's
    /// `notifies_sent`).
    notified: Vec<bool>,
    /// Each instance's deadline as last seen, and when it was set (a
    /// sequence number): instances due at the same instant run in the
    /// order their timers were set, as keepalived's timer tree runs them.
    armed: Vec<(Option<Instant>, u64)>,
    seq: u64,
    stats: RouterStats,
    unrouted: Option<Unrouted>,
    out: Vec<(usize, Output)>,
}

impl Router {
    /// A router running `instances` (not yet started).
    pub fn new(instances: Vec<Instance>) -> Router {
        Router::with_groups(instances, Vec::new())
    }

    /// A router running `instances` whose `vrrp_sync_group`s are
    /// `groups` (name, member indices); an index out of range or already
    /// in a group is left out. Instances already running (a reload) give
    /// their groups a state at once: FAULT if a member has a fault of
    /// its own, MASTER if all are master, BACKUP otherwise.
    pub fn with_groups(instances: Vec<Instance>, groups: Vec<(String, Vec<usize>)>) -> Router {
        let mut group_of = vec![None; instances.len()];
        let mut built = Vec::new();
        for (name, members) in groups {
            let members: Vec<usize> = members
                .into_iter()
                .filter(|&i| i < instances.len() && group_of[i].is_none())
                .collect();
            if members.is_empty() {
                continue;
            }
            for &m in &members {
                group_of[m] = Some(built.len());
            }
            built.push(SyncGroup::new(name, members, &instances));
        }
        let notified = instances
            .iter()
            .map(|i| i.state() != State::Initialize)
            .collect();
        let armed = instances
            .iter()
            .enumerate()
            .map(|(n, i)| (i.next_deadline(), n as u64))
            .collect();
        let seq = instances.len() as u64;
        let mut r = Router {
            notified,
            armed,
            seq,
            instances,
            groups: built,
            group_of,
            ..Router::default()
        };
        for i in 0..r.instances.len() {
            r.refresh_gate(i);
        }
        r
    }

    /// The sync groups: name, state and member indices.
    pub fn groups(&self) -> impl Iterator<Item = (&str, State, &[usize])> {
        self.groups
            .iter()
            .map(|g| (g.name.as_str(), g.state, g.members.as_slice()))
    }

    /// The instances, in configuration order.
    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    /// The instance named `name`.
    pub fn instance(&self, name: &str) -> Option<&Instance> {
        self.instances.iter().find(|i| i.name() == name)
    }

    /// Zeroes every instance's counters and the router's.
    pub fn clear_stats(&mut self) {
        for i in &mut self.instances {
            i.clear_stats();
        }
        self.stats = RouterStats::default();
    }

    /// Counters that belong to no instance.
    pub fn stats(&self) -> &RouterStats {
        &self.stats
    }

    /// Why the datagram of the last [`Router::handle`] reached no instance
    /// (it is counted in [`Router::stats`]); `None` after any other event.
    pub fn unrouted(&self) -> Option<&Unrouted> {
        self.unrouted.as_ref()
    }

    /// The earliest deadline of any instance.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.instances
            .iter()
            .filter_map(Instance::next_deadline)
            .min()
    }

    /// Takes the instances back, state and all (a driver rebuilding its
    /// router on reload keeps the unchanged ones).
    pub fn into_instances(self) -> Vec<Instance> {
        self.instances
    }

    /// Processes `event` at `now`; the outputs, each tagged with the index
    /// of the instance that produced it, in the order to act on them.
    pub fn handle(
        &mut self,
        now: Instant,
        event: Event<'_>,
    ) -> std::vec::Drain<'_, (usize, Output)> {
        self.unrouted = None;
        match event {
            Event::All(Input::Timer) => {
                let mut due: Vec<usize> = (0..self.instances.len())
                    .filter(|&i| self.instances[i].next_deadline().is_some_and(|d| d <= now))
                    .collect();
                due.sort_by_key(|&i| (self.instances[i].next_deadline(), self.armed[i].1));
                for i in due {
                    // An earlier one may have moved this one's timer.
                    if self.instances[i].next_deadline().is_some_and(|d| d <= now) {
                        self.step(now, i, Input::Timer);
                    }
                }
            }
            Event::All(Input::Start) => self.start(now),
            Event::All(input @ Input::AddressRemoved { .. }) => self.address_removed(now, input),
            Event::All(Input::Shutdown) => {
                for i in 0..self.instances.len() {
                    self.step(now, i, Input::Shutdown);
                }
                for g in 0..self.groups.len() {
                    if self.groups[g].state != State::Initialize {
                        self.groups[g].state = State::Initialize;
                        self.group_notify(g, NotifyState::Stop);
                    }
                }
            }
            Event::All(input) => {
                for i in 0..self.instances.len() {
                    self.step(now, i, input);
                }
            }
            Event::One(i, input) => {
                if i < self.instances.len() {
                    self.step(now, i, input);
                }
            }
            Event::Datagram { interface, bytes } => match ip::parse(bytes) {
                Ok(datagram) => self.receive(now, interface, datagram),
                Err(e) => self.unroutable(Unrouted::Malformed(e)),
            },
            Event::Message {
                interface,
                datagram,
            } => self.receive(now, interface, datagram),
        }
        self.out.drain(..)
    }

    fn receive(&mut self, now: Instant, interface: &str, d: ip::Datagram<'_>) {
        let Some(&vrid) = d.payload.get(1) else {
            return self.unroutable(Unrouted::Malformed(Error::Truncated {
                what: "vrrp header",
                needed: 8,
                got: d.payload.len(),
            }));
        };
        let src = d.meta.src;
        let Some(i) = self.instances.iter().position(|i| {
            i.config().vrid == vrid
                && i.config().interface == interface
                && i.config().family() == Family::of(&src)
        }) else {
            self.stats.unknown_vrid += 1;
            self.unrouted = Some(Unrouted::UnknownVrid { src, vrid });
            return;
        };
        let input = match d.auth {
            Some(auth) => Input::AuthHeader {
                meta: d.meta,
                message: d.payload,
                auth,
            },
            None => Input::Advert {
                meta: d.meta,
                message: d.payload,
            },
        };
        self.step(now, i, input);
    }

    fn unroutable(&mut self, why: Unrouted) {
        self.stats.malformed += 1;
        self.unrouted = Some(why);
    }
}

/// keepalived 2.2.7's sync groups (vrrp_sync.c, the TSM of
/// vrrp_scheduler.c, down_instance and try_up_instance): every input to a
/// member is followed by what its group does about it.
impl Router {
    /// Starts every instance: the groups take their first state (FAULT if
    /// a member has a fault of its own, MASTER if all are address owners,
    /// BACKUP otherwise) and notify FAULT or BACKUP first, as
    /// keepalived's vrrp_init_state does.
    fn start(&mut self, now: Instant) {
        for g in 0..self.groups.len() {
            let group = &mut self.groups[g];
            group.faulted = group
                .members
                .iter()
                .map(|&m| self.instances[m].own_fault())
                .collect();
            group.state = if group.faults() > 0 {
                State::Fault
            } else if group
                .members
                .iter()
                .all(|&m| self.instances[m].config().is_owner())
            {
                State::Master
            } else {
                State::Backup
            };
            match group.state {
                State::Fault => self.group_notify(g, NotifyState::Fault),
                State::Backup => self.group_notify(g, NotifyState::Backup),
                _ => {}
            }
        }
        for i in 0..self.instances.len() {
            if self.instances[i].state() == State::Initialize {
                self.notified[i] = false;
            }
            self.step(now, i, Input::Start);
        }
    }

    /// keepalived's set_vrrp_backup for every master holding the removed
    /// address: it steps down briefly, and so does every other master of
    /// its sync group; the group is BACKUP without a group notify.
    fn address_removed(&mut self, now: Instant, input: Input<'_>) {
        for i in 0..self.instances.len() {
            self.refresh_gate(i);
            let before = self.instances[i].state();
            let outs: Vec<Output> = self.instances[i].handle(now, input).collect();
            self.emit(i, outs);
            if before != State::Master || self.instances[i].state() != State::Backup {
                continue;
            }
            let Some(g) = self.group_of[i] else { continue };
            for m in self.groups[g].members.clone() {
                if m != i && self.instances[m].state() == State::Master {
                    let outs: Vec<Output> = self.instances[m].step_down_briefly(now).collect();
                    self.emit(m, outs);
                }
            }
            self.groups[g].state = State::Backup;
        }
    }

    /// Hands `input` to instance `i`, then lets its group follow.
    fn step(&mut self, now: Instant, i: usize, input: Input<'_>) {
        if input == Input::Start {
            self.notified[i] = false;
        }
        self.refresh_gate(i);
        let before = self.instances[i].state();
        let outs: Vec<Output> = self.instances[i].handle(now, input).collect();
        self.emit(i, outs);
        self.follow(now, i, before);
    }

    /// Queues instance `i`'s outputs; a member's notify for the state its
    /// group is already in is dropped once it has notified (keepalived's
    /// send_instance_notifies).
    fn emit(&mut self, i: usize, outs: Vec<Output>) {
        let d = self.instances[i].next_deadline();
        if self.armed[i].0 != d {
            self.armed[i] = (d, self.seq);
            self.seq += 1;
        }
        for o in outs {
            if let Output::Notify(n) = &o {
                if let Some(g) = self.group_of[i]
                    && self.notified[i]
                    && same_state(n.state, self.groups[g].state)
                {
                    continue;
                }
                self.notified[i] = true;
            }
            self.out.push((i, o));
        }
    }

    /// What the group of instance `i` does after `i` left `before`.
    fn follow(&mut self, now: Instant, i: usize, before: State) {
        let Some(g) = self.group_of[i] else { return };
        let after = self.instances[i].state();
        if after == State::Initialize {
            return;
        }
        let pos = self.groups[g].position(i);
        let fault = self.instances[i].own_fault();
        if fault != self.groups[g].faulted[pos] {
            self.groups[g].faulted[pos] = fault;
            let faults = self.groups[g].faults();
            if fault && faults == 1 {
                self.sync(now, g, i, State::Fault);
            } else if !fault && faults == 0 {
                let to = if after == State::Master {
                    State::Master
                } else {
                    State::Backup
                };
                self.sync(now, g, i, to);
            }
            return;
        }
        if after == State::Master
            && (before != State::Master || self.groups[g].state != State::Master)
        {
            self.sync(now, g, i, State::Master);
        } else if before == State::Master && after == State::Backup {
            self.sync(now, g, i, State::Backup);
        }
    }

    /// Moves group `g` to `to` after its member `from` went there
    /// (keepalived's vrrp_sync_master / vrrp_sync_backup /
    /// vrrp_sync_fault): nothing if the group is there already, or for
    /// MASTER while another member does not want it.
    fn sync(&mut self, now: Instant, g: usize, from: usize, to: State) {
        if self.groups[g].state == to {
            return;
        }
        if to == State::Master && !self.can_goto_master(g, from) {
            return;
        }
        let name = self.groups[g].name.clone();
        let event = super::event::Event {
            instance: self.instances[from].name().to_string(),
            kind: super::event::EventKind::GroupState { group: name, to },
        };
        self.out
            .push((from, Output::Trace(crate::trace::Event::Vrrp(event))));
        let members = self.groups[g].members.clone();
        for m in members {
            if m == from || self.instances[m].state() == to {
                continue;
            }
            self.refresh_gate(m);
            let outs: Vec<Output> = self.instances[m].sync_to(now, to).collect();
            self.emit(m, outs);
        }
        self.groups[g].state = to;
        for &m in &self.groups[g].members.clone() {
            self.refresh_gate(m);
        }
        let state = match to {
            State::Master => NotifyState::Master,
            State::Backup => NotifyState::Backup,
            _ => NotifyState::Fault,
        };
        self.group_notify(g, state);
    }

    /// keepalived's vrrp_sync_can_goto_master: the group is master, or
    /// every other member wants to be.
    fn can_goto_master(&self, g: usize, i: usize) -> bool {
        let group = &self.groups[g];
        group.state == State::Master
            || group
                .members
                .iter()
                .all(|&m| m == i || self.instances[m].wants_master())
    }

    /// Tells instance `i` what its group looks like now.
    fn refresh_gate(&mut self, i: usize) {
        let Some(g) = self.group_of[i] else {
            self.instances[i].set_sync(None);
            return;
        };
        let group = &self.groups[g];
        let own = usize::from(group.faulted[group.position(i)]);
        let gate = SyncGate {
            may_master: self.can_goto_master(g, i),
            held_down: group.faults() > own,
            group_master: group.state == State::Master,
        };
        self.instances[i].set_sync(Some(gate));
    }

    fn group_notify(&mut self, g: usize, state: NotifyState) {
        let group = &self.groups[g];
        self.out.push((
            group.members[0],
            Output::GroupNotify {
                group: group.name.clone(),
                state,
            },
        ));
    }
}

/// Whether a notify for `n` is for the state `s`.
fn same_state(n: NotifyState, s: State) -> bool {
    matches!(
        (n, s),
        (NotifyState::Master, State::Master)
            | (NotifyState::Backup, State::Backup)
            | (NotifyState::Fault, State::Fault)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vrrp::{InstanceConfig, State, Vip};

    fn inst(name: &str, interface: &str, vrid: u8) -> Instance {
        let src: IpAddr = "192.0.2.1".parse().unwrap();
        let vip = Vip::host("192.0.2.100".parse().unwrap());
        Instance::new(InstanceConfig::new(name, interface, vrid, src, vec![vip]))
    }

    #[test]
    fn handle_reaches_one_instance_only() {
        let mut r = Router::new(vec![inst("a", "eth0", 1), inst("b", "eth1", 2)]);
        let _ = r.handle(Instant::ZERO, Event::All(Input::Start)).count();
        let outs: Vec<_> = r
            .handle(Instant::ZERO, Event::One(1, Input::Link { up: false }))
            .collect();
        assert!(outs.iter().all(|(i, _)| *i == 1));
        assert_eq!(r.instances()[0].state(), State::Backup);
        assert_eq!(r.instances()[1].state(), State::Fault);
        assert_eq!(
            r.handle(Instant::ZERO, Event::One(7, Input::Shutdown))
                .count(),
            0
        );
    }

    #[test]
    fn into_instances_keeps_state() {
        let mut r = Router::new(vec![inst("a", "eth0", 1)]);
        let _ = r.handle(Instant::ZERO, Event::All(Input::Start)).count();
        let back = r.into_instances();
        assert_eq!(back[0].state(), State::Backup);
        let r2 = Router::new(back);
        assert!(r2.next_deadline().is_some());
    }
}
