//! The harness's real means, one by one, on namespaces: a real server's
//! modes as an HTTP client sees them (the client the IPVS lane uses), and
//! a partition as nftables rules on the bridge.

use std::net::SocketAddr;
use std::time::Duration;

use vigil_netns::harness::client::get;
use vigil_netns::harness::links::{Cut, Links};
use vigil_netns::harness::real_server::{self, RealServer};
use vigil_netns::ns::{self, Lab};
use vigil_sim::record::Outcome;
use vigil_sim::scenario::RsMode;

/// One GET from the client's namespace.
fn get_from(netns: &str, target: SocketAddr, timeout: Duration, pages: &[String]) -> Outcome {
    let pages = pages.to_vec();
    ns::spawn_in(netns, move || get(target, timeout, &pages))
        .join()
        .expect("client thread")
}

/// Waits (up to 5 s) until a GET gives `want`.
fn wait_outcome(
    netns: &str,
    target: SocketAddr,
    pages: &[String],
    want: &Outcome,
    timeout: Duration,
) {
    let mut last = None;
    let r = ns::wait_for(Duration::from_secs(5), &format!("{want:?}"), || {
        let o = get_from(netns, target, timeout, pages);
        let hit = o == *want;
        last = Some(o);
        hit.then_some(())
    });
    assert!(r.is_ok(), "wanted {want:?}, last got {last:?}");
}

#[test]
fn real_server_modes_and_partitions() {
    if !ns::require_root("real_server_modes_and_partitions") {
        return;
    }
    let mut lab = Lab::new("parts");
    lab.host("rs1", &["192.0.2.152/24"]);
    lab.host("client", &["192.0.2.200/24"]);
    let rs = lab.get("rs1");
    real_server::setup_dr(rs, &["192.0.2.160".parse().unwrap()]);
    assert!(rs.has_addr("192.0.2.160"), "VIP on lo");
    let arp = rs.exec("sysctl", &["-n", "net.ipv4.conf.all.arp_ignore"]);
    assert_eq!(String::from_utf8_lossy(&arp.stdout).trim(), "1");
    let server = RealServer::start(rs.name(), 80, "yunweimao", "rs1");
    let client = lab.get("client").name().to_string();
    let target: SocketAddr = "192.0.2.152:80".parse().unwrap();
    let pages = vec!["yunweimao".to_string(), "maoxiaopu".to_string()];
    let second = Duration::from_secs(1);

    wait_outcome(&client, target, &pages, &Outcome::Ok { server: 0 }, second);
    server.set(RsMode::Status(500));
    wait_outcome(&client, target, &pages, &Outcome::Status(500), second);
    server.set(RsMode::Body("defaced".into()));
    wait_outcome(&client, target, &pages, &Outcome::WrongPage, second);
    server.set(RsMode::Slow(Duration::from_millis(300)));
    assert_eq!(
        get_from(&client, target, Duration::from_millis(100), &pages),
        Outcome::Timeout
    );
    assert_eq!(
        get_from(&client, target, second, &pages),
        Outcome::Ok { server: 0 }
    );
    server.set(RsMode::Hang);
    assert_eq!(
        get_from(&client, target, Duration::from_millis(300), &pages),
        Outcome::Timeout
    );
    server.set(RsMode::Refuse);
    wait_outcome(&client, target, &pages, &Outcome::Refused, second);
    server.set(RsMode::Ok);
    wait_outcome(&client, target, &pages, &Outcome::Ok { server: 0 }, second);

    // A partition on the bridge cuts the client off; healing restores it.
    let mut links = Links::default();
    let (pc, pr) = (lab.port("client"), lab.port("rs1"));
    links.set(&pc, &pr, Some(Cut::Partition));
    links.set(&pr, &pc, Some(Cut::Partition));
    links.apply(lab.bridge().name()).unwrap();
    assert_eq!(
        get_from(&client, target, Duration::from_millis(500), &pages),
        Outcome::Timeout
    );
    links.heal(&pc, &pr);
    links.heal(&pr, &pc);
    links.apply(lab.bridge().name()).unwrap();
    wait_outcome(&client, target, &pages, &Outcome::Ok { server: 0 }, second);

    // A crashed host: cable pulled, nothing answers.
    server.crash(true);
    lab.set_port("rs1", false);
    assert_ne!(
        get_from(&client, target, Duration::from_millis(500), &pages),
        Outcome::Ok { server: 0 }
    );
    lab.set_port("rs1", true);
    server.crash(false);
    wait_outcome(&client, target, &pages, &Outcome::Ok { server: 0 }, second);
}
