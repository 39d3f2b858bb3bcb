//! Replays of synthetic captures: a SIGKILL failover Vigil agrees with,
//! one it does not, a master at capture start, a priority-0 stop, and
//! captures the replay cannot vouch for (corrupted, cut, behind AH).

use std::net::IpAddr;
use std::time::Duration;

use vigil_core::packet::frame;
use vigil_core::packet::vrrp::{self, Advert, Auth, ChecksumContext, Interval, Version};
use vigil_core::packet::{Family, MacAddr};

use super::reader::tests::pcap;
use super::*;

const LB2: &str = "
vrrp_instance apache {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 90
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass 1111
    }
    virtual_ipaddress {
        192.0.2.160
    }
}
";

fn config(text: &str) -> Config {
    let p = vigil_core::config::parse_str("lb2.conf", text);
    p.config.expect("config parses")
}

fn advert(src: &str, mac: u32, prio: u8) -> Vec<u8> {
    let src: IpAddr = src.parse().unwrap();
    let dst = vrrp::group(Family::V4);
    let a = Advert {
        version: Version::V2,
        vrid: 51,
        priority: prio,
        interval: Interval::Seconds(1),
        auth: Auth::pass("1111"),
        addresses: vec!["192.0.2.160".parse().unwrap()],
    };
    frame::vrrp(
        MacAddr::local(mac),
        MacAddr::BROADCAST,
        src,
        dst,
        &a.to_bytes(&ChecksumContext::new(src, dst)),
    )
}

fn garp(mac: u32) -> Vec<u8> {
    frame::gratuitous_arp(MacAddr::local(mac), "192.0.2.160".parse().unwrap())
}

const T0: u64 = 1_700_000_000_000_000_000;
const MS: u64 = 1_000_000;

/// lb1 advertises from 0.2 s to 5.2 s then dies; lb2 takes over `after`
/// its last advert (advert, then 5 GARPs): packets 1-6 are lb1's
/// adverts, 7 and 13 lb2's.
fn sigkill_frames(after: Duration) -> Vec<(u64, Vec<u8>)> {
    let mut recs: Vec<(u64, Vec<u8>)> = Vec::new();
    for k in 0..6 {
        recs.push((T0 + 200 * MS + k * 1000 * MS, advert("192.0.2.150", 1, 100)));
    }
    let take = T0 + 5200 * MS + after.as_nanos() as u64;
    recs.push((take, advert("192.0.2.151", 2, 90)));
    for g in 0..5 {
        recs.push((take + 10_000 + g * 1000, garp(2)));
    }
    recs.push((take + 1000 * MS, advert("192.0.2.151", 2, 90)));
    recs
}

/// A nanosecond pcap of whole frames.
fn to_pcap(recs: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let r: Vec<(u64, &[u8], u32)> = recs
        .iter()
        .map(|(t, d)| (*t, &d[..], d.len() as u32))
        .collect();
    pcap(1, true, 65535, &r)
}

fn sigkill(after: Duration) -> Vec<u8> {
    to_pcap(&sigkill_frames(after))
}

const TAKEOVER: Duration = Duration::from_nanos(3_648_437_500);

/// Whether `frame` is an IPv4 VRRP advert from `src`.
fn is_advert_from(frame: &[u8], src: [u8; 4]) -> bool {
    frame.len() > 34 && frame[14 + 9] == 112 && frame[14 + 12..14 + 16] == src
}

fn replay_as_lb2(bytes: &[u8]) -> Report {
    let opts = Options {
        node: Some("192.0.2.151".parse().unwrap()),
        ..Options::default()
    };
    replay(bytes, "sigkill.pcap", &config(LB2), "lb2.conf", &opts).unwrap()
}

