//! Notify scripts against the real keepalived 2.2.7: the same config and
//! the same sequence of events, run once with vigild and once with
//! keepalived, judged by the calls each makes: which scripts, with which
//! arguments, in which order. One router alone on a bridge starts as
//! BACKUP and becomes master; its interface goes down (FAULT) and comes
//! back (BACKUP, then MASTER); SIGTERM stops it (STOP). An instance's
//! `notify_master`, `notify_backup`, `notify_fault`, `notify_stop` and its
//! generic `notify` (`SCRIPT INSTANCE NAME STATE PRIORITY`); then the same
//! with a `vrrp_sync_group` of two instances (eth0, eth1), the group's own
//! scripts and generic `notify` (`SCRIPT GROUP NAME STATE 0`) beside its
//! members' scripts (given an argument naming the member).
//!
//! Every script appends `PID NAME ARGS` to one file. keepalived starts
//! its scripts without waiting for the previous one, so the lines of one
//! transition may land in any order; process ids are handed out in the
//! order the daemon started them, so the lines of each step, sorted by
//! pid, are the order of the calls. Timing is not judged.
//!
//! Both daemons run with `enable_script_security` and `script_user root`
//! (root's scripts, mode 0755, in directories writable by root only).

use std::path::{Path, PathBuf};
use std::time::Duration;

use vigil_netns::binaries;
use vigil_netns::ns::{self, Lab};
use vigil_netns::solo::{self, Daemon, SCRIPT_SECURITY};

/// The scripts, each appending `$$ NAME ARGS` to `calls`.
const SCRIPTS: [&str; 10] = [
    "master.sh",
    "backup.sh",
    "fault.sh",
    "stop.sh",
    "notify.sh",
    "gmaster.sh",
    "gbackup.sh",
    "gfault.sh",
    "gstop.sh",
    "gnotify.sh",
];

/// An instance `name` on `dev` (VRID `vrid`, priority 100) whose notify
/// scripts are in `s`, each given `arg` when not empty.
fn instance(name: &str, dev: &str, vrid: u8, vip: &str, s: &Path, arg: &str) -> String {
    let s = s.display();
    let with = |script: &str| match arg {
        "" => format!("{s}/{script}"),
        a => format!("\"{s}/{script} {a}\""),
    };
    format!(
        "vrrp_instance {name} {{\n    state BACKUP\n    interface {dev}\n    virtual_router_id {vrid}\n    \
         priority 100\n    advert_int 1\n    virtual_ipaddress {{\n        {vip}\n    }}\n    \
         notify_master {}\n    notify_backup {}\n    notify_fault {}\n    notify_stop {}\n    \
         notify {s}/notify.sh\n}}\n",
        with("master.sh"),
        with("backup.sh"),
        with("fault.sh"),
        with("stop.sh"),
    )
}

/// One instance, `vi` on eth0.
fn config_instance(s: &Path) -> String {
    format!(
        "{SCRIPT_SECURITY}{}",
        instance("vi", "eth0", 65, "192.0.2.165", s, "")
    )
}

/// Sync group `G` of `out` (eth0) and `in` (eth1), the group's scripts
/// and each member's (given the member's name as argument).
fn config_group(s: &Path) -> String {
    let d = s.display();
    format!(
        "{SCRIPT_SECURITY}vrrp_sync_group G {{\n    group {{\n        out\n        in\n    }}\n    \
         notify_master {d}/gmaster.sh\n    notify_backup {d}/gbackup.sh\n    \
         notify_fault {d}/gfault.sh\n    notify_stop {d}/gstop.sh\n    notify {d}/gnotify.sh\n}}\n{}{}",
        instance("out", "eth0", 66, "192.0.2.166", s, "out"),
        instance("in", "eth1", 67, "198.51.100.167", s, "in"),
    )
}

/// Writes the scripts into the script directory of `dir` (see
/// [`solo::script_dir`]), each appending to `calls`; the directory.
fn write_scripts(dir: &Path, calls: &Path) -> PathBuf {
    let scripts = solo::script_dir(dir);
    for name in SCRIPTS {
        solo::write_script(
            &scripts.join(name),
            &format!(
                "#!/bin/sh\necho \"$$ ${{0##*/}} $*\" >> {}\n",
                calls.display()
            ),
        );
    }
    scripts
}

