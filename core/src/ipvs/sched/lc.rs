//! Least connection (`ip_vs_lc.c`): the lowest overhead
//! (`active * 256 + inactive`), first in list order on ties.

use super::PoolDest;

/// `schedule`.
pub(super) fn schedule(dests: &[PoolDest]) -> Option<usize> {
    let mut least: Option<(usize, u64)> = None;
    for (i, d) in dests.iter().enumerate() {
        if d.overloaded || d.weight == 0 {
            continue;
        }
        let doh = d.overhead() as u64;
        if least.is_none_or(|(_, loh)| doh < loh) {
            least = Some((i, doh));
        }
    }
    least.map(|(i, _)| i)
}
