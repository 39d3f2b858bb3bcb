//! Ethernet frames, optionally 802.1Q tagged, holding VRRP, ARP or
//! neighbour advertisements.
//!
//! Frames are never assumed to reach the 60-byte Ethernet minimum:
//! captures on veth hold 42-byte ARP frames. Building never pads.

use std::net::{IpAddr, Ipv6Addr};

use etherparse::{EtherType, Ethernet2Slice, IpNumber, IpSlice, SingleVlanSlice};

use super::arp::Arp;
use super::nd::{self, NeighborAdvert};
use super::vrrp::{self, PROTOCOL};
use super::{Error, Family, MacAddr, ip};

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// EtherType of an 802.1Q tag.
pub const ETHERTYPE_VLAN: u16 = 0x8100;
/// Length of an untagged Ethernet header.
pub const ETHERNET_HEADER_LEN: usize = 14;

/// A decoded frame: addresses, tag and what it carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Destination MAC.
    pub dst: MacAddr,
    /// Source MAC.
    pub src: MacAddr,
    /// The 802.1Q VLAN id, when tagged (the innermost tag).
    pub vlan: Option<u16>,
    /// What the frame carries.
    pub content: Content<'a>,
}

/// What a frame carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content<'a> {
    /// An IP datagram with a VRRP message.
    Vrrp(ip::Datagram<'a>),
    /// An ARP packet.
    Arp(Arp),
    /// An IPv6 neighbour advertisement.
    NeighborAdvert(NeighborAdvert),
    /// An IP datagram of another protocol.
    OtherIp {
        /// Source address.
        src: IpAddr,
        /// Destination address.
        dst: IpAddr,
        /// The protocol / next header after extension headers.
        protocol: u8,
    },
    /// A datagram or ARP packet that failed to decode past the link layer
    /// (for example VRRP behind an AH header, or a truncated IP header).
    Malformed(Error),
    /// Any other EtherType.
    Other {
        /// The EtherType.
        ethertype: u16,
    },
}

/// Decodes an Ethernet II frame without FCS.
pub fn parse_ethernet(bytes: &[u8]) -> Result<Frame<'_>, Error> {
    let eth =
        Ethernet2Slice::from_slice_without_fcs(bytes).map_err(|e| Error::Frame(e.to_string()))?;
    let mut ethertype = eth.ether_type();
    let mut payload = eth.payload_slice();
    let mut vlan = None;
    // 802.1Q and 802.1ad (QinQ) tags, at most two.
    for _ in 0..2 {
        if ethertype != EtherType::VLAN_TAGGED_FRAME
            && ethertype != EtherType::PROVIDER_BRIDGING
            && ethertype != EtherType::VLAN_DOUBLE_TAGGED_FRAME
        {
            break;
        }
        let tag = SingleVlanSlice::from_slice(payload).map_err(|e| Error::Frame(e.to_string()))?;
        vlan = Some(tag.vlan_identifier().value());
        ethertype = tag.ether_type();
        payload = tag.payload_slice();
    }
    Ok(Frame {
        dst: MacAddr(eth.destination()),
        src: MacAddr(eth.source()),
        vlan,
        content: classify(ethertype.0, payload),
    })
}

/// Classifies a link-layer payload of `ethertype` (also used for Linux
/// cooked captures, whose protocol field is an EtherType).
pub fn classify(ethertype: u16, payload: &[u8]) -> Content<'_> {
    match ethertype {
        ETHERTYPE_ARP => match Arp::parse(payload) {
            Ok(a) => Content::Arp(a),
            Err(e) => Content::Malformed(e),
        },
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => classify_ip(payload),
        other => Content::Other { ethertype: other },
    }
}

