//! Trackers: each `vrrp_script` run every `interval` with its `timeout`
//! (`rise` successes in a row make it up, `fall` failures in a row down),
//! reported as `(TrackerId::Script(NAME), Up(bool))`; each `track_file`
//! read as keepalived reads it (a missing file is 0) every
//! [`FILE_POLL`], reported as `(TrackerId::File(NAME), Value(v))` when it
//! changes. keepalived watches the files with inotify; polling finds a
//! change within [`FILE_POLL`].
//!
//! Each `vrrp_track_process` counts the matching processes in `/proc`
//! every [`PROCESS_POLL`] (keepalived hears the kernel's process events;
//! polling finds a change within [`PROCESS_POLL`]), its quorum reported as
//! `(TrackerId::Process(NAME), Up(bool))` once it held for its
//! `fork_delay` / `terminate_delay`.
//!
//! The VRRP side watches the files its instances and sync groups track
//! ([`Trackers::apply`]); the check side, those its `FILE_CHECK`s follow
//! ([`Trackers::apply_file_checks`]). As keepalived's VRRP and checker
//! processes each watch their own, a file both use is read by both, and
//! both report it under the same [`TrackerId::File`].

use std::collections::HashMap;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use vigil_core::config::{CheckerKind, Config, TrackFile, TrackProcess, VrrpScript};
use vigil_core::vrrp::TrackerId;

use crate::script::Policy;

/// How often a tracked file is read.
pub const FILE_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// How often tracked processes are counted.
pub const PROCESS_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// What a tracker reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackState {
    /// A script: whether it succeeds.
    Up(bool),
    /// A file: the value it holds.
    Value(i64),
}

/// A tracker state change: the tracker id and its new state.
pub type TrackChange = (TrackerId, TrackState);

/// Whether two `vrrp_script`s are the same tracker (span ignored): a
/// reload keeps such a tracker running, with its state.
pub fn same_script(a: &VrrpScript, b: &VrrpScript) -> bool {
    same_but_span(a, b, |s| &mut s.span)
}

/// Whether `a` and `b` are equal once `a` takes `b`'s span.
fn same_but_span<T: Clone + PartialEq>(
    a: &T,
    b: &T,
    span: impl Fn(&mut T) -> &mut vigil_core::config::Span,
) -> bool {
    let (mut a, mut b) = (a.clone(), b.clone());
    *span(&mut a) = span(&mut b).clone();
    a == b
}

struct Running {
    script: VrrpScript,
    task: JoinHandle<()>,
}

struct Watching {
    file: TrackFile,
    task: JoinHandle<()>,
}

struct Counting {
    process: TrackProcess,
    task: JoinHandle<()>,
}

/// The running trackers.
pub struct Trackers {
    running: HashMap<String, Running>,
    files: HashMap<String, Watching>,
    processes: HashMap<String, Counting>,
    /// Last state reported per tracker id (absent: not yet known).
    pub states: HashMap<TrackerId, TrackState>,
    tx: mpsc::UnboundedSender<TrackChange>,
}

impl Trackers {
    /// No trackers yet; changes are sent on `tx`.
    pub fn new(tx: mpsc::UnboundedSender<TrackChange>) -> Trackers {
        Trackers {
            running: HashMap::new(),
            files: HashMap::new(),
            processes: HashMap::new(),
            states: HashMap::new(),
            tx,
        }
    }

    /// Runs the scripts `cfg` tracks: unchanged ones carry on with their
    /// state, changed or new ones start, removed ones stop. Only scripts
    /// some instance tracks run (keepalived skips the others).
    pub fn apply(&mut self, cfg: &Config, policy: &Policy, reload: bool) {
        self.apply_files(cfg, reload);
        self.apply_processes(cfg);
        let used = vigil_core::director::tracked::scripts(cfg);
        self.running.retain(|name, r| {
            let keep = used
                .iter()
                .any(|s| s.name == *name && same_script(s, &r.script));
            if !keep {
                r.task.abort();
            }
            keep
        });
        self.states.retain(|id, _| match id {
            TrackerId::Script(name) => self.running.contains_key(name),
            TrackerId::File(name) => self.files.contains_key(name),
            TrackerId::Process(name) => self.processes.contains_key(name),
            _ => true,
        });
        for s in used {
            if self.running.contains_key(&s.name) {
                continue;
            }
            let id = TrackerId::Script(s.name.clone());
            match policy.vet(&s.command) {
                Err(why) => {
                    // keepalived disables an unusable script: it counts as failed.
                    tracing::warn!("vrrp_script {} disabled: {why}", s.name);
                    self.states.insert(id.clone(), TrackState::Up(false));
                    let _ = self.tx.send((id, TrackState::Up(false)));
                    continue;
                }
                Ok(Some(w)) => tracing::warn!("vrrp_script {}: {w}", s.name),
                Ok(None) => {}
            }
            if s.init_fail {
                self.states.insert(id.clone(), TrackState::Up(false));
                let _ = self.tx.send((id.clone(), TrackState::Up(false)));
            }
            let task = tokio::spawn(run(s.clone(), policy.clone(), self.tx.clone()));
            self.running.insert(
                s.name.clone(),
                Running {
                    script: s.clone(),
                    task,
                },
            );
        }
    }

