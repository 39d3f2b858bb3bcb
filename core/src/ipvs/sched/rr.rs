//! Round robin (`ip_vs_rr.c`): a cursor walks the destination list,
//! skipping overloaded and weight-0 destinations.

use super::PoolDest;

/// The cursor: the last destination picked, or the list head.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Rr {
    cursor: Option<u64>,
}

impl Rr {
    /// `init_service`: the cursor starts at the list head.
    pub(super) fn new() -> Rr {
        Rr { cursor: None }
    }

    /// `del_dest`: a cursor on the removed destination steps back to the
    /// entry before it (or the head), so the walk goes on after it.
    pub(super) fn del_dest(&mut self, removed_id: u64, removed_pos: usize, remaining: &[PoolDest]) {
        if self.cursor == Some(removed_id) {
            self.cursor = removed_pos.checked_sub(1).map(|p| remaining[p].id);
        }
    }

    /// `schedule`: the first usable destination after the cursor, wrapping
    /// round to the cursor itself.
    pub(super) fn schedule(&mut self, dests: &[PoolDest]) -> Option<usize> {
        let start = match self.cursor {
            None => 0,
            Some(id) => dests.iter().position(|d| d.id == id)? + 1,
        };
        let n = dests.len();
        let span = if self.cursor.is_some() {
            n
        } else {
            n.saturating_sub(start)
        };
        (0..span)
            .map(|i| (start + i) % n.max(1))
            .find(|&i| dests[i].usable())
            .inspect(|&i| self.cursor = Some(dests[i].id))
    }
}
