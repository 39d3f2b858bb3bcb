//! The gratuitous ARP / unsolicited NA schedule of a master: bursts on
//! becoming master, the delayed burst after `garp_master_delay`, refresh
//! bursts, and the spacing `vrrp_garp_interval` imposes.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Duration;

use super::io::Output;
use crate::time::Instant;

/// Pending announcements of one instance.
#[derive(Clone, Debug, Default)]
pub struct Announcer {
    /// Announcements waiting to go out, in order.
    queue: VecDeque<(IpAddr, String)>,
    /// Earliest time the next queued announcement may go.
    next_send: Instant,
    /// Bursts scheduled for later: when, how many rounds.
    delayed: Vec<(Instant, u32)>,
}

impl Announcer {
    /// Queues `repeat` rounds over `addrs` (keepalived sends round by
    /// round: every address once, then again).
    pub fn burst(&mut self, addrs: &[(IpAddr, String)], repeat: u32) {
        for _ in 0..repeat {
            self.queue.extend(addrs.iter().cloned());
        }
    }

    /// Schedules a burst of `repeat` rounds at `at`.
    pub fn schedule(&mut self, at: Instant, repeat: u32) {
        if repeat > 0 {
            self.delayed.push((at, repeat));
        }
    }

    /// Drops everything pending (the instance left master).
    pub fn clear(&mut self) {
        self.queue.clear();
        self.delayed.clear();
    }

    /// Moves bursts due at `now` into the queue; the rounds that became
    /// due (for tracing).
    pub fn promote(&mut self, now: Instant, addrs: &[(IpAddr, String)]) -> u32 {
        let mut rounds = 0;
        let mut i = 0;
        while i < self.delayed.len() {
            if self.delayed[i].0 <= now {
                let (_, repeat) = self.delayed.remove(i);
                self.burst(addrs, repeat);
                rounds += repeat;
            } else {
                i += 1;
            }
        }
        rounds
    }

    /// Emits what may go at `now`: everything queued when `interval` is
    /// zero, else one per `interval`.
    pub fn emit(&mut self, now: Instant, interval: Duration, out: &mut Vec<Output>) {
        while now >= self.next_send {
            let Some((addr, interface)) = self.queue.pop_front() else {
                break;
            };
            out.push(Output::Announce { addr, interface });
            if !interval.is_zero() {
                self.next_send = now + interval;
            }
        }
    }

    /// The next time [`Announcer::promote`] or [`Announcer::emit`] has work.
    pub fn next_deadline(&self) -> Option<Instant> {
        let queued = if self.queue.is_empty() {
            None
        } else {
            Some(self.next_send)
        };
        self.delayed.iter().map(|d| d.0).chain(queued).min()
    }
}
