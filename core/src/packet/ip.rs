//! The IP datagram a VRRP advert travels in.
//!
//! On send: protocol 112, TTL / hop limit 255, TOS / traffic class 0xc0,
//! IPv4 identification 0 and no fragmentation flags (as keepalived builds
//! it), destination the group or a unicast peer. On receive: the facts
//! validation needs ([`Meta`]) and the VRRP message.

use std::net::IpAddr;

use etherparse::{IpAuthHeaderSlice, IpNumber, IpSlice, Ipv6ExtensionSlice};

use super::vrrp::{PROTOCOL, TOS, TTL};
use super::{Error, checksum};

/// Length of the IPv4 header Vigil sends (no options).
pub const IPV4_HEADER_LEN: usize = 20;
/// Length of the IPv6 header.
pub const IPV6_HEADER_LEN: usize = 40;

/// The IP-level facts of a received VRRP datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Meta {
    /// Source address (the sending router's primary address).
    pub src: IpAddr,
    /// Destination address (the group, or this router in unicast).
    pub dst: IpAddr,
    /// TTL or hop limit as received; `None` when the driver cannot see
    /// it (then the TTL check is skipped, as keepalived does).
    pub hop_limit: Option<u8>,
}

/// A received datagram split into its facts and its VRRP message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Datagram<'a> {
    /// The IP-level facts.
    pub meta: Meta,
    /// The VRRP message (and any trailing bytes the IP length covers,
    /// which validation rejects).
    pub payload: &'a [u8],
    /// The IP Authentication Header between the IP header and the VRRP
    /// message (RFC 2338 AH authentication), if there is one.
    pub auth: Option<AuthHeader<'a>>,
}

/// An IP Authentication Header (protocol 51, RFC 4302) in front of VRRP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthHeader<'a> {
    /// Security parameters index.
    pub spi: u32,
    /// Sequence number.
    pub seq: u32,
    /// Integrity check value (12 bytes for HMAC-MD5-96).
    pub icv: &'a [u8],
    /// The whole datagram as received, IP header included: what the ICV
    /// is computed over.
    pub datagram: &'a [u8],
}

impl<'a> AuthHeader<'a> {
    /// The header `found` (a view into `datagram`) with `datagram`'s
    /// lifetime.
    fn of(found: &IpAuthHeaderSlice<'_>, datagram: &'a [u8]) -> Option<AuthHeader<'a>> {
        let at = (found.slice().as_ptr() as usize).checked_sub(datagram.as_ptr() as usize)?;
        let a = IpAuthHeaderSlice::from_slice(datagram.get(at..)?).ok()?;
        Some(AuthHeader {
            spi: a.spi(),
            seq: a.sequence_number(),
            icv: a.raw_icv(),
            datagram,
        })
    }
}

/// Decodes an IPv4 or IPv6 datagram carrying VRRP, directly or behind an
/// Authentication Header, skipping IPv6 extension headers. Bytes after the
/// IP length (Ethernet padding) are ignored; a fragment or another
/// protocol is an error.
pub fn parse(bytes: &[u8]) -> Result<Datagram<'_>, Error> {
    let ip = IpSlice::from_slice(bytes).map_err(|e| Error::Ip(e.to_string()))?;
    let (meta, auth) = match &ip {
        IpSlice::Ipv4(v4) => {
            let h = v4.header();
            let meta = Meta {
                src: IpAddr::V4(h.source_addr()),
                dst: IpAddr::V4(h.destination_addr()),
                hop_limit: Some(h.ttl()),
            };
            let whole = &bytes[..usize::from(h.total_len()).min(bytes.len())];
            (
                meta,
                v4.extensions().auth.and_then(|a| AuthHeader::of(&a, whole)),
            )
        }
        IpSlice::Ipv6(v6) => {
            let h = v6.header();
            let meta = Meta {
                src: IpAddr::V6(h.source_addr()),
                dst: IpAddr::V6(h.destination_addr()),
                hop_limit: Some(h.hop_limit()),
            };
            let whole =
                &bytes[..(IPV6_HEADER_LEN + usize::from(h.payload_length())).min(bytes.len())];
            let auth = v6.extensions().clone().into_iter().find_map(|e| match e {
                Ipv6ExtensionSlice::Authentication(a) => AuthHeader::of(&a, whole),
                _ => None,
            });
            (meta, auth)
        }
    };
    let payload = ip.payload();
    if payload.fragmented {
        return Err(Error::Fragmented);
    }
    if payload.ip_number != IpNumber(PROTOCOL) {
        return Err(Error::NotVrrp(payload.ip_number.0));
    }
    Ok(Datagram {
        meta,
        payload: payload.payload,
        auth,
    })
}

