//! `vrrp_script` tracking against the real keepalived 2.2.7: the same
//! config and the same check results, run once with vigild and once with
//! keepalived, judged by the priority in the adverts each puts on the
//! wire. One router alone on a bridge becomes master; its `vrrp_script`
//! (every second, `fall` and `rise` left at their defaults) succeeds
//! while a flag file the test controls exists. With weight -30 a failing
//! check lowers the advertised priority from 100 to 70 and a passing one
//! restores it; with weight 0 a failing check puts the instance in FAULT
//! (a priority-0 advert, then silence) until it passes again.
//!
//! Both daemons run with `enable_script_security` and `script_user root`:
//! the script is root's, mode 0755, in directories writable by root only
//! (the scratch directory under the sticky /tmp), and neither daemon may
//! say it refused it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use vigil_netns::binaries;
use vigil_netns::capture::{self, Capture};
use vigil_netns::ns::{self, Lab};
use vigil_netns::solo::{self, Daemon, SCRIPT_SECURITY};

const VRID: u8 = 64;

/// The config both read: priority 100, tracking `script` with `weight`.
fn config(script: &Path, weight: i32) -> String {
    format!(
        "{SCRIPT_SECURITY}vrrp_script chk {{\n    script \"{}\"\n    interval 1\n    weight {weight}\n}}\n\
         vrrp_instance web {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {VRID}\n    \
         priority 100\n    advert_int 1\n    track_script {{\n        chk\n    }}\n    \
         virtual_ipaddress {{\n        192.0.2.164\n    }}\n}}\n",
        script.display()
    )
}

/// Writes the check, a shell script succeeding while `flag` exists, into
/// the script directory of `dir` (see [`solo::script_dir`]); its path.
fn write_check(dir: &Path, flag: &Path) -> PathBuf {
    let check = solo::script_dir(dir).join("check.sh");
    solo::write_script(&check, &format!("#!/bin/sh\ntest -e {}\n", flag.display()));
    check
}

/// Runs the sequence with `imp`, the script weighing `weight`; a failing
/// check must give `failing` (0: FAULT, then silence), a passing one 100
/// again. The steps and the folded priorities seen, or what went wrong.
fn run(imp: Daemon, weight: i32, failing: u8) -> Result<Vec<String>, String> {
    let mut lab = Lab::new(&format!("ts{}{failing}", &imp.name()[..1]));
    let dir = lab.dir().to_path_buf();
    let flag = dir.join("flag");
    let check = write_check(&dir, &flag);
    std::fs::write(dir.join("k.conf"), config(&check, weight)).unwrap();
    lab.host("a", &["192.0.2.24/24"]);
    let cap = Capture::start(lab.bridge().name(), "br0", &dir.join("bridge.pcap"))?;
    let mut log = Vec::new();
    let step = |what: &str, flag_there: Option<bool>, want: u8, log: &mut Vec<String>| {
        match flag_there {
            Some(true) => std::fs::write(&flag, "").unwrap(),
            Some(false) => std::fs::remove_file(&flag).unwrap(),
            None => {}
        }
        // Alone, the instance is master after its master-down interval
        // (about 3.6 s); the check runs every second.
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
    std::fs::write(&flag, "").unwrap();
    let mut p = imp.start(lab.get("a"), &dir.join("k.conf"), &dir, "a");
    let r = step("check passes", None, 100, &mut log)
        .and_then(|()| step("check fails", Some(false), failing, &mut log))
        .and_then(|()| step("check passes again", Some(true), 100, &mut log));
    // A few more adverts at the restored priority.
    std::thread::sleep(Duration::from_secs(2));
    // Read before the kill: keepalived's VRRP process outlives its parent
    // long enough to send a priority-0 advert.
    log.push(format!(
        "adverts: {:?}",
        capture::folded(&cap.adverts(VRID))
    ));
    p.kill();
    let refused = solo::refusals(&imp.log(&dir, "a"));
    let r = r.and_then(|()| match refused.is_empty() {
        true => Ok(()),
        false => Err(format!("the script was refused: {refused:?}")),
    });
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
fn differential(weight: i32, failing: u8, want: &[u8]) {
    // Built (or found) before either run, so that a build does not load
    // the machine while a run is timed.
    binaries::vigild().unwrap_or_else(|e| panic!("{e}"));
    let keepalived = run(Daemon::Keepalived, weight, failing);
    let vigild = run(Daemon::Vigild, weight, failing);
    eprintln!("weight {weight}: keepalived {keepalived:?}\nweight {weight}: vigild {vigild:?}");
    let keepalived = keepalived
        .unwrap_or_else(|e| panic!("keepalived (the reference) did not behave as expected: {e}"));
    assert_eq!(
        keepalived.last(),
        Some(&format!("adverts: {want:?}")),
        "keepalived (the reference): {keepalived:?}"
    );
    let vigild = vigild.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(vigild, keepalived, "vrrp_script with weight {weight}");
}

#[test]
fn track_script_weight_priorities_match_keepalived() {
    if !ns::require_root("track_script_weight_priorities_match_keepalived") {
        return;
    }
    differential(-30, 70, &[100, 70, 100]);
}

#[test]
fn track_script_weight_zero_faults_as_keepalived() {
    if !ns::require_root("track_script_weight_zero_faults_as_keepalived") {
        return;
    }
    differential(0, 0, &[100, 0, 0, 100]);
}
