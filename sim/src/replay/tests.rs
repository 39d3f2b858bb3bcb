//! Replays of synthetic captures: a SIGKILL failover Vigil agrees with,
//! one it does not, a master at capture start, and a priority-0 stop.

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
/// its last advert (advert, then 5 GARPs).
fn sigkill(after: Duration) -> Vec<u8> {
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
    let r: Vec<(u64, &[u8], u32)> = recs
        .iter()
        .map(|(t, d)| (*t, &d[..], d.len() as u32))
        .collect();
    pcap(1, true, 65535, &r)
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
    assert!(r.passed(), "{}", r.text);
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
