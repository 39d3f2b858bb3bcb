//! Decoding errors of the packet layer.

use std::fmt;

/// Why bytes could not be decoded. Each variant names the layer and field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The buffer ends before the field that needs `needed` bytes.
    Truncated {
        /// Which layer or field ran short.
        what: &'static str,
        /// Bytes the layer needs.
        needed: usize,
        /// Bytes the buffer holds.
        got: usize,
    },
    /// VRRP version field is neither 2 nor 3.
    UnknownVersion(u8),
    /// VRRP version 2 carried over IPv6, which RFC 3768 does not define.
    V2OverIpv6,
    /// The IP header is malformed (the etherparse diagnosis).
    Ip(String),
    /// The IP datagram is a fragment; VRRP adverts are never fragmented.
    Fragmented,
    /// The IP datagram carries another protocol than VRRP (112).
    NotVrrp(u8),
    /// The link-layer frame is malformed (the etherparse diagnosis).
    Frame(String),
    /// An ARP packet that is not Ethernet/IPv4.
    ArpNotEthernetIpv4,
    /// An ICMPv6 message that is not a well-formed neighbour advertisement.
    NotNeighborAdvert,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated { what, needed, got } => {
                write!(f, "{what} truncated: needs {needed} bytes, has {got}")
            }
            Error::UnknownVersion(v) => write!(f, "vrrp version {v} is neither 2 nor 3"),
            Error::V2OverIpv6 => f.write_str("vrrp version 2 over ipv6 is not defined"),
            Error::Ip(e) => write!(f, "ip header: {e}"),
            Error::Fragmented => f.write_str("ip fragment: vrrp adverts are never fragmented"),
            Error::NotVrrp(p) => write!(f, "ip protocol {p} is not vrrp (112)"),
            Error::Frame(e) => write!(f, "frame: {e}"),
            Error::ArpNotEthernetIpv4 => f.write_str("arp: not ethernet/ipv4"),
            Error::NotNeighborAdvert => f.write_str("icmpv6: not a neighbour advertisement"),
        }
    }
}

impl std::error::Error for Error {}
