//! Which links are cut: the timeline's partitions and directors whose
//! interface is down, kept as directed pairs and applied to turmoil.

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::scenario::{Host, Peer, Scenario};

/// Cut links.
#[derive(Clone, Debug, Default)]
pub struct Links {
    hosts: Vec<IpAddr>,
    /// Directed pairs cut by partitions.
    partitions: BTreeSet<(IpAddr, IpAddr)>,
    /// Hosts whose interface is down.
    down: BTreeSet<IpAddr>,
    /// What turmoil was last told.
    applied: BTreeSet<(IpAddr, IpAddr)>,
}

/// The address pairs between `a` and `b` (every other host for `All`).
pub fn pairs(s: &Scenario, a: Host, b: Peer) -> Vec<(IpAddr, IpAddr)> {
    let x = s.host_address(a);
    match b {
        Peer::Host(h) => vec![(x, s.host_address(h))],
        Peer::All => s
            .hosts()
            .into_iter()
            .filter(|h| *h != a)
            .map(|h| (x, s.host_address(h)))
            .collect(),
    }
}

impl Links {
    /// No link cut.
    pub fn new(s: &Scenario) -> Links {
        Links {
            hosts: s.hosts().iter().map(|h| s.host_address(*h)).collect(),
            ..Links::default()
        }
    }

    /// Cuts `a`-`b` (only `a` to `b` when `oneway`).
    pub fn cut(&mut self, s: &Scenario, a: Host, b: Peer, oneway: bool) {
        for (x, y) in pairs(s, a, b) {
            self.partitions.insert((x, y));
            if !oneway {
                self.partitions.insert((y, x));
            }
        }
    }

    /// Restores `a`-`b` in both directions.
    pub fn heal(&mut self, s: &Scenario, a: Host, b: Peer) {
        for (x, y) in pairs(s, a, b) {
            self.partitions.remove(&(x, y));
            self.partitions.remove(&(y, x));
        }
    }

    /// Sets director `d`'s interface up or down.
    pub fn set_link(&mut self, s: &Scenario, d: usize, up: bool) {
        let a = s.host_address(Host::Director(d));
        if up {
            self.down.remove(&a);
        } else {
            self.down.insert(a);
        }
    }

    fn wanted(&self) -> BTreeSet<(IpAddr, IpAddr)> {
        let mut w = self.partitions.clone();
        for &d in &self.down {
            for &h in &self.hosts {
                if h != d {
                    w.insert((d, h));
                    w.insert((h, d));
                }
            }
        }
        w
    }

    /// Tells turmoil about every change since the last call.
    pub fn apply(&mut self, sim: &mut turmoil::Sim<'_>) {
        let wanted = self.wanted();
        for &(x, y) in wanted.difference(&self.applied) {
            sim.partition_oneway(x, y);
        }
        for &(x, y) in self.applied.difference(&wanted) {
            sim.repair_oneway(x, y);
        }
        self.applied = wanted;
    }
}
