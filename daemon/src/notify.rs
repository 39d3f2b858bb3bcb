//! Notify scripts, run one after another in the order they were asked
//! for, each with argv and a timeout. Which scripts run, with which
//! arguments, is the director's decision
//! ([`vigil_core::director::Output::Notify`]); this runs them.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use vigil_core::config::Command;

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

    /// Waits until every script queued so far has finished.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Job::Barrier(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}
