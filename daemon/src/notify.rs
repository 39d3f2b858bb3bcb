//! Notify scripts, run one after another in the order they were asked
//! for, each with argv and a timeout.
//!
//! VRRP (keepalived's `notify_instance_exec`): the state's own script
//! (`notify_master`, `notify_backup`, `notify_fault`, `notify_stop`) with
//! its configured arguments, then `notify` with four more:
//! `INSTANCE NAME STATE PRIORITY`. Checker scripts (`notify_up`,
//! `notify_down`, `quorum_up`, `quorum_down`) run as configured.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use vigil_core::config::{Command, Config};
use vigil_core::vrrp::{self, NotifyState};

use crate::script::Policy;

/// How long one notify script may run.
pub const NOTIFY_TIMEOUT: Duration = Duration::from_secs(10);

enum Job {
    Run {
        cmd: Command,
        extra: Vec<String>,
        what: String,
        policy: Policy,
        timeout: Duration,
    },
    Barrier(oneshot::Sender<()>),
}

/// The queue of notify scripts (its worker runs on the current runtime).
#[derive(Clone, Debug)]
pub struct Notifier {
    tx: mpsc::UnboundedSender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Job::Run { what, .. } => write!(f, "Run({what})"),
            Job::Barrier(_) => f.write_str("Barrier"),
        }
    }
}

impl Notifier {
    /// Starts the worker.
    pub fn spawn() -> Notifier {
        let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
        tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                match job {
                    Job::Run {
                        cmd,
                        extra,
                        what,
                        policy,
                        timeout,
                    } => {
                        match policy.vet(&cmd) {
                            Err(why) => {
                                tracing::warn!("notify {what} skipped: {why}");
                                continue;
                            }
                            Ok(Some(warning)) => tracing::warn!("notify {what}: {warning}"),
                            Ok(None) => {}
                        }
                        let outcome = policy.run(&cmd, &extra, timeout).await;
                        let mut line = cmd.to_string();
                        for e in &extra {
                            line.push(' ');
                            line.push_str(e);
                        }
                        tracing::info!("notify {what} cmd=\"{line}\" result={outcome}");
                    }
                    Job::Barrier(done) => {
                        let _ = done.send(());
                    }
                }
            }
        });
        Notifier { tx }
    }

    /// Queues `cmd` (plus `extra` arguments); `what` names it in the log.
    pub fn run(&self, cmd: Command, extra: Vec<String>, what: String, policy: &Policy) {
        let _ = self.tx.send(Job::Run {
            cmd,
            extra,
            what,
            policy: policy.clone(),
            timeout: NOTIFY_TIMEOUT,
        });
    }

    /// Queues the scripts of a VRRP notification, as `cfg` configures them.
    pub fn vrrp(&self, cfg: &Config, n: &vrrp::Notify, policy: &Policy) {
        for (cmd, extra) in vrrp_commands(cfg, n) {
            self.run(
                cmd,
                extra,
                format!("vrrp/{} state={}", n.instance, n.state.keepalived_name()),
                policy,
            );
        }
    }

    /// Waits until every script queued so far has finished.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Job::Barrier(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

/// The commands (with their extra arguments) a VRRP notification runs.
pub fn vrrp_commands(cfg: &Config, n: &vrrp::Notify) -> Vec<(Command, Vec<String>)> {
    let Some(inst) = cfg.vrrp_instance(&n.instance) else {
        return Vec::new();
    };
    let nt = &inst.notify;
    let own = match n.state {
        NotifyState::Master => nt.master.as_ref(),
        NotifyState::Backup => nt.backup.as_ref(),
        NotifyState::Fault => nt.fault.as_ref(),
        NotifyState::Stop => nt.stop.as_ref(),
        NotifyState::MasterRxLowerPri => None,
    };
    let mut out = Vec::new();
    if let Some(c) = own {
        out.push((c.clone(), Vec::new()));
    }
    if let Some(c) = &nt.any
        && n.state != NotifyState::MasterRxLowerPri
    {
        out.push((
            c.clone(),
            vec![
                "INSTANCE".to_string(),
                n.instance.clone(),
                n.state.keepalived_name().to_string(),
                n.priority.to_string(),
            ],
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specific_then_generic_with_four_arguments() {
        let text = "vrrp_instance apache {\n interface eth0\n virtual_router_id 51\n \
                    notify_master \"/bin/echo m 'a b'\"\n notify /bin/n.sh\n \
                    virtual_ipaddress { 192.0.2.160 }\n}\n";
        let p = vigil_core::config::parse_str("t.conf", text);
        let cfg = p.config.unwrap_or_else(|| panic!("{:?}", p.diagnostics));
        let n = vrrp::Notify {
            instance: "apache".into(),
            state: NotifyState::Master,
            priority: 100,
        };
        let cmds = vrrp_commands(&cfg, &n);
        assert_eq!(cmds.len(), 2);
        assert_eq!(cmds[0].0.args, vec!["/bin/echo", "m", "a b"]);
        assert!(cmds[0].1.is_empty());
        assert_eq!(cmds[1].0.args, vec!["/bin/n.sh"]);
        assert_eq!(cmds[1].1, vec!["INSTANCE", "apache", "MASTER", "100"]);
        let b = vrrp::Notify {
            state: NotifyState::Backup,
            ..n
        };
        assert_eq!(vrrp_commands(&cfg, &b).len(), 1);
    }
}
