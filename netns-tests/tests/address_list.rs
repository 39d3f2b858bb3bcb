//! Peers whose address lists differ (a rolling config change), against
//! the real keepalived 2.2.7: the master of a pair reloads with a changed
//! `virtual_ipaddress` list while the backup keeps the old one. keepalived
//! 2.2.7 drops an advert whose addresses differ from its own list
//! (vrrp_check_packet: "unexpected ip number count" or "not present in
//! MASTER advert", counted in addr_list_err), on the backup and on the
//! master alike, so the backup takes over and both stay master: measured
//! here, both for an added address and for a replaced one. Vigil must end
//! in the same place whichever side it runs on. Judged by who holds each
//! address once the change settled.

use std::time::Duration;

use vigil_netns::ns;
use vigil_netns::solo::{self, Daemon, Director};

const OLD: &str = "192.0.2.191";

fn config(priority: u8, vips: &[&str]) -> String {
    let list: String = vips.iter().map(|v| format!("        {v}\n")).collect();
    format!(
        "vrrp_instance VI {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 91\n    \
         priority {priority}\n    advert_int 1\n    virtual_ipaddress {{\n{list}    }}\n}}\n"
    )
}

/// `master` (150) and `backup` (100) start on [OLD]; the master reloads
/// with `new`. Who holds each address of [OLD] + `new` afterwards, as
/// role names.
fn pair(master: Daemon, backup: Daemon, new: &[&str]) -> Vec<(String, Vec<String>)> {
    let mut p = solo::pair(
        "al",
        [
            Director::new("m", master, &["192.0.2.51/24"], config(150, &[OLD])),
            Director::new("b", backup, &["192.0.2.52/24"], config(100, &[OLD])),
        ],
    );
    let lab = &p.lab;
    let elected = ns::wait_for(Duration::from_secs(10), "m holds the address", || {
        (lab.holders(OLD) == ["m"]).then_some(())
    });
    std::thread::sleep(Duration::from_secs(1));
    std::fs::write(&p.confs[0], config(150, new)).unwrap();
    p.procs[0].signal("HUP");
    // The backup drops the master's adverts and takes over after its
    // master-down interval (about 3.6 s); give both sides time to settle.
    std::thread::sleep(Duration::from_secs(9));
    let mut addrs: Vec<&str> = vec![OLD];
    addrs.extend(new.iter().filter(|a| **a != OLD));
    let held = addrs
        .iter()
        .map(|a| (a.to_string(), lab.holders(a)))
        .collect();
    p.kill();
    if elected.is_err() {
        p.lab.keep();
    }
    held
}

#[test]
fn changed_address_list_on_reload_ends_as_keepalived_ends_both_ways() {
    if !ns::require_root("changed_address_list_on_reload_ends_as_keepalived_ends_both_ways") {
        return;
    }
    for new in [&[OLD, "192.0.2.192"][..], &["192.0.2.193"][..]] {
        let reference = pair(Daemon::Keepalived, Daemon::Keepalived, new);
        assert!(
            reference.iter().all(|(_, h)| !h.is_empty()),
            "keepalived with keepalived, master reloaded with {new:?}: {reference:?}"
        );
        for (m, b) in [
            (Daemon::Vigild, Daemon::Keepalived),
            (Daemon::Keepalived, Daemon::Vigild),
        ] {
            assert_eq!(
                pair(m, b, new),
                reference,
                "{} (master, reloaded with {new:?}) with {} (backup): holders of each address",
                m.name(),
                b.name()
            );
        }
    }
}
