//! The kernel's forwarding decisions for simulated flows: the table, each
//! service's scheduler state, persistence templates and connections.
//!
//! [`Forwarder`] takes the same [`Op`]s as the kernel, then places new
//! connections the way Linux does: service lookup (fwmark first, then
//! protocol + address + port, then the port-0 service of the address),
//! persistence templates, the service's scheduler, and the connection
//! counters the least-connection schedulers and thresholds read. A
//! connection's lifecycle (established, closing, expired) is the driver's
//! to report. Its counters render with [`super::render::render`].

use std::collections::BTreeMap;
use std::time::Duration;

use super::apply::{ApplyError, apply_one};
use super::dest::DestKey;
use super::op::Op;
use super::persist::{TemplateId, Templates};
use super::render::{Counters, DestCounters};
use super::sched::{ConnState, Flow, NoDest, Pool};
use super::service::{Family, Protocol, ServiceFlags, ServiceKey};
use super::table::Table;
use crate::time::Instant;

/// A connection's identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ConnId(u64);

impl ConnId {
    /// A connection id for tests elsewhere in the crate.
    #[cfg(test)]
    pub(crate) fn for_tests(n: u64) -> ConnId {
        ConnId(n)
    }
}

impl std::fmt::Display for ConnId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "c{}", self.0)
    }
}

/// Where a new connection went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placed {
    /// The connection (already gone for one-packet UDP services).
    pub id: ConnId,
    /// The service that matched.
    pub service: ServiceKey,
    /// The destination chosen.
    pub dest: DestKey,
    /// Whether a persistence template chose it.
    pub persistent: bool,
}

/// Why a new connection was not placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// No virtual service matches the packet (not for IPVS).
    NoService,
    /// The service's scheduler found nothing.
    NoDest(ServiceKey, NoDest),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::NoService => f.write_str("no virtual service"),
            Refused::NoDest(s, e) => write!(f, "{s}: {e}"),
        }
    }
}

impl std::error::Error for Refused {}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Conn {
    service: ServiceKey,
    dest: DestKey,
    state: ConnState,
    protocol: Protocol,
    template: Option<TemplateId>,
}

/// The kernel's IPVS state, as far as forwarding decisions go.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Forwarder {
    table: Table,
    pools: BTreeMap<ServiceKey, Pool>,
    templates: Templates,
    conns: BTreeMap<ConnId, Conn>,
    stats: Counters,
    next: u64,
    expire_quiescent_template: bool,
}

impl Forwarder {
    /// An empty kernel table.
    pub fn new() -> Forwarder {
        Forwarder::default()
    }

    /// The kernel with `table` loaded (services added in key order, then
    /// each one's destinations in key order).
    pub fn with_table(table: &Table) -> Forwarder {
        let mut f = Forwarder::new();
        let mut ops = Vec::new();
        for (k, e) in table.iter() {
            ops.push(Op::AddService {
                key: *k,
                service: e.service.clone(),
            });
            for (dk, d) in e.dests() {
                ops.push(Op::AddDest {
                    service: *k,
                    dest: *dk,
                    params: *d,
                });
            }
        }
        f.apply(&ops).expect("a table's own ops apply");
        f
    }

    /// The `net.ipv4.vs.expire_quiescent_template` sysctl (default off):
    /// templates to weight-0 destinations stop matching.
    pub fn set_expire_quiescent_template(&mut self, on: bool) {
        self.expire_quiescent_template = on;
    }

    /// The table the kernel holds.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The scheduler's view of service `key`.
    pub fn pool(&self, key: &ServiceKey) -> Option<&Pool> {
        self.pools.get(key).filter(|_| self.table.contains(key))
    }

    /// The persistence templates.
    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// Live connections.
    pub fn conn_count(&self) -> usize {
        self.conns.len()
    }

