//! `vrrp_script` trackers: each script run every `interval` with its
//! `timeout`; `rise` successes in a row make it up, `fall` failures in a
//! row down; changes are reported as `(TrackerId::Script(NAME), up)`.

use std::collections::HashMap;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use vigil_core::config::{Config, VrrpScript};
use vigil_core::vrrp::TrackerId;

use crate::script::Policy;

/// A tracker state change: the tracker id and whether it is up.
pub type TrackChange = (TrackerId, bool);

/// Whether two `vrrp_script`s are the same tracker (span ignored): a
/// reload keeps such a tracker running, with its state.
pub fn same_script(a: &VrrpScript, b: &VrrpScript) -> bool {
    let mut a = a.clone();
    a.span = b.span.clone();
    a == *b
}

struct Running {
    script: VrrpScript,
    task: JoinHandle<()>,
}

/// The running `vrrp_script` trackers.
pub struct Trackers {
    running: HashMap<String, Running>,
    /// Last state reported per tracker id (absent: not yet known).
    pub states: HashMap<TrackerId, bool>,
    tx: mpsc::UnboundedSender<TrackChange>,
}

impl Trackers {
    /// No trackers yet; changes are sent on `tx`.
    pub fn new(tx: mpsc::UnboundedSender<TrackChange>) -> Trackers {
        Trackers {
            running: HashMap::new(),
            states: HashMap::new(),
            tx,
        }
    }

    /// Runs the scripts `cfg` tracks: unchanged ones carry on with their
    /// state, changed or new ones start, removed ones stop. Only scripts
    /// some instance tracks run (keepalived skips the others).
    pub fn apply(&mut self, cfg: &Config, policy: &Policy) {
        let used: Vec<&VrrpScript> = cfg
            .vrrp_scripts
            .iter()
            .filter(|s| {
                cfg.vrrp_instances
                    .iter()
                    .any(|i| i.track_scripts.iter().any(|t| t.name == s.name))
            })
            .collect();
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
                    self.states.insert(id.clone(), false);
                    let _ = self.tx.send((id, false));
                    continue;
                }
                Ok(Some(w)) => tracing::warn!("vrrp_script {}: {w}", s.name),
                Ok(None) => {}
            }
            if s.init_fail {
                self.states.insert(id.clone(), false);
                let _ = self.tx.send((id.clone(), false));
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

    /// Stops every tracker.
    pub fn stop(&mut self) {
        for (_, r) in self.running.drain() {
            r.task.abort();
        }
    }
}

async fn run(s: VrrpScript, policy: Policy, tx: mpsc::UnboundedSender<TrackChange>) {
    let id = TrackerId::Script(s.name.clone());
    let mut up = !s.init_fail;
    let (mut ok_run, mut fail_run) = (0u32, 0u32);
    let mut tick = tokio::time::interval(s.interval.max(std::time::Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let outcome = policy.run(&s.command, &[], s.timeout).await;
        tracing::debug!("vrrp_script {} result={outcome}", s.name);
        if outcome.success() {
            ok_run += 1;
            fail_run = 0;
        } else {
            fail_run += 1;
            ok_run = 0;
        }
        let next = if !up && ok_run >= s.rise.max(1) {
            true
        } else if up && fail_run >= s.fall.max(1) {
            false
        } else {
            up
        };
        if next != up {
            up = next;
            tracing::info!(
                "track {id} {} result={outcome}",
                if up { "up" } else { "down" }
            );
            if tx.send((id.clone(), up)).is_err() {
                return;
            }
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
}
