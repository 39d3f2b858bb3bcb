//! TCP_CHECK: the connection was established.

use super::{Failure, Verdict};
use crate::check::probe::ProbeResult;

/// Pass when the connect succeeded; a refusal, timeout or any error fails.
pub fn judge(result: &ProbeResult) -> Verdict {
    match result {
        ProbeResult::Connected => Verdict::PASS,
        ProbeResult::Net(e) => Verdict::Fail(Failure::Net(*e)),
        _ => Verdict::Fail(Failure::Unexpected),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::probe::NetError;

    #[test]
    fn connected_passes_everything_else_fails() {
        assert_eq!(judge(&ProbeResult::Connected), Verdict::PASS);
        assert_eq!(
            judge(&ProbeResult::Net(NetError::Refused)),
            Verdict::Fail(Failure::Net(NetError::Refused))
        );
        assert_eq!(
            judge(&ProbeResult::Net(NetError::TimedOut)),
            Verdict::Fail(Failure::Net(NetError::TimedOut))
        );
        assert_eq!(
            judge(&ProbeResult::EchoReply),
            Verdict::Fail(Failure::Unexpected)
        );
    }
}
