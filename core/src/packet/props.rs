//! Property tests of the packet layer: round trips for every version,
//! family and authentication; no panic on arbitrary bytes; corruption
//! always detected.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::vrrp::{Advert, Auth, ChecksumContext, ChecksumMode, Interval, Packet, Version};
use super::{Family, arp::Arp, frame, ip, nd::NeighborAdvert};
use crate::packet::ip::Meta;
use crate::vrrp::{InstanceConfig, Vip, validate};

fn v4() -> impl Strategy<Value = IpAddr> + Clone {
    any::<[u8; 4]>().prop_map(|o| IpAddr::V4(Ipv4Addr::from(o)))
}

fn v6() -> impl Strategy<Value = IpAddr> + Clone {
    any::<[u8; 16]>().prop_map(|o| IpAddr::V6(Ipv6Addr::from(o)))
}

fn auth() -> impl Strategy<Value = Auth> {
    prop_oneof![
        Just(Auth::None),
        any::<[u8; 8]>().prop_map(Auth::Pass),
        (3u8.., any::<[u8; 8]>()).prop_map(|(kind, data)| Auth::Other { kind, data }),
    ]
}

fn mode() -> impl Strategy<Value = ChecksumMode> {
    prop_oneof![
        Just(ChecksumMode::Standard),
        Just(ChecksumMode::V3AsV2),
        Just(ChecksumMode::GroupPseudoHeader)
    ]
}

/// A VRRPv3 advert of `family` (addresses from `addr`, at least `min`).
fn v3(
    addr: impl Strategy<Value = IpAddr> + Clone,
    family: Family,
    min: usize,
) -> impl Strategy<Value = (Advert, Family, ChecksumContext)> {
    (
        any::<u8>(),
        any::<u8>(),
        1u16..4096,
        prop::collection::vec(addr.clone(), min..20),
        addr.clone(),
        addr,
        mode(),
    )
        .prop_map(move |(vrid, priority, cs, addresses, src, dst, mode)| {
            let a = Advert {
                version: Version::V3,
                vrid,
                priority,
                interval: Interval::Centiseconds(cs),
                auth: Auth::None,
                addresses,
            };
            (a, family, ChecksumContext { src, dst, mode })
        })
}

/// An advert with its family and a checksum context of that family.
fn advert() -> impl Strategy<Value = (Advert, Family, ChecksumContext)> {
    let v2 = (
        any::<u8>(),
        any::<u8>(),
        1u8..,
        auth(),
        prop::collection::vec(v4(), 0..20),
        v4(),
        v4(),
        mode(),
    )
        .prop_map(|(vrid, priority, s, auth, addresses, src, dst, mode)| {
            let a = Advert {
                version: Version::V2,
                vrid,
                priority,
                interval: Interval::Seconds(s),
                auth,
                addresses,
            };
            (a, Family::V4, ChecksumContext { src, dst, mode })
        });
    let v3_4 = v3(v4(), Family::V4, 0);
    let v3_6 = v3(v6(), Family::V6, 1);
    prop_oneof![v2, v3_4, v3_6]
}

proptest! {
    #![proptest_config(crate::proptest_config::config(256))]

    #[test]
    fn encode_decode_round_trip((a, family, ctx) in advert()) {
        let bytes = a.to_bytes(&ctx);
        prop_assert_eq!(bytes.len(), a.buffer_len());
        let p = Packet::new_checked(&bytes[..], family).unwrap();
        prop_assert!(p.verify_checksum(family, &ctx));
        prop_assert_eq!(Advert::parse(&p, family).unwrap(), a);
        // The same through a whole IP datagram.
        let d = ip::datagram(ctx.src, ctx.dst, &bytes);
        let parsed = ip::parse(&d).unwrap();
        prop_assert_eq!(parsed.payload, &bytes[..]);
        prop_assert_eq!(parsed.meta.hop_limit, Some(255));
    }

    #[test]
    fn any_corrupted_byte_is_detected((a, family, ctx) in advert(), at in any::<prop::sample::Index>(), x in 1u8..) {
        let mut bytes = a.to_bytes(&ctx);
        let i = at.index(bytes.len());
        bytes[i] ^= x;
        if i != 0 && i != 3 {
            // Neither version nor count changed: the same message length
            // and checksum rule, so the checksum must catch it.
            let p = Packet::new_unchecked(&bytes[..]);
            prop_assert!(!p.verify_checksum(family, &ctx));
        }
        // Whatever the byte, an instance configured for the original
        // never accepts the corrupted advert.
        let src = if ctx.src == ctx.dst { return Ok(()) } else { ctx.src };
        let mut cfg = InstanceConfig::new("i", "eth0", a.vrid, ctx.dst, a.addresses.iter().map(|x| Vip::host(*x)).collect());
        cfg.interval = a.interval;
        cfg.auth = a.auth;
        cfg.checksum_mode = ctx.mode;
        cfg.unicast_peers = if ctx.dst.is_multicast() { vec![] } else { vec![src] };
        let meta = Meta { src, dst: ctx.dst, hop_limit: Some(255) };
        if family == Family::of(&ctx.dst) && Family::of(&src) == family && !matches!(a.auth, Auth::Other { .. }) {
            prop_assert!(validate(&cfg, &meta, &bytes).is_err());
        }
    }

    #[test]
    fn decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300), family in prop_oneof![Just(Family::V4), Just(Family::V6)]) {
        if let Ok(p) = Packet::new_checked(&bytes[..], family) {
            let _ = Advert::parse(&p, family);
            let _ = p.verify_checksum(family, &ChecksumContext::new(IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V4(Ipv4Addr::LOCALHOST)));
        }
        let _ = ip::parse(&bytes);
        let _ = frame::parse_ethernet(&bytes);
        let _ = Arp::parse(&bytes);
        let a: IpAddr = "fe80::1".parse().unwrap();
        let _ = NeighborAdvert::parse(a, a, &bytes);
        let cfg = InstanceConfig::new("i", "eth0", 51, "192.0.2.1".parse().unwrap(), vec![Vip::host("192.0.2.160".parse().unwrap())]);
        let meta = Meta { src: "192.0.2.2".parse().unwrap(), dst: "224.0.0.18".parse().unwrap(), hop_limit: Some(255) };
        let _ = validate(&cfg, &meta, &bytes);
        let mut r = crate::vrrp::Router::new(vec![crate::vrrp::Instance::new(cfg)]);
        let t = crate::time::Instant::ZERO;
        let _ = r.handle(t, crate::vrrp::RouterEvent::All(crate::vrrp::Input::Start)).count();
        let _ = r.handle(t, crate::vrrp::RouterEvent::Datagram { interface: "eth0", bytes: &bytes }).count();
    }

    /// Frames built around valid IP datagrams survive arbitrary tails and
    /// truncation without panics.
    #[test]
    fn truncated_frames_never_panic((a, _family, ctx) in advert(), cut in any::<prop::sample::Index>()) {
        let bytes = a.to_bytes(&ctx);
        let f = frame::vrrp(super::MacAddr::local(1), super::MacAddr::BROADCAST, ctx.src, ctx.dst, &bytes);
        let n = cut.index(f.len() + 1);
        let _ = frame::parse_ethernet(&f[..n]);
    }
}
