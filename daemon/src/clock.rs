//! The monotonic clock mapped onto core's [`Instant`]: nanoseconds since
//! the daemon started.

use std::time::Duration;

use vigil_core::time::Instant;

/// The daemon's clock origin, shared by its threads.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    origin: std::time::Instant,
}

impl Clock {
    /// A clock whose origin is now.
    pub fn start() -> Clock {
        Clock {
            origin: std::time::Instant::now(),
        }
    }

    /// Now, as core sees time.
    pub fn now(&self) -> Instant {
        Instant::from_nanos(self.origin.elapsed().as_nanos() as u64)
    }

    /// The tokio instant of core instant `at`.
    pub fn to_tokio(&self, at: Instant) -> tokio::time::Instant {
        tokio::time::Instant::from_std(self.origin + at.since_origin())
    }

    /// How far `now` is past `at` (zero when it is not).
    pub fn late(&self, at: Instant) -> Duration {
        self.now().saturating_since(at)
    }
}
