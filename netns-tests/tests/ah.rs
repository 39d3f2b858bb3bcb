//! `auth_type AH` against the real keepalived 2.2.7: a pair signing its
//! adverts with IPsec-AH (HMAC-MD5-96 under `auth_pass`), vigild on one
//! side and keepalived on the other, both ways. Each side must accept the
//! other's signed adverts, or both hold the VIP; and with different keys
//! each must refuse the other's, as keepalived does. Judged by who holds
//! the VIP once the election settled, against keepalived with keepalived.

use std::time::Duration;

use vigil_netns::ns;
use vigil_netns::solo::{self, Daemon, Director};

const VIP: &str = "192.0.2.175";

fn config(priority: u8, key: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 75\n    \
         priority {priority}\n    advert_int 1\n    authentication {{\n        auth_type AH\n        \
         auth_pass {key}\n    }}\n    virtual_ipaddress {{\n        {VIP}\n    }}\n}}\n"
    )
}

/// `high` (priority 150, key `kh`) and `low` (100, key `kl`) on one
/// segment; who holds the VIP after the election, as (high, low).
fn pair(high: Daemon, low: Daemon, kh: &str, kl: &str) -> (bool, bool) {
    let mut p = solo::pair(
        "ah",
        [
            Director::new("h", high, &["192.0.2.35/24"], config(150, kh)),
            Director::new("l", low, &["192.0.2.36/24"], config(100, kl)),
        ],
    );
    let lab = &p.lab;
    // Both start as BACKUP; the higher wins after about 3.4 s, the lower
    // hears it from then on. Give it 6 s, then watch a few more adverts.
    std::thread::sleep(Duration::from_secs(6));
    let _ = ns::wait_for(Duration::from_secs(2), "one VIP holder", || {
        let (h, l) = (lab.get("h").has_addr(VIP), lab.get("l").has_addr(VIP));
        (h != l).then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    let held = (lab.get("h").has_addr(VIP), lab.get("l").has_addr(VIP));
    p.kill();
    held
}

#[test]
fn ah_pair_interoperates_with_keepalived_both_ways() {
    if !ns::require_root("ah_pair_interoperates_with_keepalived_both_ways") {
        return;
    }
    let same = pair(Daemon::Keepalived, Daemon::Keepalived, "s3cret", "s3cret");
    assert_eq!(same, (true, false), "keepalived with keepalived, one key");
    let differ = pair(Daemon::Keepalived, Daemon::Keepalived, "s3cret", "other");
    assert_eq!(differ, (true, true), "keepalived with keepalived, two keys");
    for (high, low) in [
        (Daemon::Vigild, Daemon::Keepalived),
        (Daemon::Keepalived, Daemon::Vigild),
    ] {
        for ((kh, kl), want) in [(("s3cret", "s3cret"), same), (("s3cret", "other"), differ)] {
            assert_eq!(
                pair(high, low, kh, kl),
                want,
                "{} (priority 150, key {kh}) with {} (priority 100, key {kl}): VIP holders (high, low)",
                high.name(),
                low.name()
            );
        }
    }
}
