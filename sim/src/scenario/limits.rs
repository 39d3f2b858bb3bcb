//! How long a scenario may run, so that every run ends.
//!
//! Measured on the project's 2-core VM (shared, loaded) with
//! `cargo run --release -- run` on the seed scenario stretched to 10 and
//! 60 simulated minutes: at the default 1 ms resolution a simulated
//! minute takes 0.8 to 1.1 s of wall-clock (about 0.11 s at 10 ms), and
//! memory grows by about 0.13 MiB per simulated minute. The cap of 24 h
//! of simulated time is therefore a run of about 20 to 25 minutes and
//! some 200 MiB at 1 ms; the cap on ticks (24 h at 1 ms) keeps a finer
//! resolution from stretching that further.

use std::time::Duration;

use super::duration::render;

/// The longest simulated time a scenario may ask for: 24 h.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// The most simulator ticks (`duration / resolution`) a run may take:
/// 24 h at 1 ms.
pub const MAX_TICKS: u128 = 86_400_000;

/// What a simulated minute costs at 1 ms resolution, as measured (for
/// messages).
const MINUTE_COST: &str = "a simulated minute at 1ms takes about 1 s of wall-clock";

/// Checks a run of `duration` at `resolution` (when known): not zero,
/// at most [`MAX_DURATION`], at most [`MAX_TICKS`] ticks.
pub fn check(duration: Duration, resolution: Option<Duration>) -> Result<(), String> {
    if duration.is_zero() {
        return Err("must be more than 0s: a run of no time checks nothing".into());
    }
    if duration > MAX_DURATION {
        return Err(format!(
            "{} is more than the maximum of {} of simulated time ({MINUTE_COST}, so {} is about 25 min)",
            human(duration),
            human(MAX_DURATION),
            human(MAX_DURATION)
        ));
    }
    if let Some(r) = resolution.filter(|r| !r.is_zero()) {
        let ticks = duration.as_nanos() / r.as_nanos();
        if ticks > MAX_TICKS {
            return Err(format!(
                "{} at a resolution of {} is {ticks} ticks, more than the maximum of {MAX_TICKS} ({} at 1ms; {MINUTE_COST})",
                human(duration),
                render(r),
                human(MAX_DURATION)
            ));
        }
    }
    Ok(())
}

/// `d` in whole hours or minutes where it is one, else as [`render`].
fn human(d: Duration) -> String {
    let s = d.as_secs();
    if d.subsec_nanos() == 0 && s > 0 && s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if d.subsec_nanos() == 0 && s > 0 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        render(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn bounds() {
        assert!(check(Duration::from_secs(60), Some(MS)).is_ok());
        assert!(check(MAX_DURATION, Some(MS)).is_ok());
        assert!(check(MAX_DURATION, None).is_ok());
        assert!(
            check(Duration::ZERO, Some(MS))
                .unwrap_err()
                .contains("more than 0s")
        );
        let e = check(MAX_DURATION + MS, Some(MS)).unwrap_err();
        assert!(e.contains("maximum of 24h"), "{e}");
        let e = check(Duration::from_secs(3600), Some(Duration::from_micros(10))).unwrap_err();
        assert!(e.contains("360000000 ticks"), "{e}");
    }
}
