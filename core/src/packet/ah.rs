//! keepalived's IPsec-AH authentication of VRRPv2 (RFC 2338 type 2): an
//! IP Authentication Header (RFC 4302) between the IPv4 header and the
//! advert, its integrity check value HMAC-MD5-96 keyed with the 8-byte
//! `auth_pass`, computed as keepalived 2.2.7 computes it: over the IPv4
//! header with TOS, fragment field and checksum zeroed (and the TTL too
//! for unicast), the Authentication Header with its ICV zeroed, and the
//! VRRP message. The SPI is the sender's IPv4 address; the sequence
//! number counts adverts.

use std::net::Ipv4Addr;

use md5::{Digest, Md5};

use super::checksum;
use super::ip::{AuthHeader, IPV4_HEADER_LEN};
use super::vrrp::{PROTOCOL, TOS, TTL};

/// IP protocol number of the Authentication Header.
pub const PROTOCOL_AH: u8 = 51;
/// Length of the Authentication Header keepalived sends (12-byte ICV).
pub const AH_LEN: usize = 24;
/// Length of the truncated HMAC-MD5 ICV.
pub const ICV_LEN: usize = 12;

/// What an AH-authenticated advert is sent with, besides the addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Seal {
    /// The key: `auth_pass`, first 8 bytes, zero padded.
    pub key: [u8; 8],
    /// The AH sequence number.
    pub seq: u32,
    /// The IPv4 identification (never 0, which the kernel would replace).
    pub id: u16,
    /// Sent to a unicast peer (the TTL is then left out of the ICV).
    pub unicast: bool,
}

/// HMAC-MD5 (RFC 2104) of the concatenation of `parts` under `key`,
/// truncated to 96 bits.
pub fn hmac_md5_96(key: &[u8], parts: &[&[u8]]) -> [u8; ICV_LEN] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..16].copy_from_slice(&Md5::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Md5::new();
    inner.update(k.map(|b| b ^ 0x36));
    for p in parts {
        inner.update(p);
    }
    let mut outer = Md5::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    let full = outer.finalize();
    let mut icv = [0u8; ICV_LEN];
    icv.copy_from_slice(&full[..ICV_LEN]);
    icv
}

/// The whole IPv4 datagram of an AH-authenticated `message` (a VRRPv2
/// advert) from `src` to `dst`, as keepalived 2.2.7 puts it on the wire.
pub fn datagram(src: Ipv4Addr, dst: Ipv4Addr, message: &[u8], seal: &Seal) -> Vec<u8> {
    let total = (IPV4_HEADER_LEN + AH_LEN + message.len()) as u16;
    let mut d = vec![0u8; IPV4_HEADER_LEN + AH_LEN];
    d[0] = 0x45;
    d[1] = TOS;
    d[2..4].copy_from_slice(&total.to_be_bytes());
    d[4..6].copy_from_slice(&seal.id.to_be_bytes());
    d[8] = TTL;
    d[9] = PROTOCOL_AH;
    d[12..16].copy_from_slice(&src.octets());
    d[16..20].copy_from_slice(&dst.octets());
    let ah = IPV4_HEADER_LEN;
    d[ah] = PROTOCOL;
    d[ah + 1] = (AH_LEN / 4 - 2) as u8;
    d[ah + 4..ah + 8].copy_from_slice(&src.octets());
    d[ah + 8..ah + 12].copy_from_slice(&seal.seq.to_be_bytes());
    d.extend_from_slice(message);
    let icv = icv(&d, IPV4_HEADER_LEN, &seal.key, seal.unicast);
    d[ah + 12..ah + AH_LEN].copy_from_slice(&icv);
    let c = checksum::compute(0, &d[..IPV4_HEADER_LEN]);
    d[10..12].copy_from_slice(&c.to_be_bytes());
    d
}

/// Why a received AH-authenticated advert is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The ICV does not match (wrong key, or fields changed on the way).
    Icv,
    /// The SPI is not the sender's address.
    Spi,
    /// Not an IPv4 datagram carrying an Authentication Header keepalived
    /// could have sent.
    Malformed,
}