    /// Watches the `track_file`s some instance or sync group tracks:
    /// unchanged ones carry on, others start with their value read now
    /// (after `init_file`, which a reload does not overwrite).
    fn apply_files(&mut self, cfg: &Config, reload: bool) {
        self.watch_files(vigil_core::director::tracked::files(cfg), reload);
    }

    /// Watches the `track_file`s some `FILE_CHECK` follows (the check
    /// side's trackers): unchanged ones carry on, others start with their
    /// value read now (after `init_file`, which a reload does not
    /// overwrite), reported on the channel like any change.
    pub fn apply_file_checks(&mut self, cfg: &Config, reload: bool) {
        let followed = file_check_names(cfg);
        let used: Vec<&TrackFile> = cfg
            .track_files
            .iter()
            .filter(|f| followed.contains(f.name.as_str()))
            .collect();
        self.watch_files(used, reload);
        self.states.retain(|id, _| match id {
            TrackerId::File(name) => self.files.contains_key(name),
            _ => true,
        });
    }

    /// Watches exactly the files `used`: unchanged ones carry on, others
    /// stop or start.
    fn watch_files(&mut self, used: Vec<&TrackFile>, reload: bool) {
        self.files.retain(|name, w| {
            let keep = used
                .iter()
                .any(|f| f.name == *name && same_file(f, &w.file));
            if !keep {
                w.task.abort();
            }
            keep
        });
        for f in used {
            if self.files.contains_key(&f.name) {
                continue;
            }
            init_file(f, reload);
            let id = TrackerId::File(f.name.clone());
            let value = read_value(&f.path, 0);
            self.states.insert(id.clone(), TrackState::Value(value));
            let _ = self.tx.send((id, TrackState::Value(value)));
            let task = tokio::spawn(watch(f.clone(), value, self.tx.clone()));
            self.files.insert(
                f.name.clone(),
                Watching {
                    file: f.clone(),
                    task,
                },
            );
        }
    }

    /// Counts the processes of every `vrrp_track_process` some instance
    /// or sync group tracks: unchanged ones carry on with their state,
    /// others start with the quorum counted now (keepalived reads the
    /// process table before its instances start, without delays).
    fn apply_processes(&mut self, cfg: &Config) {
        let used = vigil_core::director::tracked::processes(cfg);
        self.processes.retain(|name, c| {
            let keep = used
                .iter()
                .any(|p| p.name == *name && same_but_span(*p, &c.process, |p| &mut p.span));
            if !keep {
                c.task.abort();
            }
            keep
        });
        for p in used {
            if self.processes.contains_key(&p.name) {
                continue;
            }
            let id = TrackerId::Process(p.name.clone());
            let up = vigil_core::vrrp::track_process::has_quorum(p, count_processes(p));
            self.states.insert(id.clone(), TrackState::Up(up));
            let _ = self.tx.send((id, TrackState::Up(up)));
            let task = tokio::spawn(count_loop(p.clone(), up, self.tx.clone()));
            self.processes.insert(
                p.name.clone(),
                Counting {
                    process: p.clone(),
                    task,
                },
            );
        }
    }

    /// Stops every tracker.
    pub fn stop(&mut self) {
        for (_, c) in self.processes.drain() {
            c.task.abort();
        }
        for (_, r) in self.running.drain() {
            r.task.abort();
        }
        for (_, w) in self.files.drain() {
            w.task.abort();
        }
    }
}

/// The `track_file`s some `FILE_CHECK` of `cfg` follows.
pub fn file_check_names(cfg: &Config) -> std::collections::BTreeSet<&str> {
    cfg.virtual_servers
        .iter()
        .flat_map(|vs| &vs.real_servers)
        .flat_map(|rs| &rs.checkers)
        .filter_map(|c| match &c.kind {
            CheckerKind::File(f) => Some(f.track_file.as_str()),
            _ => None,
        })
        .collect()
}

fn same_file(a: &TrackFile, b: &TrackFile) -> bool {
    same_but_span(a, b, |f| &mut f.span)
}

/// keepalived's `init_file [VALUE] [overwrite]`: writes VALUE when the
/// file is missing, or always with `overwrite` (not on reload).
fn init_file(f: &TrackFile, reload: bool) {
    let Some((value, overwrite)) = f.init_file else {
        return;
    };
    let exists = std::path::Path::new(&f.path).exists();
    if exists && (!overwrite || reload) {
        return;
    }
    if let Err(e) = std::fs::write(&f.path, format!("{value}\n")) {
        tracing::warn!("track_file {}: cannot write {}: {e}", f.name, f.path);
    }
}

