//! Never queue (`ip_vs_nq.c`): the first idle destination (no active
//! connections) in list order, otherwise the lowest `(active + 1) / weight`.

use super::PoolDest;

/// `schedule`.
pub(super) fn schedule(dests: &[PoolDest]) -> Option<usize> {
    let mut least: Option<(usize, i64)> = None;
    for (i, d) in dests.iter().enumerate() {
        if d.overloaded || d.weight == 0 {
            continue;
        }
        let doh = d.active as i64 + 1;
        if d.active == 0 {
            return Some(i);
        }
        if least.is_none_or(|(l, loh)| loh * d.weight as i64 > doh * dests[l].weight as i64) {
            least = Some((i, doh));
        }
    }
    least.map(|(i, _)| i)
}
