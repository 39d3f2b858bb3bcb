//! One VRRP daemon, vigild or keepalived 2.2.7 (`--vrrp`), run from a
//! keepalived.conf in a namespace with the same command line the peers
//! lane uses, its output to a log file; killed by pid on drop.

use std::path::Path;

use crate::binaries;
use crate::ns::{Netns, Proc};

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

    /// Starts it in `ns` on `conf`, pid files and log (`NAME-TAG.log`)
    /// in `dir`; panics naming the binary when it is missing.
    pub fn start(self, ns: &Netns, conf: &Path, dir: &Path, tag: &str) -> Proc {
        self.start_env(ns, conf, dir, tag, &[])
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
        let f = |name: &str| dir.join(format!("{}-{tag}-{name}", self.name()));
        let log = f("log");
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
