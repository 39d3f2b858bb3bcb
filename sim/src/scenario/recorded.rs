//! Recorded peers: a node of a capture (pcap/pcapng) replayed onto the
//! simulated segment. Its VRRP datagrams and gratuitous ARPs are sent at
//! their capture times (shifted to `at`), its addresses rewritten to the
//! scenario's plan, and the simulated directors react to them.
//!
//! ```toml
//! [[recorded_peer]]
//! name = "kal1"                                   # host name in traces
//! pcap = "../../pcaps/keepalived-v2.pcap"         # relative to the scenario
//! source = "192.0.2.150"                          # the capture's node to replay
//! address = "172.17.1.150"                        # its address here (default: source)
//! at = "0s"                                       # when the capture's first packet is
//! rewrite = { "192.0.2.160" = "172.17.1.160" }    # other addresses (VIPs, peers)
//! ```

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use vigil_core::config::Source;
use vigil_core::packet::vrrp::ChecksumContext;
use vigil_core::packet::{MacAddr, frame, ip};

use super::duration;
use super::file::Text;
use crate::replay::{decode, reader};

/// `[[recorded_peer]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedPeerFile {
    /// Host name.
    pub name: Text,
    /// The capture, relative to the scenario file.
    pub pcap: Text,
    /// The node of the capture whose packets are injected.
    pub source: Text,
    /// Its address on the simulated segment (default: `source`).
    pub address: Option<Text>,
    /// When the capture's first packet is (default `0s`).
    pub at: Option<Text>,
    /// Other addresses to rewrite, capture address -> scenario address.
    #[serde(default)]
    pub rewrite: BTreeMap<String, String>,
}

/// What a recorded peer sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Injected {
    /// A VRRP datagram (whole IP datagram) to `dst`.
    Vrrp {
        /// IP destination (the group or a unicast peer).
        dst: IpAddr,
        /// The datagram.
        datagram: Vec<u8>,
    },
    /// A gratuitous ARP / unsolicited NA Ethernet frame (broadcast).
    Announce(Vec<u8>),
}

/// One packet of a recorded peer, at its time in the scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Injection {
    /// When to send it (scenario time).
    pub at: Duration,
    /// The capture's packet number.
    pub index: usize,
    /// What.
    pub what: Injected,
}

/// A validated recorded peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedPeer {
    /// Host name.
    pub name: String,
    /// The capture's path as resolved.
    pub pcap: String,
    /// The capture's node.
    pub source: IpAddr,
    /// Its address on the segment.
    pub address: IpAddr,
    /// Offset of the capture's first packet.
    pub at: Duration,
    /// What it sends, in time order.
    pub packets: Vec<Injection>,
}

/// A problem with one key of one `[[recorded_peer]]`.
pub struct Problem {
    /// The span of the value at fault.
    pub span: Range<usize>,
    /// The key (`recorded_peer[0].pcap`).
    pub key: String,
    /// What is wrong.
    pub message: String,
}

fn addr(t: &Text, key: &str, problems: &mut Vec<Problem>) -> Option<IpAddr> {
    match t.get_ref().parse() {
        Ok(a) => Some(a),
        Err(_) => {
            problems.push(Problem {
                span: t.span(),
                key: key.to_string(),
                message: format!("{:?} is not an IP address", t.get_ref()),
            });
            None
        }
    }
}

