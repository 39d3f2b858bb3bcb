//! Hardware (MAC) addresses and the VRRP-specific ones.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::Family;

/// A 48-bit Ethernet address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);

    /// The VRRP virtual router MAC for `vrid` (RFC 5798 section 7.3):
    /// 00-00-5E-00-01-{VRID} for IPv4, 00-00-5E-00-02-{VRID} for IPv6.
    pub const fn virtual_router(family: Family, vrid: u8) -> MacAddr {
        let f = match family {
            Family::V4 => 1,
            Family::V6 => 2,
        };
        MacAddr([0x00, 0x00, 0x5e, 0x00, f, vrid])
    }

    /// The Ethernet multicast address of an IPv4 group (RFC 1112):
    /// 01:00:5e and the low 23 bits of the group.
    pub const fn multicast_v4(group: Ipv4Addr) -> MacAddr {
        let o = group.octets();
        MacAddr([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]])
    }

    /// The Ethernet multicast address of an IPv6 group (RFC 2464):
    /// 33:33 and the low 32 bits of the group.
    pub const fn multicast_v6(group: Ipv6Addr) -> MacAddr {
        let o = group.octets();
        MacAddr([0x33, 0x33, o[12], o[13], o[14], o[15]])
    }

    /// A locally administered unicast MAC derived from a host number,
    /// for simulated and namespace hosts: 02:00:00:xx:xx:xx.
    pub const fn local(n: u32) -> MacAddr {
        let b = n.to_be_bytes();
        MacAddr([0x02, 0x00, b[0], b[1], b[2], b[3]])
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

impl std::str::FromStr for MacAddr {
    type Err = String;
    fn from_str(s: &str) -> Result<MacAddr, String> {
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for b in &mut out {
            let p = parts
                .next()
                .ok_or_else(|| format!("mac address {s:?}: too few octets"))?;
            *b = u8::from_str_radix(p, 16)
                .map_err(|_| format!("mac address {s:?}: bad octet {p:?}"))?;
        }
        if parts.next().is_some() {
            return Err(format!("mac address {s:?}: too many octets"));
        }
        Ok(MacAddr(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vrrp_multicast_and_virtual_macs() {
        assert_eq!(
            MacAddr::multicast_v4(Ipv4Addr::new(224, 0, 0, 18)).to_string(),
            "01:00:5e:00:00:12"
        );
        assert_eq!(
            MacAddr::multicast_v6("ff02::12".parse().unwrap()).to_string(),
            "33:33:00:00:00:12"
        );
        assert_eq!(
            MacAddr::virtual_router(Family::V4, 51).to_string(),
            "00:00:5e:00:01:33"
        );
        assert_eq!(
            MacAddr::virtual_router(Family::V6, 51).to_string(),
            "00:00:5e:00:02:33"
        );
    }

    #[test]
    fn parse_round_trip() {
        let m: MacAddr = "02:00:00:00:00:0a".parse().unwrap();
        assert_eq!(m, MacAddr::local(10));
        assert!("02:00".parse::<MacAddr>().is_err());
        assert!("zz:00:00:00:00:00".parse::<MacAddr>().is_err());
    }
}