/// `lines` (`PID NAME ARGS`) in the order the daemon started them (by
/// pid, allowing for pids wrapping around), without the pids.
fn in_call_order(lines: &[String]) -> Vec<String> {
    let pid_max: u64 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(4_194_304);
    let mut calls: Vec<(u64, String)> = lines
        .iter()
        .map(|l| {
            let (pid, rest) = l.split_once(' ').unwrap_or(("0", l));
            (pid.parse().unwrap_or(0), rest.trim_end().to_string())
        })
        .collect();
    let (lo, hi) = (
        calls.iter().map(|c| c.0).min().unwrap_or(0),
        calls.iter().map(|c| c.0).max().unwrap_or(0),
    );
    if hi - lo > pid_max / 2 {
        for c in &mut calls {
            if c.0 < pid_max / 2 {
                c.0 += pid_max;
            }
        }
    }
    calls.sort_by_key(|c| c.0);
    calls.into_iter().map(|c| c.1).collect()
}

/// What the test does before a step's calls.
#[derive(Clone, Copy)]
enum Act {
    /// Nothing: the daemon gets there on its own.
    Wait,
    /// `ip link set DEV down|up` in the router's namespace.
    Link(&'static str, &'static str),
    /// SIGTERM to the daemon, which must exit.
    Term,
}

/// A step: its name, what the test does, and the call (a part of a line)
/// that ends it.
type Step = (&'static str, Act, &'static str);

/// Runs `steps` with `imp` on `config`; for each step, `STEP: CALL` in
/// call order, or what went wrong with the lines gathered so far.
fn run(
    imp: Daemon,
    tag: &str,
    config: fn(&Path) -> String,
    eth1: bool,
    steps: &[Step],
) -> Result<Vec<String>, String> {
    let mut lab = Lab::new(&format!("{tag}{}", &imp.name()[..1]));
    let dir = lab.dir().to_path_buf();
    let calls = dir.join("calls");
    let scripts = write_scripts(&dir, &calls);
    std::fs::write(dir.join("k.conf"), config(&scripts)).unwrap();
    lab.host("a", &["192.0.2.25/24"]);
    if eth1 {
        lab.add_dev("a", "eth1", &["198.51.100.25/24"]);
    }
    let mut p = imp.start(lab.get("a"), &dir.join("k.conf"), &dir, "a");
    let mut out = Vec::new();
    let mut seen = 0;
    let mut r = Ok(());
    for &(name, act, ends) in steps {
        match act {
            Act::Wait => {}
            Act::Link(dev, state) => {
                lab.get("a").ip(&["link", "set", dev, state]);
            }
            Act::Term => {
                p.signal("TERM");
                if p.wait_exit(Duration::from_secs(10)).is_none() {
                    r = r.and(Err(format!(
                        "{name}: no exit status 10 s after SIGTERM (still running, or killed by a signal)"
                    )));
                }
            }
        }
        // BACKUP to MASTER takes the master-down interval (about 3.6 s).
        let done = ns::wait_for(Duration::from_secs(10), ends, || {
            ns::log_lines(&calls)[seen..]
                .iter()
                .any(|l| l.contains(ends))
                .then_some(())
        });
        // The rest of the transition's calls.
        std::thread::sleep(Duration::from_millis(800));
        let lines = ns::log_lines(&calls);
        out.extend(
            in_call_order(&lines[seen..])
                .into_iter()
                .map(|c| format!("{name}: {c}")),
        );
        seen = lines.len();
        if let Err(e) = done {
            r = r.and(Err(format!("{name}: {e}")));
        }
    }
    p.kill();
    let refused = solo::refusals(&imp.log(&dir, "a"));
    if !refused.is_empty() {
        r = r.and(Err(format!("a script was refused: {refused:?}")));
    }
    if r.is_err() {
        lab.keep();
    }
    match r {
        Ok(()) => Ok(out),
        Err(e) => Err(format!("{}: {e}; calls: {out:#?}", imp.name())),
    }
}

/// keepalived (the reference) must make the calls `want`, vigild those
/// keepalived made.
fn differential(tag: &str, config: fn(&Path) -> String, eth1: bool, steps: &[Step], want: &[&str]) {
    // Built (or found) before either run, so that a build does not load
    // the machine while a run is timed.
    binaries::vigild().unwrap_or_else(|e| panic!("{e}"));
    let keepalived = run(Daemon::Keepalived, tag, config, eth1, steps);
    let vigild = run(Daemon::Vigild, tag, config, eth1, steps);
    eprintln!("{tag}: keepalived {keepalived:?}\n{tag}: vigild {vigild:?}");
    let keepalived = keepalived
        .unwrap_or_else(|e| panic!("keepalived (the reference) did not behave as expected: {e}"));
    assert_eq!(
        keepalived,
        want,
        "keepalived (the reference); differing calls (position, got, want): {:?}",
        differences(&keepalived, want)
    );
    let vigild = vigild.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        vigild,
        keepalived,
        "vigild's calls, keepalived's; differing calls (position, vigild, keepalived): {:?}",
        differences(&vigild, &keepalived)
    );
}

