//! What the engine is told ([`Input`]) and what it asks for ([`Output`]).

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use super::event::Cause;
use super::notify::Notify;
use super::probe::{ProbeId, ProbeKind, ProbeResult, ProbeTarget};
use crate::config::Config;
use crate::health::VsId;
use crate::time::fmt_ms;
use crate::trace;

/// Something that happened to the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input<'a> {
    /// Start checking: arm every checker's first probe.
    Start,
    /// Time passed; fire every timer due at or before `now`.
    Timer,
    /// A probe's result came back.
    ProbeDone {
        /// The probe, as given in [`Output::Probe`].
        id: ProbeId,
        /// What came back.
        result: ProbeResult,
    },
    /// This director became master (true) or stopped being master:
    /// checkers of virtual servers with `ha_suspend` only probe while it
    /// is master. Until told, the engine assumes it is not.
    Mastership {
        /// Whether it is master now.
        master: bool,
    },
    /// A `track_file` holds `value` now (keepalived reads the file when
    /// it changes; a missing file is 0). Before [`Input::Start`] it is the
    /// value read at start-up, which decides the starting state of the
    /// `FILE_CHECK`s following the file; while running, a change moves
    /// them (up, down, weight).
    TrackFile {
        /// The `track_file`'s name.
        name: &'a str,
        /// The number it holds.
        value: i64,
    },
    /// A new configuration: checkers and servers found in both keep their
    /// state; every checker's timer is re-armed as at start.
    Reload(&'a Config),
    /// Stop: with `omega`, run the down scripts; then do nothing more.
    Shutdown,
}

/// A real server of a virtual server changed state or weight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsVerdict {
    /// The virtual server.
    pub vs: VsId,
    /// The real server.
    pub rs: SocketAddr,
    /// Whether it is alive now.
    pub alive: bool,
    /// Its effective weight now.
    pub weight: u32,
    /// `inhibit_on_failure`: keep it with weight 0 while dead.
    pub inhibit: bool,
    /// Why.
    pub cause: Cause,
}

/// A virtual server gained or lost quorum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuorumChange {
    /// The virtual server.
    pub vs: VsId,
    /// Whether quorum holds now.
    pub up: bool,
    /// The sorry server now taking (lost) or leaving (gained) the pool.
    pub sorry_server: Option<SocketAddr>,
}

/// Something the engine asks its driver to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Run a probe and answer with [`Input::ProbeDone`].
    Probe {
        /// Echo this back.
        id: ProbeId,
        /// What to do.
        kind: ProbeKind,
        /// Where.
        target: ProbeTarget,
        /// How long each step may take (connect, and for HTTP each write
        /// and read; for MISC_CHECK the whole run).
        timeout: Duration,
    },
    /// A real server changed state or weight: update the pool.
    Verdict(RsVerdict),
    /// A virtual server gained or lost quorum: swap the sorry server.
    Quorum(QuorumChange),
    /// Run a notify command.
    Notify(Notify),
    /// Record a trace event.
    Trace(trace::Event),
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Output::Probe {
                id,
                kind,
                target,
                timeout,
            } => {
                write!(f, "probe {id} {} {target}", kind.keyword())?;
                if let ProbeKind::Http(g) | ProbeKind::Ssl(g) = kind {
                    write!(f, " {}{}", g.host, g.path)?;
                }
                write!(f, " timeout={}", fmt_ms(*timeout))
            }
            Output::Verdict(v) => write!(
                f,
                "verdict {} {} {} weight={}{} cause={}",
                v.vs,
                v.rs,
                if v.alive { "up" } else { "down" },
                v.weight,
                if v.inhibit { " inhibit" } else { "" },
                v.cause
            ),
            Output::Quorum(q) => {
                write!(f, "quorum {} {}", q.vs, if q.up { "up" } else { "down" })?;
                if let Some(s) = q.sorry_server {
                    write!(f, " {}={s}", if q.up { "sorry-out" } else { "sorry-in" })?;
                }
                Ok(())
            }
            Output::Notify(n) => write!(
                f,
                "notify {} [{}]{}",
                n.event,
                n.command,
                if n.stopping { " stopping" } else { "" }
            ),
            Output::Trace(e) => write!(f, "trace {e}"),
        }
    }
}
