//! VRRP frames of the replayed instances that the replay could not use:
//! of an authentication type it cannot validate, with a wrong
//! checksum, undecodable, cut by the snap length or malformed. Counted
//! per instance and reason, each with its first packet: a replay that
//! skipped any of them cannot say that it checked the capture.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use vigil_core::packet::Family;
use vigil_core::packet::vrrp::{Auth, Version};
use vigil_core::vrrp::InstanceConfig;

use super::decode::{Decoded, Vrrp, What};

/// Why a VRRP frame could not be used.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// A VRRPv2 authentication type other than none (0) and simple text
    /// (1): the replay cannot validate it.
    UnknownAuth(u8),
    /// The VRRP checksum is wrong: the capture may not hold what the node
    /// received.
    Checksum,
    /// The VRRP message does not decode (its version, its length).
    Undecodable(String),
    /// Cut by the capture's snap length.
    Truncated,
    /// The IP datagram does not decode.
    Malformed(String),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::UnknownAuth(k) => write!(f, "authentication type {k} is not supported"),
            Reason::Checksum => f.write_str("wrong VRRP checksum"),
            Reason::Undecodable(e) => write!(f, "undecodable: {e}"),
            Reason::Truncated => f.write_str("cut by the snap length"),
            Reason::Malformed(e) => write!(f, "malformed: {e}"),
        }
    }
}

/// The frames of one instance skipped for one reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// Index of the instance among those replayed.
    pub instance: usize,
    /// Its virtual router id.
    pub vrid: u8,
    /// Its address family.
    pub family: Family,
    /// Why they were skipped.
    pub reason: Reason,
    /// How many.
    pub count: usize,
    /// The first one's packet number (1-based).
    pub first: usize,
    /// The first one's time since the capture's earliest packet.
    pub first_at: Duration,
}

/// Why the VRRP datagram `v` cannot be used, if it cannot.
pub fn reason(v: &Vrrp) -> Option<Reason> {
    if let Some(e) = &v.error {
        return Some(Reason::Undecodable(e.to_string()));
    }
    if !v.checksum_ok {
        return Some(Reason::Checksum);
    }
    match v.advert.as_ref().map(|a| (a.version, &a.auth)) {
        // keepalived's IPsec-AH: the node checks it.
        Some((Version::V2, Auth::Other { kind: 2, .. })) if v.ah_seq.is_some() => None,
        Some((Version::V2, Auth::Other { kind, .. })) => Some(Reason::UnknownAuth(*kind)),
        _ => None,
    }
}

/// Where a skipped frame came from and what it claims to be.
struct Frame {
    family: Family,
    src: Option<IpAddr>,
    vrid: Option<u8>,
    /// Whether its VRID field can be believed: not when its checksum is
    /// wrong or its message does not decode.
    vrid_trusted: bool,
    index: usize,
    at: Duration,
}

/// Every frame of `d` that belongs to one of the instances `cfgs` and
/// could not be used, grouped per instance and reason, in instance order
/// then first packet. A frame belongs to an instance of its family when
/// it shows the instance's VRID, or shows none (not captured), or is
/// damaged (its VRID field cannot be believed) and comes from the node or
/// from a router that advertises the instance in usable adverts.
pub fn skipped(d: &Decoded, cfgs: &[InstanceConfig]) -> Vec<Skipped> {
    let sources: Vec<Vec<IpAddr>> = cfgs
        .iter()
        .map(|c| {
            let mut s = vec![c.src];
            for p in &d.packets {
                if let What::Vrrp(v) = &p.what
                    && reason(v).is_none()
                    && v.vrid == c.vrid
                    && v.family() == c.family()
                    && !s.contains(&v.meta.src)
                {
                    s.push(v.meta.src);
                }
            }
            s
        })
        .collect();
    let mut out: Vec<Skipped> = Vec::new();
    let mut add = |f: Frame, reason: Reason| {
        let (index, at) = (f.index, f.at);
        for (i, c) in cfgs.iter().enumerate() {
            let ours = f.vrid.is_none_or(|v| v == c.vrid)
                || (!f.vrid_trusted && f.src.is_some_and(|s| sources[i].contains(&s)));
            if c.family() != f.family || !ours {
                continue;
            }
            match out
                .iter_mut()
                .find(|s| s.instance == i && s.reason == reason)
            {
                Some(s) => {
                    s.count += 1;
                    if (at, index) < (s.first_at, s.first) {
                        (s.first_at, s.first) = (at, index);
                    }
                }
                None => out.push(Skipped {
                    instance: i,
                    vrid: c.vrid,
                    family: f.family,
                    reason: reason.clone(),
                    count: 1,
                    first: index,
                    first_at: at,
                }),
            }
        }
    };
    for p in &d.packets {
        if let What::Vrrp(v) = &p.what
            && let Some(r) = reason(v)
        {
            let damaged = matches!(r, Reason::Checksum | Reason::Undecodable(_));
            let f = Frame {
                family: v.family(),
                src: Some(v.meta.src),
                vrid: v.message.get(1).copied(),
                vrid_trusted: !damaged,
                index: p.index,
                at: p.at,
            };
            add(f, r);
        }
    }
    for u in &d.unreadable {
        let reason = if u.truncated {
            Reason::Truncated
        } else {
            Reason::Malformed(u.error.clone())
        };
        let f = Frame {
            family: u.family,
            src: u.src,
            vrid: u.vrid,
            vrid_trusted: true,
            index: u.index,
            at: u.at,
        };
        add(f, reason);
    }
    out.sort_by_key(|s| (s.instance, s.first_at, s.first));
    out
}

