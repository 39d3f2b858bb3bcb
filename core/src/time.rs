//! Time as an input: the [`Instant`] every state machine is handed.
//!
//! Core never reads a clock. Drivers map their own clock (turmoil's
//! simulated time, `CLOCK_MONOTONIC`, capture timestamps) onto an
//! [`Instant`], a count of nanoseconds since an origin the driver chooses.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};
use std::time::Duration;

/// A point in time, in nanoseconds since a driver-chosen origin.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// The origin.
    pub const ZERO: Instant = Instant(0);

    /// The instant `d` after the origin.
    pub const fn from_duration(d: Duration) -> Instant {
        Instant(d.as_nanos() as u64)
    }

    /// The instant `ns` nanoseconds after the origin.
    pub const fn from_nanos(ns: u64) -> Instant {
        Instant(ns)
    }

    /// The instant `ms` milliseconds after the origin.
    pub const fn from_millis(ms: u64) -> Instant {
        Instant(ms * 1_000_000)
    }

    /// The instant `s` seconds after the origin.
    pub const fn from_secs(s: u64) -> Instant {
        Instant(s * 1_000_000_000)
    }

    /// Time since the origin.
    pub const fn since_origin(self) -> Duration {
        Duration::from_nanos(self.0)
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Time from `earlier` to `self`, zero when `earlier` is later.
    pub fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, rhs: Duration) -> Instant {
        Instant(
            self.0
                .saturating_add(rhs.as_nanos().min(u64::MAX as u128) as u64),
        )
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    /// Saturates at the origin.
    fn sub(self, rhs: Duration) -> Instant {
        Instant(
            self.0
                .saturating_sub(rhs.as_nanos().min(u64::MAX as u128) as u64),
        )
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_since(rhs)
    }
}

impl fmt::Display for Instant {
    /// `+SSSS.mmmmmms`: seconds and microseconds since the origin, the
    /// trace's time column.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0 / 1_000;
        write!(f, "+{:04}.{:06}s", us / 1_000_000, us % 1_000_000)
    }
}

/// Renders a duration as milliseconds with up to three decimals, trimmed:
/// `3648.437ms`, `1000ms`. The one spelling of durations in traces.
pub fn fmt_ms(d: Duration) -> String {
    let us = d.as_micros();
    let (ms, frac) = (us / 1000, us % 1000);
    if frac == 0 {
        format!("{ms}ms")
    } else {
        let s = format!("{ms}.{frac:03}");
        format!("{}ms", s.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_trace_column() {
        assert_eq!(Instant::from_millis(3648).to_string(), "+0003.648000s");
        assert_eq!(Instant::from_nanos(1_234_567).to_string(), "+0000.001234s");
    }

    #[test]
    fn arithmetic_saturates() {
        let a = Instant::from_secs(1);
        assert_eq!(Instant::ZERO - a, Duration::ZERO);
        assert_eq!(a - Instant::ZERO, Duration::from_secs(1));
        assert_eq!(
            Instant::from_nanos(u64::MAX) + Duration::from_secs(1),
            Instant::from_nanos(u64::MAX)
        );
    }

    #[test]
    fn ms_formatting() {
        assert_eq!(fmt_ms(Duration::from_micros(3_648_437)), "3648.437ms");
        assert_eq!(fmt_ms(Duration::from_millis(1000)), "1000ms");
        assert_eq!(fmt_ms(Duration::from_micros(648_400)), "648.4ms");
    }
}
