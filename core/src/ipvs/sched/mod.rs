//! The kernel's schedulers, so that simulated flows are forwarded as Linux
//! 6.1 would forward them: same destination for the same sequence of
//! connections, weights and connection counts.
//!
//! A [`Pool`] is one service as the scheduler sees it: destinations in the
//! kernel's list order (a destination added later goes first: the kernel
//! links new destinations at the head), each with its weight, thresholds,
//! overload flag and connection counts; plus the scheduler's own state
//! (round-robin cursor, wrr bar, sh/dh buckets, mh lookup table). Its
//! methods are the kernel's hooks: `add_dest`, `edit_dest`, `del_dest`,
//! `edit_service`, `schedule`, and the connection binding that moves the
//! counters (`ip_vs_bind_dest` / `ip_vs_unbind_dest`).
//!
//! Modelled: rr, wrr, lc, wlc, sed, nq, sh, dh, mh, fo, ovf. Not modelled:
//! lblc, lblcr (per-destination-address caches with expiry) and twos
//! (random); scheduling on those reports [`NoDest::Unmodelled`].

mod dh;
mod fo;
pub(crate) mod hash;
mod lc;
mod mh;
mod nq;
mod ovf;
mod rr;
mod sed;
mod sh;
mod wlc;
mod wrr;

use std::fmt;
use std::net::IpAddr;

use super::dest::{Dest, DestKey, ForwardMethod};
use super::service::{Family, Protocol, Scheduler, Service, ServiceFlags, ServiceKey};
use super::table::ServiceEntry;

/// One new connection's packet, as the scheduler sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Flow {
    /// Transport protocol.
    pub protocol: Protocol,
    /// Client address (source).
    pub client: IpAddr,
    /// Client port (source).
    pub client_port: u16,
    /// Virtual address (destination).
    pub vaddr: IpAddr,
    /// Virtual port (destination).
    pub vport: u16,
    /// Firewall mark on the packet (0 = none).
    pub mark: u32,
}

impl Flow {
    /// A TCP flow from `client:client_port` to `vaddr:vport`, unmarked.
    pub const fn tcp(client: IpAddr, client_port: u16, vaddr: IpAddr, vport: u16) -> Flow {
        Flow {
            protocol: Protocol::Tcp,
            client,
            client_port,
            vaddr,
            vport,
            mark: 0,
        }
    }
}

/// Why no destination was picked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoDest {
    /// The scheduler found no usable destination (the kernel drops the
    /// packet, or sends ICMP unreachable).
    Unavailable,
    /// The service's scheduler is not modelled.
    Unmodelled(Scheduler),
}

impl fmt::Display for NoDest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoDest::Unavailable => f.write_str("no destination available"),
            NoDest::Unmodelled(s) => write!(f, "scheduler {s} is not modelled"),
        }
    }
}

impl std::error::Error for NoDest {}

/// One destination as the kernel's scheduler sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolDest {
    /// Address and port.
    pub key: DestKey,
    /// Forwarding method.
    pub forward: ForwardMethod,
    /// Current weight.
    pub weight: i32,
    /// The last non-zero weight set (mh sizes its share by it).
    pub last_weight: i32,
    /// Upper connection threshold (0 = none).
    pub u_threshold: u32,
    /// Lower connection threshold (0 = three quarters of the upper one).
    pub l_threshold: u32,
    /// `IP_VS_DEST_F_OVERLOAD`: no new connections until it recovers.
    pub overloaded: bool,
    /// Established connections.
    pub active: u32,
    /// Other connections.
    pub inactive: u32,
    /// Persistence templates.
    pub persistent: u32,
    id: u64,
}

impl PoolDest {
    /// `ip_vs_dest_conn_overhead`: `active * 256 + inactive`.
    pub fn overhead(&self) -> i64 {
        ((self.active as i64) << 8) + self.inactive as i64
    }

    /// Connections the thresholds count (`active + inactive`).
    pub fn total_conns(&self) -> u32 {
        self.active.saturating_add(self.inactive)
    }

    /// Usable for round robin style picks: weight above 0, not overloaded.
    fn usable(&self) -> bool {
        !self.overloaded && self.weight > 0
    }

    fn is_idle(&self) -> bool {
        self.active == 0 && self.inactive == 0 && self.persistent == 0
    }

