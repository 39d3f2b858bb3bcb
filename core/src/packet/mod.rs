//! The VRRP wire format and the frames around it.
//!
//! Layered as smoltcp does: each protocol has a zero-copy view over bytes
//! (`Packet<&[u8]>`) and an owned representation with `parse` / `emit`.
//!
//! - [`vrrp`]: VRRP v2 (RFC 3768) and v3 (RFC 5798/9568) adverts.
//! - [`checksum`]: the internet checksum and the pseudo-headers VRRPv3 adds.
//! - [`ip`]: the IPv4/IPv6 header VRRP travels in (protocol 112, TTL 255).
//! - [`arp`]: gratuitous ARP as keepalived sends it.
//! - [`nd`]: unsolicited IPv6 neighbour advertisements.
//! - [`frame`]: Ethernet frames (optionally 802.1Q tagged) holding any of them.
//! - [`mac`]: hardware addresses, VRRP virtual MACs, multicast MAC mapping.
//!
//! Decoding never panics and never reads past the buffer: every failure is
//! an [`Error`] naming the layer and field.

pub mod ah;
pub mod arp;
pub mod checksum;
mod error;
pub mod frame;
pub mod ip;
pub mod mac;
pub mod nd;
pub mod vrrp;

pub use error::Error;
pub use mac::MacAddr;

use std::net::IpAddr;

/// An address family: of a VRRP instance or packet, a config, an IPVS
/// service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Family {
    /// IPv4 (VRRP v2 or v3).
    V4,
    /// IPv6 (VRRP v3 only).
    V6,
}

impl Family {
    /// The family of `addr`.
    pub const fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// The Linux `AF_*` number (2 or 10).
    pub const fn number(self) -> u16 {
        match self {
            Family::V4 => 2,
            Family::V6 => 10,
        }
    }

    /// keepalived's spelling: `inet` or `inet6`.
    pub fn keyword(self) -> &'static str {
        match self {
            Family::V4 => "inet",
            Family::V6 => "inet6",
        }
    }

    /// Length in bytes of one address of this family.
    pub const fn addr_len(self) -> usize {
        match self {
            Family::V4 => 4,
            Family::V6 => 16,
        }
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        })
    }
}

#[cfg(test)]
mod props;
