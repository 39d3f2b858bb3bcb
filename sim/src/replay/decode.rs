//! From captured frames to what a VRRP node cares about: VRRP datagrams
//! (v2/v3, IPv4/IPv6), gratuitous ARPs and unsolicited neighbour
//! advertisements, and the IGMP/MLD reports with which a node joins or
//! leaves the VRRP group (they show when a daemon started and ended).
//! Everything else is noise, counted. Decoding uses core's packet layer
//! and never reads past a frame.

use std::net::IpAddr;
use std::time::Duration;

use etherparse::IpSlice;
use vigil_core::packet::frame::{self, Content};
use vigil_core::packet::ip::Meta;
use vigil_core::packet::vrrp::{self, Advert, ChecksumContext};
use vigil_core::packet::{Error as PacketError, Family, MacAddr};

use super::reader::{Capture, LinkType, Note, RawFrame};

/// A frame that matters to VRRP, with its place in the capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// 1-based packet number in the file.
    pub index: usize,
    /// Time since the capture's earliest packet.
    pub at: Duration,
    /// Source MAC, when the link layer carries one.
    pub src_mac: Option<MacAddr>,
    /// What it is.
    pub what: What,
}

/// What a decoded frame holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum What {
    /// A VRRP datagram.
    Vrrp(Vrrp),
    /// A gratuitous ARP or an unsolicited neighbour advertisement.
    Announce {
        /// The address announced.
        addr: IpAddr,
        /// The hardware address it is announced at.
        mac: MacAddr,
    },
    /// An IGMP or MLD report joining (or leaving) a VRRP group.
    Membership {
        /// The reporting host's address.
        src: IpAddr,
        /// True for a join, false for a leave.
        join: bool,
    },
}

/// A VRRP datagram as captured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vrrp {
    /// IP-level facts.
    pub meta: Meta,
    /// The whole IP datagram (header and message, no link padding).
    pub datagram: Vec<u8>,
    /// The VRRP message (the IP payload).
    pub message: Vec<u8>,
    /// Virtual router id (0 when the message is too short to say).
    pub vrid: u8,
    /// Priority (0 when the message is too short to say).
    pub priority: u8,
    /// The advert, when the message decodes.
    pub advert: Option<Advert>,
    /// Why the message does not decode as an advert, when it does not.
    pub error: Option<PacketError>,
    /// Whether its checksum is right as RFC 3768/5798 compute it.
    pub checksum_ok: bool,
    /// The IPsec-AH sequence number, when it came behind an IP
    /// Authentication Header (keepalived's `auth_type AH`); the node then
    /// checks the whole datagram.
    pub ah_seq: Option<u32>,
}

impl Vrrp {
    /// The family of the datagram.
    pub fn family(&self) -> Family {
        Family::of(&self.meta.src)
    }
}

/// How many frames of each kind the capture held.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Frames read.
    pub frames: usize,
    /// VRRP datagrams.
    pub vrrp: usize,
    /// Of which with a wrong checksum.
    pub bad_checksum: usize,
    /// Gratuitous ARPs and unsolicited NAs.
    pub announcements: usize,
    /// IGMP/MLD reports for a VRRP group.
    pub membership: usize,
    /// VRRP behind AH.
    pub auth_header: usize,
    /// Frames cut by the snap length too short to decode.
    pub truncated: usize,
    /// Frames that failed to decode.
    pub malformed: usize,
    /// Everything else.
    pub noise: usize,
}

/// A decoded capture.
#[derive(Clone, Debug)]
pub struct Decoded {
    /// Packets that matter, in time order (stable for equal times).
    pub packets: Vec<Packet>,
    /// Reading and decoding notes.
    pub notes: Vec<Note>,
    /// Counts per kind.
    pub counts: Counts,
    /// The capture's link type.
    pub link: LinkType,
    /// The file format.
    pub format: super::reader::Format,
    /// Time from the earliest to the latest frame.
    pub span: Duration,
    /// Frames carrying VRRP (by their IP protocol) that did not decode.
    pub unreadable: Vec<Unreadable>,
}

