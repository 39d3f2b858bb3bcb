//! When a `vrrp_track_process`'s quorum counts as gained or lost, as
//! keepalived 2.2.7 times it (track_process.c): a change is reported once
//! it has held for `fork_delay` (gained) or `terminate_delay` (lost); a
//! change undone within its delay is never reported.

use std::time::Duration;

use crate::config::TrackProcess;
use crate::time::Instant;

use super::track_process::has_quorum;

/// The reported quorum of one tracked process set, and a change waiting
/// out its delay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuorumDelay {
    fork_delay: Duration,
    terminate_delay: Duration,
    up: bool,
    /// The other state, seen since this instant.
    pending: Option<Instant>,
}

impl QuorumDelay {
    /// Reported state `up` at the start, with `tp`'s delays.
    pub fn new(tp: &TrackProcess, up: bool) -> QuorumDelay {
        QuorumDelay {
            fork_delay: tp.fork_delay,
            terminate_delay: tp.terminate_delay,
            up,
            pending: None,
        }
    }

    /// Whether the quorum counts as held now.
    pub fn up(&self) -> bool {
        self.up
    }

    /// When a pending change becomes due, if one is waiting.
    pub fn deadline(&self) -> Option<Instant> {
        self.pending.map(|since| since + self.delay(!self.up))
    }

    fn delay(&self, to_up: bool) -> Duration {
        if to_up {
            self.fork_delay
        } else {
            self.terminate_delay
        }
    }

    /// `count` matching processes run at `now`; the new reported state
    /// when it changes.
    pub fn observe(&mut self, tp: &TrackProcess, now: Instant, count: u32) -> Option<bool> {
        let quorum = has_quorum(tp, count);
        if quorum == self.up {
            self.pending = None;
            return None;
        }
        let since = *self.pending.get_or_insert(now);
        if now.saturating_since(since) < self.delay(quorum) {
            return None;
        }
        self.pending = None;
        self.up = quorum;
        Some(quorum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(fork_ms: u64, term_ms: u64) -> TrackProcess {
        let text = format!(
            "vrrp_track_process p {{\n process nginx\n fork_delay {}\n terminate_delay {}\n}}\n",
            fork_ms as f64 / 1000.0,
            term_ms as f64 / 1000.0
        );
        crate::config::parse_str("t.conf", &text)
            .config
            .expect("config")
            .track_processes
            .remove(0)
    }

    fn at(ms: u64) -> Instant {
        Instant::from_duration(Duration::from_millis(ms))
    }

    #[test]
    fn a_loss_is_reported_once_it_held_for_the_terminate_delay() {
        let p = tp(0, 2000);
        let mut q = QuorumDelay::new(&p, true);
        assert_eq!(q.observe(&p, at(0), 0), None);
        assert_eq!(q.deadline(), Some(at(2000)));
        assert_eq!(q.observe(&p, at(1999), 0), None);
        assert_eq!(q.observe(&p, at(2000), 0), Some(false));
        assert!(!q.up());
        // No delay on the way back.
        assert_eq!(q.observe(&p, at(2100), 1), Some(true));
    }

    #[test]
    fn a_change_undone_within_its_delay_is_never_reported() {
        let p = tp(1000, 1000);
        let mut q = QuorumDelay::new(&p, true);
        assert_eq!(q.observe(&p, at(0), 0), None);
        assert_eq!(q.observe(&p, at(500), 1), None);
        assert_eq!(q.deadline(), None);
        assert_eq!(q.observe(&p, at(1500), 0), None);
        assert_eq!(q.observe(&p, at(2400), 0), None);
        assert_eq!(q.observe(&p, at(2500), 0), Some(false));
    }
}