/// Builds the IP header for a VRRP message of `payload_len` bytes from
/// `src` to `dst` (same family), exactly as Vigil puts it on the wire.
pub fn header(src: IpAddr, dst: IpAddr, payload_len: usize) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = (IPV4_HEADER_LEN + payload_len) as u16;
            let mut h = vec![0u8; IPV4_HEADER_LEN];
            h[0] = 0x45;
            h[1] = TOS;
            h[2..4].copy_from_slice(&total.to_be_bytes());
            // identification 0, flags 0, fragment offset 0
            h[8] = TTL;
            h[9] = PROTOCOL;
            h[12..16].copy_from_slice(&s.octets());
            h[16..20].copy_from_slice(&d.octets());
            let c = checksum::compute(0, &h);
            h[10..12].copy_from_slice(&c.to_be_bytes());
            h
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let mut h = vec![0u8; IPV6_HEADER_LEN];
            // version 6, traffic class 0xc0, flow label 0
            h[0] = 0x60 | (TOS >> 4);
            h[1] = (TOS & 0x0f) << 4;
            h[4..6].copy_from_slice(&(payload_len as u16).to_be_bytes());
            h[6] = PROTOCOL;
            h[7] = TTL;
            h[8..24].copy_from_slice(&s.octets());
            h[24..40].copy_from_slice(&d.octets());
            h
        }
        // Mixed families cannot be sent; an empty header makes the
        // mistake visible to the caller's length checks.
        _ => Vec::new(),
    }
}

/// The whole datagram: [`header`] followed by `payload`.
pub fn datagram(src: IpAddr, dst: IpAddr, payload: &[u8]) -> Vec<u8> {
    let mut d = header(src, dst, payload.len());
    d.extend_from_slice(payload);
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_fields() {
        let src: IpAddr = "192.0.2.1".parse().unwrap();
        let dst: IpAddr = "224.0.0.18".parse().unwrap();
        let d = datagram(src, dst, &[0x21; 20]);
        assert_eq!(
            &d[..12],
            &[0x45, 0xc0, 0, 40, 0, 0, 0, 0, 255, 112, d[10], d[11]]
        );
        assert_eq!(checksum::compute(0, &d[..20]), 0);
        let p = parse(&d).unwrap();
        assert_eq!(
            p.meta,
            Meta {
                src,
                dst,
                hop_limit: Some(255)
            }
        );
        assert_eq!(p.payload, &[0x21; 20]);
    }

    #[test]
    fn ipv6_header_fields() {
        let src: IpAddr = "fe80::1".parse().unwrap();
        let dst: IpAddr = "ff02::12".parse().unwrap();
        let d = datagram(src, dst, &[0x31; 24]);
        assert_eq!(&d[..8], &[0x6c, 0x00, 0, 0, 0, 24, 112, 255]);
        let p = parse(&d).unwrap();
        assert_eq!(p.meta.hop_limit, Some(255));
        assert_eq!(p.payload.len(), 24);
    }

    #[test]
    fn padding_after_ip_length_is_ignored() {
        let src: IpAddr = "192.0.2.1".parse().unwrap();
        let dst: IpAddr = "224.0.0.18".parse().unwrap();
        let mut d = datagram(src, dst, &[0x21; 20]);
        d.extend_from_slice(&[0; 6]);
        assert_eq!(parse(&d).unwrap().payload.len(), 20);
    }

    #[test]
    fn ipv4_ah_is_recognised() {
        // IPv4 (protocol 51) + AH (next header 112, payload len 4 => 24 bytes) + 8 bytes.
        let mut d = header(
            "192.0.2.1".parse().unwrap(),
            "224.0.0.18".parse().unwrap(),
            24 + 8,
        );
        d[9] = 51;
        d[10] = 0;
        d[11] = 0;
        let c = checksum::compute(0, &d[..20]);
        d[10..12].copy_from_slice(&c.to_be_bytes());
        let mut ah = vec![112u8, 4, 0, 0];
        ah.extend_from_slice(&[0; 20]);
        d.extend_from_slice(&ah);
        d.extend_from_slice(&[0x21; 8]);
        let p = parse(&d).unwrap();
        assert_eq!(p.payload, &[0x21; 8]);
        let auth = p.auth.unwrap();
        assert_eq!((auth.spi, auth.seq, auth.icv.len()), (0, 0, 12));
        assert_eq!(auth.datagram, &d[..]);
        // AH in front of another protocol is not VRRP.
        d[20] = 17;
        assert_eq!(parse(&d), Err(Error::NotVrrp(17)));
    }

    #[test]
    fn other_protocols_and_garbage_are_errors() {
        let mut d = datagram(
            "192.0.2.1".parse().unwrap(),
            "192.0.2.2".parse().unwrap(),
            &[0; 8],
        );
        d[9] = 17;
        let c = {
            d[10] = 0;
            d[11] = 0;
            checksum::compute(0, &d[..20])
        };
        d[10..12].copy_from_slice(&c.to_be_bytes());
        assert_eq!(parse(&d), Err(Error::NotVrrp(17)));
        assert!(matches!(parse(&[0x45, 0]), Err(Error::Ip(_))));
        assert!(matches!(parse(&[]), Err(Error::Ip(_))));
    }
}
