//! Maglev hashing (`ip_vs_mh.c`): a 4093-entry lookup table filled from
//! each destination's permutation (offset and skip from `hsiphash` of its
//! address and port under two fixed keys), destinations taking turns in
//! proportion to their last non-zero weight; a client address (plus its
//! port with `mh-port`) hashes to an entry. With `mh-fallback` an unusable
//! entry walks on to the next usable one.

use std::net::IpAddr;

use super::PoolDest;
use super::hash::{HsipKey, addr_fold_as, hsiphash_u32};
use crate::ipvs::Family;

/// `IP_VS_MH_TAB_SIZE` (`primes[CONFIG_IP_VS_MH_TAB_INDEX - 8]`, index 12).
pub(super) const TAB_SIZE: usize = 4093;
/// `IP_VS_MH_TAB_BITS`.
const TAB_BITS: u32 = 6;

/// `generate_hash_secret`: the fixed keys.
const HASH1: HsipKey = HsipKey(2_654_435_761, 2_654_435_761);
const HASH2: HsipKey = HsipKey(2_654_446_892, 2_654_446_892);

/// The lookup table and weight scaling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Mh {
    lookup: Vec<Option<u64>>,
    gcd: i32,
    rshift: u32,
}

/// `ip_vs_mh_hashkey`.
fn hashkey(family: Family, addr: &IpAddr, port: u16, key: HsipKey, offset: u32) -> u32 {
    let v = offset
        .wrapping_add(port as u32)
        .wrapping_add(addr_fold_as(family, addr));
    hsiphash_u32(v, key)
}

fn gcd(a: i32, b: i32) -> i32 {
    let (mut a, mut b) = (a, b);
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Bits needed for `x` (`fls`).
fn fls(x: i32) -> u32 {
    32 - (x as u32).leading_zeros()
}

impl Mh {
    /// `init_service`.
    pub(super) fn new(family: Family, dests: &[PoolDest]) -> Mh {
        let mut s = Mh {
            lookup: vec![None; TAB_SIZE],
            gcd: 0,
            rshift: 0,
        };
        s.changed(family, dests);
        s
    }

    /// `ip_vs_mh_dest_changed` (the add, delete and update hook).
    pub(super) fn changed(&mut self, family: Family, dests: &[PoolDest]) {
        // ip_vs_mh_gcd_weight and ip_vs_mh_shift_weight, on last_weight.
        let mut g = 0;
        for d in dests {
            if d.last_weight > 0 {
                g = if g > 0 {
                    gcd(d.last_weight, g)
                } else {
                    d.last_weight
                };
            }
        }
        self.gcd = g;
        self.rshift = if g < 1 {
            0
        } else {
            let mw = dests.iter().map(|d| d.last_weight).fold(0, i32::max) / g;
            fls(mw).saturating_sub(TAB_BITS)
        };
        if self.gcd < 1 {
            self.lookup.fill(None);
            return;
        }
        // ip_vs_mh_permutate
        struct Setup {
            skip: usize,
            perm: usize,
            turns: i32,
        }
        let mut setup: Vec<Setup> = dests
            .iter()
            .map(|d| {
                let offset = hashkey(family, &d.key.addr, d.key.port, HASH1, 0) as usize % TAB_SIZE;
                let skip = hashkey(family, &d.key.addr, d.key.port, HASH2, 0) as usize
                    % (TAB_SIZE - 1)
                    + 1;
                let lw = d.last_weight;
                let turns = match (lw / self.gcd) >> self.rshift {
                    0 => (lw != 0) as i32,
                    t => t,
                };
                Setup {
                    skip,
                    perm: offset,
                    turns,
                }
            })
            .collect();
        // ip_vs_mh_populate
        let mut taken = vec![false; TAB_SIZE];
        let (mut n, mut dt_count) = (0usize, 0i32);
        'fill: loop {
            let mut p = 0;
            while p < dests.len() {
                let ds = &mut setup[p];
                if ds.turns < 1 {
                    p += 1;
                    continue;
                }
                let mut c = ds.perm;
                while taken[c] {
                    ds.perm += ds.skip;
                    if ds.perm >= TAB_SIZE {
                        ds.perm -= TAB_SIZE;
                    }
                    c = ds.perm;
                }
                taken[c] = true;
                self.lookup[c] = Some(dests[p].id);
                n += 1;
                if n == TAB_SIZE {
                    break 'fill;
                }
                dt_count += 1;
                if dt_count >= ds.turns {
                    dt_count = 0;
                    p += 1;
                }
            }
        }
    }

    /// The destination id of each entry (for tests).
    #[cfg(test)]
    pub(super) fn lookup(&self) -> &[Option<u64>] {
        &self.lookup
    }

    /// `ip_vs_mh_schedule`: `port` is the client port with `mh-port`, else 0.
    pub(super) fn schedule(
        &self,
        family: Family,
        dests: &[PoolDest],
        client: &IpAddr,
        port: u16,
        fallback: bool,
    ) -> Option<usize> {
        let at = |h: usize| self.lookup[h].and_then(|id| dests.iter().position(|d| d.id == id));
        let usable = |i: usize| dests[i].weight > 0 && !dests[i].overloaded;
        let ihash = hashkey(family, client, port, HASH1, 0) as usize % TAB_SIZE;
        let first = at(ihash)?;
        if usable(first) {
            return Some(first);
        }
        if !fallback {
            return None;
        }
        for offset in 0..TAB_SIZE {
            let roffset = (offset + ihash) % TAB_SIZE;
            let i = at(hashkey(family, client, port, HASH1, roffset as u32) as usize % TAB_SIZE)?;
            if usable(i) {
                return Some(i);
            }
        }
        None
    }
}