#[test]
fn sigkill_takeover_agrees() {
    let r = replay_as_lb2(&sigkill(Duration::from_nanos(3_648_437_500)));
    assert!(r.passed(), "{}", r.text);
    let row = &r.verdict.rows[0];
    assert_eq!(row.change, "-> master");
    assert_eq!(row.diff(), Some(0));
    assert_eq!(
        row.capture_since.unwrap().0,
        Duration::from_nanos(3_648_437_500)
    );
    assert!(
        r.text.contains(
            "PASS: Vigil agrees with the capture within 5ms on every state change it can \
             check (1 checked, 0 unseen-start, 0 given, 0 input)"
        ),
        "{}",
        r.text
    );
    assert!(
        r.text
            .contains("the node in the capture: 2 adverts, 5 announcements"),
        "{}",
        r.text
    );
}

#[test]
fn early_takeover_is_named() {
    let r = replay_as_lb2(&sigkill(Duration::from_millis(3620)));
    assert!(!r.passed());
    let f = r.verdict.first_disagreement.clone().unwrap();
    assert_eq!(
        f,
        "#1 apache -> master: the capture has it at +0008.620000s, Vigil at +0008.648437s: \
         Vigil later by 28.437ms (tolerance 5ms); the real node took over 3620ms after \
         192.0.2.150's last advert where the RFC's interval, which Vigil keeps, is 3648.437ms: \
         a disagreement of the peer with the RFC, by -28.437ms"
    );
    // A wide tolerance would hide it; the default does not.
    let wide = replay(
        &sigkill(Duration::from_millis(3620)),
        "x",
        &config(LB2),
        "lb2.conf",
        &Options {
            node: Some("192.0.2.151".parse().unwrap()),
            tolerance: Duration::from_millis(30),
            ..Options::default()
        },
    )
    .unwrap();
    assert!(wide.passed());
}

#[test]
fn master_at_capture_start_is_given() {
    // Replay as lb1: it advertised at once, so it was master already.
    let lb1 = LB2.replace("priority 90", "priority 100");
    let r = replay(
        &sigkill(Duration::from_nanos(3_648_437_500)),
        "sigkill.pcap",
        &config(&lb1),
        "lb1.conf",
        &Options::default(),
    )
    .unwrap();
    assert_eq!(r.node, "192.0.2.150".parse::<IpAddr>().unwrap());
    assert_eq!(r.verdict.rows[0].status, verdict::Status::Given);
    assert_eq!(r.verdict.rows[0].diff(), Some(0), "{}", r.text);
    // Its adverts then cease with no better master: it vanished (input).
    assert_eq!(r.verdict.rows[1].change, "master -> gone");
    // Nothing of the real node could be checked: not a pass.
    assert_eq!(r.outcome(), verdict::Outcome::NotChecked, "{}", r.text);
    assert!(!r.passed());
    assert!(
        r.text.ends_with(
            "NOT CHECKED: the capture shows no state change of the real node that Vigil could \
             check (0 checked, 0 unseen-start, 1 given, 1 input)\n"
        ),
        "{}",
        r.text
    );
    assert!(
        r.text.contains("fault crash cause=adverts-ceased"),
        "{}",
        r.text
    );
}

#[test]
fn priority_zero_stop_then_skew_takeover() {
    // lb1 stops gracefully at 3.2 s; lb2 takes over after its skew.
    let skew = Duration::from_nanos(648_437_500);
    let mut recs: Vec<(u64, Vec<u8>)> = Vec::new();
    for k in 0..3 {
        recs.push((T0 + 200 * MS + k * 1000 * MS, advert("192.0.2.150", 1, 100)));
    }
    recs.push((T0 + 3200 * MS, advert("192.0.2.150", 1, 0)));
    recs.push((
        T0 + 3200 * MS + skew.as_nanos() as u64 + 200_000,
        advert("192.0.2.151", 2, 90),
    ));
    let r: Vec<(u64, &[u8], u32)> = recs
        .iter()
        .map(|(t, d)| (*t, &d[..], d.len() as u32))
        .collect();
    let rep = replay_as_lb2(&pcap(1, false, 65535, &r));
    assert!(rep.passed(), "{}", rep.text);
    let row = &rep.verdict.rows[0];
    // Microsecond timestamps: the capture's 0.2 ms lead is 0.1995 ms.
    assert_eq!(row.diff(), Some(-199_500));
    assert_eq!(row.vigil_since.unwrap().0, skew);
}

