//! UDP_CHECK (keepalived check_udp.c): without `require_reply`, silence
//! passes and only an ICMP error fails; with it, a reply must come back,
//! within the length bounds, and match the expected prefix.

use super::{Failure, Verdict};
use crate::check::probe::{NetError, ProbeResult};
use crate::config::UdpCheck;

/// What a UDP check accepts (from [`UdpCheck`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UdpRule {
    /// A reply is required.
    pub require_reply: bool,
    /// Expected reply prefix and its compare mask (1 bits compared).
    pub pattern: Option<(Vec<u8>, Vec<u8>)>,
    /// Minimum reply length.
    pub min_len: usize,
    /// Maximum reply length (0: no limit).
    pub max_len: usize,
}

impl UdpRule {
    /// The rule of a configured check.
    pub fn new(c: &UdpCheck) -> UdpRule {
        UdpRule {
            require_reply: c.require_reply.is_some(),
            pattern: c
                .require_reply
                .as_ref()
                .filter(|p| !p.data.is_empty())
                .map(|p| (p.data.clone(), p.mask.clone())),
            min_len: usize::from(c.min_reply_length),
            max_len: usize::from(c.max_reply_length),
        }
    }
}

/// Judges what came back.
pub fn judge(rule: &UdpRule, result: &ProbeResult) -> Verdict {
    match result {
        ProbeResult::Silence | ProbeResult::Net(NetError::TimedOut) if !rule.require_reply => {
            Verdict::PASS
        }
        ProbeResult::Silence => Verdict::Fail(Failure::Net(NetError::TimedOut)),
        ProbeResult::Net(e) => Verdict::Fail(Failure::Net(*e)),
        ProbeResult::Datagram(d) => {
            if !rule.require_reply {
                return Verdict::PASS;
            }
            if d.len() < rule.min_len || (rule.max_len != 0 && d.len() > rule.max_len) {
                return Verdict::Fail(Failure::ReplyMismatch);
            }
            if let Some((data, mask)) = &rule.pattern {
                // Only the shorter of the reply and the pattern is compared.
                let mismatch = d.iter().zip(data).enumerate().any(|(i, (got, want))| {
                    (got ^ want) & mask.get(i).copied().unwrap_or(0xff) != 0
                });
                if mismatch {
                    return Verdict::Fail(Failure::ReplyMismatch);
                }
            }
            Verdict::PASS
        }
        _ => Verdict::Fail(Failure::Unexpected),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ReplyPattern;

    #[test]
    fn without_require_reply_silence_passes_errors_fail() {
        let r = UdpRule::new(&UdpCheck::default());
        assert_eq!(judge(&r, &ProbeResult::Silence), Verdict::PASS);
        assert_eq!(
            judge(&r, &ProbeResult::Net(NetError::TimedOut)),
            Verdict::PASS
        );
        assert_eq!(judge(&r, &ProbeResult::Datagram(vec![1])), Verdict::PASS);
        assert_eq!(
            judge(&r, &ProbeResult::Net(NetError::Refused)),
            Verdict::Fail(Failure::Net(NetError::Refused))
        );
    }

    #[test]
    fn required_reply_is_matched_with_mask_and_length() {
        let c = UdpCheck {
            require_reply: Some(ReplyPattern {
                data: vec![0xab, 0x00],
                mask: vec![0xff, 0xf0],
            }),
            min_reply_length: 2,
            max_reply_length: 4,
            ..UdpCheck::default()
        };
        let r = UdpRule::new(&c);
        assert_eq!(
            judge(&r, &ProbeResult::Silence),
            Verdict::Fail(Failure::Net(NetError::TimedOut))
        );
        assert_eq!(
            judge(&r, &ProbeResult::Datagram(vec![0xab, 0x0f, 9])),
            Verdict::PASS
        );
        assert_eq!(
            judge(&r, &ProbeResult::Datagram(vec![0xab, 0x1f])),
            Verdict::Fail(Failure::ReplyMismatch)
        );
        assert_eq!(
            judge(&r, &ProbeResult::Datagram(vec![0xab])),
            Verdict::Fail(Failure::ReplyMismatch)
        );
        assert_eq!(
            judge(&r, &ProbeResult::Datagram(vec![0xab, 0, 0, 0, 0])),
            Verdict::Fail(Failure::ReplyMismatch)
        );
    }
}
