//! A VIP removed by someone else (`ip addr del`) from a master, against
//! the real keepalived 2.2.7: keepalived's netlink reflector sees the
//! address go, steps the instance down (a priority-0 advert) and takes
//! over again after the skew time, adding the address back; an address
//! written with `no_track` is left gone. Both daemons run the same config
//! alone on a bridge and are judged by the same observations: whether the
//! tracked address comes back, whether a priority-0 advert was seen after
//! its removal, and whether the `no_track` one stays away.

use std::time::Duration;

use vigil_netns::capture::{Capture, Seen};
use vigil_netns::ns::{self, Lab};
use vigil_netns::solo::Daemon;

const TRACKED: &str = "192.0.2.163";
const UNTRACKED: &str = "192.0.2.164";

fn config() -> String {
    format!(
        "vrrp_instance web {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 63\n    \
         priority 100\n    advert_int 1\n    virtual_ipaddress {{\n        {TRACKED}/32\n        \
         {UNTRACKED}/32 no_track\n    }}\n}}\n"
    )
}

/// Priority-0 adverts of VRID 63 seen so far.
fn stops(cap: &Capture) -> usize {
    cap.observations()
        .iter()
        .filter(|o| {
            matches!(
                o.seen,
                Seen::Advert {
                    vrid: 63,
                    priority: 0,
                    ..
                }
            )
        })
        .count()
}

/// What `imp` did: (untracked address back after its removal, priority-0
/// adverts after it, tracked address back after its removal, priority-0
/// adverts after that).
fn run(imp: Daemon) -> (bool, usize, bool, usize) {
    let mut lab = Lab::new(&format!("vr{}", &imp.name()[..1]));
    let dir = lab.dir().to_path_buf();
    std::fs::write(dir.join("k.conf"), config()).unwrap();
    lab.host("a", &["192.0.2.23/24"]);
    let cap = Capture::start(lab.bridge().name(), "br0", &dir.join("bridge.pcap"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut p = imp.start(lab.get("a"), &dir.join("k.conf"), &dir, "a");
    let a = lab.get("a");
    let master = ns::wait_for(Duration::from_secs(8), "master", || {
        (a.has_addr(TRACKED) && a.has_addr(UNTRACKED)).then_some(())
    });
    assert!(master.is_ok(), "{}: never master", imp.name());
    std::thread::sleep(Duration::from_millis(500));
    let before = stops(&cap);
    a.ip(&["addr", "del", &format!("{UNTRACKED}/32"), "dev", "eth0"]);
    std::thread::sleep(Duration::from_secs(3));
    let untracked_back = a.has_addr(UNTRACKED);
    let after_untracked = stops(&cap) - before;
    a.ip(&["addr", "del", &format!("{TRACKED}/32"), "dev", "eth0"]);
    std::thread::sleep(Duration::from_secs(3));
    let tracked_back = a.has_addr(TRACKED);
    let after_tracked = stops(&cap) - before - after_untracked;
    p.kill();
    (untracked_back, after_untracked, tracked_back, after_tracked)
}

#[test]
fn vip_removed_by_someone_else_as_keepalived_does() {
    if !ns::require_root("vip_removed_by_someone_else_as_keepalived_does") {
        return;
    }
    let keepalived = run(Daemon::Keepalived);
    assert_eq!(
        keepalived,
        (false, 0, true, 1),
        "keepalived (the reference): (no_track address back, priority-0 adverts, tracked address back, priority-0 adverts)"
    );
    assert_eq!(run(Daemon::Vigild), keepalived, "vigild");
}
