//! The director host's tracked surroundings, as the daemon would see
//! them: `vrrp_script`s run every `interval` and exit as the timeline
//! says (core's [`ScriptVerdict`] counts rise and fall), `track_file`s
//! read what the timeline wrote (core's [`file_value`]), tracked processes
//! run or stop (core's [`QuorumDelay`] times the quorum). Each tracker is
//! a task that reports changes on a channel; nothing here decides what a
//! change does to an instance.

use std::time::Duration;

use tokio::sync::{mpsc, watch};
use vigil_core::config::{Config, TrackProcess, VrrpScript};
use vigil_core::director::tracked;
use vigil_core::vrrp::{QuorumDelay, ScriptVerdict, TrackerId, file_value};

use super::shared::{DirectorControl, HostEnv, now};

/// A tracker's report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Report {
    /// A script or process quorum is up or down.
    Up(TrackerId, bool),
    /// A tracked file holds a value.
    Value(TrackerId, i64),
}

/// What the trackers of `cfg` report before the daemon starts, in `env`:
/// scripts that start failed (`init_fail`), every file's value, processes
/// without their quorum.
pub fn initial(cfg: &Config, env: &HostEnv) -> Vec<Report> {
    let mut v = Vec::new();
    for s in tracked::scripts(cfg) {
        if s.init_fail {
            v.push(Report::Up(TrackerId::Script(s.name.clone()), false));
        }
    }
    for f in tracked::files(cfg) {
        if let Some(value) = read(env, &f.path) {
            v.push(Report::Value(TrackerId::File(f.name.clone()), value));
        }
    }
    for p in tracked::processes(cfg) {
        // keepalived counts the processes before its instances start,
        // without the delays.
        if !starts_up(env, p) {
            v.push(Report::Up(TrackerId::Process(p.name.clone()), false));
        }
    }
    v
}

fn starts_up(env: &HostEnv, p: &TrackProcess) -> bool {
    vigil_core::vrrp::track_process::has_quorum(p, count(env, p))
}

/// The value of the file at `path` in `env` (missing: 0); `None` when
/// keepalived would ignore it (out of range).
fn read(env: &HostEnv, path: &str) -> Option<i64> {
    env.files.get(path).map_or(Some(0), |t| file_value(t))
}

/// How many of `p`'s processes run in `env`: its quorum, or none.
fn count(env: &HostEnv, p: &TrackProcess) -> u32 {
    if env.stopped_processes.contains(&p.process) {
        0
    } else {
        p.quorum.max(1)
    }
}

/// Starts one task per tracker of `cfg`, reporting on `tx`; the handles
/// are the caller's to abort.
pub fn spawn(
    cfg: &Config,
    control: &watch::Receiver<DirectorControl>,
    tx: &mpsc::UnboundedSender<Report>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut v = Vec::new();
    for s in tracked::scripts(cfg) {
        v.push(tokio::task::spawn_local(script(
            s.clone(),
            control.clone(),
            tx.clone(),
        )));
    }
    for f in tracked::files(cfg) {
        v.push(tokio::task::spawn_local(file(
            f.name.clone(),
            f.path.clone(),
            control.clone(),
            tx.clone(),
        )));
    }
    for p in tracked::processes(cfg) {
        v.push(tokio::task::spawn_local(process(
            p.clone(),
            control.clone(),
            tx.clone(),
        )));
    }
    v
}

/// Runs `s` every `interval` (the first run at once, as keepalived's),
/// each run exiting as the host's surroundings say.
async fn script(
    s: VrrpScript,
    control: watch::Receiver<DirectorControl>,
    tx: mpsc::UnboundedSender<Report>,
) {
    let id = TrackerId::Script(s.name.clone());
    let mut verdict = ScriptVerdict::new(&s);
    let mut tick = tokio::time::interval(s.interval.max(Duration::from_millis(10)));
    loop {
        tick.tick().await;
        let ok = !control.borrow().env.failing_scripts.contains(&s.name);
        if let Some(up) = verdict.run(ok)
            && tx.send(Report::Up(id.clone(), up)).is_err()
        {
            return;
        }
    }
}

/// Reports the file's value whenever what it holds changes.
async fn file(
    name: String,
    path: String,
    mut control: watch::Receiver<DirectorControl>,
    tx: mpsc::UnboundedSender<Report>,
) {
    let id = TrackerId::File(name);
    let mut last = read(&control.borrow().env, &path);
    while control.changed().await.is_ok() {
        let value = read(&control.borrow_and_update().env, &path);
        if value.is_some() && value != last {
            last = value;
            if tx
                .send(Report::Value(id.clone(), value.unwrap_or(0)))
                .is_err()
            {
                return;
            }
        }
    }
}

/// Reports the quorum of `p`'s processes once a change held for its
/// delay.
async fn process(
    p: TrackProcess,
    mut control: watch::Receiver<DirectorControl>,
    tx: mpsc::UnboundedSender<Report>,
) {
    let id = TrackerId::Process(p.name.clone());
    let at = now;
    let mut quorum = QuorumDelay::new(&p, starts_up(&control.borrow().env, &p));
    loop {
        let n = count(&control.borrow_and_update().env, &p);
        if let Some(up) = quorum.observe(&p, at(), n)
            && tx.send(Report::Up(id.clone(), up)).is_err()
        {
            return;
        }
        match quorum.deadline() {
            Some(due) => {
                let wait = due.saturating_since(at());
                tokio::select! {
                    r = control.changed() => if r.is_err() { return },
                    _ = tokio::time::sleep(wait) => {}
                }
            }
            None => {
                if control.changed().await.is_err() {
                    return;
                }
            }
        }
    }
}