fn classify_ip(payload: &[u8]) -> Content<'_> {
    match ip::parse(payload) {
        Ok(d) => Content::Vrrp(d),
        Err(Error::NotVrrp(protocol)) => {
            let Ok(slice) = IpSlice::from_slice(payload) else {
                return Content::Malformed(Error::NotVrrp(protocol));
            };
            let (src, dst) = (slice.source_addr(), slice.destination_addr());
            let p = slice.payload();
            if p.ip_number == IpNumber::IPV6_ICMP
                && p.payload.first() == Some(&nd::ICMPV6_NEIGHBOR_ADVERT)
            {
                return match NeighborAdvert::parse(src, dst, p.payload) {
                    Ok(na) => Content::NeighborAdvert(na),
                    Err(e) => Content::Malformed(e),
                };
            }
            Content::OtherIp { src, dst, protocol }
        }
        Err(e) => Content::Malformed(e),
    }
}

/// Builds an Ethernet II frame, tagged when `vlan` is set; never padded.
pub fn ethernet(
    dst: MacAddr,
    src: MacAddr,
    vlan: Option<u16>,
    ethertype: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = Vec::with_capacity(ETHERNET_HEADER_LEN + 4 + payload.len());
    f.extend_from_slice(&dst.0);
    f.extend_from_slice(&src.0);
    if let Some(id) = vlan {
        f.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
        f.extend_from_slice(&(id & 0x0fff).to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// The destination MAC of an IP datagram to `dst`: the group's multicast
/// MAC, or `unicast` for a unicast destination.
pub fn dst_mac(dst: IpAddr, unicast: MacAddr) -> MacAddr {
    match dst {
        IpAddr::V4(d) if d.is_multicast() => MacAddr::multicast_v4(d),
        IpAddr::V6(d) if d.is_multicast() => MacAddr::multicast_v6(d),
        _ => unicast,
    }
}

/// A frame carrying a VRRP message from `src` to `dst` (IP header built by
/// [`ip::header`]); `dst_unicast` is the peer's MAC for unicast adverts.
pub fn vrrp(
    src_mac: MacAddr,
    dst_unicast: MacAddr,
    src: IpAddr,
    dst: IpAddr,
    message: &[u8],
) -> Vec<u8> {
    let ethertype = match Family::of(&src) {
        Family::V4 => ETHERTYPE_IPV4,
        Family::V6 => ETHERTYPE_IPV6,
    };
    let datagram = ip::datagram(src, dst, message);
    ethernet(
        dst_mac(dst, dst_unicast),
        src_mac,
        None,
        ethertype,
        &datagram,
    )
}

/// A frame carrying a whole IP `datagram` (an IPsec-AH signed advert)
/// to `dst`; `dst_unicast` is the peer's MAC for unicast.
pub fn datagram(src_mac: MacAddr, dst_unicast: MacAddr, dst: IpAddr, datagram: &[u8]) -> Vec<u8> {
    let ethertype = match Family::of(&dst) {
        Family::V4 => ETHERTYPE_IPV4,
        Family::V6 => ETHERTYPE_IPV6,
    };
    ethernet(
        dst_mac(dst, dst_unicast),
        src_mac,
        None,
        ethertype,
        datagram,
    )
}

/// keepalived's gratuitous ARP frame for `vip` from `mac` (42 bytes).
pub fn gratuitous_arp(mac: MacAddr, vip: std::net::Ipv4Addr) -> Vec<u8> {
    ethernet(
        MacAddr::BROADCAST,
        mac,
        None,
        ETHERTYPE_ARP,
        &Arp::gratuitous(mac, vip).to_bytes(),
    )
}

/// keepalived's unsolicited neighbour advertisement frame for `vip`.
pub fn unsolicited_na(mac: MacAddr, vip: Ipv6Addr, router: bool) -> Vec<u8> {
    let na = NeighborAdvert::unsolicited(mac, vip, router);
    ethernet(
        MacAddr::multicast_v6(nd::ALL_NODES),
        mac,
        None,
        ETHERTYPE_IPV6,
        &na.to_ipv6(),
    )
}

/// The frame announcing `addr` (gratuitous ARP or unsolicited NA).
pub fn announcement(mac: MacAddr, addr: IpAddr, router: bool) -> Vec<u8> {
    match addr {
        IpAddr::V4(a) => gratuitous_arp(mac, a),
        IpAddr::V6(a) => unsolicited_na(mac, a, router),
    }
}

/// Whether `frame` is VRRP to the group of its family.
pub fn is_vrrp_multicast(frame: &Frame<'_>) -> bool {
    matches!(&frame.content, Content::Vrrp(d) if d.meta.dst == vrrp::group(Family::of(&d.meta.dst)))
}

/// IP protocol number of VRRP, re-exported for frame users.
pub const VRRP_PROTOCOL: u8 = PROTOCOL;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::vrrp::{Advert, Auth, ChecksumContext, Interval, Version};

    fn seed_frame() -> Vec<u8> {
        let src: IpAddr = "192.0.2.150".parse().unwrap();
        let dst = vrrp::group(Family::V4);
        let a = Advert {
            version: Version::V2,
            vrid: 51,
            priority: 100,
            interval: Interval::Seconds(1),
            auth: Auth::pass("1111"),
            addresses: vec!["192.0.2.160".parse().unwrap()],
        };
        vrrp(
            MacAddr::local(1),
            MacAddr::BROADCAST,
            src,
            dst,
            &a.to_bytes(&ChecksumContext::new(src, dst)),
        )
    }

    #[test]
    fn vrrp_frame_round_trip() {
        let f = seed_frame();
        assert_eq!(f.len(), 14 + 20 + 20);
        let p = parse_ethernet(&f).unwrap();
        assert_eq!(p.dst.to_string(), "01:00:5e:00:00:12");
        assert!(is_vrrp_multicast(&p));
        let Content::Vrrp(d) = p.content else {
            panic!("not vrrp: {:?}", p.content)
        };
        assert_eq!(d.payload.len(), 20);
    }

    #[test]
    fn tagged_frame() {
        let f = seed_frame();
        let tagged = ethernet(
            MacAddr::multicast_v4(vrrp::GROUP_V4),
            MacAddr::local(1),
            Some(42),
            ETHERTYPE_IPV4,
            &f[14..],
        );
        let p = parse_ethernet(&tagged).unwrap();
        assert_eq!(p.vlan, Some(42));
        assert!(matches!(p.content, Content::Vrrp(_)));
    }

    #[test]
    fn short_garp_frame_parses() {
        let f = gratuitous_arp(MacAddr::local(2), "192.0.2.160".parse().unwrap());
        assert_eq!(f.len(), 42);
        let p = parse_ethernet(&f).unwrap();
        assert_eq!(p.dst, MacAddr::BROADCAST);
        let Content::Arp(a) = p.content else { panic!() };
        assert!(a.is_gratuitous());
    }

    #[test]
    fn na_frame_parses() {
        let vip: Ipv6Addr = "2001:db8::160".parse().unwrap();
        let f = unsolicited_na(MacAddr::local(3), vip, true);
        let p = parse_ethernet(&f).unwrap();
        assert_eq!(p.dst.to_string(), "33:33:00:00:00:01");
        let Content::NeighborAdvert(na) = p.content else {
            panic!("{:?}", p.content)
        };
        assert_eq!(na.target, vip);
        assert!(na.router && na.override_flag);
    }

    #[test]
    fn broken_frames() {
        assert!(parse_ethernet(&[0; 5]).is_err());
        let mut f = seed_frame();
        f.truncate(20);
        let p = parse_ethernet(&f).unwrap();
        assert!(matches!(p.content, Content::Malformed(Error::Ip(_))));
        let other = ethernet(
            MacAddr::BROADCAST,
            MacAddr::local(1),
            None,
            0x88cc,
            &[1, 2, 3],
        );
        assert_eq!(
            parse_ethernet(&other).unwrap().content,
            Content::Other { ethertype: 0x88cc }
        );
    }
}