/// A frame whose IP header says it carries VRRP (protocol 112, or an AH
/// header before it) but which could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable {
    /// 1-based packet number in the file.
    pub index: usize,
    /// Time since the capture's earliest packet.
    pub at: Duration,
    /// The IP version's family.
    pub family: Family,
    /// Source address, when captured.
    pub src: Option<IpAddr>,
    /// Virtual router id, when captured.
    pub vrid: Option<u8>,
    /// Behind an IP Authentication Header.
    pub auth_header: bool,
    /// Cut by the snap length (else malformed).
    pub truncated: bool,
    /// Why it did not decode.
    pub error: String,
}

/// Decodes every frame of `capture`.
pub fn decode(capture: &Capture) -> Decoded {
    let origin = capture
        .frames
        .iter()
        .map(|f| f.timestamp)
        .min()
        .unwrap_or_default();
    let end = capture
        .frames
        .iter()
        .map(|f| f.timestamp)
        .max()
        .unwrap_or_default();
    let mut d = Decoded {
        packets: Vec::new(),
        notes: capture.notes.clone(),
        counts: Counts {
            frames: capture.frames.len(),
            ..Counts::default()
        },
        link: capture.link,
        format: capture.format,
        span: end.saturating_sub(origin),
        unreadable: Vec::new(),
    };
    let mut skipped_links: Vec<LinkType> = Vec::new();
    for f in &capture.frames {
        match frame(f, origin) {
            Ok(Some(p)) => {
                match &p.what {
                    What::Vrrp(v) => {
                        d.counts.vrrp += 1;
                        if v.ah_seq.is_some() {
                            d.counts.auth_header += 1;
                        }
                        if !v.checksum_ok {
                            d.counts.bad_checksum += 1;
                            d.notes.push(Note {
                                index: Some(f.index),
                                message: format!(
                                    "vrrp from {} has a wrong checksum: fed as captured",
                                    v.meta.src
                                ),
                            });
                        }
                    }
                    What::Announce { .. } => d.counts.announcements += 1,
                    What::Membership { .. } => d.counts.membership += 1,
                }
                d.packets.push(p);
            }
            Ok(None) => d.counts.noise += 1,
            Err(Skip::Link(l)) => {
                d.counts.noise += 1;
                if !skipped_links.contains(&l) {
                    skipped_links.push(l);
                    d.notes.push(Note {
                        index: Some(f.index),
                        message: format!("link type {l} is not decoded: its frames are skipped"),
                    });
                }
            }
            Err(Skip::Broken(e, peeked)) => {
                let truncated = f.truncated();
                if truncated {
                    d.counts.truncated += 1;
                    d.notes.push(Note {
                        index: Some(f.index),
                        message: format!(
                            "cut by the snap length ({} of {} bytes captured): {e}: skipped",
                            f.data.len(),
                            f.orig_len
                        ),
                    });
                } else {
                    d.counts.malformed += 1;
                    d.notes.push(Note {
                        index: Some(f.index),
                        message: format!("{e}: skipped"),
                    });
                }
                if let Some(p) = peeked {
                    d.unreadable.push(Unreadable {
                        index: f.index,
                        at: f.timestamp.saturating_sub(origin),
                        family: p.family,
                        src: p.src,
                        vrid: p.vrid,
                        auth_header: p.auth_header,
                        truncated,
                        error: e,
                    });
                }
            }
        }
    }
    // Packets the reader could not place in time: what their IP header
    // says of VRRP (they are not replayed).
    for (f, why) in &capture.dropped {
        if let Some(p) = link(f).ok().and_then(|l| peek(l.payload)) {
            d.unreadable.push(Unreadable {
                index: f.index,
                at: f.timestamp.saturating_sub(origin),
                family: p.family,
                src: p.src,
                vrid: p.vrid,
                auth_header: p.auth_header,
                truncated: false,
                error: why.clone(),
            });
        }
    }
    d.packets.sort_by_key(|p| p.at);
    d
}

