//! Source hashing (`ip_vs_sh.c`): 256 buckets filled round the destination
//! list, each destination taking as many consecutive buckets as its weight
//! (at least one); a client address (plus its port with `sh-port`) hashes
//! to a bucket with `hash_32`. With `sh-fallback` an unusable bucket walks
//! on to the next usable one.

use std::net::IpAddr;

use super::PoolDest;
use super::hash::{addr_fold, hash_32};

/// `IP_VS_SH_TAB_BITS`.
const TAB_BITS: u32 = 8;
/// `IP_VS_SH_TAB_SIZE`.
pub(super) const TAB_SIZE: usize = 1 << TAB_BITS;

/// The bucket table (destination ids).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Sh {
    buckets: Box<[Option<u64>; TAB_SIZE]>,
}

/// `ip_vs_sh_hashkey`.
pub(super) fn hashkey(addr: &IpAddr, port: u16, offset: u32) -> usize {
    (offset.wrapping_add(hash_32(
        (port as u32).wrapping_add(addr_fold(addr)),
        TAB_BITS,
    )) as usize)
        & (TAB_SIZE - 1)
}

impl Sh {
    /// `init_service`.
    pub(super) fn new(dests: &[PoolDest]) -> Sh {
        let mut s = Sh {
            buckets: Box::new([None; TAB_SIZE]),
        };
        s.reassign(dests);
        s
    }

    /// `ip_vs_sh_reassign` (the add, delete and update hook).
    pub(super) fn reassign(&mut self, dests: &[PoolDest]) {
        if dests.is_empty() {
            self.buckets.fill(None);
            return;
        }
        let (mut p, mut count) = (0usize, 0i32);
        for b in self.buckets.iter_mut() {
            if p == dests.len() {
                p = 0;
            }
            *b = Some(dests[p].id);
            count += 1;
            if count >= dests[p].weight {
                p += 1;
                count = 0;
            }
        }
    }

    /// The destination id in each bucket (for tests).
    #[cfg(test)]
    pub(super) fn buckets(&self) -> &[Option<u64>; TAB_SIZE] {
        &self.buckets
    }

    /// `ip_vs_sh_schedule`: `port` is the client port with `sh-port`, else 0.
    pub(super) fn schedule(
        &self,
        dests: &[PoolDest],
        client: &IpAddr,
        port: u16,
        fallback: bool,
    ) -> Option<usize> {
        let at = |h: usize| self.buckets[h].and_then(|id| dests.iter().position(|d| d.id == id));
        let usable = |i: usize| dests[i].weight > 0 && !dests[i].overloaded;
        let ihash = hashkey(client, port, 0);
        let first = at(ihash)?;
        if usable(first) {
            return Some(first);
        }
        if !fallback {
            return None;
        }
        for offset in 0..TAB_SIZE as u32 {
            let roffset = (offset + ihash as u32) % TAB_SIZE as u32;
            let i = at(hashkey(client, port, roffset))?;
            if usable(i) {
                return Some(i);
            }
        }
        None
    }
}
