//! A node's VRRP instances behind one entry point, [`Router::handle`]:
//! received datagrams are dispatched by interface, family and VRID;
//! timers and trackers fan out.

use std::net::IpAddr;

use super::instance::Instance;
use super::io::{Input, Output};
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
    stats: RouterStats,
    unrouted: Option<Unrouted>,
    out: Vec<(usize, Output)>,
}

impl Router {
    /// A router running `instances` (not yet started).
    pub fn new(instances: Vec<Instance>) -> Router {
        Router {
            instances,
            ..Router::default()
        }
    }

    /// The instances, in configuration order.
    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    /// The instance named `name`.
    pub fn instance(&self, name: &str) -> Option<&Instance> {
        self.instances.iter().find(|i| i.name() == name)
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
                for (i, inst) in self.instances.iter_mut().enumerate() {
                    if inst.next_deadline().is_some_and(|d| d <= now) {
                        self.out
                            .extend(inst.handle(now, Input::Timer).map(|o| (i, o)));
                    }
                }
            }
            Event::All(input) => {
                for (i, inst) in self.instances.iter_mut().enumerate() {
                    self.out.extend(inst.handle(now, input).map(|o| (i, o)));
                }
            }
            Event::One(i, input) => {
                if let Some(inst) = self.instances.get_mut(i) {
                    self.out.extend(inst.handle(now, input).map(|o| (i, o)));
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
            Some(_) => Input::AuthHeader { meta: d.meta },
            None => Input::Advert {
                meta: d.meta,
                message: d.payload,
            },
        };
        self.out
            .extend(self.instances[i].handle(now, input).map(|o| (i, o)));
    }

    fn unroutable(&mut self, why: Unrouted) {
        self.stats.malformed += 1;
        self.unrouted = Some(why);
    }
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