/// Checks the ICV and SPI of a received AH-authenticated datagram under
/// `key` (`unicast`: the instance uses unicast peers, so the TTL is left
/// out of the ICV, as keepalived does).
pub fn verify(auth: &AuthHeader<'_>, key: &[u8; 8], unicast: bool) -> Result<(), Refusal> {
    let d = auth.datagram;
    if d.len() < IPV4_HEADER_LEN || d[0] >> 4 != 4 {
        return Err(Refusal::Malformed);
    }
    let ihl = usize::from(d[0] & 0x0f) * 4;
    if ihl < IPV4_HEADER_LEN || d.len() < ihl + AH_LEN || auth.icv.len() != ICV_LEN {
        return Err(Refusal::Malformed);
    }
    if icv(d, ihl, key, unicast)[..] != auth.icv[..] {
        return Err(Refusal::Icv);
    }
    if auth.spi.to_be_bytes() != d[12..16] {
        return Err(Refusal::Spi);
    }
    Ok(())
}

/// The ICV of datagram `d` whose Authentication Header starts at `ah`.
fn icv(d: &[u8], ah: usize, key: &[u8; 8], unicast: bool) -> [u8; ICV_LEN] {
    let mut head = d[..ah + AH_LEN].to_vec();
    head[1] = 0; // TOS
    head[6] = 0; // flags and fragment offset
    head[7] = 0;
    head[10] = 0; // header checksum
    head[11] = 0;
    if unicast {
        head[8] = 0;
    }
    head[ah + 12..ah + AH_LEN].fill(0);
    hmac_md5_96(key, &[&head, &d[ah + AH_LEN..]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::ip;

    #[test]
    fn hmac_md5_rfc2202_vectors() {
        // RFC 2202 test cases 1 and 2, truncated to 96 bits.
        let t1 = hmac_md5_96(&[0x0b; 16], &[b"Hi There"]);
        assert_eq!(t1, hex("9294727a3638bb1c13f48ef8"));
        let t2 = hmac_md5_96(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(t2, hex("750c783e6ab0b503eaa86e31"));
    }

    fn hex(s: &str) -> [u8; ICV_LEN] {
        let mut out = [0u8; ICV_LEN];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    fn seal(unicast: bool) -> Seal {
        Seal {
            key: *b"secret\0\0",
            seq: 7,
            id: 3,
            unicast,
        }
    }

    #[test]
    fn sealed_datagram_parses_and_verifies() {
        let (src, dst) = ("192.0.2.1".parse().unwrap(), "224.0.0.18".parse().unwrap());
        let d = datagram(src, dst, &[0x21; 20], &seal(false));
        assert_eq!(d.len(), 20 + 24 + 20);
        assert_eq!(checksum::compute(0, &d[..20]), 0);
        let p = ip::parse(&d).unwrap();
        assert_eq!(p.payload, &[0x21; 20]);
        let a = p.auth.unwrap();
        assert_eq!((a.seq, a.spi), (7, u32::from(src)));
        assert_eq!(verify(&a, b"secret\0\0", false), Ok(()));
        assert_eq!(verify(&a, b"secreT\0\0", false), Err(Refusal::Icv));
    }

    #[test]
    fn mutable_fields_are_outside_the_icv_and_the_rest_inside() {
        let (src, dst) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let d = datagram(src, dst, &[0x21; 20], &seal(true));
        let mut m = d.clone();
        m[1] = 0; // TOS
        m[8] = 64; // TTL: out of the ICV for unicast only
        let c = checksum::compute(0, &{
            let mut h = m[..20].to_vec();
            h[10] = 0;
            h[11] = 0;
            h
        });
        m[10..12].copy_from_slice(&c.to_be_bytes());
        let p = ip::parse(&m).unwrap();
        assert_eq!(verify(&p.auth.unwrap(), b"secret\0\0", true), Ok(()));
        assert_eq!(
            verify(&p.auth.unwrap(), b"secret\0\0", false),
            Err(Refusal::Icv)
        );
        let mut t = d.clone();
        *t.last_mut().unwrap() ^= 1;
        let p = ip::parse(&t).unwrap();
        assert_eq!(
            verify(&p.auth.unwrap(), b"secret\0\0", true),
            Err(Refusal::Icv)
        );
    }
}
