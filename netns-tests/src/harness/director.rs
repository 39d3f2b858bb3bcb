//! A director's daemon in its namespace: vigild or keepalived (`--vrrp`),
//! started, killed (SIGKILL), stopped (SIGTERM) and reloaded (SIGHUP) by
//! pid. vigild is judged from its event stream (`--events`, JSON lines
//! on its standard output beside its log), keepalived from its log.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::ns::{Netns, Proc};

use super::DirectorImpl;
use super::keepalived_log::{InstanceInfo, KeepalivedLog};
use super::live::Live;
use vigil_core::director::stream::Line;

/// One director's daemon (at most one process at a time).
pub struct Daemon {
    /// Director index.
    pub idx: usize,
    /// Which daemon.
    pub imp: DirectorImpl,
    /// The daemon binary.
    pub bin: PathBuf,
    /// Its config file (rewritten).
    pub conf: PathBuf,
    /// The run's directory (logs, pid files).
    pub dir: PathBuf,
    /// Its name.
    pub name: String,
    /// Instances (for keepalived's log).
    pub instances: Vec<InstanceInfo>,
    /// Environment added to the daemon's.
    pub env: Vec<(String, String)>,
    /// The process, while running.
    pub proc: Option<Proc>,
    starts: u32,
}

impl Daemon {
    /// A daemon not yet started.
    pub fn new(
        idx: usize,
        imp: DirectorImpl,
        bin: PathBuf,
        conf: PathBuf,
        dir: &Path,
        name: &str,
        instances: Vec<InstanceInfo>,
    ) -> Daemon {
        Daemon {
            idx,
            imp,
            bin,
            conf,
            dir: dir.to_path_buf(),
            name: name.to_string(),
            instances,
            env: Vec::new(),
            proc: None,
            starts: 0,
        }
    }

    /// Its log file (every start appends to it).
    pub fn log(&self) -> PathBuf {
        self.dir.join(format!("{}.log", self.name))
    }

    fn pid_file(&self, kind: &str) -> PathBuf {
        self.dir
            .join(format!("{}-{}{kind}.pid", self.name, self.starts))
    }

    /// Starts the daemon in `ns`; its log lines feed `live`.
    pub fn start(&mut self, ns: &Netns, live: &Arc<Mutex<Live>>) {
        self.starts += 1;
        let conf = self.conf.to_string_lossy().to_string();
        let pid = self.pid_file("").to_string_lossy().to_string();
        let vrrp_pid = self.pid_file("-vrrp").to_string_lossy().to_string();
        let idx = self.idx;
        let l = live.clone();
        let bin = self.bin.to_string_lossy().to_string();
        let proc = match self.imp {
            DirectorImpl::Vigild => ns.spawn_lines_env(
                &bin,
                &[
                    "-f",
                    &conf,
                    "-p",
                    &pid,
                    "-n",
                    "-l",
                    "-G",
                    "--events",
                    "/dev/stdout",
                ],
                &self.env,
                &self.log(),
                move |at, line| {
                    // Event lines are JSON objects; log lines never start with '{'.
                    if line.starts_with('{')
                        && let Ok(ev) = serde_json::from_str::<Line>(line)
                        && let Some(e) = ev.trace_event()
                    {
                        l.lock().expect("not poisoned").director_event(idx, at, e);
                    }
                },
            ),
            DirectorImpl::Keepalived => {
                let mut parser = KeepalivedLog::new(self.instances.clone());
                ns.spawn_lines_env(
                    &bin,
                    &[
                        "--vrrp", "-n", "-l", "-D", "-G", "-R", "-f", &conf, "-p", &pid, "-r",
                        &vrrp_pid,
                    ],
                    &self.env,
                    &self.log(),
                    move |at, line| {
                        let events = parser.line(line);
                        let mut g = l.lock().expect("not poisoned");
                        for e in events {
                            g.director_event(idx, at, e);
                        }
                    },
                )
            }
        };
        self.proc = Some(proc);
    }

    /// Whether a process is running.
    pub fn running(&self) -> bool {
        self.proc.is_some()
    }

    /// SIGKILL, as a crash: keepalived's parent is stopped first so that
    /// it neither respawns its VRRP child nor has it shut down cleanly.
    /// When the SIGKILL went (none: nothing was running): from then on the
    /// daemon sends nothing.
    pub fn kill(&mut self) -> Option<SystemTime> {
        let mut p = self.proc.take()?;
        if self.imp == DirectorImpl::Keepalived {
            p.signal("STOP");
            if let Some(child) = read_pid(&self.pid_file("-vrrp")) {
                crate::ns::signal_pid(child, "KILL");
            }
        }
        p.signal("KILL");
        let at = SystemTime::now();
        p.kill();
        Some(at)
    }

    /// SIGTERM and wait (up to 10 s) for the process to end.
    pub fn term(&mut self) -> Option<i32> {
        let mut p = self.proc.take()?;
        p.signal("TERM");
        let code = p.wait_exit(Duration::from_secs(10));
        p.kill();
        code
    }

    /// SIGHUP (reload).
    pub fn hup(&self) {
        if let Some(p) = &self.proc {
            p.signal("HUP");
        }
    }
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}