/// The file's value now: 0 when it is missing or unreadable; `previous`
/// when it holds a number outside the 32-bit range (keepalived ignores it).
fn read_value(path: &str, previous: i64) -> i64 {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            vigil_core::vrrp::file_value(&text).unwrap_or_else(|| {
                tracing::warn!("track_file {path}: value out of range, ignored");
                previous
            })
        }
        Err(_) => 0,
    }
}

async fn watch(f: TrackFile, mut value: i64, tx: mpsc::UnboundedSender<TrackChange>) {
    let id = TrackerId::File(f.name.clone());
    let mut tick = tokio::time::interval(FILE_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = read_value(&f.path, value);
        if now != value {
            value = now;
            tracing::info!("track {id} value={value}");
            if tx.send((id.clone(), TrackState::Value(value))).is_err() {
                return;
            }
        }
    }
}

/// The processes in `/proc` that count for `p` now (zombies do not).
fn count_processes(p: &TrackProcess) -> u32 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut n = 0;
    for e in dir.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(stat) = std::fs::read(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // keepalived: the name between the first '(' and the next ')',
        // then the state; a zombie does not count.
        let stat = String::from_utf8_lossy(&stat);
        let Some(open) = stat.find('(') else { continue };
        let Some(close) = stat[open..].find(')').map(|c| open + c) else {
            continue;
        };
        if stat[close..].as_bytes().get(2) == Some(&b'Z') {
            continue;
        }
        let comm = &stat[open + 1..close];
        let cmdline = if p.full_command {
            std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default()
        } else {
            Vec::new()
        };
        if vigil_core::vrrp::track_process::matches(p, comm, &cmdline) {
            n += 1;
        }
    }
    n
}

/// Counts `p`'s processes every [`PROCESS_POLL`]; core's
/// [`QuorumDelay`](vigil_core::vrrp::QuorumDelay) decides when a change
/// of quorum is reported (after `fork_delay` / `terminate_delay`).
async fn count_loop(p: TrackProcess, up: bool, tx: mpsc::UnboundedSender<TrackChange>) {
    let id = TrackerId::Process(p.name.clone());
    let clock = crate::clock::Clock::start();
    let mut quorum = vigil_core::vrrp::QuorumDelay::new(&p, up);
    let mut tick = tokio::time::interval(PROCESS_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let count = count_processes(&p);
        let Some(up) = quorum.observe(&p, clock.now(), count) else {
            continue;
        };
        tracing::info!(
            "track {id} quorum {} ({count} processes)",
            if up { "gained" } else { "lost" }
        );
        if tx.send((id.clone(), TrackState::Up(up))).is_err() {
            return;
        }
    }
}

/// Runs `s` every `interval`; core's
/// [`ScriptVerdict`](vigil_core::vrrp::ScriptVerdict) counts the results
/// (rise, fall, the first result) and says when the verdict changes.
async fn run(s: VrrpScript, policy: Policy, tx: mpsc::UnboundedSender<TrackChange>) {
    let id = TrackerId::Script(s.name.clone());
    let mut verdict = vigil_core::vrrp::ScriptVerdict::new(&s);
    let mut tick = tokio::time::interval(s.interval.max(std::time::Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let outcome = policy.run(&s.command, &[], s.timeout).await;
        tracing::debug!("vrrp_script {} result={outcome}", s.name);
        let Some(up) = verdict.run(outcome.success()) else {
            continue;
        };
        tracing::info!(
            "track {id} {} result={outcome}",
            if up { "up" } else { "down" }
        );
        if tx.send((id.clone(), TrackState::Up(up))).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_compare_without_span() {
        let t1 = "vrrp_script s {\n script /bin/true\n interval 2\n}\n";
        let t2 = "\n\nvrrp_script s {\n script /bin/true\n interval 2\n}\n";
        let t3 = "vrrp_script s {\n script /bin/true\n interval 3\n}\n";
        let g = |t: &str| {
            vigil_core::config::parse_str("t.conf", t)
                .config
                .unwrap()
                .vrrp_scripts
                .remove(0)
        };
        assert!(same_script(&g(t1), &g(t2)));
        assert!(!same_script(&g(t1), &g(t3)));
    }

    #[test]
    fn file_checks_follow_only_their_files() {
        let t = "track_file a {\n file /run/a\n}\ntrack_file b {\n file /run/b\n}\n\
                 vrrp_instance v {\n interface eth0\n virtual_router_id 1\n priority 100\n \
                 track_file {\n a\n }\n virtual_ipaddress {\n 192.0.2.1\n }\n}\n\
                 virtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 192.0.2.201 80 {\n \
                 FILE_CHECK {\n track_file b\n }\n }\n}\n";
        let cfg = vigil_core::config::parse_str("t.conf", t).config.unwrap();
        assert_eq!(
            file_check_names(&cfg).into_iter().collect::<Vec<_>>(),
            vec!["b"]
        );
    }
}