enum Skip {
    Link(LinkType),
    /// Why, and what its IP header says of VRRP when it carries it.
    Broken(String, Option<Peek>),
}

/// The link layer's facts: EtherType, payload, source MAC.
struct Link<'a> {
    ethertype: u16,
    payload: &'a [u8],
    src_mac: Option<MacAddr>,
}

const VLAN_TYPES: [u16; 3] = [0x8100, 0x88a8, 0x9100];

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn mac_at(b: &[u8], at: usize) -> Option<MacAddr> {
    let s = b.get(at..at + 6)?;
    let mut m = [0u8; 6];
    m.copy_from_slice(s);
    Some(MacAddr(m))
}

/// Strips up to two VLAN tags in front of `payload`.
fn untag(mut ethertype: u16, mut payload: &[u8]) -> Result<(u16, &[u8]), Skip> {
    for _ in 0..2 {
        if !VLAN_TYPES.contains(&ethertype) {
            break;
        }
        ethertype = be16(payload, 2).ok_or_else(|| {
            Skip::Broken(
                format!("802.1Q tag truncated: {} bytes", payload.len()),
                None,
            )
        })?;
        payload = &payload[4..];
    }
    Ok((ethertype, payload))
}

fn link(f: &RawFrame) -> Result<Link<'_>, Skip> {
    let b = &f.data[..];
    let short = |what: &str, need: usize| {
        Skip::Broken(
            format!(
                "{what} header truncated: needs {need} bytes, has {}",
                b.len()
            ),
            None,
        )
    };
    let (ethertype, payload, src_mac) = match f.link {
        LinkType::Ethernet => {
            let t = be16(b, 12).ok_or_else(|| short("ethernet", 14))?;
            (t, &b[14..], mac_at(b, 6))
        }
        LinkType::LinuxSll => {
            // packet type, ARPHRD, address length, address (8), protocol.
            let t = be16(b, 14).ok_or_else(|| short("linux cooked (sll)", 16))?;
            let ether = be16(b, 2) == Some(1) && be16(b, 4) == Some(6);
            (t, &b[16..], if ether { mac_at(b, 6) } else { None })
        }
        LinkType::LinuxSll2 => {
            // protocol, reserved, ifindex, ARPHRD, packet type, address
            // length, address (8).
            if b.len() < 20 {
                return Err(short("linux cooked (sll2)", 20));
            }
            let t = be16(b, 0).unwrap_or(0);
            let ether = be16(b, 8) == Some(1) && b[11] == 6;
            (t, &b[20..], if ether { mac_at(b, 12) } else { None })
        }
        LinkType::RawIp => {
            let t = match b.first().map(|v| v >> 4) {
                Some(4) => frame::ETHERTYPE_IPV4,
                Some(6) => frame::ETHERTYPE_IPV6,
                _ => return Err(Skip::Broken("raw ip: no ip version".into(), None)),
            };
            (t, b, None)
        }
        LinkType::Other(_) => return Err(Skip::Link(f.link)),
    };
    let (ethertype, payload) = untag(ethertype, payload)?;
    Ok(Link {
        ethertype,
        payload,
        src_mac,
    })
}

/// The offset of `inner` inside `outer` (a subslice of it).
fn offset_in(outer: &[u8], inner: &[u8]) -> usize {
    (inner.as_ptr() as usize).saturating_sub(outer.as_ptr() as usize)
}

