//! Weighted failover (`ip_vs_fo.c`): the highest weight among destinations
//! not overloaded, first in list order on ties.

use super::PoolDest;

/// `schedule`.
pub(super) fn schedule(dests: &[PoolDest]) -> Option<usize> {
    let mut best: Option<usize> = None;
    let mut hw = 0;
    for (i, d) in dests.iter().enumerate() {
        if !d.overloaded && d.weight > hw {
            best = Some(i);
            hw = d.weight;
        }
    }
    best
}
