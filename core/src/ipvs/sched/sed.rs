//! Shortest expected delay (`ip_vs_sed.c`): the lowest
//! `(active + 1) / weight`, first in list order on ties.

use super::PoolDest;

/// `schedule`.
pub(super) fn schedule(dests: &[PoolDest]) -> Option<usize> {
    super::least_weighted(dests, |d| d.active as i64 + 1)
}