fn frame(f: &RawFrame, origin: Duration) -> Result<Option<Packet>, Skip> {
    let l = link(f)?;
    let at = f.timestamp.saturating_sub(origin);
    let packet = |what| Packet {
        index: f.index,
        at,
        src_mac: l.src_mac,
        what,
    };
    Ok(match frame::classify(l.ethertype, l.payload) {
        Content::Vrrp(d) if let Some(auth) = d.auth => {
            let mut v = vrrp_of(d.meta, d.payload, auth.datagram.to_vec());
            v.ah_seq = Some(auth.seq);
            Some(packet(What::Vrrp(v)))
        }
        Content::Vrrp(d) => {
            let end = offset_in(l.payload, d.payload) + d.payload.len();
            let datagram = l.payload[..end.min(l.payload.len())].to_vec();
            Some(packet(What::Vrrp(vrrp_of(d.meta, d.payload, datagram))))
        }
        Content::Arp(a) if a.is_gratuitous() => Some(packet(What::Announce {
            addr: IpAddr::V4(a.sender_ip),
            mac: a.sender_mac,
        })),
        Content::NeighborAdvert(na) if !na.solicited => {
            let Some(mac) = na.target_mac.or(l.src_mac) else {
                return Ok(None);
            };
            Some(packet(What::Announce {
                addr: IpAddr::V6(na.target),
                mac,
            }))
        }
        Content::OtherIp { src, protocol, .. } if protocol == 2 || protocol == 58 => {
            membership(l.payload).map(|join| packet(What::Membership { src, join }))
        }
        Content::Malformed(e) => return Err(Skip::Broken(e.to_string(), peek(l.payload))),
        _ => None,
    })
}

fn vrrp_of(meta: Meta, message: &[u8], datagram: Vec<u8>) -> Vrrp {
    let family = Family::of(&meta.src);
    let packet = vrrp::Packet::new_checked(message, family);
    let advert = packet
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|p| Advert::parse(p, family));
    let checksum_ok = packet
        .as_ref()
        .is_ok_and(|p| p.verify_checksum(family, &ChecksumContext::new(meta.src, meta.dst)));
    let (advert, error) = match advert {
        Ok(a) => (Some(a), None),
        Err(e) => (None, Some(e)),
    };
    Vrrp {
        meta,
        datagram,
        message: message.to_vec(),
        vrid: message.get(1).copied().unwrap_or(0),
        priority: message.get(2).copied().unwrap_or(0),
        advert,
        error,
        checksum_ok,
        ah_seq: None,
    }
}

/// What the IP header of a datagram says of the VRRP it carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Peek {
    family: Family,
    src: Option<IpAddr>,
    vrid: Option<u8>,
    priority: Option<u8>,
    auth_header: bool,
}

/// IP protocol numbers: AH, IPv6 hop-by-hop, routing, fragment and
/// destination options headers.
const IP_AH: u8 = 51;
const IPV6_EXTENSIONS: [u8; 3] = [0, 43, 60];
const IPV6_FRAGMENT: u8 = 44;

/// Reads the IP header of `ip` (which may be cut or malformed) for VRRP:
/// None when it carries another protocol or cannot be read as IP.
fn peek(ip: &[u8]) -> Option<Peek> {
    let (family, src, mut next, mut at) = match ip.first()? >> 4 {
        4 => {
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            // A later fragment does not start with the VRRP header.
            let first = be16(ip, 6).is_some_and(|f| f & 0x1fff == 0);
            let src = ip
                .get(12..16)
                .map(|s| IpAddr::from([s[0], s[1], s[2], s[3]]));
            (Family::V4, src, *ip.get(9)?, first.then_some(ihl))
        }
        6 => {
            let src = ip.get(8..24).map(|s| {
                let mut o = [0u8; 16];
                o.copy_from_slice(s);
                IpAddr::from(o)
            });
            (Family::V6, src, *ip.get(6)?, Some(40))
        }
        _ => return None,
    };
    let mut auth_header = false;
    // The VRRP header at `o`: its VRID and priority, when captured.
    let found = |o: Option<usize>, auth_header| {
        Some(Peek {
            family,
            src,
            vrid: o.and_then(|o| ip.get(o + 1)).copied(),
            priority: o.and_then(|o| ip.get(o + 2)).copied(),
            auth_header,
        })
    };
    // At most a few extension headers; an unreadable one ends the walk.
    for _ in 0..8 {
        let header = at.and_then(|o| Some((o, *ip.get(o)?, usize::from(*ip.get(o + 1)?))));
        match next {
            vrrp::PROTOCOL => return found(at, auth_header),
            IP_AH => {
                auth_header = true;
                let Some((o, n, len)) = header else {
                    return found(None, true);
                };
                (next, at) = (n, Some(o + (len + 2) * 4));
            }
            n if family == Family::V6 && (IPV6_EXTENSIONS.contains(&n) || n == IPV6_FRAGMENT) => {
                let (o, n2, len) = header?;
                let later = n == IPV6_FRAGMENT && be16(ip, o + 2).is_none_or(|f| f >> 3 != 0);
                let skip = if n == IPV6_FRAGMENT { 8 } else { (len + 1) * 8 };
                (next, at) = (n2, (!later).then_some(o + skip));
            }
            _ => return None,
        }
    }
    None
}