/// Loads every `[[recorded_peer]]` of a scenario in directory `dir`.
pub fn load(
    source: &dyn Source,
    dir: &str,
    files: &[RecordedPeerFile],
) -> (Vec<RecordedPeer>, Vec<Problem>) {
    let mut peers = Vec::new();
    let mut problems = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let key = |k: &str| format!("recorded_peer[{i}].{k}");
        let Some(src) = addr(&f.source, &key("source"), &mut problems) else {
            continue;
        };
        let address = match &f.address {
            Some(a) => match addr(a, &key("address"), &mut problems) {
                Some(a) => a,
                None => continue,
            },
            None => src,
        };
        if !address.is_ipv4() {
            problems.push(Problem {
                span: f.address.as_ref().unwrap_or(&f.source).span(),
                key: key("address"),
                message: "the simulator runs IPv4 segments only".into(),
            });
            continue;
        }
        let at = match &f.at {
            Some(t) => match duration::parse(t.get_ref()) {
                Ok(d) => d,
                Err(e) => {
                    problems.push(Problem {
                        span: t.span(),
                        key: key("at"),
                        message: e,
                    });
                    continue;
                }
            },
            None => Duration::ZERO,
        };
        let mut map: BTreeMap<IpAddr, IpAddr> = BTreeMap::new();
        map.insert(src, address);
        let mut bad_map = false;
        for (from, to) in &f.rewrite {
            match (from.parse::<IpAddr>(), to.parse::<IpAddr>()) {
                (Ok(a), Ok(b)) => {
                    map.insert(a, b);
                }
                _ => {
                    problems.push(Problem {
                        span: f.name.span(),
                        key: key("rewrite"),
                        message: format!("{from:?} = {to:?} is not a pair of IP addresses"),
                    });
                    bad_map = true;
                }
            }
        }
        if bad_map {
            continue;
        }
        let path = super::beside(dir, f.pcap.get_ref());
        let decoded = match source
            .read(&path)
            .map_err(|e| format!("{path}: {e}"))
            .and_then(|b| reader::read(&b).map_err(|e| format!("{path}: {e}")))
        {
            Ok(c) => decode::decode(&c),
            Err(e) => {
                problems.push(Problem {
                    span: f.pcap.span(),
                    key: key("pcap"),
                    message: e,
                });
                continue;
            }
        };
        // Adverts behind AH are injected as captured; moved to other
        // addresses they would need re-signing with a key the capture
        // does not hold.
        let ah = decoded
            .packets
            .iter()
            .filter(|p| matches!(&p.what, decode::What::Vrrp(v) if v.meta.src == src && v.ah_seq.is_some()))
            .count();
        if ah > 0 && map.iter().any(|(k, v)| k != v) {
            problems.push(Problem {
                span: f.source.span(),
                key: key("source"),
                message: format!(
                    "{path}: {ah} adverts from {src} are signed with IPsec-AH (auth_type AH): \
                     they cannot be moved to other addresses; record the peer at the addresses \
                     it is replayed at"
                ),
            });
            continue;
        }
        let packets = injections(&decoded, src, &map, at, mac_of(i));
        if !packets
            .iter()
            .any(|p| matches!(p.what, Injected::Vrrp { .. }))
        {
            problems.push(Problem {
                span: f.source.span(),
                key: key("source"),
                message: format!("{path} holds no VRRP advert from {src}"),
            });
            continue;
        }
        peers.push(RecordedPeer {
            name: f.name.get_ref().clone(),
            pcap: path,
            source: src,
            address,
            at,
            packets,
        });
    }
    (peers, problems)
}

/// The MAC address of recorded peer `i` on the segment: 02:00:00:00:01:2d
/// (301) onwards.
pub fn mac_of(i: usize) -> MacAddr {
    MacAddr::local(301 + i as u32)
}

/// The packets of `src` in `d`, rewritten by `map`, shifted by `at`.
pub fn injections(
    d: &decode::Decoded,
    src: IpAddr,
    map: &BTreeMap<IpAddr, IpAddr>,
    at: Duration,
    mac: MacAddr,
) -> Vec<Injection> {
    let re = |a: IpAddr| map.get(&a).copied().unwrap_or(a);
    let mut macs: Vec<MacAddr> = Vec::new();
    let mut out = Vec::new();
    // Announcements are the source's while its advert was the last one
    // (peers on a virtual MAC share the announcing MAC).
    let mut master = false;
    for p in &d.packets {
        if let decode::What::Vrrp(v) = &p.what {
            master = v.meta.src == src && v.priority > 0;
        }
        match &p.what {
            decode::What::Vrrp(v) if v.meta.src == src => {
                if let Some(m) = p.src_mac
                    && !macs.contains(&m)
                {
                    macs.push(m);
                }
                let (s, dst) = (re(v.meta.src), re(v.meta.dst));
                let datagram = if map.keys().all(|k| re(*k) == *k) {
                    v.datagram.clone()
                } else {
                    let message = match &v.advert {
                        Some(a) => {
                            let mut a = a.clone();
                            a.addresses = a.addresses.iter().map(|x| re(*x)).collect();
                            a.to_bytes(&ChecksumContext::new(s, dst))
                        }
                        None => v.message.clone(),
                    };
                    ip::datagram(s, dst, &message)
                };
                out.push(Injection {
                    at: at + p.at,
                    index: p.index,
                    what: Injected::Vrrp { dst, datagram },
                });
            }
            decode::What::Announce { addr, mac: m } if master && macs.contains(m) => {
                out.push(Injection {
                    at: at + p.at,
                    index: p.index,
                    what: Injected::Announce(frame::announcement(mac, re(*addr), false)),
                });
            }
            _ => {}
        }
    }
    out
}
