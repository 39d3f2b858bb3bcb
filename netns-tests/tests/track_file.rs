//! `track_file` against the real keepalived 2.2.7: the same config and the
//! same file values, run once with vigild and once with keepalived, judged
//! by the priority in the adverts each puts on the wire. One router alone
//! on a bridge becomes master; its adverts carry the configured priority
//! plus the file's value times the weight (keepalived's track_file.c),
//! and a value that makes the status -254 puts it in FAULT (a priority-0
//! advert, then silence).

use std::path::Path;
use std::time::Duration;

use vigil_netns::capture::Capture;
use vigil_netns::ns::{self, Lab};
use vigil_netns::solo::Daemon;

const VRID: u8 = 61;

/// The config both read: priority 100, one track_file with weight 50.
fn config(file: &Path) -> String {
    format!(
        "vrrp_track_file tf {{\n    file {}\n}}\n\
         vrrp_instance web {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {VRID}\n    \
         priority 100\n    advert_int 1\n    track_file {{\n        tf weight 50\n    }}\n    \
         virtual_ipaddress {{\n        192.0.2.161\n    }}\n}}\n",
        file.display()
    )
}

/// Runs the sequence with `imp`; the priorities seen, or what went wrong.
fn run(imp: Daemon) -> Result<Vec<String>, String> {
    let mut lab = Lab::new(&format!("tf{}", &imp.name()[..1]));
    let dir = lab.dir().to_path_buf();
    let file = dir.join("tf");
    std::fs::write(dir.join("k.conf"), config(&file)).unwrap();
    lab.host("a", &["192.0.2.21/24"]);
    let cap = Capture::start(lab.bridge().name(), "br0", &dir.join("bridge.pcap"))?;
    let mut log = Vec::new();
    let step = |what: &str, value: Option<&str>, want: u8, log: &mut Vec<String>| {
        if let Some(v) = value {
            std::fs::write(&file, v).unwrap();
        }
        let r = cap.wait_priority(VRID, want, Duration::from_secs(8));
        log.push(format!(
            "{what}: {}",
            r.clone().err().unwrap_or(format!("prio {want}"))
        ));
        r
    };
    // The file holds 0: priority 100 (the case: not 150).
    std::fs::write(&file, "0\n").unwrap();
    let mut p = imp.start(lab.get("a"), &dir.join("k.conf"), &dir, "a");
    let r = step("file 0", None, 100, &mut log)
        .and_then(|()| step("file 1", Some("1\n"), 150, &mut log))
        .and_then(|()| step("file -1", Some("-1\n"), 50, &mut log))
        .and_then(|()| {
            step(
                "file 0x2 junk (strtol base 0)",
                Some("0x2 junk\n"),
                200,
                &mut log,
            )
        })
        .and_then(|()| {
            // A deleted file counts as 0.
            let _ = std::fs::remove_file(&file);
            step("file deleted", None, 100, &mut log)
        })
        // -10 x 50 = -500, clamped to -254: FAULT, a priority-0 advert.
        .and_then(|()| step("file -10", Some("-10\n"), 0, &mut log));
    p.kill();
    if r.is_err() {
        lab.keep();
    }
    match r {
        Ok(()) => Ok(log),
        Err(e) => Err(format!("{}: {e}; steps: {log:?}", imp.name())),
    }
}

#[test]
fn track_file_priorities_match_keepalived() {
    if !ns::require_root("track_file_priorities_match_keepalived") {
        return;
    }
    let keepalived = run(Daemon::Keepalived);
    let vigild = run(Daemon::Vigild);
    let keepalived = keepalived
        .unwrap_or_else(|e| panic!("keepalived (the reference) did not behave as expected: {e}"));
    let vigild = vigild.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(vigild, keepalived);
}
