//! Destination hashing (`ip_vs_dh.c`): 256 buckets filled round the
//! destination list one bucket each (weights only say whether a
//! destination is usable); the packet's destination address hashes to a
//! bucket with `hash_32`.

use std::net::IpAddr;

use super::PoolDest;
use super::hash::{addr_fold, hash_32};

/// `IP_VS_DH_TAB_BITS`.
const TAB_BITS: u32 = 8;
/// `IP_VS_DH_TAB_SIZE`.
pub(super) const TAB_SIZE: usize = 1 << TAB_BITS;

/// The bucket table (destination ids).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Dh {
    buckets: Box<[Option<u64>; TAB_SIZE]>,
}

/// `ip_vs_dh_hashkey`.
pub(super) fn hashkey(addr: &IpAddr) -> usize {
    hash_32(addr_fold(addr), TAB_BITS) as usize
}

impl Dh {
    /// `init_service`.
    pub(super) fn new(dests: &[PoolDest]) -> Dh {
        let mut s = Dh {
            buckets: Box::new([None; TAB_SIZE]),
        };
        s.reassign(dests);
        s
    }

    /// `ip_vs_dh_reassign` (the add, delete and update hook).
    pub(super) fn reassign(&mut self, dests: &[PoolDest]) {
        if dests.is_empty() {
            self.buckets.fill(None);
            return;
        }
        for (i, b) in self.buckets.iter_mut().enumerate() {
            *b = Some(dests[i % dests.len()].id);
        }
    }

    /// `ip_vs_dh_schedule`.
    pub(super) fn schedule(&self, dests: &[PoolDest], daddr: &IpAddr) -> Option<usize> {
        let id = self.buckets[hashkey(daddr)]?;
        let i = dests.iter().position(|d| d.id == id)?;
        (dests[i].weight > 0 && !dests[i].overloaded).then_some(i)
    }
}
