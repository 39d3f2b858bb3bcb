//! Weighted overflow (`ip_vs_ovf.c`): the highest weight among destinations
//! whose active connections do not exceed their weight, first in list
//! order on ties.

use super::PoolDest;

/// `schedule`.
pub(super) fn schedule(dests: &[PoolDest]) -> Option<usize> {
    let mut best: Option<usize> = None;
    let mut hw = 0;
    for (i, d) in dests.iter().enumerate() {
        let w = d.weight;
        if d.overloaded || d.active as i64 > w as i64 || w == 0 {
            continue;
        }
        if best.is_none() || w > hw {
            best = Some(i);
            hw = w;
        }
    }
    best
}