/// Where `got` and `want` differ: (position, got, want), a missing call
/// shown as "-".
fn differences<'a>(
    got: &'a [String],
    want: &'a [impl AsRef<str>],
) -> Vec<(usize, &'a str, &'a str)> {
    (0..got.len().max(want.len()))
        .filter_map(|i| {
            let g = got.get(i).map_or("-", String::as_str);
            let w = want.get(i).map_or("-", AsRef::as_ref);
            (g != w).then_some((i, g, w))
        })
        .collect()
}

#[test]
fn instance_notify_calls_match_keepalived() {
    if !ns::require_root("instance_notify_calls_match_keepalived") {
        return;
    }
    let steps: [Step; 5] = [
        ("start", Act::Wait, "INSTANCE vi BACKUP"),
        ("alone", Act::Wait, "INSTANCE vi MASTER"),
        ("eth0 down", Act::Link("eth0", "down"), "INSTANCE vi FAULT"),
        ("eth0 up", Act::Link("eth0", "up"), "INSTANCE vi MASTER"),
        ("SIGTERM", Act::Term, "INSTANCE vi STOP"),
    ];
    // keepalived 2.2.7: each state's own script, then the generic one.
    let want = [
        "start: backup.sh",
        "start: notify.sh INSTANCE vi BACKUP 100",
        "alone: master.sh",
        "alone: notify.sh INSTANCE vi MASTER 100",
        "eth0 down: fault.sh",
        "eth0 down: notify.sh INSTANCE vi FAULT 100",
        "eth0 up: backup.sh",
        "eth0 up: notify.sh INSTANCE vi BACKUP 100",
        "eth0 up: master.sh",
        "eth0 up: notify.sh INSTANCE vi MASTER 100",
        "SIGTERM: stop.sh",
        "SIGTERM: notify.sh INSTANCE vi STOP 100",
    ];
    differential("na", config_instance, false, &steps, &want);
}

#[test]
fn sync_group_notify_calls_match_keepalived() {
    if !ns::require_root("sync_group_notify_calls_match_keepalived") {
        return;
    }
    let steps: [Step; 5] = [
        ("start", Act::Wait, "GROUP G BACKUP"),
        ("alone", Act::Wait, "GROUP G MASTER"),
        ("eth1 down", Act::Link("eth1", "down"), "GROUP G FAULT"),
        ("eth1 up", Act::Link("eth1", "up"), "GROUP G MASTER"),
        ("SIGTERM", Act::Term, "GROUP G STOP"),
    ];
    // keepalived 2.2.7: the group's scripts first at start and last
    // otherwise. A member whose master-down timer expires while the other
    // does not want MASTER yet waits another interval
    // (vrrp_sync_can_goto_master), so the member whose timer was set last
    // leads the group to MASTER and the other follows: `in` at start (the
    // timers set in config order), `out` once eth1 is back (`in` leaves
    // FAULT first and takes `out` along, try_up_instance).
    let want = [
        "start: gbackup.sh",
        "start: gnotify.sh GROUP G BACKUP 0",
        "start: backup.sh out",
        "start: notify.sh INSTANCE out BACKUP 100",
        "start: backup.sh in",
        "start: notify.sh INSTANCE in BACKUP 100",
        "alone: master.sh in",
        "alone: notify.sh INSTANCE in MASTER 100",
        "alone: master.sh out",
        "alone: notify.sh INSTANCE out MASTER 100",
        "alone: gmaster.sh",
        "alone: gnotify.sh GROUP G MASTER 0",
        "eth1 down: fault.sh in",
        "eth1 down: notify.sh INSTANCE in FAULT 100",
        "eth1 down: fault.sh out",
        "eth1 down: notify.sh INSTANCE out FAULT 100",
        "eth1 down: gfault.sh",
        "eth1 down: gnotify.sh GROUP G FAULT 0",
        "eth1 up: backup.sh in",
        "eth1 up: notify.sh INSTANCE in BACKUP 100",
        "eth1 up: backup.sh out",
        "eth1 up: notify.sh INSTANCE out BACKUP 100",
        "eth1 up: gbackup.sh",
        "eth1 up: gnotify.sh GROUP G BACKUP 0",
        "eth1 up: master.sh out",
        "eth1 up: notify.sh INSTANCE out MASTER 100",
        "eth1 up: master.sh in",
        "eth1 up: notify.sh INSTANCE in MASTER 100",
        "eth1 up: gmaster.sh",
        "eth1 up: gnotify.sh GROUP G MASTER 0",
        "SIGTERM: stop.sh out",
        "SIGTERM: notify.sh INSTANCE out STOP 100",
        "SIGTERM: stop.sh in",
        "SIGTERM: notify.sh INSTANCE in STOP 100",
        "SIGTERM: gstop.sh",
        "SIGTERM: gnotify.sh GROUP G STOP 0",
    ];
    differential("ng", config_group, true, &steps, &want);
}
