//! `vrrp_strict` against the real keepalived 2.2.7: the stock upstream
//! config shape (`vrrp_strict` with `auth_type PASS`, `state MASTER` on a
//! non-owner) on a mixed pair, both directions. keepalived drops the
//! authentication in strict mode and starts the non-owner as BACKUP;
//! Vigil must do the same, or the two reject each other's adverts and both
//! hold the VIP. Judged by who holds the VIP once the election settled.

use std::time::Duration;

use vigil_netns::ns;
use vigil_netns::solo::{self, Daemon, Director};

const VIP: &str = "192.0.2.171";

fn config(priority: u8) -> String {
    format!(
        "global_defs {{\n    vrrp_strict\n}}\n\
         vrrp_instance VI_1 {{\n    state MASTER\n    interface eth0\n    virtual_router_id 71\n    \
         priority {priority}\n    advert_int 1\n    authentication {{\n        auth_type PASS\n        \
         auth_pass 1111\n    }}\n    virtual_ipaddress {{\n        {VIP}\n    }}\n}}\n"
    )
}

/// `high` (priority 150) and `low` (100) on one segment; who holds the VIP
/// after the election, as (high, low).
fn pair(high: Daemon, low: Daemon) -> (bool, bool) {
    let mut p = solo::pair(
        "st",
        [
            Director::new("h", high, &["192.0.2.31/24"], config(150)),
            Director::new("l", low, &["192.0.2.32/24"], config(100)),
        ],
    );
    let lab = &p.lab;
    // Both start as BACKUP (strict mode: not the owner), the higher one
    // wins after one master-down interval (about 3.4 s); give it 8 s.
    let settled = ns::wait_for(Duration::from_secs(8), "one VIP holder", || {
        let (h, l) = (lab.get("h").has_addr(VIP), lab.get("l").has_addr(VIP));
        (h && !l).then_some(())
    });
    // And it stays that way for a few more adverts.
    std::thread::sleep(Duration::from_secs(3));
    let held = (lab.get("h").has_addr(VIP), lab.get("l").has_addr(VIP));
    p.kill();
    if settled.is_err() || held != (true, false) {
        p.lab.keep();
    }
    held
}

#[test]
fn strict_pass_pair_elects_one_master_both_ways() {
    if !ns::require_root("strict_pass_pair_elects_one_master_both_ways") {
        return;
    }
    let reference = pair(Daemon::Keepalived, Daemon::Keepalived);
    assert_eq!(reference, (true, false), "keepalived with keepalived");
    for (high, low) in [
        (Daemon::Vigild, Daemon::Keepalived),
        (Daemon::Keepalived, Daemon::Vigild),
    ] {
        assert_eq!(
            pair(high, low),
            reference,
            "{} (priority 150) with {} (priority 100): VIP holders (high, low)",
            high.name(),
            low.name()
        );
    }
}