#[test]
fn bad_checksums_are_counted_as_the_node_counts_them() {
    let mut bytes = Vec::new();
    let mut recs: Vec<(u64, Vec<u8>)> = Vec::new();
    for k in 0..3 {
        let mut a = advert("192.0.2.150", 1, 100);
        if k == 1 {
            a[14 + 20 + 7] ^= 0x55;
        }
        recs.push((T0 + k * 1000 * MS, a));
    }
    let r: Vec<(u64, &[u8], u32)> = recs
        .iter()
        .map(|(t, d)| (*t, &d[..], d.len() as u32))
        .collect();
    bytes.extend(pcap(1, false, 65535, &r));
    let rep = replay_as_lb2(&bytes);
    assert!(
        rep.text
            .contains("note: packet 2: vrrp from 192.0.2.150 has a wrong checksum")
    );
    assert!(rep.text.contains("adverts_received=2"), "{}", rep.text);
    assert!(rep.text.contains("checksum_errors=1"), "{}", rep.text);
    assert!(rep.text.contains("reject src=192.0.2.150 reason=checksum"));
    // The real node may have received it intact: not checked.
    assert_eq!(rep.outcome(), verdict::Outcome::NotChecked);
    assert!(
        rep.text.contains(
            "NOT CHECKED: 1 advert of VRID 51 skipped (wrong VRRP checksum, first at packet #2)"
        ),
        "{}",
        rep.text
    );
}

#[test]
fn corrupted_node_adverts_are_not_checked() {
    // The failover Vigil agrees with, lb2's own adverts corrupted in
    // their checksum field.
    let mut recs = sigkill_frames(TAKEOVER);
    assert!(replay_as_lb2(&to_pcap(&recs)).passed());
    for (_, f) in &mut recs {
        if is_advert_from(f, [192, 0, 2, 151]) {
            f[14 + 20 + 6] ^= 0xff;
            f[14 + 20 + 7] ^= 0xff;
        }
    }
    let r = replay_as_lb2(&to_pcap(&recs));
    assert_eq!(r.outcome(), verdict::Outcome::NotChecked, "{}", r.text);
    assert!(!r.passed());
    assert!(
        r.text.ends_with(
            "NOT CHECKED: 2 adverts of VRID 51 skipped (wrong VRRP checksum, first at packet #7); \
             1 state change checked (0 unseen-start, 0 given, 0 input)\n"
        ),
        "{}",
        r.text
    );
}

#[test]
fn a_node_advert_with_a_corrupted_vrid_is_still_the_instance_s() {
    // lb2's second advert (packet 13) shows VRID 52: with its checksum
    // wrong, that field cannot be believed, and lb2 advertises VRID 51.
    let mut recs = sigkill_frames(TAKEOVER);
    recs[12].1[14 + 20 + 1] = 52;
    let r = replay_as_lb2(&to_pcap(&recs));
    assert_eq!(r.outcome(), verdict::Outcome::NotChecked, "{}", r.text);
    assert!(
        r.text.contains(
            "NOT CHECKED: 1 advert of VRID 51 skipped (wrong VRRP checksum, first at packet #13)"
        ),
        "{}",
        r.text
    );
}

