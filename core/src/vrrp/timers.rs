//! VRRP timer arithmetic in the units each version uses.
//!
//! VRRPv2 (RFC 3768 section 6.1) counts whole seconds:
//! `Skew_Time = (256 - Priority) / 256` seconds. VRRPv3 (RFC 5798 section
//! 6.1, RFC 9568) counts centiseconds and scales the skew by the master's
//! interval: `Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256`.
//! Both use `Master_Down_Interval = N * interval + Skew_Time`, N being 3 by
//! the RFCs and keepalived's `down_timer_adverts` otherwise.
//!
//! Results are exact to the nanosecond (keepalived truncates to the
//! microsecond; FRR rounds the v3 skew down to whole centiseconds).

use std::time::Duration;

use crate::packet::vrrp::Interval;

/// Nanoseconds in one second divided by 256: the v2 skew per priority step.
const NS_PER_SKEW_STEP_V2: u64 = 1_000_000_000 / 256;

/// `Skew_Time` for `priority` when the master advertises every `interval`.
pub fn skew(interval: Interval, priority: u8) -> Duration {
    let steps = 256 - u64::from(priority);
    match interval {
        Interval::Seconds(_) => Duration::from_nanos(steps * NS_PER_SKEW_STEP_V2),
        Interval::Centiseconds(cs) => {
            Duration::from_nanos(steps * u64::from(cs) * 10_000_000 / 256)
        }
    }
}

/// `Master_Down_Interval`: `adverts` intervals plus the skew.
pub fn master_down(interval: Interval, priority: u8, adverts: u32) -> Duration {
    interval.as_duration() * adverts + skew(interval, priority)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_backup_v2_priority_90() {
        // (256 - 90) / 256 s = 648.4375 ms; 3 s + skew = 3648.4375 ms.
        assert_eq!(
            skew(Interval::Seconds(1), 90),
            Duration::from_nanos(648_437_500)
        );
        assert_eq!(
            master_down(Interval::Seconds(1), 90, 3),
            Duration::from_nanos(3_648_437_500)
        );
    }

    #[test]
    fn v2_skew_does_not_scale_with_interval() {
        assert_eq!(
            skew(Interval::Seconds(5), 90),
            skew(Interval::Seconds(1), 90)
        );
        assert_eq!(
            master_down(Interval::Seconds(5), 90, 3),
            Duration::from_nanos(15_648_437_500)
        );
    }

    #[test]
    fn v3_skew_scales_with_interval() {
        // Priority 95, 100 cs: 161 * 1 s / 256 = 628.90625 ms.
        assert_eq!(
            skew(Interval::Centiseconds(100), 95),
            Duration::from_nanos(628_906_250)
        );
        assert_eq!(
            master_down(Interval::Centiseconds(100), 95, 3),
            Duration::from_nanos(3_628_906_250)
        );
        // 10 ms adverts, priority 100: 156 * 10 ms / 256 = 6.09375 ms.
        assert_eq!(
            skew(Interval::Centiseconds(1), 100),
            Duration::from_nanos(6_093_750)
        );
        assert_eq!(
            master_down(Interval::Centiseconds(1), 100, 3),
            Duration::from_nanos(36_093_750)
        );
    }

    #[test]
    fn owner_and_stop_priorities() {
        assert_eq!(
            skew(Interval::Seconds(1), 255),
            Duration::from_nanos(NS_PER_SKEW_STEP_V2)
        );
        assert_eq!(skew(Interval::Seconds(1), 0), Duration::from_secs(1));
    }
}
