//! SMTP_CHECK: a 220 greeting, then 250 to `HELO` (keepalived
//! check_smtp.c).

use super::{Failure, Verdict};

/// Judges the greeting and `HELO` reply codes.
pub fn judge(greeting: u16, helo: u16) -> Verdict {
    if greeting != 220 {
        Verdict::Fail(Failure::Greeting(greeting))
    } else if helo != 250 {
        Verdict::Fail(Failure::Helo(helo))
    } else {
        Verdict::PASS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_220_then_250() {
        assert_eq!(judge(220, 250), Verdict::PASS);
        assert_eq!(judge(421, 0), Verdict::Fail(Failure::Greeting(421)));
        assert_eq!(judge(220, 501), Verdict::Fail(Failure::Helo(501)));
    }
}
