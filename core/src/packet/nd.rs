//! IPv6 neighbour advertisements (RFC 4861 section 4.4), and the
//! unsolicited one keepalived sends for each IPv6 VIP: from the VIP to
//! all-nodes ff02::1, hop limit 255, Override set, Router set when the
//! interface forwards, with the target link-layer address option.

use std::net::{IpAddr, Ipv6Addr};

use super::{Error, MacAddr, checksum};

/// ICMPv6 type of a neighbour advertisement.
pub const ICMPV6_NEIGHBOR_ADVERT: u8 = 136;
/// IPv6 next-header value of ICMPv6.
pub const PROTOCOL_ICMPV6: u8 = 58;
/// All-nodes multicast, where unsolicited advertisements go.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// Length of the ICMPv6 message Vigil sends: 24 bytes + 8-byte option.
pub const LEN: usize = 32;

/// A neighbour advertisement with the IPv6 addresses it travelled between.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NeighborAdvert {
    /// IPv6 source (the VIP itself for keepalived's unsolicited NA).
    pub src: Ipv6Addr,
    /// IPv6 destination (all-nodes for unsolicited ones).
    pub dst: Ipv6Addr,
    /// R flag: the sender is a router.
    pub router: bool,
    /// S flag: sent in response to a solicitation.
    pub solicited: bool,
    /// O flag: override existing cache entries.
    pub override_flag: bool,
    /// The address being advertised.
    pub target: Ipv6Addr,
    /// The target link-layer address option, if present.
    pub target_mac: Option<MacAddr>,
}

impl NeighborAdvert {
    /// The unsolicited advertisement keepalived sends for `vip` from `mac`.
    pub const fn unsolicited(mac: MacAddr, vip: Ipv6Addr, router: bool) -> NeighborAdvert {
        NeighborAdvert {
            src: vip,
            dst: ALL_NODES,
            router,
            solicited: false,
            override_flag: true,
            target: vip,
            target_mac: Some(mac),
        }
    }

    /// Encodes the ICMPv6 message with its checksum.
    pub fn to_icmpv6(&self) -> Vec<u8> {
        let mut b = vec![0u8; if self.target_mac.is_some() { LEN } else { 24 }];
        b[0] = ICMPV6_NEIGHBOR_ADVERT;
        b[4] = (u8::from(self.router) << 7)
            | (u8::from(self.solicited) << 6)
            | (u8::from(self.override_flag) << 5);
        b[8..24].copy_from_slice(&self.target.octets());
        if let Some(m) = self.target_mac {
            b[24] = 2; // target link-layer address
            b[25] = 1; // length in units of 8 bytes
            b[26..32].copy_from_slice(&m.0);
        }
        let acc = checksum::pseudo_v6(self.src, self.dst, PROTOCOL_ICMPV6, b.len() as u32);
        let c = checksum::compute(acc, &b);
        b[2..4].copy_from_slice(&c.to_be_bytes());
        b
    }

    /// The whole IPv6 packet: header (hop limit 255) and ICMPv6 message.
    pub fn to_ipv6(&self) -> Vec<u8> {
        let icmp = self.to_icmpv6();
        let mut h = vec![0u8; 40];
        h[0] = 0x60;
        h[4..6].copy_from_slice(&(icmp.len() as u16).to_be_bytes());
        h[6] = PROTOCOL_ICMPV6;
        h[7] = 255;
        h[8..24].copy_from_slice(&self.src.octets());
        h[24..40].copy_from_slice(&self.dst.octets());
        h.extend_from_slice(&icmp);
        h
    }

    /// Decodes an ICMPv6 neighbour advertisement that travelled from
    /// `src` to `dst`; options other than the target link-layer address
    /// are skipped.
    pub fn parse(src: IpAddr, dst: IpAddr, icmp: &[u8]) -> Result<NeighborAdvert, Error> {
        let (IpAddr::V6(src), IpAddr::V6(dst)) = (src, dst) else {
            return Err(Error::NotNeighborAdvert);
        };
        if icmp.len() < 24 {
            return Err(Error::Truncated {
                what: "neighbour advertisement",
                needed: 24,
                got: icmp.len(),
            });
        }
        if icmp[0] != ICMPV6_NEIGHBOR_ADVERT || icmp[1] != 0 {
            return Err(Error::NotNeighborAdvert);
        }
        let mut t = [0u8; 16];
        t.copy_from_slice(&icmp[8..24]);
        let mut target_mac = None;
        let mut opts = &icmp[24..];
        while opts.len() >= 2 {
            let len = usize::from(opts[1]) * 8;
            if len == 0 || len > opts.len() {
                break;
            }
            if opts[0] == 2 && len >= 8 {
                let mut m = [0u8; 6];
                m.copy_from_slice(&opts[2..8]);
                target_mac = Some(MacAddr(m));
            }
            opts = &opts[len..];
        }
        Ok(NeighborAdvert {
            src,
            dst,
            router: icmp[4] & 0x80 != 0,
            solicited: icmp[4] & 0x40 != 0,
            override_flag: icmp[4] & 0x20 != 0,
            target: Ipv6Addr::from(t),
            target_mac,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsolicited_round_trip_and_checksum() {
        let vip: Ipv6Addr = "2001:db8::160".parse().unwrap();
        let na = NeighborAdvert::unsolicited(MacAddr::local(7), vip, false);
        let icmp = na.to_icmpv6();
        assert_eq!(icmp.len(), 32);
        assert_eq!(icmp[4], 0x20);
        let acc = checksum::pseudo_v6(vip, ALL_NODES, PROTOCOL_ICMPV6, 32);
        assert_eq!(checksum::compute(acc, &icmp), 0);
        let back = NeighborAdvert::parse(IpAddr::V6(vip), IpAddr::V6(ALL_NODES), &icmp).unwrap();
        assert_eq!(back, na);
        let ip = na.to_ipv6();
        assert_eq!(ip.len(), 72);
        assert_eq!(ip[7], 255);
    }

    #[test]
    fn garbage_is_an_error() {
        let a: IpAddr = "fe80::1".parse().unwrap();
        assert!(NeighborAdvert::parse(a, a, &[136, 0, 0]).is_err());
        assert_eq!(
            NeighborAdvert::parse(a, a, &[135; 24]),
            Err(Error::NotNeighborAdvert)
        );
        // A zero-length option ends option parsing instead of looping.
        let mut b = [0u8; 32];
        b[0] = 136;
        b[24] = 2;
        assert_eq!(NeighborAdvert::parse(a, a, &b).unwrap().target_mac, None);
    }
}
