//! The internet checksum (RFC 1071) and the pseudo-headers VRRPv3 adds.
//!
//! VRRPv2 checksums the VRRP message alone (authentication data
//! included). VRRPv3 prepends the IPv4 or IPv6 pseudo-header, whose
//! destination is the packet's real destination: the multicast group, or
//! in unicast the peer's address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Adds `data` to a running one's-complement sum (odd tail padded with 0).
pub fn sum(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc = acc.wrapping_add(u32::from(u16::from_be_bytes([c[0], c[1]])));
    }
    if let [last] = chunks.remainder() {
        acc = acc.wrapping_add(u32::from(*last) << 8);
    }
    acc
}

/// Folds a running sum and complements it: the checksum field value.
pub fn finish(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// The running sum of the IPv4 pseudo-header for `protocol` and `len`.
pub fn pseudo_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, len: u16) -> u32 {
    let mut acc = sum(0, &src.octets());
    acc = sum(acc, &dst.octets());
    acc = acc.wrapping_add(u32::from(protocol));
    acc.wrapping_add(u32::from(len))
}

/// The running sum of the IPv6 pseudo-header for `next_header` and `len`.
pub fn pseudo_v6(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, len: u32) -> u32 {
    let mut acc = sum(0, &src.octets());
    acc = sum(acc, &dst.octets());
    acc = acc.wrapping_add(len >> 16).wrapping_add(len & 0xffff);
    acc.wrapping_add(u32::from(next_header))
}

/// The pseudo-header sum for any family; `None` when the families differ.
pub fn pseudo(src: IpAddr, dst: IpAddr, protocol: u8, len: usize) -> Option<u32> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => Some(pseudo_v4(s, d, protocol, len as u16)),
        (IpAddr::V6(s), IpAddr::V6(d)) => Some(pseudo_v6(s, d, protocol, len as u32)),
        _ => None,
    }
}

/// The checksum of `data` after the running sum `acc` (e.g. a pseudo-header).
pub fn compute(acc: u32, data: &[u8]) -> u16 {
    finish(sum(acc, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3 example: 0001 f203 f4f5 f6f7 sums to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(finish(sum(0, &data)), !0xddf2);
    }

    #[test]
    fn checksum_of_checksummed_data_is_zero() {
        let mut data = vec![
            0x21, 0x33, 0x64, 0x01, 0x01, 0x01, 0x00, 0x00, 172, 17, 1, 160,
        ];
        let c = compute(0, &data);
        data[6..8].copy_from_slice(&c.to_be_bytes());
        assert_eq!(compute(0, &data), 0);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(sum(0, &[0x12]), 0x1200);
    }
}