    /// `__ip_vs_update_dest`'s parameter part.
    fn update(&mut self, d: &Dest, add: bool) {
        let weight = d.weight.min(i32::MAX as u32) as i32;
        if add || weight != 0 {
            self.last_weight = weight;
        }
        self.weight = weight;
        self.forward = d.forward;
        if d.u_threshold == 0 || d.u_threshold > self.u_threshold {
            self.overloaded = false;
        }
        self.u_threshold = d.u_threshold;
        self.l_threshold = d.l_threshold;
    }

    /// The overload check after a connection is bound.
    fn after_bind(&mut self) {
        if self.u_threshold != 0 && self.total_conns() >= self.u_threshold {
            self.overloaded = true;
        }
    }

    /// The recovery check after a connection is unbound.
    fn after_unbind(&mut self) {
        if self.l_threshold != 0 {
            if self.total_conns() < self.l_threshold {
                self.overloaded = false;
            }
        } else if self.u_threshold != 0 {
            if (self.total_conns() as u64) * 4 < (self.u_threshold as u64) * 3 {
                self.overloaded = false;
            }
        } else {
            self.overloaded = false;
        }
    }
}

/// A connection's counting state on its destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnState {
    /// Counted in `InActConn` (new, closing, or UDP).
    Inactive,
    /// Counted in `ActiveConn` (established TCP/SCTP).
    Active,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Rr(rr::Rr),
    Wrr(wrr::Wrr),
    Sh(sh::Sh),
    Dh(dh::Dh),
    Mh(mh::Mh),
    /// lc, wlc, sed, nq, fo, ovf: no state beyond the counters.
    Stateless,
    Unmodelled,
}

/// One virtual service's destinations and scheduler state, as the kernel
/// holds them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pool {
    family: Family,
    service: Service,
    dests: Vec<PoolDest>,
    /// Deleted destinations that connections still reference (the kernel's
    /// trash list); re-adding one revives it with its counters.
    trash: Vec<PoolDest>,
    state: State,
    next_id: u64,
}

impl Pool {
    /// A new service without destinations (`ip_vs_add_service`).
    pub fn new(family: Family, service: &Service) -> Pool {
        let mut p = Pool {
            family,
            service: service.clone(),
            dests: Vec::new(),
            trash: Vec::new(),
            state: State::Unmodelled,
            next_id: 0,
        };
        p.init_scheduler();
        p
    }

    /// The pool the kernel holds after `AddService` of `entry` and then
    /// `AddDest` of its destinations in the entry's (key) order.
    pub fn from_entry(key: &ServiceKey, entry: &ServiceEntry) -> Pool {
        let mut p = Pool::new(key.family(), &entry.service);
        for (k, d) in entry.dests() {
            p.add_dest(*k, d);
        }
        p
    }

    /// The same pool after its service was deleted and added again with
    /// `service`: no destinations, fresh scheduler state, but the deleted
    /// destinations old connections still hold stay revivable.
    pub fn recreated(self, service: &Service) -> Pool {
        let mut p = Pool::new(self.family, service);
        p.trash = self.trash;
        p.next_id = self.next_id;
        p
    }

    /// Whether nothing is left: no destinations, none held by connections.
    pub fn is_idle(&self) -> bool {
        self.dests.is_empty() && self.trash.is_empty()
    }

    /// The service parameters.
    pub fn service(&self) -> &Service {
        &self.service
    }

    /// Destinations in the kernel's list order (most recently added first).
    pub fn dests(&self) -> &[PoolDest] {
        &self.dests
    }

    /// Destination `key`, if in the list.
    pub fn dest(&self, key: &DestKey) -> Option<&PoolDest> {
        self.dests.iter().find(|d| d.key == *key)
    }

    /// Destination `key`, in the list or deleted but still referenced.
    pub fn dest_or_trashed(&self, key: &DestKey) -> Option<&PoolDest> {
        self.dest(key)
            .or_else(|| self.trash.iter().find(|d| d.key == *key))
    }

    fn init_scheduler(&mut self) {
        self.state = match self.service.scheduler {
            Scheduler::Rr => State::Rr(rr::Rr::new()),
            Scheduler::Wrr => State::Wrr(wrr::Wrr::new(&self.dests)),
            Scheduler::Sh => State::Sh(sh::Sh::new(&self.dests)),
            Scheduler::Dh => State::Dh(dh::Dh::new(&self.dests)),
            Scheduler::Mh => State::Mh(mh::Mh::new(self.family, &self.dests)),
            Scheduler::Lc
            | Scheduler::Wlc
            | Scheduler::Sed
            | Scheduler::Nq
            | Scheduler::Fo
            | Scheduler::Ovf => State::Stateless,
            Scheduler::Lblc | Scheduler::Lblcr | Scheduler::Twos => State::Unmodelled,
        };
    }

