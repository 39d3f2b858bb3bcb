//! A recorded peer in the simulator: keepalived's lb1 from
//! pcaps/keepalived-v2.pcap injected onto the segment (moved to the seed's
//! addresses), and a simulated lb2 reacting to it as the real lb2 did.

use std::time::Duration;
use vigil_core::config::MemorySource;
use vigil_core::config::source::FsSource;

use vigil_sim::replay::{decode, reader};
use vigil_sim::{scenario, world};

const PATH: &str = "pcaps/scenarios/recorded-keepalived.toml";

fn root() {
    std::env::set_current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).unwrap();
}

#[test]
fn recorded_keepalived_peer_drives_a_simulated_director() {
    root();
    let s = scenario::load(&FsSource, PATH).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(s.recorded_peers.len(), 1);
    let outcome = vigil_sim::run(&s, &world::Options::default()).unwrap();
    let text = format!(
        "{}{}{}",
        vigil_sim::render_trace(&s, &outcome.run),
        outcome.verdict.summary,
        outcome.verdict.render()
    );
    assert!(outcome.verdict.pass(), "{text}");
    // lb2 takes over one master-down interval (3648.4375 ms) after the
    // recorded lb1's last advert before its SIGKILL, give or take the
    // simulator's 1 ms tick twice (injection, timer) and 100 us of latency.
    let capture = std::fs::read("pcaps/keepalived-v2.pcap").unwrap();
    let d = decode::decode(&reader::read(&capture).unwrap());
    let lb1: Vec<Duration> = d
        .packets
        .iter()
        .filter_map(|p| match &p.what {
            decode::What::Vrrp(v) if v.meta.src.to_string() == "192.0.2.150" => Some(p.at),
            _ => None,
        })
        .collect();
    let last = lb1
        .windows(2)
        .find(|w| w[1] - w[0] > Duration::from_secs(2))
        .map(|w| w[0])
        .expect("a gap in lb1's adverts (its SIGKILL)");
    let takeover = outcome
        .run
        .rec
        .trace
        .iter()
        .filter(|r| {
            r.to_string()
                .contains("to=master reason=master-down-timeout")
        })
        .map(|r| r.at.since_origin())
        .find(|t| *t > last)
        .expect("lb2 takes over after lb1's SIGKILL");
    let after = takeover - last;
    assert!(
        after >= Duration::from_nanos(3_648_437_500) && after <= Duration::from_millis(3651),
        "lb2 took over {after:?} after lb1's last advert"
    );
    insta::with_settings!({ snapshot_path => "../../pcaps/snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("sim__recorded_keepalived", text);
    });
}

#[test]
fn recorded_peer_errors_name_the_key() {
    let toml = r#"
duration = "5s"
[[director]]
name = "lb2"
address = "192.0.2.151"
config = "lb2.conf"
[[recorded_peer]]
name = "p"
pcap = "missing.pcap"
source = "192.0.2.150"
[[recorded_peer]]
name = "q"
pcap = "x.pcap"
source = "nope"
"#;
    let conf = "vrrp_instance v { interface eth0\n virtual_router_id 51\n priority 90\n virtual_ipaddress { 192.0.2.160 } }\n";
    let src = MemorySource::new()
        .with("s/scenario.toml", toml)
        .with("s/lb2.conf", conf);
    let errors: Vec<String> = scenario::load(&src, "s/scenario.toml")
        .unwrap_err()
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(
        errors,
        [
            "s/scenario.toml:9:8: error: recorded_peer[0].pcap: s/missing.pcap: no such file",
            "s/scenario.toml:14:10: error: recorded_peer[1].source: \"nope\" is not an IP address",
        ]
    );
}

#[test]
fn recorded_peer_behind_ah_moved_elsewhere_is_refused() {
    // keepalived's lb1 from keepalived-ah.pcap: every advert signed with
    // IPsec-AH over its addresses; moved to another address it would need
    // re-signing with a key the capture does not hold.
    root();
    let toml = r#"
duration = "5s"
[[director]]
name = "lb2"
address = "192.0.2.151"
config = "lb2.conf"
[[recorded_peer]]
name = "p"
pcap = "ah.pcap"
source = "192.0.2.150"
address = "192.0.2.152"
"#;
    let conf = "vrrp_instance v { interface eth0\n virtual_router_id 51\n priority 90\n virtual_ipaddress { 192.0.2.160 } }\n";
    let src = MemorySource::new()
        .with("s/scenario.toml", toml)
        .with("s/lb2.conf", conf)
        .with(
            "s/ah.pcap",
            std::fs::read("pcaps/keepalived-ah.pcap").unwrap(),
        );
    let errors: Vec<String> = scenario::load(&src, "s/scenario.toml")
        .unwrap_err()
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(
        errors,
        [
            "s/scenario.toml:10:10: error: recorded_peer[0].source: s/ah.pcap: 9 adverts from \
             192.0.2.150 are signed with IPsec-AH (auth_type AH): they cannot be moved to other \
             addresses; record the peer at the addresses it is replayed at"
        ]
    );
    // At its own address it loads: its adverts go out as captured.
    let toml = toml.replace("address = \"192.0.2.152\"\n", "");
    let src = src.with("s/scenario.toml", toml);
    assert!(scenario::load(&src, "s/scenario.toml").is_ok());
}