/// IGMP (v1/v2/v3) or MLD (v1/v2) about a VRRP group: Some(true) for a
/// join, Some(false) for a leave, None for anything else.
fn membership(ip: &[u8]) -> Option<bool> {
    let s = IpSlice::from_slice(ip).ok()?;
    let p = s.payload();
    let b = p.payload;
    let v4 = |at: usize| {
        b.get(at..at + 4)
            .map(|g| IpAddr::from([g[0], g[1], g[2], g[3]]))
    };
    let v6 = |at: usize| {
        b.get(at..at + 16).map(|g| {
            let mut o = [0u8; 16];
            o.copy_from_slice(g);
            IpAddr::from(o)
        })
    };
    let group4 = vrrp::group(Family::V4);
    let group6 = vrrp::group(Family::V6);
    match (p.ip_number.0, *b.first()?) {
        // IGMPv1/v2 report, IGMPv2 leave.
        (2, 0x12 | 0x16) => (v4(4)? == group4).then_some(true),
        (2, 0x17) => (v4(4)? == group4).then_some(false),
        // IGMPv3 report: records of (type, aux len, sources, group).
        (2, 0x22) => records(b, 8, be16(b, 6)?, 4, v4, group4),
        // MLDv1 report / done.
        (58, 131) => (v6(8)? == group6).then_some(true),
        (58, 132) => (v6(8)? == group6).then_some(false),
        // MLDv2 report.
        (58, 143) => records(b, 8, be16(b, 6)?, 16, v6, group6),
        _ => None,
    }
}

