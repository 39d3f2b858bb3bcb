//! `vrrp_sync_group` against the real keepalived 2.2.7: a pair of
//! directors, each with an instance on `eth0` and one on `eth1` tied in a
//! sync group. The master's `eth1` goes down: keepalived moves the whole
//! group to FAULT (the `eth0` instance too, with a priority-0 advert), so
//! the backup takes both addresses. Vigil must do the same whichever side
//! it runs on; a Vigil that ran the instances on their own would keep the
//! `eth0` address on the master while the backup's group, held back by
//! its `eth0` member, took neither. Judged by who holds each address
//! after the election and again after the fault, both directions.

use std::time::Duration;

use vigil_netns::ns::{self, Lab};
use vigil_netns::solo::{self, Daemon, Director};

const VIP_OUT: &str = "192.0.2.181";
const VIP_IN: &str = "198.51.100.182";

fn config(priority: u8) -> String {
    format!(
        "vrrp_sync_group G {{\n    group {{\n        out\n        in\n    }}\n}}\n\
         vrrp_instance out {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 81\n    \
         priority {priority}\n    advert_int 1\n    virtual_ipaddress {{\n        {VIP_OUT}\n    }}\n}}\n\
         vrrp_instance in {{\n    state BACKUP\n    interface eth1\n    virtual_router_id 82\n    \
         priority {priority}\n    advert_int 1\n    virtual_ipaddress {{\n        {VIP_IN}\n    }}\n}}\n"
    )
}

/// Who holds (VIP_OUT, VIP_IN), as role names.
fn holders(lab: &Lab) -> (Vec<String>, Vec<String>) {
    (lab.holders(VIP_OUT), lab.holders(VIP_IN))
}

/// `high` (priority 150) and `low` (100); who holds each address once the
/// election settled and once `high`'s eth1 went down.
fn pair(high: Daemon, low: Daemon) -> [(Vec<String>, Vec<String>); 2] {
    let mut p = solo::pair(
        "sg",
        [
            Director::new(
                "h",
                high,
                &["192.0.2.41/24", "198.51.100.41/24"],
                config(150),
            ),
            Director::new(
                "l",
                low,
                &["192.0.2.42/24", "198.51.100.42/24"],
                config(100),
            ),
        ],
    );
    let lab = &p.lab;
    let both_on = |role: &str| {
        let want = vec![role.to_string()];
        move |lab: &Lab| {
            let (o, i) = holders(lab);
            (o == want && i == want).then_some(())
        }
    };
    // The higher group wins after about 3.4 s.
    let first = ns::wait_for(Duration::from_secs(10), "h holds both", || {
        both_on("h")(lab)
    });
    std::thread::sleep(Duration::from_secs(2));
    let elected = holders(lab);
    lab.get("h").ip(&["link", "set", "eth1", "down"]);
    // The low group takes over after a skew time (priority 0 on eth0).
    let second = ns::wait_for(Duration::from_secs(10), "l holds both", || {
        both_on("l")(lab)
    });
    std::thread::sleep(Duration::from_secs(3));
    let failed_over = holders(lab);
    p.kill();
    if first.is_err() || second.is_err() {
        p.lab.keep();
    }
    [elected, failed_over]
}

#[test]
fn sync_group_interface_down_moves_the_whole_group_both_ways() {
    if !ns::require_root("sync_group_interface_down_moves_the_whole_group_both_ways") {
        return;
    }
    let h = || vec!["h".to_string()];
    let l = || vec!["l".to_string()];
    let reference = pair(Daemon::Keepalived, Daemon::Keepalived);
    assert_eq!(
        reference,
        [(h(), h()), (l(), l())],
        "keepalived with keepalived"
    );
    for (high, low) in [
        (Daemon::Vigild, Daemon::Keepalived),
        (Daemon::Keepalived, Daemon::Vigild),
    ] {
        assert_eq!(
            pair(high, low),
            reference,
            "{} (priority 150) with {} (priority 100): holders of ({VIP_OUT}, {VIP_IN}) after the election, then after h's eth1 went down",
            high.name(),
            low.name()
        );
    }
}
