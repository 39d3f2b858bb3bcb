//! The IPVS table: services and their destinations, in a fixed order so
//! that iteration, diffs and rendering are deterministic.
//!
//! Services are kept in [`ServiceKey`] order (`ipvsadm`'s sort order for
//! well-behaved keys) and each service's destinations in [`DestKey`]
//! order. The kernel's own list order (newest destination first), which
//! round-robin style schedulers follow, is a property of the kernel's
//! history, not of the table; [`super::sched::Pool`] models it.

use std::collections::BTreeMap;

use super::dest::{Dest, DestKey};
use super::service::{Service, ServiceKey};

/// One virtual service and its destinations.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServiceEntry {
    /// Scheduler, flags and persistence.
    pub service: Service,
    /// Sorted by key, keys unique.
    dests: Vec<(DestKey, Dest)>,
}

impl ServiceEntry {
    /// A service without destinations.
    pub const fn new(service: Service) -> ServiceEntry {
        ServiceEntry {
            service,
            dests: Vec::new(),
        }
    }

    /// Its destinations in key order.
    pub fn dests(&self) -> &[(DestKey, Dest)] {
        &self.dests
    }

    /// The destination `key`.
    pub fn dest(&self, key: &DestKey) -> Option<&Dest> {
        self.dests
            .binary_search_by(|(k, _)| k.cmp(key))
            .ok()
            .map(|i| &self.dests[i].1)
    }

    /// The destination `key`, mutably.
    pub fn dest_mut(&mut self, key: &DestKey) -> Option<&mut Dest> {
        match self.dests.binary_search_by(|(k, _)| k.cmp(key)) {
            Ok(i) => Some(&mut self.dests[i].1),
            Err(_) => None,
        }
    }

    /// Adds or replaces destination `key`; returns the one it replaced.
    pub fn insert_dest(&mut self, key: DestKey, dest: Dest) -> Option<Dest> {
        match self.dests.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(i) => Some(std::mem::replace(&mut self.dests[i].1, dest)),
            Err(i) => {
                self.dests.insert(i, (key, dest));
                None
            }
        }
    }

    /// Removes destination `key`; returns it.
    pub fn remove_dest(&mut self, key: &DestKey) -> Option<Dest> {
        match self.dests.binary_search_by(|(k, _)| k.cmp(key)) {
            Ok(i) => Some(self.dests.remove(i).1),
            Err(_) => None,
        }
    }

    /// The same entry with destination `key` added.
    pub fn with_dest(mut self, key: DestKey, dest: Dest) -> ServiceEntry {
        self.insert_dest(key, dest);
        self
    }
}

/// A whole IPVS table (what `ipvsadm -Ln` lists).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Table {
    services: BTreeMap<ServiceKey, ServiceEntry>,
}

impl Table {
    /// An empty table.
    pub const fn new() -> Table {
        Table {
            services: BTreeMap::new(),
        }
    }

    /// Number of services.
    pub fn len(&self) -> usize {
        self.services.len()
    }

    /// Whether there are no services.
    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }

    /// Number of destinations over all services.
    pub fn dest_count(&self) -> usize {
        self.services.values().map(|e| e.dests.len()).sum()
    }

    /// The service `key`.
    pub fn service(&self, key: &ServiceKey) -> Option<&ServiceEntry> {
        self.services.get(key)
    }

    /// The service `key`, mutably.
    pub fn service_mut(&mut self, key: &ServiceKey) -> Option<&mut ServiceEntry> {
        self.services.get_mut(key)
    }

    /// Whether service `key` exists.
    pub fn contains(&self, key: &ServiceKey) -> bool {
        self.services.contains_key(key)
    }

    /// Adds service `key` without destinations, or sets the parameters of
    /// the existing one (keeping its destinations); returns its entry.
    pub fn upsert_service(&mut self, key: ServiceKey, service: Service) -> &mut ServiceEntry {
        match self.services.entry(key) {
            std::collections::btree_map::Entry::Occupied(o) => {
                let e = o.into_mut();
                e.service = service;
                e
            }
            std::collections::btree_map::Entry::Vacant(v) => v.insert(ServiceEntry::new(service)),
        }
    }

    /// Puts a whole entry at `key`; returns the one it replaced.
    pub fn insert(&mut self, key: ServiceKey, entry: ServiceEntry) -> Option<ServiceEntry> {
        self.services.insert(key, entry)
    }

    /// Removes service `key` with its destinations; returns it.
    pub fn remove(&mut self, key: &ServiceKey) -> Option<ServiceEntry> {
        self.services.remove(key)
    }

    /// Services in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&ServiceKey, &ServiceEntry)> {
        self.services.iter()
    }

    /// Service keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &ServiceKey> {
        self.services.keys()
    }
}

impl FromIterator<(ServiceKey, ServiceEntry)> for Table {
    fn from_iter<I: IntoIterator<Item = (ServiceKey, ServiceEntry)>>(iter: I) -> Table {
        Table {
            services: iter.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::{ForwardMethod, Scheduler};

    #[test]
    fn dests_stay_sorted_and_unique() {
        let mut e = ServiceEntry::new(Service::new(Scheduler::Rr));
        let k = |s: &str| DestKey::new(s.parse().unwrap(), 80);
        assert_eq!(
            e.insert_dest(k("10.0.0.3"), Dest::new(ForwardMethod::Route, 1)),
            None
        );
        assert_eq!(
            e.insert_dest(k("10.0.0.1"), Dest::new(ForwardMethod::Route, 1)),
            None
        );
        assert_eq!(
            e.insert_dest(k("10.0.0.3"), Dest::new(ForwardMethod::Route, 5)),
            Some(Dest::new(ForwardMethod::Route, 1))
        );
        let keys: Vec<_> = e.dests().iter().map(|(k, _)| k.to_string()).collect();
        assert_eq!(keys, ["10.0.0.1:80", "10.0.0.3:80"]);
        assert_eq!(e.dest(&k("10.0.0.3")).unwrap().weight, 5);
        assert!(e.remove_dest(&k("10.0.0.1")).is_some());
        assert!(e.remove_dest(&k("10.0.0.1")).is_none());
        assert_eq!(e.dests().len(), 1);
    }

    #[test]
    fn upsert_keeps_dests() {
        let key = ServiceKey::tcp("192.0.2.1".parse().unwrap(), 80);
        let mut t = Table::new();
        t.upsert_service(key, Service::new(Scheduler::Rr))
            .insert_dest(
                DestKey::new("192.0.2.10".parse().unwrap(), 80),
                Dest::new(ForwardMethod::Masq, 1),
            );
        t.upsert_service(key, Service::new(Scheduler::Wlc));
        assert_eq!(t.service(&key).unwrap().service.scheduler, Scheduler::Wlc);
        assert_eq!(t.dest_count(), 1);
        assert_eq!(t.len(), 1);
    }
}