    /// Applies ops as the kernel would, stopping at the first it refuses.
    pub fn apply(&mut self, ops: &[Op]) -> Result<(), ApplyError> {
        for (index, op) in ops.iter().enumerate() {
            apply_one(&mut self.table, op).map_err(|kind| ApplyError {
                index,
                op: op.clone(),
                kind,
            })?;
            match op {
                Op::AddService { key, service } => {
                    // A service re-created keeps the deleted destinations
                    // its old connections still hold (the kernel's trash).
                    let pool = match self.pools.remove(key) {
                        Some(old) => old.recreated(service),
                        None => Pool::new(key.family(), service),
                    };
                    self.pools.insert(*key, pool);
                }
                Op::EditService { key, service } => {
                    if let Some(p) = self.pools.get_mut(key) {
                        p.edit_service(service);
                    }
                }
                Op::DelService { key } => {
                    for t in self.templates.remove_service(key) {
                        if let Some(p) = self.pools.get_mut(key) {
                            p.template_unbound(&t.dest);
                        }
                    }
                    if self.pools.get(key).is_some_and(|p| p.is_idle()) {
                        self.pools.remove(key);
                    }
                    self.stats.services.remove(key);
                    self.stats.dests.retain(|(s, _), _| s != key);
                }
                Op::AddDest {
                    service,
                    dest,
                    params,
                } => {
                    if let Some(p) = self.pools.get_mut(service) {
                        p.add_dest(*dest, params);
                    }
                }
                Op::EditDest {
                    service,
                    dest,
                    params,
                } => {
                    if let Some(p) = self.pools.get_mut(service) {
                        p.edit_dest(dest, params);
                    }
                }
                Op::DelDest { service, dest } => {
                    if let Some(p) = self.pools.get_mut(service) {
                        p.del_dest(dest);
                    }
                    self.stats.dests.remove(&(*service, *dest));
                }
            }
        }
        Ok(())
    }

    /// The service a new connection's packet matches (`ip_vs_service_find`:
    /// fwmark, then exact address and port, then the address's port-0
    /// service).
    pub fn lookup(&self, flow: &Flow) -> Option<ServiceKey> {
        let family = Family::of(&flow.client);
        let candidates = [
            (flow.mark != 0).then_some(ServiceKey::fwmark(flow.mark, family)),
            Some(ServiceKey::addr(flow.protocol, flow.vaddr, flow.vport)),
            Some(ServiceKey::addr(flow.protocol, flow.vaddr, 0)),
        ];
        candidates
            .into_iter()
            .flatten()
            .find(|k| self.table.contains(k))
    }

    /// Places a new connection at `now` (after firing due template timers).
    pub fn connect(&mut self, now: Instant, flow: &Flow) -> Result<Placed, Refused> {
        self.handle_timeout(now);
        let service = self.lookup(flow).ok_or(Refused::NoService)?;
        let pool = self.pools.get_mut(&service).ok_or(Refused::NoService)?;
        let svc = pool.service().clone();
        let mut template = None;
        let dest = match &svc.persistence {
            None => pool
                .schedule(flow)
                .map_err(|e| Refused::NoDest(service, e))?,
            Some(p) => {
                let net = p.netmask.apply(flow.client);
                let quiescent = self.expire_quiescent_template;
                let usable = |d: &DestKey| {
                    pool.dest(d)
                        .is_some_and(|pd| !(quiescent && pd.weight <= 0))
                };
                let found = match self.templates.find(&service, net) {
                    Some((id, t)) if usable(&t.dest) => Some((id, t.dest)),
                    Some((id, _)) => {
                        self.templates.invalidate(id);
                        None
                    }
                    None => None,
                };
                let (id, dest) = match found {
                    Some(x) => x,
                    None => {
                        let dest = pool
                            .schedule(flow)
                            .map_err(|e| Refused::NoDest(service, e))?;
                        let timeout = Duration::from_secs(p.timeout as u64);
                        let id = self.templates.create(now, service, net, dest, timeout);
                        pool.template_bound(&dest);
                        (id, dest)
                    }
                };
                self.templates.use_for_conn(now, id);
                template = Some(id);
                dest
            }
        };
        pool.conn_bound(&dest);
        self.next += 1;
        let id = ConnId(self.next);
        self.stats.services.entry(service).or_default().conns += 1;
        self.stats
            .dests
            .entry((service, dest))
            .or_default()
            .stats
            .conns += 1;
        let conn = Conn {
            service,
            dest,
            state: ConnState::Inactive,
            protocol: flow.protocol,
            template,
        };
        self.conns.insert(id, conn);
        if svc.flags.contains(ServiceFlags::ONE_PACKET) && flow.protocol == Protocol::Udp {
            self.expired(now, id);
        }
        Ok(Placed {
            id,
            service,
            dest,
            persistent: template.is_some(),
        })
    }

