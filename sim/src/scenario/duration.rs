//! Durations as scenario files write them: `20s`, `1.5s`, `250ms`, `2m`.

use std::time::Duration;

/// Parses `text` as a duration with a unit (`ms`, `s`, `m`, `h`, `us`).
pub fn parse(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err(format!(
            "duration {text:?}: expected a number followed by a unit (e.g. 20s, 250ms)"
        ));
    }
    let value: f64 = num
        .parse()
        .map_err(|_| format!("duration {text:?}: {num:?} is not a number"))?;
    let scale = match unit.trim() {
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "" => return Err(format!("duration {text:?}: missing unit (us, ms, s, m, h)")),
        u => {
            return Err(format!(
                "duration {text:?}: unknown unit {u:?} (us, ms, s, m, h)"
            ));
        }
    };
    let secs = value * scale;
    if !secs.is_finite() || secs > 1e9 {
        return Err(format!("duration {text:?}: out of range"));
    }
    // Round to the nanosecond so that "0.1s" is exactly 100 ms.
    Ok(Duration::from_nanos((secs * 1e9).round() as u64))
}

/// Renders a duration the way [`parse`] reads it, shortest exact form.
pub fn render(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns.is_multiple_of(1_000_000_000) {
        format!("{}s", ns / 1_000_000_000)
    } else if ns.is_multiple_of(1_000_000) {
        format!("{}ms", ns / 1_000_000)
    } else {
        format!("{}us", ns / 1_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse("20s"), Ok(Duration::from_secs(20)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("0.1s"), Ok(Duration::from_millis(100)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("10us"), Ok(Duration::from_micros(10)));
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert!(parse("20").unwrap_err().contains("missing unit"));
        assert!(parse("s").unwrap_err().contains("expected a number"));
        assert!(parse("3 days").unwrap_err().contains("unknown unit"));
        assert!(parse("1.2.3s").unwrap_err().contains("not a number"));
    }

    #[test]
    fn render_round_trips() {
        for d in [
            Duration::from_secs(3),
            Duration::from_millis(1500),
            Duration::from_micros(10),
        ] {
            assert_eq!(parse(&render(d)), Ok(d));
        }
    }
}