fn records(
    b: &[u8],
    mut at: usize,
    count: u16,
    addr_len: usize,
    addr: impl Fn(usize) -> Option<IpAddr>,
    group: IpAddr,
) -> Option<bool> {
    for _ in 0..count {
        let kind = *b.get(at)?;
        let aux = usize::from(*b.get(at + 1)?);
        let sources = usize::from(be16(b, at + 2)?);
        if addr(at + 4)? == group {
            return match kind {
                // MODE_IS_EXCLUDE, CHANGE_TO_EXCLUDE_MODE: joined.
                2 | 4 => Some(true),
                // MODE_IS_INCLUDE, CHANGE_TO_INCLUDE_MODE with no source: left.
                1 | 3 if sources == 0 => Some(false),
                _ => None,
            };
        }
        at += 4 + addr_len * (1 + sources) + 4 * aux;
    }
    None
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::reader::{self, tests::pcap};
    use super::*;
    use vigil_core::packet::vrrp::{Auth, Interval, Version};

    pub fn advert_frame(src: &str, prio: u8) -> Vec<u8> {
        let src: IpAddr = src.parse().unwrap();
        let dst = vrrp::group(Family::of(&src));
        let a = Advert {
            version: Version::V2,
            vrid: 51,
            priority: prio,
            interval: Interval::Seconds(1),
            auth: Auth::pass("1111"),
            addresses: vec!["192.0.2.160".parse().unwrap()],
        };
        frame::vrrp(
            MacAddr::local(1),
            MacAddr::BROADCAST,
            src,
            dst,
            &a.to_bytes(&ChecksumContext::new(src, dst)),
        )
    }

    fn decode_one(link: u32, bytes: &[u8], orig: u32) -> Decoded {
        decode(&reader::read(&pcap(link, false, 65535, &[(0, bytes, orig)])).unwrap())
    }

    #[test]
    fn short_frames_are_fine() {
        // A 54-byte v2 advert and a 42-byte GARP: both under 60 bytes.
        let a = advert_frame("192.0.2.150", 100);
        assert_eq!(a.len(), 54);
        let d = decode_one(1, &a, 54);
        let What::Vrrp(v) = &d.packets[0].what else {
            panic!()
        };
        assert_eq!((v.vrid, v.priority, v.checksum_ok), (51, 100, true));
        assert_eq!(v.datagram.len(), 40);
        let g = frame::gratuitous_arp(MacAddr::local(2), "192.0.2.160".parse().unwrap());
        let d = decode_one(1, &g, 42);
        assert_eq!(
            d.packets[0].what,
            What::Announce {
                addr: "192.0.2.160".parse().unwrap(),
                mac: MacAddr::local(2)
            }
        );
    }

    #[test]
    fn padding_is_dropped_from_the_datagram() {
        let mut a = advert_frame("192.0.2.150", 100);
        a.extend_from_slice(&[0; 6]);
        let d = decode_one(1, &a, 60);
        let What::Vrrp(v) = &d.packets[0].what else {
            panic!()
        };
        assert_eq!(v.datagram.len(), 40);
    }

    #[test]
    fn cooked_captures() {
        let a = advert_frame("192.0.2.150", 100);
        // SLL: outgoing (4), ARPHRD_ETHER, 6-byte address, protocol.
        let mut sll = vec![0, 4, 0, 1, 0, 6];
        sll.extend_from_slice(&MacAddr::local(9).0);
        sll.extend_from_slice(&[0, 0, 0x08, 0x00]);
        sll.extend_from_slice(&a[14..]);
        let d = decode_one(113, &sll, sll.len() as u32);
        assert_eq!(d.packets[0].src_mac, Some(MacAddr::local(9)));
        assert!(matches!(d.packets[0].what, What::Vrrp(_)));
        // SLL2: protocol, reserved, ifindex, ARPHRD, type, len, address.
        let mut sll2 = vec![0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 4, 6];
        sll2.extend_from_slice(&MacAddr::local(7).0);
        sll2.extend_from_slice(&[0, 0]);
        sll2.extend_from_slice(&a[14..]);
        let d = decode_one(276, &sll2, sll2.len() as u32);
        assert_eq!(d.packets[0].src_mac, Some(MacAddr::local(7)));
        assert!(matches!(d.packets[0].what, What::Vrrp(_)));
        // Too short for its header: malformed, not a panic.
        let d = decode_one(276, &sll2[..10], 10);
        assert_eq!(d.counts.malformed, 1);
        assert!(d.notes[0].to_string().contains("sll2"));
    }

    #[test]
    fn vlan_tags_are_stripped() {
        let a = advert_frame("192.0.2.150", 100);
        let tagged = frame::ethernet(
            MacAddr::BROADCAST,
            MacAddr::local(1),
            Some(7),
            frame::ETHERTYPE_IPV4,
            &a[14..],
        );
        let d = decode_one(1, &tagged, tagged.len() as u32);
        assert!(matches!(d.packets[0].what, What::Vrrp(_)));
    }

    #[test]
    fn snaplen_cut_adverts_are_skipped_with_a_note() {
        let a = advert_frame("192.0.2.150", 100);
        let d = decode(&reader::read(&pcap(1, false, 40, &[(0, &a[..40], 54)])).unwrap());
        assert!(d.packets.is_empty());
        assert_eq!(d.counts.truncated, 1);
        // Its IP header still says VRRP, and its VRID was captured.
        assert_eq!(
            d.unreadable,
            vec![Unreadable {
                index: 1,
                at: Duration::ZERO,
                family: Family::V4,
                src: Some("192.0.2.150".parse().unwrap()),
                vrid: Some(51),
                auth_header: false,
                truncated: true,
                error: d.unreadable[0].error.clone(),
            }]
        );
        assert!(
            d.notes[1]
                .to_string()
                .starts_with("packet 1: cut by the snap length (40 of 54 bytes captured)"),
            "{:?}",
            d.notes
        );
        // Cut inside the IP header after its protocol field: VRRP, source
        // and VRID unknown. Cut before the protocol field: nothing known.
        let d = decode(&reader::read(&pcap(1, false, 40, &[(0, &a[..28], 54)])).unwrap());
        assert_eq!((d.unreadable[0].src, d.unreadable[0].vrid), (None, None));
        let d = decode(&reader::read(&pcap(1, false, 40, &[(0, &a[..20], 54)])).unwrap());
        assert!(d.unreadable.is_empty());
        assert_eq!(d.counts.truncated, 1);
    }

    #[test]
    fn bad_checksums_are_kept_and_noted() {
        let mut a = advert_frame("192.0.2.150", 100);
        a[14 + 20 + 6] ^= 0xff;
        let d = decode_one(1, &a, 54);
        let What::Vrrp(v) = &d.packets[0].what else {
            panic!()
        };
        assert!(!v.checksum_ok);
        assert_eq!(d.counts.bad_checksum, 1);
    }

    #[test]
    fn ah_is_decoded_behind_its_header() {
        // IPv4, protocol 51, AH (next header 112), then 8 bytes.
        let mut ip = vigil_core::packet::ip::header(
            "192.0.2.150".parse().unwrap(),
            "224.0.0.18".parse().unwrap(),
            24 + 8,
        );
        ip[9] = 51;
        ip[10] = 0;
        ip[11] = 0;
        let c = vigil_core::packet::checksum::compute(0, &ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        ip.extend_from_slice(&[112, 4, 0, 0]);
        ip.extend_from_slice(&[0; 20]);
        ip.extend_from_slice(&[0x21, 51, 100, 1, 0, 1, 0, 0]);
        let f = frame::ethernet(
            MacAddr::BROADCAST,
            MacAddr::local(1),
            None,
            frame::ETHERTYPE_IPV4,
            &ip,
        );
        let d = decode_one(1, &f, f.len() as u32);
        assert_eq!(d.counts.auth_header, 1);
        assert!(
            !d.notes
                .iter()
                .any(|n| n.to_string().contains("authentication")),
            "{:?}",
            d.notes
        );
        let What::Vrrp(v) = &d.packets[0].what else {
            panic!("{:?}", d.packets)
        };
        assert_eq!(v.meta.src.to_string(), "192.0.2.150");
        assert_eq!((v.vrid, v.priority, v.ah_seq), (51, 100, Some(0)));
        assert_eq!(v.datagram, ip);
        assert_eq!(v.message, [0x21, 51, 100, 1, 0, 1, 0, 0]);
        // Cut inside the VRRP header behind AH: unreadable, still AH.
        let cut = &f[..14 + 20 + 24 + 1];
        let d = decode_one(1, cut, f.len() as u32);
        assert_eq!(d.counts.auth_header + d.unreadable.len(), 1, "{d:?}");
    }

    #[test]
    fn ah_before_another_protocol_is_noise() {
        // AH protecting TCP (next header 6) is not VRRP.
        let mut ip = vigil_core::packet::ip::header(
            "192.0.2.150".parse().unwrap(),
            "192.0.2.151".parse().unwrap(),
            24 + 20,
        );
        ip[9] = 51;
        ip[10] = 0;
        ip[11] = 0;
        let c = vigil_core::packet::checksum::compute(0, &ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        ip.extend_from_slice(&[6, 4, 0, 0]);
        ip.extend_from_slice(&[0; 40]);
        let f = frame::ethernet(
            MacAddr::local(2),
            MacAddr::local(1),
            None,
            frame::ETHERTYPE_IPV4,
            &ip,
        );
        let d = decode_one(1, &f, f.len() as u32);
        assert!(d.packets.is_empty());
        assert_eq!((d.counts.auth_header, d.counts.noise), (0, 1));
    }

    #[test]
    fn peek_follows_ipv6_extension_headers() {
        // Hop-by-hop options, then VRRP (VRID 51), cut after the VRID.
        let src: IpAddr = "fe80::1".parse().unwrap();
        let mut ip6 = vigil_core::packet::ip::header(src, vrrp::group(Family::V6), 8 + 40);
        ip6[6] = 0;
        ip6.extend_from_slice(&[112, 0, 5, 2, 0, 0, 1, 0]);
        ip6.extend_from_slice(&[0x31, 51]);
        let p = peek(&ip6).expect("vrrp");
        assert_eq!((p.family, p.src, p.vrid), (Family::V6, Some(src), Some(51)));
        // Cut after the extension header's next-header field: VRRP of an
        // unknown VRID; before it: not known to be VRRP.
        assert_eq!(peek(&ip6[..44]).map(|p| p.vrid), Some(None));
        assert_eq!(peek(&ip6[..40]), None);
        // Garbage never panics.
        for n in 0..ip6.len() {
            let _ = peek(&ip6[..n]);
        }
        assert_eq!(peek(&[0x45]), None);
        assert_eq!(peek(&[]), None);
    }

    #[test]
    fn ipv6_extension_headers_are_skipped() {
        // VRRPv3 over IPv6 behind a hop-by-hop options header.
        let src: IpAddr = "fe80::1".parse().unwrap();
        let dst = vrrp::group(Family::V6);
        let a = Advert {
            version: Version::V3,
            vrid: 51,
            priority: 95,
            interval: Interval::Centiseconds(100),
            auth: Auth::None,
            addresses: vec!["2001:db8::160".parse().unwrap()],
        };
        let msg = a.to_bytes(&ChecksumContext::new(src, dst));
        let mut ip6 = vigil_core::packet::ip::header(src, dst, 8 + msg.len());
        ip6[6] = 0; // next header: hop-by-hop options
        ip6.extend_from_slice(&[112, 0, 5, 2, 0, 0, 1, 0]); // router alert, padN
        ip6.extend_from_slice(&msg);
        let f = frame::ethernet(
            MacAddr::multicast_v6(vrrp::GROUP_V6),
            MacAddr::local(1),
            None,
            frame::ETHERTYPE_IPV6,
            &ip6,
        );
        let d = decode_one(1, &f, f.len() as u32);
        let What::Vrrp(v) = &d.packets[0].what else {
            panic!("{:?}", d.notes)
        };
        assert_eq!((v.priority, v.checksum_ok), (95, true));
        assert_eq!(v.message, msg);
        assert_eq!(v.datagram.len(), 40 + 8 + msg.len());
    }

    #[test]
    fn igmp_and_mld_membership() {
        // IGMPv3 report: one CHANGE_TO_EXCLUDE record for 224.0.0.18.
        let igmp = [0x22, 0, 0, 0, 0, 0, 0, 1, 4, 0, 0, 0, 224, 0, 0, 18];
        assert_eq!(membership(&ipv4(2, &igmp)), Some(true));
        let leave = [0x22, 0, 0, 0, 0, 0, 0, 1, 3, 0, 0, 0, 224, 0, 0, 18];
        assert_eq!(membership(&ipv4(2, &leave)), Some(false));
        let other = [0x16, 0, 0, 0, 224, 0, 0, 251];
        assert_eq!(membership(&ipv4(2, &other)), None);
        assert_eq!(membership(&ipv4(2, &[0x22])), None);
    }

    fn ipv4(protocol: u8, payload: &[u8]) -> Vec<u8> {
        let mut h = vigil_core::packet::ip::header(
            "192.0.2.150".parse().unwrap(),
            "224.0.0.22".parse().unwrap(),
            payload.len(),
        );
        h[9] = protocol;
        h[10] = 0;
        h[11] = 0;
        let c = vigil_core::packet::checksum::compute(0, &h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        h.extend_from_slice(payload);
        h
    }
}