#[test]
fn a_packet_without_a_time_is_not_checked() {
    // lb1's last advert before its death (packet 6) has a timestamp
    // fraction of more than a second: the reader cannot place it.
    let recs = sigkill_frames(TAKEOVER);
    let mut bytes = to_pcap(&recs);
    // Global header 24 bytes, then records of 16 + frame bytes.
    let at: usize = 24 + recs[..5].iter().map(|r| 16 + r.1.len()).sum::<usize>();
    bytes[at + 4..at + 8].copy_from_slice(&2_000_000_000u32.to_le_bytes());
    let r = replay_as_lb2(&bytes);
    assert!(
        r.text
            .contains("note: packet 6: timestamp fraction 2000000000 is not below one second"),
        "{}",
        r.text
    );
    assert_eq!(r.outcome(), verdict::Outcome::NotChecked, "{}", r.text);
    assert!(
        r.text.contains(
            "NOT CHECKED: 1 advert of VRID 51 skipped (malformed: timestamp fraction 2000000000 \
             is not below one second, first at packet #6)"
        ),
        "{}",
        r.text
    );
}

#[test]
fn cut_node_adverts_are_not_checked() {
    // lb2's adverts cut by a 40-byte snap length: its takeover cannot be
    // seen, and Vigil's node taking over alone is not a disagreement.
    let recs = sigkill_frames(TAKEOVER);
    let r: Vec<(u64, &[u8], u32)> = recs
        .iter()
        .map(|(t, d)| {
            let cut = if is_advert_from(d, [192, 0, 2, 151]) {
                40
            } else {
                d.len()
            };
            (*t, &d[..cut], d.len() as u32)
        })
        .collect();
    let rep = replay_as_lb2(&pcap(1, true, 65535, &r));
    assert_eq!(rep.outcome(), verdict::Outcome::NotChecked, "{}", rep.text);
    assert_eq!(rep.verdict.rows[0].status, verdict::Status::AfterSkip);
    assert!(
        rep.text.ends_with(
            "NOT CHECKED: 2 adverts of VRID 51 skipped (cut by the snap length, first at packet \
             #7); 0 state changes checked (0 unseen-start, 0 given, 0 input, 1 after-skip)\n"
        ),
        "{}",
        rep.text
    );
    assert!(rep.text.contains("\nafter-skip: "), "{}", rep.text);
}

/// An IPv4 VRRPv2 advert of `vrid` behind an AH header, as keepalived
/// sends it with `auth_type AH` (VRRP auth type 2).
/// An advert of `vrid` signed with keepalived's IPsec-AH under `key`,
/// AH sequence number `seq`.
fn ah_advert(src: &str, mac: u32, vrid: u8, prio: u8, seq: u32, key: &[u8; 8]) -> Vec<u8> {
    let src: IpAddr = src.parse().unwrap();
    let dst = vrrp::group(Family::V4);
    let a = Advert {
        version: Version::V2,
        vrid,
        priority: prio,
        interval: Interval::Seconds(1),
        auth: Auth::Other {
            kind: 2,
            data: [0; 8],
        },
        addresses: vec!["192.0.2.160".parse().unwrap()],
    };
    let msg = a.to_bytes(&ChecksumContext::new(src, dst));
    let (IpAddr::V4(s4), IpAddr::V4(d4)) = (src, dst) else {
        unreachable!("IPv4 test addresses")
    };
    let seal = vigil_core::packet::ah::Seal {
        key: *key,
        seq,
        id: seq as u16,
        unicast: false,
    };
    frame::datagram(
        MacAddr::local(mac),
        MacAddr::BROADCAST,
        dst,
        &vigil_core::packet::ah::datagram(s4, d4, &msg, &seal),
    )
}

/// The SIGKILL story with every advert behind AH, signed with `key`.
fn ah_story(key: &[u8; 8]) -> Vec<(u64, Vec<u8>)> {
    let mut recs = sigkill_frames(TAKEOVER);
    let mut seq = [0u32; 2];
    for (_, f) in &mut recs {
        for (n, (src, mac, prio)) in [([192, 0, 2, 150], 1, 100), ([192, 0, 2, 151], 2, 90)]
            .into_iter()
            .enumerate()
        {
            if is_advert_from(f, src) {
                seq[n] += 1;
                let s = IpAddr::from(src).to_string();
                *f = ah_advert(&s, mac, 51, prio, seq[n], key);
            }
        }
    }
    recs
}

