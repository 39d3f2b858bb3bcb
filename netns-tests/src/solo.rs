//! One VRRP daemon, vigild or keepalived 2.2.7 (`--vrrp`), run from a
//! keepalived.conf in a namespace with the same command line the peers
//! lane uses, its output to a log file; killed by pid on drop. Also: a
//! [`pair`] of such directors on one segment, and the script directory
//! both daemons accept under `enable_script_security`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::binaries;
use crate::ns::{Lab, Netns, Proc};

/// Which daemon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Daemon {
    /// vigild (this workspace).
    Vigild,
    /// keepalived 2.2.7 (Debian).
    Keepalived,
}

impl Daemon {
    /// Both, keepalived (the reference) first.
    pub const BOTH: [Daemon; 2] = [Daemon::Keepalived, Daemon::Vigild];

    /// `vigild` or `keepalived`.
    pub fn name(self) -> &'static str {
        match self {
            Daemon::Vigild => "vigild",
            Daemon::Keepalived => "keepalived",
        }
    }

    /// Starts it in `ns` on `conf`, pid files and log (see [`Daemon::log`])
    /// in `dir`; panics naming the binary when it is missing.
    pub fn start(self, ns: &Netns, conf: &Path, dir: &Path, tag: &str) -> Proc {
        self.start_env(ns, conf, dir, tag, &[])
    }

    /// The log [`Daemon::start`] writes for `tag` in `dir`
    /// (`NAME-TAG-log`): the daemon's standard output and error.
    pub fn log(self, dir: &Path, tag: &str) -> PathBuf {
        self.file(dir, tag, "log")
    }

    /// File `what` of the daemon started for `tag` in `dir`.
    fn file(self, dir: &Path, tag: &str, what: &str) -> PathBuf {
        dir.join(format!("{}-{tag}-{what}", self.name()))
    }

    /// [`Daemon::start`] with `env` added to its environment.
    pub fn start_env(
        self,
        ns: &Netns,
        conf: &Path,
        dir: &Path,
        tag: &str,
        env: &[(&str, &str)],
    ) -> Proc {
        let c = conf.to_str().expect("utf-8 path");
        let f = |name: &str| self.file(dir, tag, name);
        let log = self.log(dir, tag);
        match self {
            Daemon::Vigild => {
                let bin = binaries::vigild().unwrap_or_else(|e| panic!("{e}"));
                let pid = f("pid");
                ns.spawn_env(
                    bin.to_str().expect("utf-8 path"),
                    &[
                        "-f",
                        c,
                        "-p",
                        pid.to_str().expect("utf-8 path"),
                        "-n",
                        "-l",
                        "-G",
                    ],
                    env,
                    Some(&log),
                )
            }
            Daemon::Keepalived => {
                let bin = binaries::keepalived().unwrap_or_else(|e| panic!("{e}"));
                let (pid, vpid) = (f("pid"), f("vrrp-pid"));
                ns.spawn_env(
                    bin.to_str().expect("utf-8 path"),
                    &[
                        "--vrrp",
                        "-n",
                        "-l",
                        "-D",
                        "-G",
                        "-f",
                        c,
                        "-p",
                        pid.to_str().expect("utf-8 path"),
                        "-r",
                        vpid.to_str().expect("utf-8 path"),
                    ],
                    env,
                    Some(&log),
                )
            }
        }
    }
}

/// One director of a [`pair`].
#[derive(Clone, Debug)]
pub struct Director<'a> {
    /// Its host's name in the lab, and its daemon's log tag.
    pub role: &'a str,
    /// The daemon it runs.
    pub daemon: Daemon,
    /// One address per interface, on the bridge: `eth0`'s, then `eth1`'s,
    /// ... (documentation ranges only).
    pub addrs: &'a [&'a str],
    /// Its keepalived.conf.
    pub conf: String,
}

impl<'a> Director<'a> {
    /// Director `role` running `daemon` on `conf`, its interfaces holding
    /// `addrs` (see [`Director::addrs`]).
    pub fn new(role: &'a str, daemon: Daemon, addrs: &'a [&'a str], conf: String) -> Director<'a> {
        Director {
            role,
            daemon,
            addrs,
            conf,
        }
    }
}

/// Two directors running on one segment (see [`pair`]).
#[derive(Debug)]
pub struct Pair {
    /// Each director's daemon, in the order given (killed on drop, before
    /// the lab is removed).
    pub procs: [Proc; 2],
    /// Each director's keepalived.conf (`ROLE.conf` in the lab's
    /// directory): rewrite it and send SIGHUP to reload.
    pub confs: [PathBuf; 2],
    /// The lab, its hosts named by the directors' roles.
    pub lab: Lab,
}

impl Pair {
    /// Kills both daemons now.
    pub fn kill(&mut self) {
        for p in &mut self.procs {
            p.kill();
        }
    }
}

/// Two directors on one segment in a new lab for test `tag` (a short
/// word; the lab's name adds each daemon's initial): each one's
/// keepalived.conf written, its host added with an interface per address
/// (`eth0`, `eth1`, ...), then its daemon started, in the order given.
pub fn pair(tag: &str, directors: [Director<'_>; 2]) -> Pair {
    let [a, b] = &directors;
    let mut lab = Lab::new(&format!(
        "{tag}{}{}",
        &a.daemon.name()[..1],
        &b.daemon.name()[..1]
    ));
    let dir = lab.dir().to_path_buf();
    let confs = directors.each_ref().map(|d| {
        let p = dir.join(format!("{}.conf", d.role));
        std::fs::write(&p, &d.conf).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        p
    });
    for d in &directors {
        lab.host(d.role, &d.addrs[..1]);
    }
    for d in &directors {
        for (n, addr) in d.addrs.iter().enumerate().skip(1) {
            lab.add_dev(d.role, &format!("eth{n}"), &[addr]);
        }
    }
    let procs = [0, 1].map(|i| {
        let d = &directors[i];
        d.daemon.start(lab.get(d.role), &confs[i], &dir, d.role)
    });
    Pair { procs, confs, lab }
}

/// The `global_defs` both daemons run scripts under: as root, with
/// `enable_script_security`.
pub const SCRIPT_SECURITY: &str =
    "global_defs {\n    script_user root\n    enable_script_security\n}\n";

/// Makes `dir` (a lab's scratch directory, under the sticky /tmp) and its
/// new subdirectory `scripts` mode 0755, so that both daemons accept
/// root's scripts in it under `enable_script_security`; the
/// subdirectory's path.
pub fn script_dir(dir: &Path) -> PathBuf {
    set_mode_755(dir);
    let scripts = dir.join("scripts");
    std::fs::create_dir_all(&scripts).unwrap_or_else(|e| panic!("{}: {e}", scripts.display()));
    set_mode_755(&scripts);
    scripts
}

/// Writes script `path` holding `text`, mode 0755.
pub fn write_script(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    set_mode_755(path);
}

/// Sets `p`'s mode to 0755.
fn set_mode_755(p: &Path) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
}

/// The lines of a daemon's log saying it would not run a script.
pub fn refusals(log: &Path) -> Vec<String> {
    crate::ns::log_lines(log)
        .into_iter()
        .filter(|l| {
            ["disabling", "Unsafe permissions", "refused", "skipped"]
                .iter()
                .any(|w| l.contains(w))
        })
        .collect()
}
