//! DNS_CHECK: a response with RCODE 0 (keepalived check_dns.c), and the
//! query keepalived sends.
//!
//! keepalived ignores datagrams that are too short, carry another id or
//! are not responses, and keeps waiting for the right one until the
//! timeout; a driver doing the same passes only the matching reply here.
//! Given such a datagram anyway, [`judge`] fails it as a bad reply.

use super::{Failure, Verdict};
use crate::config::DnsType;

/// Length of the DNS header.
const HEADER_LEN: usize = 12;

/// Judges a reply datagram; with `id`, it must carry that query id.
pub fn judge(reply: &[u8], id: Option<u16>) -> Verdict {
    if reply.len() < HEADER_LEN {
        return Verdict::Fail(Failure::BadReply);
    }
    let rid = u16::from_be_bytes([reply[0], reply[1]]);
    let flags = u16::from_be_bytes([reply[2], reply[3]]);
    if id.is_some_and(|id| id != rid) || flags >> 15 == 0 {
        return Verdict::Fail(Failure::BadReply);
    }
    match (flags & 0x000f) as u8 {
        0 => Verdict::PASS,
        rcode => Verdict::Fail(Failure::Rcode(rcode)),
    }
}

/// The query keepalived sends: header with `id` and RD set, one question
/// for `name` (labels split on dots, as keepalived splits them) of type
/// `qtype`, class IN.
pub fn query(id: u16, qtype: DnsType, name: &str) -> Vec<u8> {
    let mut q = Vec::with_capacity(HEADER_LEN + name.len() + 6);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    q.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // QD=1, AN=NS=AR=0
    let bytes = name.as_bytes();
    let mut s = 0;
    while s < bytes.len() {
        let e = bytes[s..]
            .iter()
            .position(|&b| b == b'.')
            .map_or(bytes.len(), |p| s + p);
        let label = &bytes[s..e];
        // keepalived writes the length as one byte; longer labels are
        // invalid DNS anyway and are cut here rather than wrapped.
        let label = &label[..label.len().min(63)];
        q.push(label.len() as u8);
        q.extend_from_slice(label);
        s = if e < bytes.len() { e + 1 } else { e };
    }
    if name != "." {
        q.push(0);
    }
    q.extend_from_slice(&qtype.code().to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(id: u16, flags: u16) -> Vec<u8> {
        let mut r = vec![0; 12];
        r[..2].copy_from_slice(&id.to_be_bytes());
        r[2..4].copy_from_slice(&flags.to_be_bytes());
        r
    }

    #[test]
    fn response_with_rcode_zero_passes() {
        assert_eq!(judge(&reply(7, 0x8180), Some(7)), Verdict::PASS);
        assert_eq!(judge(&reply(7, 0x8180), None), Verdict::PASS);
    }

    #[test]
    fn errors_and_malformed_replies_fail() {
        assert_eq!(
            judge(&reply(7, 0x8183), Some(7)),
            Verdict::Fail(Failure::Rcode(3))
        );
        assert_eq!(
            judge(&reply(7, 0x0100), Some(7)),
            Verdict::Fail(Failure::BadReply)
        );
        assert_eq!(
            judge(&reply(8, 0x8180), Some(7)),
            Verdict::Fail(Failure::BadReply)
        );
        assert_eq!(judge(&[0x80; 11], None), Verdict::Fail(Failure::BadReply));
    }

    #[test]
    fn query_matches_keepalived_encoding() {
        let q = query(0x1234, DnsType::A, "www.example.com");
        let mut want = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        want.extend_from_slice(b"\x03www\x07example\x03com\x00\x00\x01\x00\x01");
        assert_eq!(q, want);
        // The default name (the root) and "." both give a single 0 label.
        assert_eq!(&query(1, DnsType::Soa, "")[12..], b"\x00\x00\x06\x00\x01");
        assert_eq!(&query(1, DnsType::Soa, ".")[12..], b"\x00\x00\x06\x00\x01");
        // A trailing dot is the same name.
        assert_eq!(query(1, DnsType::A, "a.b."), query(1, DnsType::A, "a.b"));
    }
}
