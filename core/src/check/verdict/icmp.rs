//! PING_CHECK: an ICMP echo reply came back.

use super::{Failure, Verdict};
use crate::check::probe::ProbeResult;

/// Pass on an echo reply; no reply within the timeout, or an ICMP error,
/// fails.
pub fn judge(result: &ProbeResult) -> Verdict {
    match result {
        ProbeResult::EchoReply => Verdict::PASS,
        ProbeResult::Net(e) => Verdict::Fail(Failure::Net(*e)),
        _ => Verdict::Fail(Failure::Unexpected),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::probe::NetError;

    #[test]
    fn echo_reply_passes() {
        assert_eq!(judge(&ProbeResult::EchoReply), Verdict::PASS);
        assert_eq!(
            judge(&ProbeResult::Net(NetError::Unreachable)),
            Verdict::Fail(Failure::Net(NetError::Unreachable))
        );
        assert_eq!(
            judge(&ProbeResult::Connected),
            Verdict::Fail(Failure::Unexpected)
        );
    }
}
