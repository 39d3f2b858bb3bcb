//! A director's clock: simulated time, optionally drifting, mapped onto
//! core's [`Instant`].

use std::time::Duration;

use vigil_core::time::Instant;

/// Maps simulated time to the director's own (possibly drifting) time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Clock {
    base_real: Duration,
    base_own: Instant,
    factor: f64,
}

impl Clock {
    /// A clock that agrees with simulated time `real` and runs at `factor`.
    pub fn new(real: Duration, factor: f64) -> Clock {
        Clock {
            base_real: real,
            base_own: Instant::from_duration(real),
            factor,
        }
    }

    /// The director's time at simulated time `real`.
    pub fn own(&self, real: Duration) -> Instant {
        let dt = real.saturating_sub(self.base_real);
        self.base_own + dt.mul_f64(self.factor)
    }

    /// Simulated time to wait from `real` until the director's clock shows
    /// `deadline` (zero when it already does).
    pub fn wait(&self, real: Duration, deadline: Instant) -> Duration {
        let now = self.own(real);
        (deadline - now).div_f64(self.factor)
    }

    /// The rate: own seconds per simulated second.
    pub fn factor(&self) -> f64 {
        self.factor
    }

    /// Changes the rate from simulated time `real` on, without a jump.
    pub fn set_factor(&mut self, real: Duration, factor: f64) {
        self.base_own = self.own(real);
        self.base_real = real;
        self.factor = factor;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_clock_is_identity() {
        let c = Clock::new(Duration::ZERO, 1.0);
        assert_eq!(c.own(Duration::from_secs(3)), Instant::from_secs(3));
        assert_eq!(
            c.wait(Duration::from_secs(1), Instant::from_secs(3)),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn fast_clock_reaches_deadlines_early() {
        let mut c = Clock::new(Duration::ZERO, 1.0);
        c.set_factor(Duration::from_secs(10), 2.0);
        assert_eq!(c.own(Duration::from_secs(11)), Instant::from_secs(12));
        assert_eq!(
            c.wait(Duration::from_secs(11), Instant::from_secs(14)),
            Duration::from_secs(1)
        );
        assert_eq!(
            c.wait(Duration::from_secs(11), Instant::from_secs(1)),
            Duration::ZERO
        );
    }
}