    /// The add/update hooks of the hashing and weighted schedulers.
    fn dests_changed(&mut self) {
        match &mut self.state {
            State::Wrr(s) => s.changed(&self.dests),
            State::Sh(s) => s.reassign(&self.dests),
            State::Dh(s) => s.reassign(&self.dests),
            State::Mh(s) => s.changed(self.family, &self.dests),
            State::Rr(_) | State::Stateless | State::Unmodelled => {}
        }
    }

    /// `ip_vs_edit_service`: a new scheduler starts from scratch over the
    /// current destinations; flags and persistence change in place.
    pub fn edit_service(&mut self, service: &Service) {
        let rebind = service.scheduler != self.service.scheduler;
        self.service = service.clone();
        if rebind {
            self.init_scheduler();
        }
    }

    /// `ip_vs_add_dest`: linked at the head of the list (reviving a deleted
    /// destination with its counters if connections still held it).
    /// Returns false if `key` is already in the list.
    pub fn add_dest(&mut self, key: DestKey, dest: &Dest) -> bool {
        if self.dest(&key).is_some() {
            return false;
        }
        let mut d = match self.trash.iter().position(|d| d.key == key) {
            Some(i) => self.trash.remove(i),
            None => {
                self.next_id += 1;
                PoolDest {
                    key,
                    forward: dest.forward,
                    weight: 0,
                    last_weight: 0,
                    u_threshold: 0,
                    l_threshold: 0,
                    overloaded: false,
                    active: 0,
                    inactive: 0,
                    persistent: 0,
                    id: self.next_id,
                }
            }
        };
        d.update(dest, true);
        self.dests.insert(0, d);
        self.dests_changed();
        true
    }

    /// `ip_vs_edit_dest`. Returns false if `key` is not in the list.
    pub fn edit_dest(&mut self, key: &DestKey, dest: &Dest) -> bool {
        let Some(d) = self.dests.iter_mut().find(|d| d.key == *key) else {
            return false;
        };
        d.update(dest, false);
        self.dests_changed();
        true
    }

    /// `ip_vs_del_dest`: unlinked; kept aside while connections reference
    /// it. Returns false if `key` is not in the list.
    pub fn del_dest(&mut self, key: &DestKey) -> bool {
        let Some(pos) = self.dests.iter().position(|d| d.key == *key) else {
            return false;
        };
        let d = self.dests.remove(pos);
        match &mut self.state {
            State::Rr(s) => s.del_dest(d.id, pos, &self.dests),
            State::Wrr(s) => s.changed(&self.dests),
            State::Sh(s) => s.reassign(&self.dests),
            State::Dh(s) => s.reassign(&self.dests),
            State::Mh(s) => s.changed(self.family, &self.dests),
            State::Stateless | State::Unmodelled => {}
        }
        if !d.is_idle() {
            self.trash.push(d);
        }
        true
    }

    /// The scheduler's pick for `flow` (`sched->schedule`). Moves the
    /// round-robin state; does not bind a connection.
    pub fn schedule(&mut self, flow: &Flow) -> Result<DestKey, NoDest> {
        let flags = self.service.flags;
        let port = |flag: ServiceFlags| {
            if flags.contains(flag) {
                flow.client_port
            } else {
                0
            }
        };
        let d = &self.dests;
        let pick = match &mut self.state {
            State::Rr(s) => s.schedule(d),
            State::Wrr(s) => s.schedule(d),
            State::Sh(s) => s.schedule(
                d,
                &flow.client,
                port(ServiceFlags::SH_PORT),
                flags.contains(ServiceFlags::SH_FALLBACK),
            ),
            State::Dh(s) => s.schedule(d, &flow.vaddr),
            State::Mh(s) => s.schedule(
                self.family,
                d,
                &flow.client,
                port(ServiceFlags::MH_PORT),
                flags.contains(ServiceFlags::MH_FALLBACK),
            ),
            State::Stateless => match self.service.scheduler {
                Scheduler::Lc => lc::schedule(d),
                Scheduler::Wlc => wlc::schedule(d),
                Scheduler::Sed => sed::schedule(d),
                Scheduler::Nq => nq::schedule(d),
                Scheduler::Fo => fo::schedule(d),
                _ => ovf::schedule(d),
            },
            State::Unmodelled => return Err(NoDest::Unmodelled(self.service.scheduler)),
        };
        pick.map(|i| d[i].key).ok_or(NoDest::Unavailable)
    }