    fn set_state(&mut self, id: ConnId, to: ConnState) -> bool {
        let Some(c) = self.conns.get_mut(&id) else {
            return false;
        };
        if c.protocol == Protocol::Udp || c.state == to {
            return true;
        }
        if let Some(p) = self.pools.get_mut(&c.service) {
            p.conn_state(&c.dest, c.state, to);
        }
        c.state = to;
        true
    }

    /// Connection `id` reached ESTABLISHED (TCP/SCTP; UDP stays inactive).
    /// Returns false for an unknown connection.
    pub fn established(&mut self, id: ConnId) -> bool {
        self.set_state(id, ConnState::Active)
    }

    /// Connection `id` left ESTABLISHED (FIN, RST).
    pub fn closing(&mut self, id: ConnId) -> bool {
        self.set_state(id, ConnState::Inactive)
    }

    /// Connection `id` expired at `now`.
    pub fn expired(&mut self, now: Instant, id: ConnId) -> bool {
        let Some(c) = self.conns.remove(&id) else {
            return false;
        };
        if let Some(p) = self.pools.get_mut(&c.service) {
            p.conn_unbound(&c.dest, c.state);
        }
        if let Some(t) = c.template {
            self.templates.conn_ended(t);
        }
        self.handle_timeout(now);
        true
    }

    /// Counts `bytes` in one packet of connection `id`, `inbound` from the
    /// client (or outbound, NAT replies).
    pub fn packet(&mut self, id: ConnId, inbound: bool, bytes: u64) -> bool {
        let Some(c) = self.conns.get(&id) else {
            return false;
        };
        let key = (c.service, c.dest);
        for s in [
            self.stats.services.entry(key.0).or_default(),
            &mut self.stats.dests.entry(key).or_default().stats,
        ] {
            if inbound {
                s.inpkts += 1;
                s.inbytes += bytes;
            } else {
                s.outpkts += 1;
                s.outbytes += bytes;
            }
        }
        true
    }