/// `skipped` in words, one clause per instance:
/// `37 adverts of VRID 51 skipped (AH authentication is not supported,
/// first at packet #12)`; with several reasons each is counted:
/// `(30: AH ..., first at packet #12; 7: wrong VRRP checksum, first at
/// packet #40)`.
pub fn describe(skipped: &[Skipped]) -> String {
    let mut clauses = Vec::new();
    let mut instances: Vec<usize> = skipped.iter().map(|s| s.instance).collect();
    instances.dedup();
    for i in instances {
        let mine: Vec<&Skipped> = skipped.iter().filter(|s| s.instance == i).collect();
        let total: usize = mine.iter().map(|s| s.count).sum();
        let reasons: Vec<String> = mine
            .iter()
            .map(|s| {
                let n = if mine.len() > 1 {
                    format!("{}: ", s.count)
                } else {
                    String::new()
                };
                format!("{n}{}, first at packet #{}", s.reason, s.first)
            })
            .collect();
        let s = mine[0];
        clauses.push(format!(
            "{total} advert{} of VRID {}{} skipped ({})",
            if total == 1 { "" } else { "s" },
            s.vrid,
            if s.family == Family::V6 {
                " over IPv6"
            } else {
                ""
            },
            reasons.join("; ")
        ));
    }
    clauses.join("; ")
}

#[cfg(test)]
mod tests {
    use super::super::decode::tests::advert_frame;
    use super::super::reader::{self, tests::pcap};
    use super::*;
    use vigil_core::packet::frame;
    use vigil_core::packet::vrrp::{self, Advert, ChecksumContext, Interval};
    use vigil_core::packet::{Family, MacAddr};
    use vigil_core::vrrp::InstanceConfig;

    fn instance(vrid: u8, src: &str) -> InstanceConfig {
        InstanceConfig::new(
            "v",
            "eth0",
            vrid,
            src.parse().unwrap(),
            vec![vigil_core::vrrp::Vip::host("192.0.2.160".parse().unwrap())],
        )
    }

    /// A VRRPv2 advert of VRID 51 whose message is rewritten by `edit`,
    /// its checksum made right again.
    fn edited(edit: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
        let (src, dst) = ("192.0.2.150".parse().unwrap(), vrrp::group(Family::V4));
        let a = Advert {
            version: Version::V2,
            vrid: 51,
            priority: 100,
            interval: Interval::Seconds(1),
            auth: Auth::pass("1111"),
            addresses: vec!["192.0.2.160".parse().unwrap()],
        };
        let mut msg = a.to_bytes(&ChecksumContext::new(src, dst));
        edit(&mut msg);
        msg[6..8].copy_from_slice(&[0, 0]);
        let c = vigil_core::packet::checksum::compute(0, &msg);
        msg[6..8].copy_from_slice(&c.to_be_bytes());
        frame::vrrp(MacAddr::local(1), MacAddr::BROADCAST, src, dst, &msg)
    }

    fn skipped_of(frames: &[Vec<u8>], cfgs: &[InstanceConfig]) -> Vec<Skipped> {
        let recs: Vec<(u64, &[u8], u32)> = frames
            .iter()
            .enumerate()
            .map(|(i, f)| (i as u64 * 1_000_000_000, &f[..], f.len() as u32))
            .collect();
        let d = super::super::decode::decode(&reader::read(&pcap(1, true, 65535, &recs)).unwrap());
        skipped(&d, cfgs)
    }

    #[test]
    fn reasons_are_counted_per_instance_with_their_first_packet() {
        let good = advert_frame("192.0.2.150", 100);
        let auth3 = edited(|m| m[4] = 3);
        let v4 = edited(|m| m[0] = 0x41);
        let mut bad_sum = good.clone();
        bad_sum[14 + 20 + 6] ^= 0xff;
        let frames = [good, auth3.clone(), v4, bad_sum, auth3];
        let s = skipped_of(&frames, &[instance(51, "192.0.2.151")]);
        let got: Vec<(Reason, usize, usize)> = s
            .iter()
            .map(|s| (s.reason.clone(), s.count, s.first))
            .collect();
        assert_eq!(
            got,
            [
                (Reason::UnknownAuth(3), 2, 2),
                (
                    Reason::Undecodable("vrrp version 4 is neither 2 nor 3".into()),
                    1,
                    3
                ),
                (Reason::Checksum, 1, 4),
            ]
        );
        assert_eq!(
            describe(&s),
            "4 adverts of VRID 51 skipped (2: authentication type 3 is not supported, first at \
             packet #2; 1: undecodable: vrrp version 4 is neither 2 nor 3, first at packet #3; \
             1: wrong VRRP checksum, first at packet #4)"
        );
        // Another VRID, or the other family, is not concerned.
        assert!(skipped_of(&frames, &[instance(52, "192.0.2.151")]).is_empty());
        assert!(skipped_of(&frames, &[instance(51, "2001:db8::151")]).is_empty());
    }

    #[test]
    fn ipv6_instances_are_named_so() {
        let s = [Skipped {
            instance: 0,
            vrid: 7,
            family: Family::V6,
            reason: Reason::Truncated,
            count: 1,
            first: 9,
            first_at: Duration::ZERO,
        }];
        assert_eq!(
            describe(&s),
            "1 advert of VRID 7 over IPv6 skipped (cut by the snap length, first at packet #9)"
        );
    }
}
