//! MISC_CHECK: the command with argv, killed after `misc_timeout`.

use std::time::Duration;

use vigil_core::check::{ProbeResult, ScriptExit};
use vigil_core::config::Command;

use crate::script::{Outcome, Policy};

/// Runs the check's command; its exit decides.
pub async fn run(cmd: &Command, timeout: Duration, policy: &Policy) -> ProbeResult {
    if let Err(why) = policy.vet(cmd) {
        tracing::warn!("MISC_CHECK {cmd}: {why}");
        return ProbeResult::Exit(ScriptExit::NotStarted);
    }
    ProbeResult::Exit(match policy.run(cmd, &[], timeout).await {
        Outcome::Exit(c) => ScriptExit::Code(c.clamp(0, 255) as u8),
        Outcome::Signal(s) => ScriptExit::Signal(s),
        Outcome::TimedOut => ScriptExit::TimedOut,
        Outcome::NotStarted => ScriptExit::NotStarted,
    })
}