    fn counted_mut(&mut self, key: &DestKey) -> Option<&mut PoolDest> {
        match self.dests.iter().position(|d| d.key == *key) {
            Some(i) => Some(&mut self.dests[i]),
            None => self.trash.iter_mut().find(|d| d.key == *key),
        }
    }

    fn drop_idle_trash(&mut self) {
        self.trash.retain(|d| !d.is_idle());
    }

    /// A new connection bound to `key` (counted inactive until
    /// established, as the kernel does). Returns false for an unknown key.
    pub fn conn_bound(&mut self, key: &DestKey) -> bool {
        let Some(d) = self.counted_mut(key) else {
            return false;
        };
        d.inactive += 1;
        d.after_bind();
        true
    }

    /// A connection on `key` moved between inactive and active (TCP/SCTP
    /// reaching or leaving ESTABLISHED).
    pub fn conn_state(&mut self, key: &DestKey, from: ConnState, to: ConnState) -> bool {
        let Some(d) = self.counted_mut(key) else {
            return false;
        };
        match (from, to) {
            (ConnState::Inactive, ConnState::Active) => {
                d.inactive = d.inactive.saturating_sub(1);
                d.active += 1;
            }
            (ConnState::Active, ConnState::Inactive) => {
                d.active = d.active.saturating_sub(1);
                d.inactive += 1;
            }
            _ => {}
        }
        true
    }

    /// A connection on `key` in state `state` expired.
    pub fn conn_unbound(&mut self, key: &DestKey, state: ConnState) -> bool {
        let Some(d) = self.counted_mut(key) else {
            return false;
        };
        match state {
            ConnState::Inactive => d.inactive = d.inactive.saturating_sub(1),
            ConnState::Active => d.active = d.active.saturating_sub(1),
        }
        d.after_unbind();
        self.drop_idle_trash();
        true
    }

    /// A persistence template bound to `key`.
    pub fn template_bound(&mut self, key: &DestKey) -> bool {
        let Some(d) = self.counted_mut(key) else {
            return false;
        };
        d.persistent += 1;
        d.after_bind();
        true
    }

    /// A persistence template on `key` expired.
    pub fn template_unbound(&mut self, key: &DestKey) -> bool {
        let Some(d) = self.counted_mut(key) else {
            return false;
        };
        d.persistent = d.persistent.saturating_sub(1);
        d.after_unbind();
        self.drop_idle_trash();
        true
    }

    /// For tests: the sh bucket table as destination keys.
    #[cfg(test)]
    fn sh_buckets(&self) -> Vec<Option<DestKey>> {
        let State::Sh(s) = &self.state else {
            return Vec::new();
        };
        s.buckets()
            .iter()
            .map(|id| id.map(|id| self.key_of(id)))
            .collect()
    }

    /// For tests: the mh lookup table as destination keys.
    #[cfg(test)]
    fn mh_lookup(&self) -> Vec<Option<DestKey>> {
        let State::Mh(s) = &self.state else {
            return Vec::new();
        };
        s.lookup()
            .iter()
            .map(|id| id.map(|id| self.key_of(id)))
            .collect()
    }

    #[cfg(test)]
    fn key_of(&self, id: u64) -> DestKey {
        self.dests.iter().find(|d| d.id == id).expect("live id").key
    }
}

/// The shared shape of wlc and sed: the first usable destination, then any
/// later one with a lower `overhead / weight` (cross-multiplied; weight-0
/// destinations can never win).
fn least_weighted(dests: &[PoolDest], oh: impl Fn(&PoolDest) -> i64) -> Option<usize> {
    let first = dests.iter().position(|d| !d.overloaded && d.weight > 0)?;
    let (mut least, mut loh) = (first, oh(&dests[first]));
    for (i, d) in dests.iter().enumerate().skip(first + 1) {
        if d.overloaded {
            continue;
        }
        let doh = oh(d);
        if loh * d.weight as i64 > doh * dests[least].weight as i64 {
            least = i;
            loh = doh;
        }
    }
    Some(least)
}

#[cfg(test)]
mod tests;
