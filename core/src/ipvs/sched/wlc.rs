//! Weighted least connection (`ip_vs_wlc.c`): the lowest
//! `overhead / weight`, compared by cross-multiplication, first in list
//! order on ties.

use super::PoolDest;

/// `schedule`.
pub(super) fn schedule(dests: &[PoolDest]) -> Option<usize> {
    super::least_weighted(dests, PoolDest::overhead)
}
