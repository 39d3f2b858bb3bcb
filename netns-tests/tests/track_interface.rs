//! `track_interface` against the real keepalived 2.2.7: the same config
//! and the same link changes, run once with vigild and once with
//! keepalived, judged by the priority in the adverts each puts on the
//! wire. One router alone on a bridge becomes master; a second interface
//! `eth1` (also on the bridge) is tracked. With a weight, `eth1` going
//! down lowers the advertised priority by it and coming back up restores
//! it; without a weight (or with weight 0) `eth1` going down puts the
//! instance in FAULT: a priority-0 advert, then silence until `eth1` is
//! back and the instance is master again.

use std::time::Duration;

use vigil_netns::binaries;
use vigil_netns::capture::{self, Capture};
use vigil_netns::ns::{self, Lab};
use vigil_netns::solo::Daemon;

const VRID: u8 = 63;

/// The config both read: priority 100, `eth1` tracked with `tracked`
/// (`eth1 weight -60`, `eth1`, ...).
fn config(tracked: &str) -> String {
    format!(
        "vrrp_instance web {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {VRID}\n    \
         priority 100\n    advert_int 1\n    track_interface {{\n        {tracked}\n    }}\n    \
         virtual_ipaddress {{\n        192.0.2.163\n    }}\n}}\n"
    )
}

/// Runs the sequence with `imp` on the config tracking `tracked`: eth1
/// down must give `down` (0: FAULT, then silence), eth1 up 100 again. The
/// steps and the folded priorities seen, or what went wrong.
fn run(imp: Daemon, tracked: &str, down: u8) -> Result<Vec<String>, String> {
    let mut lab = Lab::new(&format!("ti{}{down}", &imp.name()[..1]));
    let dir = lab.dir().to_path_buf();
    std::fs::write(dir.join("k.conf"), config(tracked)).unwrap();
    lab.host("a", &["192.0.2.23/24"]);
    lab.add_dev("a", "eth1", &["198.51.100.23/24"]);
    let cap = Capture::start(lab.bridge().name(), "br0", &dir.join("bridge.pcap"))?;
    let mut log = Vec::new();
    let step = |what: &str, link: Option<&str>, want: u8, log: &mut Vec<String>| {
        if let Some(state) = link {
            lab.get("a").ip(&["link", "set", "eth1", state]);
        }
        // Alone, the instance is master after its master-down interval
        // (about 3.6 s); a tracked change is applied within a second.
        let mut r = cap.wait_priority(VRID, want, Duration::from_secs(8));
        if r.is_ok() && want == 0 {
            r = cap.stays_silent(VRID, Duration::from_secs(3));
        }
        log.push(format!(
            "{what}: {}",
            r.clone().err().unwrap_or(if want == 0 {
                "prio 0, then silent".to_string()
            } else {
                format!("prio {want}")
            })
        ));
        r
    };
    let mut p = imp.start(lab.get("a"), &dir.join("k.conf"), &dir, "a");
    let r = step("start", None, 100, &mut log)
        .and_then(|()| step("eth1 down", Some("down"), down, &mut log))
        .and_then(|()| step("eth1 up", Some("up"), 100, &mut log));
    // A few more adverts at the restored priority.
    std::thread::sleep(Duration::from_secs(2));
    // Read before the kill: keepalived's VRRP process outlives its parent
    // long enough to send a priority-0 advert.
    log.push(format!(
        "adverts: {:?}",
        capture::folded(&cap.adverts(VRID))
    ));
    p.kill();
    if r.is_err() {
        lab.keep();
    }
    match r {
        Ok(()) => Ok(log),
        Err(e) => Err(format!("{}: {e}; steps: {log:?}", imp.name())),
    }
}

/// keepalived (the reference) must show `want`, vigild what keepalived
/// showed.
fn differential(tracked: &str, down: u8, want: &[u8]) {
    // Built (or found) before either run, so that a build does not load
    // the machine while a run is timed.
    binaries::vigild().unwrap_or_else(|e| panic!("{e}"));
    let keepalived = run(Daemon::Keepalived, tracked, down);
    let vigild = run(Daemon::Vigild, tracked, down);
    eprintln!("{tracked}: keepalived {keepalived:?}\n{tracked}: vigild {vigild:?}");
    let keepalived = keepalived
        .unwrap_or_else(|e| panic!("keepalived (the reference) did not behave as expected: {e}"));
    assert_eq!(
        keepalived.last(),
        Some(&format!("adverts: {want:?}")),
        "keepalived (the reference): {keepalived:?}"
    );
    let vigild = vigild.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(vigild, keepalived, "track_interface {{ {tracked} }}");
}

#[test]
fn track_interface_weight_priorities_match_keepalived() {
    if !ns::require_root("track_interface_weight_priorities_match_keepalived") {
        return;
    }
    differential("eth1 weight -60", 40, &[100, 40, 100]);
}

#[test]
fn track_interface_without_weight_faults_as_keepalived() {
    if !ns::require_root("track_interface_without_weight_faults_as_keepalived") {
        return;
    }
    differential("eth1", 0, &[100, 0, 0, 100]);
}

#[test]
fn track_interface_weight_zero_faults_as_keepalived() {
    if !ns::require_root("track_interface_weight_zero_faults_as_keepalived") {
        return;
    }
    differential("eth1 weight 0", 0, &[100, 0, 0, 100]);
}
