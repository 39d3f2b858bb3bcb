//! Health checking as keepalived 2.2.7 does it: probe scheduling and
//! verdicts, sans-IO.
//!
//! - [`Engine`]: every checker of a configuration; asks for probes
//!   ([`Output::Probe`]), is told their results ([`Input::ProbeDone`]),
//!   and produces the [`Health`] the IPVS table is built from, with
//!   verdicts, quorum changes, notify commands and trace events as
//!   outputs.
//! - [`schedule`]: one checker's timing and counters (delay_loop,
//!   connect_timeout, retry, delay_before_retry, warmup, alpha), per
//!   checker kind, plus optional `rise`/`fall`.
//! - [`verdict`]: pure pass/fail functions over what came back (TCP,
//!   ICMP, HTTP status/digest/regex, MISC exit codes, UDP, DNS, SMTP).
//! - [`probe`]: probes and their results as plain data.

mod engine;
mod event;
mod io;
mod notify;
pub mod probe;
pub mod schedule;
pub mod verdict;

pub use crate::health::{Health, RsHealth, VsHealth, VsId};
pub use engine::{Engine, Options};
pub use event::{Cause, Component, Event, EventKind};
pub use io::{Input, Output, QuorumChange, RsVerdict};
pub use notify::{Notify, NotifyEvent};
pub use probe::{HttpGet, NetError, ProbeId, ProbeKind, ProbeResult, ProbeTarget, ScriptExit};
pub use schedule::{BOOTSTRAP_DELAY, Extensions};

#[cfg(test)]
mod tests;
