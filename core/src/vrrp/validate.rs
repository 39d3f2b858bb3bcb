//! Receive-side validation of an advert for one instance, in the order
//! keepalived 2.2.7 applies the checks of RFC 5798 section 7.1 (so that
//! the same bad packet is counted under the same reason).

use super::config::InstanceConfig;
use super::reject::Reject;
use crate::packet::Family;
use crate::packet::ip::Meta;
use crate::packet::vrrp::{
    Advert, Auth, ChecksumContext, HEADER_LEN, Interval, Packet, TTL, TYPE_ADVERTISEMENT, Version,
};

/// Checks `message` (the IP payload) received with `meta` against `cfg`;
/// the decoded advert when it may be acted on.
pub fn validate(cfg: &InstanceConfig, meta: &Meta, message: &[u8]) -> Result<Advert, Reject> {
    if meta.src == cfg.src {
        return Err(Reject::OwnAddress);
    }
    let family = cfg.family();
    if Family::of(&meta.src) != family {
        return Err(Reject::Family);
    }
    if message.len() < HEADER_LEN {
        return Err(Reject::PacketLength {
            expected: HEADER_LEN,
            got: message.len(),
        });
    }
    let packet = Packet::new_unchecked(message);
    // The length the header implies; an unknown version counts no
    // authentication data, as keepalived's expected_vrrp_pkt_len does.
    let auth_len = if packet.version_number() == 2 { 8 } else { 0 };
    let expected = HEADER_LEN + usize::from(packet.count()) * family.addr_len() + auth_len;
    if message.len() != expected {
        return Err(Reject::PacketLength {
            expected,
            got: message.len(),
        });
    }
    let multicast = meta.dst.is_multicast();
    if multicast && let Some(ttl) = meta.hop_limit.filter(|&t| t != TTL) {
        return Err(Reject::Ttl(ttl));
    }
    let version = match Version::from_number(packet.version_number()) {
        Some(v) if v == cfg.version() => v,
        _ => return Err(Reject::Version(packet.version_number())),
    };
    if version == Version::V2 && family == Family::V6 {
        return Err(Reject::Family);
    }
    if version == Version::V2 {
        let kind = packet.auth_type();
        if kind > 2 {
            return Err(Reject::InvalidAuthType(kind));
        }
        if kind != cfg.auth.kind() {
            return Err(Reject::AuthTypeMismatch {
                got: kind,
                want: cfg.auth.kind(),
            });
        }
        if let Auth::Pass(want) = cfg.auth
            && packet.auth_data(family) != Some(want)
        {
            return Err(Reject::AuthFailure);
        }
        let got = Interval::Seconds(packet.adver_int_secs());
        if got != cfg.interval {
            return Err(Reject::Interval {
                got,
                want: cfg.interval,
            });
        }
    }
    if packet.kind() != TYPE_ADVERTISEMENT {
        return Err(Reject::InvalidType(packet.kind()));
    }
    if usize::from(packet.count()) != cfg.vips.len() {
        return Err(Reject::AddressCount {
            got: packet.count(),
            want: cfg.vips.len(),
        });
    }
    let ctx = ChecksumContext {
        src: meta.src,
        dst: meta.dst,
        mode: cfg.checksum_mode,
    };
    if !packet.verify_checksum(family, &ctx) {
        return Err(Reject::Checksum);
    }
    if multicast == cfg.is_unicast() {
        return Err(Reject::CastMismatch {
            expected_unicast: cfg.is_unicast(),
        });
    }
    // Length, version and family were checked: parsing cannot fail.
    let advert = Advert::parse(&packet, family).map_err(|_| Reject::PacketLength {
        expected,
        got: message.len(),
    })?;
    if let Some(missing) = cfg
        .vips
        .iter()
        .find(|v| !advert.addresses.contains(&v.addr))
    {
        return Err(Reject::AddressList(missing.addr));
    }
    Ok(advert)
}