    /// Fires the template timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        for t in self.templates.expire(now) {
            if let Some(p) = self.pools.get_mut(&t.service) {
                p.template_unbound(&t.dest);
            }
        }
        self.pools
            .retain(|k, p| self.table.contains(k) || !p.is_idle());
    }

    /// When the next template timer fires.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.templates.next_deadline()
    }

    /// Connection counts and traffic, for `ipvsadm -Ln` style rendering.
    pub fn counters(&self) -> Counters {
        let mut c = self.stats.clone();
        for (k, p) in &self.pools {
            if !self.table.contains(k) {
                continue;
            }
            for d in p.dests() {
                let e: &mut DestCounters = c.dests.entry((*k, d.key)).or_default();
                e.active = d.active;
                e.inactive = d.inactive;
                e.persistent = d.persistent;
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::render::{Format, render};
    use crate::ipvs::{
        Dest, ForwardMethod, Netmask, Persistence, Scheduler, Service, ServiceEntry,
    };
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }
    fn vip() -> ServiceKey {
        ServiceKey::tcp(ip("172.17.1.160"), 80)
    }
    fn rs(n: u8) -> DestKey {
        DestKey::new(ip(&format!("172.17.1.{n}")), 80)
    }
    fn seed(service: Service) -> Table {
        let mut e = ServiceEntry::new(service);
        for n in [152, 153] {
            e.insert_dest(rs(n), Dest::new(ForwardMethod::Route, 1));
        }
        [(vip(), e)].into_iter().collect()
    }
    fn flow(client: &str, port: u16) -> Flow {
        Flow::tcp(ip(client), port, ip("172.17.1.160"), 80)
    }

    #[test]
    fn seed_alternates_and_counts() {
        let mut f = Forwarder::with_table(&seed(Service::new(Scheduler::Rr)));
        let mut ids = Vec::new();
        let mut got = Vec::new();
        for i in 0..4 {
            let p = f
                .connect(
                    Instant::from_secs(i),
                    &flow("198.51.100.7", 40000 + i as u16),
                )
                .unwrap();
            got.push(p.dest);
            ids.push(p.id);
        }
        assert_eq!(got, [rs(153), rs(152), rs(153), rs(152)]);
        f.established(ids[0]);
        f.established(ids[1]);
        f.closing(ids[1]);
        let out = render(f.table(), &f.counters(), Format::Plain);
        assert!(
            out.contains(
                "  -> 172.17.1.152:80              Route   1      0          2         \n"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "  -> 172.17.1.153:80              Route   1      1          1         \n"
            ),
            "{out}"
        );
        let stats = render(f.table(), &f.counters(), Format::Stats);
        assert!(
            stats.contains(
                "TCP  172.17.1.160:80                     4        0        0        0        0\n"
            ),
            "{stats}"
        );
        for id in ids {
            assert!(f.expired(Instant::from_secs(10), id));
        }
        assert_eq!(f.conn_count(), 0);
        assert!(!f.expired(Instant::from_secs(10), ConnId(99)));
    }

    #[test]
    fn unmatched_packets_and_empty_pools_are_refused() {
        let mut f = Forwarder::with_table(&seed(Service::new(Scheduler::Rr)));
        let other = Flow::tcp(ip("198.51.100.7"), 1, ip("172.17.1.161"), 80);
        assert_eq!(f.connect(Instant::ZERO, &other), Err(Refused::NoService));
        f.apply(&[
            Op::DelDest {
                service: vip(),
                dest: rs(152),
            },
            Op::DelDest {
                service: vip(),
                dest: rs(153),
            },
        ])
        .unwrap();
        assert_eq!(
            f.connect(Instant::ZERO, &flow("198.51.100.7", 1)),
            Err(Refused::NoDest(vip(), NoDest::Unavailable))
        );
    }

    #[test]
    fn persistence_sticks_per_client_network_until_timeout() {
        let mut p = Persistence::new(50, Family::V4);
        p.netmask = Netmask::prefix(Family::V4, 24);
        let mut f = Forwarder::with_table(&seed(Service::new(Scheduler::Rr).with_persistence(p)));
        let a = f
            .connect(Instant::from_secs(0), &flow("198.51.100.7", 1000))
            .unwrap();
        assert!(a.persistent);
        // Same /24: same destination, whatever rr would say.
        for (i, c) in ["198.51.100.7", "198.51.100.99", "198.51.100.200"]
            .iter()
            .enumerate()
        {
            let b = f
                .connect(Instant::from_secs(1 + i as u64), &flow(c, 2000))
                .unwrap();
            assert_eq!(b.dest, a.dest);
            f.expired(Instant::from_secs(1 + i as u64), b.id);
        }
        // Another network gets the next destination.
        let other = f
            .connect(Instant::from_secs(5), &flow("203.0.113.1", 1))
            .unwrap();
        assert_ne!(other.dest, a.dest);
        f.expired(Instant::from_secs(5), other.id);
        assert_eq!(f.counters().dests[&(vip(), a.dest)].persistent, 1);
        f.expired(Instant::from_secs(6), a.id);
        // 50 s after the last use (t=3) the template goes, and rr moves on.
        f.handle_timeout(Instant::from_secs(53));
        assert!(f.templates().find(&vip(), ip("198.51.100.0")).is_none());
        assert_eq!(f.counters().dests[&(vip(), a.dest)].persistent, 0);
        let c = f
            .connect(Instant::from_secs(54), &flow("198.51.100.7", 3000))
            .unwrap();
        assert_eq!(c.dest, rs(153));
    }

    #[test]
    fn template_to_removed_dest_is_replaced_and_quiescent_option() {
        let p = Persistence::new(300, Family::V4);
        let mut f = Forwarder::with_table(&seed(Service::new(Scheduler::Rr).with_persistence(p)));
        let a = f.connect(Instant::ZERO, &flow("198.51.100.7", 1)).unwrap();
        assert_eq!(a.dest, rs(153));
        // Weight 0 keeps the template (default sysctl)...
        f.apply(&[Op::EditDest {
            service: vip(),
            dest: rs(153),
            params: Dest::new(ForwardMethod::Route, 0),
        }])
        .unwrap();
        assert_eq!(
            f.connect(Instant::from_secs(1), &flow("198.51.100.7", 2))
                .unwrap()
                .dest,
            rs(153)
        );
        // ...unless expire_quiescent_template is on.
        f.set_expire_quiescent_template(true);
        assert_eq!(
            f.connect(Instant::from_secs(2), &flow("198.51.100.7", 3))
                .unwrap()
                .dest,
            rs(152)
        );
        // A deleted destination's template is replaced.
        let b = f
            .connect(Instant::from_secs(3), &flow("203.0.113.9", 1))
            .unwrap();
        assert_eq!(b.dest, rs(152));
        f.apply(&[Op::DelDest {
            service: vip(),
            dest: rs(152),
        }])
        .unwrap();
        f.apply(&[Op::EditDest {
            service: vip(),
            dest: rs(153),
            params: Dest::new(ForwardMethod::Route, 1),
        }])
        .unwrap();
        assert_eq!(
            f.connect(Instant::from_secs(4), &flow("203.0.113.9", 2))
                .unwrap()
                .dest,
            rs(153)
        );
    }

    #[test]
    fn fwmark_then_exact_then_port_zero() {
        let mut t = seed(Service::new(Scheduler::Rr));
        let any_port = ServiceKey::tcp(ip("172.17.1.160"), 0);
        t.insert(
            any_port,
            ServiceEntry::new(
                Service::new(Scheduler::Rr).with_persistence(Persistence::new(60, Family::V4)),
            )
            .with_dest(
                DestKey::new(ip("172.17.1.154"), 0),
                Dest::new(ForwardMethod::Route, 1),
            ),
        );
        let fw = ServiceKey::fwmark(7, Family::V4);
        t.insert(
            fw,
            ServiceEntry::new(Service::new(Scheduler::Rr)).with_dest(
                DestKey::new(ip("172.17.1.155"), 0),
                Dest::new(ForwardMethod::Route, 1),
            ),
        );
        let f = Forwarder::with_table(&t);
        assert_eq!(f.lookup(&flow("198.51.100.1", 1)), Some(vip()));
        let https = Flow::tcp(ip("198.51.100.1"), 1, ip("172.17.1.160"), 443);
        assert_eq!(f.lookup(&https), Some(any_port));
        assert_eq!(f.lookup(&Flow { mark: 7, ..https }), Some(fw));
        assert_eq!(f.lookup(&Flow { mark: 8, ..https }), Some(any_port));
    }

    #[test]
    fn one_packet_udp_leaves_no_connection() {
        let key = ServiceKey::addr(Protocol::Udp, ip("192.0.2.53"), 53);
        let t: Table = [(
            key,
            ServiceEntry::new(Service::new(Scheduler::Rr).with_flags(ServiceFlags::ONE_PACKET))
                .with_dest(
                    DestKey::new(ip("198.51.100.53"), 53),
                    Dest::new(ForwardMethod::Masq, 1),
                ),
        )]
        .into_iter()
        .collect();
        let mut f = Forwarder::with_table(&t);
        let udp = Flow {
            protocol: Protocol::Udp,
            ..Flow::tcp(ip("203.0.113.5"), 999, ip("192.0.2.53"), 53)
        };
        let p = f.connect(Instant::ZERO, &udp).unwrap();
        assert_eq!(f.conn_count(), 0);
        assert!(!f.established(p.id));
        assert_eq!(f.counters().dests[&(key, p.dest)].stats.conns, 1);
    }
}
