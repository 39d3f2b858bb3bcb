//! A node's VRRP instances behind one entry point: received datagrams are
//! dispatched by interface, family and VRID; timers and trackers fan out.

use std::net::IpAddr;

use super::instance::Instance;
use super::io::{Input, Output};
use crate::packet::ip::Meta;
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

/// All VRRP instances of one node.
#[derive(Clone, Debug, Default)]
pub struct Router {
    instances: Vec<Instance>,
    stats: RouterStats,
    out: Vec<(usize, Output)>,
}

impl Router {
    /// A router running `instances` (not yet started).
    pub fn new(instances: Vec<Instance>) -> Router {
        Router {
            instances,
            stats: RouterStats::default(),
            out: Vec::new(),
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

    /// The earliest deadline of any instance.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.instances
            .iter()
            .filter_map(Instance::next_deadline)
            .min()
    }

    /// Applies `input` to every instance; outputs tagged with the index of
    /// the instance that produced them.
    pub fn broadcast(
        &mut self,
        now: Instant,
        input: Input<'_>,
    ) -> std::vec::Drain<'_, (usize, Output)> {
        for (i, inst) in self.instances.iter_mut().enumerate() {
            self.out.extend(inst.handle(now, input).map(|o| (i, o)));
        }
        self.out.drain(..)
    }

    /// Applies `input` to the instance at `index` only (a driver's
    /// per-instance facts: its own interface's link state); nothing when
    /// there is no such instance.
    pub fn handle(
        &mut self,
        now: Instant,
        index: usize,
        input: Input<'_>,
    ) -> std::vec::Drain<'_, (usize, Output)> {
        if let Some(inst) = self.instances.get_mut(index) {
            self.out.extend(inst.handle(now, input).map(|o| (index, o)));
        }
        self.out.drain(..)
    }

    /// Takes the instances back, state and all (a driver rebuilding its
    /// router on reload keeps the unchanged ones).
    pub fn into_instances(self) -> Vec<Instance> {
        self.instances
    }

    /// Starts every instance.
    pub fn start(&mut self, now: Instant) -> std::vec::Drain<'_, (usize, Output)> {
        self.broadcast(now, Input::Start)
    }

    /// Processes every instance whose deadline has passed.
    pub fn timer(&mut self, now: Instant) -> std::vec::Drain<'_, (usize, Output)> {
        for (i, inst) in self.instances.iter_mut().enumerate() {
            if inst.next_deadline().is_some_and(|d| d <= now) {
                self.out
                    .extend(inst.handle(now, Input::Timer).map(|o| (i, o)));
            }
        }
        self.out.drain(..)
    }

    /// Dispatches a VRRP message (IP payload) received on `interface`.
    /// `Err` names why no instance took it (it is counted here).
    pub fn receive(
        &mut self,
        now: Instant,
        interface: &str,
        meta: Meta,
        message: &[u8],
    ) -> Result<std::vec::Drain<'_, (usize, Output)>, Unrouted> {
        let Some(&vrid) = message.get(1) else {
            self.stats.malformed += 1;
            return Err(Unrouted::Malformed(Error::Truncated {
                what: "vrrp header",
                needed: 8,
                got: message.len(),
            }));
        };
        let i = self.find(interface, Family::of(&meta.src), vrid, meta.src)?;
        self.out.extend(
            self.instances[i]
                .handle(now, Input::Advert { meta, message })
                .map(|o| (i, o)),
        );
        Ok(self.out.drain(..))
    }

    /// Dispatches a whole IP datagram received on `interface` (IPv4 raw
    /// sockets and captures deliver the header too).
    pub fn receive_datagram(
        &mut self,
        now: Instant,
        interface: &str,
        datagram: &[u8],
    ) -> Result<std::vec::Drain<'_, (usize, Output)>, Unrouted> {
        match ip::parse(datagram) {
            Ok(d) => self.receive(now, interface, d.meta, d.payload),
            Err(Error::AuthHeader { next_header }) => {
                self.receive_ah(now, interface, datagram, next_header)
            }
            Err(e) => {
                self.stats.malformed += 1;
                Err(Unrouted::Malformed(e))
            }
        }
    }

    fn receive_ah(
        &mut self,
        now: Instant,
        interface: &str,
        datagram: &[u8],
        next_header: u8,
    ) -> Result<std::vec::Drain<'_, (usize, Output)>, Unrouted> {
        // Find the VRID behind the AH header (IPv4 only: RFC 2338).
        let ihl = usize::from(datagram.first().map_or(0, |b| b & 0x0f)) * 4;
        let ah_len = datagram.get(ihl + 1).map(|l| (usize::from(*l) + 2) * 4);
        let vrid = ah_len.and_then(|l| datagram.get(ihl + l + 1)).copied();
        let (Some(vrid), true, Some(src), Some(dst)) = (
            vrid,
            next_header == crate::packet::vrrp::PROTOCOL,
            v4(datagram, 12),
            v4(datagram, 16),
        ) else {
            self.stats.malformed += 1;
            return Err(Unrouted::Malformed(Error::AuthHeader { next_header }));
        };
        let meta = Meta {
            src,
            dst,
            hop_limit: datagram.get(8).copied(),
        };
        let i = self.find(interface, Family::V4, vrid, src)?;
        self.out.extend(
            self.instances[i]
                .handle(now, Input::AuthHeader { meta })
                .map(|o| (i, o)),
        );
        Ok(self.out.drain(..))
    }

    fn find(
        &mut self,
        interface: &str,
        family: Family,
        vrid: u8,
        src: IpAddr,
    ) -> Result<usize, Unrouted> {
        self.instances
            .iter()
            .position(|i| {
                i.config().vrid == vrid
                    && i.config().interface == interface
                    && i.config().family() == family
            })
            .ok_or_else(|| {
                self.stats.unknown_vrid += 1;
                Unrouted::UnknownVrid { src, vrid }
            })
    }
}

fn v4(d: &[u8], at: usize) -> Option<IpAddr> {
    let b = d.get(at..at + 4)?;
    Some(IpAddr::from([b[0], b[1], b[2], b[3]]))
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
        let _ = r.start(Instant::ZERO).count();
        let outs: Vec<_> = r
            .handle(Instant::ZERO, 1, Input::Link { up: false })
            .collect();
        assert!(outs.iter().all(|(i, _)| *i == 1));
        assert_eq!(r.instances()[0].state(), State::Backup);
        assert_eq!(r.instances()[1].state(), State::Fault);
        assert_eq!(r.handle(Instant::ZERO, 7, Input::Shutdown).count(), 0);
    }

    #[test]
    fn into_instances_keeps_state() {
        let mut r = Router::new(vec![inst("a", "eth0", 1)]);
        let _ = r.start(Instant::ZERO).count();
        let back = r.into_instances();
        assert_eq!(back[0].state(), State::Backup);
        let r2 = Router::new(back);
        assert!(r2.next_deadline().is_some());
    }
}