#[test]
fn ah_failover_is_checked_under_the_key() {
    let ah = LB2.replace("auth_type PASS", "auth_type AH");
    let opts = Options {
        node: Some("192.0.2.151".parse().unwrap()),
        ..Options::default()
    };
    let recs = ah_story(b"1111\0\0\0\0");
    let r = replay(&to_pcap(&recs), "ah.pcap", &config(&ah), "lb2.conf", &opts).unwrap();
    assert_eq!(r.outcome(), verdict::Outcome::Pass, "{}", r.text);
    assert!(r.verdict.skipped.is_empty(), "{}", r.text);
    assert!(!r.text.contains("auth_failures"), "{}", r.text);
    // Signed with another key: every one of lb1's adverts is refused
    // and counted, and the node takes over 5 s before the real one did.
    let recs = ah_story(b"2222\0\0\0\0");
    let r = replay(&to_pcap(&recs), "ah.pcap", &config(&ah), "lb2.conf", &opts).unwrap();
    assert!(r.text.contains("auth_failures=6"), "{}", r.text);
    assert!(r.text.contains("-5000ms"), "{}", r.text);
}

#[test]
fn other_vrids_do_not_matter() {
    // AH and a corrupted advert of VRID 52 beside the failover of 51.
    let mut recs = sigkill_frames(TAKEOVER);
    recs.push((
        T0 + 300 * MS,
        ah_advert("192.0.2.152", 3, 52, 100, 1, b"1111\0\0\0\0"),
    ));
    let mut bad = advert("192.0.2.152", 3, 100);
    bad[14 + 20 + 1] = 52;
    recs.push((T0 + 400 * MS, bad));
    recs.sort_by_key(|r| r.0);
    let r = replay_as_lb2(&to_pcap(&recs));
    assert!(r.verdict.skipped.is_empty(), "{:?}", r.verdict.skipped);
    assert_eq!(r.outcome(), verdict::Outcome::Pass, "{}", r.text);
}

#[test]
fn a_disagreement_before_skipped_frames_fails() {
    // FRR-like early takeover, then a corrupted advert of the instance.
    let mut recs = sigkill_frames(Duration::from_millis(3620));
    let mut bad = advert("192.0.2.152", 3, 50);
    bad[14 + 20 + 6] ^= 0xff;
    recs.push((T0 + 12_000 * MS, bad));
    let r = replay_as_lb2(&to_pcap(&recs));
    assert_eq!(r.outcome(), verdict::Outcome::Fail, "{}", r.text);
    let last = r.text.lines().last().unwrap();
    assert!(last.starts_with("FAIL: #1 apache -> master"), "{last}");
    assert!(
        last.ends_with(
            "; besides, 1 advert of VRID 51 skipped (wrong VRRP checksum, first at packet #14)"
        ),
        "{last}"
    );
}

#[test]
fn unknown_node_is_explained() {
    let lb3 = LB2.replace("priority 90", "priority 42");
    let e = replay(
        &sigkill(Duration::from_secs(3)),
        "x.pcap",
        &config(&lb3),
        "lb3.conf",
        &Options::default(),
    )
    .unwrap_err();
    assert_eq!(
        e.0,
        "lb3.conf names no unicast_src_ip and the capture does not show the node at the \
         configured priority: give --as ADDRESS (sources in the capture: 192.0.2.150 (vrid 51 \
         prio 100), 192.0.2.151 (vrid 51 prio 90))"
    );
}

#[test]
fn formatting() {
    assert_eq!(fmt_offset(3_648_437_500), "+0003.648437s");
    assert_eq!(fmt_offset(-1_500_000), "-0000.001500s");
    assert_eq!(fmt_diff(8_906_250), "+8.906ms");
    assert_eq!(fmt_diff(-1_000_000_000), "-1000ms");
    assert_eq!(fmt_diff(0), "0ms");
}
