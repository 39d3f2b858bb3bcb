//! keepalived's notify FIFOs against the real keepalived 2.2.7: the same
//! config, the same events, run once with vigild and once with
//! keepalived; the lines each writes must be the same, in the same
//! order. One router alone on a bridge starts (BACKUP, then MASTER), a
//! `track_file` raises its priority (a `MASTER_PRIORITY` line with
//! `vrrp_notify_priority_changes`), and SIGTERM stops it (STOP).
//!
//! `notify_fifo` does not exist beforehand: the daemon creates it and
//! starts its `notify_fifo_script`, which copies the FIFO to a file.
//! `vrrp_notify_fifo` exists (made by the test, read by a `cat` the test
//! started); the daemon must leave it in place at the end and remove
//! the one it created.

use std::path::Path;
use std::time::Duration;

use vigil_netns::capture::Capture;
use vigil_netns::ns::{self, Lab};
use vigil_netns::solo::{self, Daemon, SCRIPT_SECURITY};

const VRID: u8 = 68;

fn config(dir: &Path, reader: &Path) -> String {
    let d = dir.display();
    format!(
        "{SCRIPT_SECURITY}global_defs {{\n    notify_fifo {d}/global.fifo\n    \
         notify_fifo_script {}\n    vrrp_notify_fifo {d}/vrrp.fifo\n    \
         vrrp_notify_priority_changes\n}}\n\
         track_file tf {{\n    file {d}/tf\n}}\n\
         vrrp_instance web {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {VRID}\n    \
         priority 100\n    advert_int 1\n    track_file {{\n        tf weight 50\n    }}\n    \
         virtual_ipaddress {{\n        192.0.2.168\n    }}\n}}\n",
        reader.display()
    )
}

/// The lines of both FIFOs (global, then VRRP) for `imp`, or what went
/// wrong.
fn run(imp: Daemon) -> Result<(Vec<String>, Vec<String>), String> {
    let mut lab = Lab::new(&format!("nf{}", &imp.name()[..1]));
    let dir = lab.dir().to_path_buf();
    let scripts = solo::script_dir(&dir);
    let global_lines = dir.join("global.lines");
    let reader = scripts.join("reader.sh");
    solo::write_script(
        &reader,
        &format!("#!/bin/sh\nexec cat \"$1\" >> {}\n", global_lines.display()),
    );
    std::fs::write(dir.join("tf"), "0\n").unwrap();
    std::fs::write(dir.join("k.conf"), config(&dir, &reader)).unwrap();
    let vrrp_fifo = dir.join("vrrp.fifo");
    let vrrp_lines = dir.join("vrrp.lines");
    ns::run("mkfifo", &[&vrrp_fifo.to_string_lossy()]);
    let mut cat = ns::spawn_lines(
        {
            let mut c = std::process::Command::new("cat");
            c.arg(&vrrp_fifo);
            c
        },
        "cat vrrp.fifo".into(),
        &vrrp_lines,
        |_, _| {},
    );
    lab.host("a", &["192.0.2.28/24"]);
    let cap = Capture::start(lab.bridge().name(), "br0", &dir.join("bridge.pcap"))?;
    let mut p = imp.start(lab.get("a"), &dir.join("k.conf"), &dir, "a");
    let r = cap
        .wait_priority(VRID, 100, Duration::from_secs(8))
        .and_then(|()| {
            std::fs::write(dir.join("tf"), "1\n").unwrap();
            cap.wait_priority(VRID, 150, Duration::from_secs(8))
        });
    p.signal("TERM");
    let code = p.wait_exit(Duration::from_secs(10));
    // The readers have what was written once the writer is gone.
    std::thread::sleep(Duration::from_millis(300));
    cat.kill();
    r?;
    if code.is_none() {
        return Err("did not stop on SIGTERM within 10 s".into());
    }
    if dir.join("global.fifo").exists() {
        return Err("the FIFO it created is still there".into());
    }
    if !vrrp_fifo.exists() {
        return Err("it removed the FIFO it did not create".into());
    }
    Ok((ns::log_lines(&global_lines), ns::log_lines(&vrrp_lines)))
}

#[test]
fn notify_fifo_lines_are_keepalived_s() {
    if !ns::require_root("notify_fifo_lines_are_keepalived_s") {
        return;
    }
    let want = [
        "INSTANCE \"web\" BACKUP 100",
        "INSTANCE \"web\" MASTER 100",
        "INSTANCE \"web\" MASTER_PRIORITY 150",
        "INSTANCE \"web\" STOP 150",
    ];
    let mut seen = Vec::new();
    for imp in Daemon::BOTH {
        let (global, vrrp) = run(imp).unwrap_or_else(|e| panic!("{}: {e}", imp.name()));
        // The global FIFO's reader is the daemon's own script: at the
        // stop it may be gone before it read the last line (keepalived
        // kills its scripts as it ends), so it holds at least every line
        // before the stop.
        assert!(
            global.len() >= want.len() - 1 && vrrp.starts_with(&global),
            "{}: the script's copy of the global FIFO {global:?} is not the VRRP FIFO's {vrrp:?}",
            imp.name()
        );
        seen.push((imp.name(), vrrp));
    }
    let (_, ka) = &seen[0];
    let (_, vg) = &seen[1];
    assert_eq!(vg, ka, "vigild's lines are keepalived's");
    assert_eq!(ka, &want, "keepalived 2.2.7 as the test expects it");
}
