//! `track_process` with vigild on a real namespace, judged by the
//! priority in the adverts on the wire. One router alone on a bridge
//! becomes master; a weighted process (-50) lowers its priority while it
//! is not running, an unweighted one puts it in FAULT (a priority-0
//! advert), as keepalived 2.2.7's process_update_track_process_status
//! does. The processes are copies of `sleep` under names no other process
//! has.
//!
//! Not judged against keepalived: its track_process listens to the
//! kernel's process connector, which answers only in the initial network
//! namespace; in a test namespace keepalived 2.2.7 logs "Failed to
//! set/clear process event listen - errno 111" and counts every tracked
//! process absent (the test checks that too, so the note cannot go stale
//! silently). Tests may not run daemons in the root namespace.

use std::path::{Path, PathBuf};
use std::time::Duration;

use vigil_netns::capture::Capture;
use vigil_netns::ns::{self, Lab, Netns, Proc};
use vigil_netns::solo::Daemon;

const VRID: u8 = 62;

fn config(weighted: &str, plain: &str) -> String {
    format!(
        "vrrp_track_process w {{\n    process {weighted}\n    weight -50\n}}\n\
         vrrp_track_process p {{\n    process {plain}\n}}\n\
         vrrp_instance web {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {VRID}\n    \
         priority 100\n    advert_int 1\n    track_process {{\n        w\n        p\n    }}\n    \
         virtual_ipaddress {{\n        192.0.2.162\n    }}\n}}\n"
    )
}

/// A copy of `sleep` called `name` in `dir`, running in `ns`.
fn run_copy(ns: &Netns, dir: &Path, name: &str) -> Proc {
    let bin: PathBuf = dir.join(name);
    if !bin.exists() {
        std::fs::copy("/bin/sleep", &bin).expect("copy /bin/sleep");
    }
    ns.spawn(bin.to_str().expect("utf-8 path"), &["600"], None)
}

/// Runs the sequence with `imp`; the priorities seen, or what went wrong
/// (its logs kept when `keep`).
fn run(imp: Daemon, keep: bool) -> Result<Vec<String>, String> {
    let mut lab = Lab::new(&format!("tp{}", &imp.name()[..1]));
    let dir = lab.dir().to_path_buf();
    // Unique process names (comm keeps 15 bytes).
    let tag = format!("{}{}", &imp.name()[..1], std::process::id() % 100_000);
    let (wname, pname) = (format!("vgw{tag}"), format!("vgp{tag}"));
    std::fs::write(dir.join("k.conf"), config(&wname, &pname)).unwrap();
    lab.host("a", &["192.0.2.22/24"]);
    let cap = Capture::start(lab.bridge().name(), "br0", &dir.join("bridge.pcap"))?;
    let a = lab.get("a");
    let mut w = run_copy(a, &dir, &wname);
    let mut p = run_copy(a, &dir, &pname);
    let mut d = imp.start(a, &dir.join("k.conf"), &dir, "a");
    let mut log = Vec::new();
    let mut step = |what: &str, want: u8, within: u64| {
        let r = cap.wait_priority(VRID, want, Duration::from_secs(within));
        log.push(format!(
            "{what}: {}",
            r.clone().err().unwrap_or(format!("prio {want}"))
        ));
        r
    };
    let r = step("both running", 100, 8)
        .and_then(|()| {
            w.kill();
            step("weighted one killed", 50, 4)
        })
        .and_then(|()| {
            w = run_copy(a, &dir, &wname);
            step("weighted one back", 100, 4)
        })
        .and_then(|()| {
            p.kill();
            step("unweighted one killed: FAULT", 0, 4)
        })
        .and_then(|()| {
            p = run_copy(a, &dir, &pname);
            step("unweighted one back: master again", 100, 8)
        });
    d.kill();
    w.kill();
    p.kill();
    if r.is_err() && keep {
        lab.keep();
    }
    match r {
        Ok(()) => Ok(log),
        Err(e) => Err(format!("{}: {e}; steps: {log:?}", imp.name())),
    }
}

#[test]
fn track_process_moves_priority_and_faults() {
    if !ns::require_root("track_process_moves_priority_and_faults") {
        return;
    }
    let vigild = run(Daemon::Vigild, true).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        vigild,
        [
            "both running: prio 100",
            "weighted one killed: prio 50",
            "weighted one back: prio 100",
            "unweighted one killed: FAULT: prio 0",
            "unweighted one back: master again: prio 100",
        ]
    );
    // keepalived in a namespace cannot track processes (see above): it
    // starts in FAULT with both processes running.
    let keepalived =
        run(Daemon::Keepalived, false).expect_err("keepalived tracked processes in a namespace");
    assert!(
        keepalived.contains("both running: adverts carry None, not 100"),
        "{keepalived}"
    );
}
