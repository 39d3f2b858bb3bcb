//! Trace events of the health checker.
//!
//! Components: `check/<target>` for a checker (its destination
//! `ip:port`, or the real server's address for a MISC_CHECK),
//! `check/<ip:port>` for a real server (the same word as its checkers
//! when they probe the server itself), `check/<vs>` for a virtual server
//! (`172.17.1.160:80/tcp`), `check/file:<name>` for a `track_file` that
//! `FILE_CHECK`s follow, and `check` for the engine. A `FILE_CHECK` is
//! named after its real server, like a MISC_CHECK.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use super::probe::ProbeId;
use super::verdict::{Failure, Verdict};
use crate::health::VsId;
use crate::trace::Fields;

/// Why a real server's state or weight changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cause {
    /// A checker passed (its keyword).
    CheckPassed(&'static str),
    /// A checker failed (its keyword and the last failure).
    CheckFailed(&'static str, Option<Failure>),
    /// `misc_dynamic` changed the weight.
    DynamicWeight,
    /// A `track_file` a `FILE_CHECK` follows changed the weight.
    TrackFile,
    /// A configuration reload.
    Reload,
}

impl fmt::Display for Cause {
    /// `TCP_CHECK:pass`, `TCP_CHECK:refused`, `misc-dynamic`, `reload`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::CheckPassed(k) => write!(f, "{k}:pass"),
            Cause::CheckFailed(k, Some(r)) => write!(f, "{k}:{r}"),
            Cause::CheckFailed(k, None) => write!(f, "{k}:fail"),
            Cause::DynamicWeight => f.write_str("misc-dynamic"),
            Cause::TrackFile => f.write_str("track-file"),
            Cause::Reload => f.write_str("reload"),
        }
    }
}

/// Whose event it is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Component {
    /// The engine as a whole: `check`.
    Engine,
    /// One (deduplicated) checker: `check/<label>`.
    Checker(Arc<str>),
    /// A real server: `check/<ip:port>`.
    RealServer(SocketAddr),
    /// A virtual server: `check/<vs>`.
    VirtualServer(VsId),
    /// A `track_file` some `FILE_CHECK` follows: `check/file:<name>`.
    TrackFile(Arc<str>),
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Component::Engine => f.write_str("check"),
            Component::Checker(l) => write!(f, "check/{l}"),
            Component::RealServer(a) => write!(f, "check/{a}"),
            Component::VirtualServer(v) => write!(f, "check/{v}"),
            Component::TrackFile(n) => write!(f, "check/file:{n}"),
        }
    }
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// The engine started.
    Started {
        /// Distinct checkers scheduled.
        checkers: usize,
        /// Checker uses (one per checker block).
        uses: usize,
    },
    /// A probe was sent.
    Probe {
        /// Its id.
        id: ProbeId,
        /// Checker keyword.
        kind: &'static str,
        /// The URL path, for HTTP checks.
        path: Option<String>,
    },
    /// A probe's result was judged.
    Result {
        /// The probe.
        id: ProbeId,
        /// The verdict.
        verdict: Verdict,
        /// Failures counted in the current retry cycle, after this one.
        retry_it: u32,
        /// The retry count in force.
        retry: u32,
    },
    /// A result arrived for a probe the engine no longer waits for.
    Stale {
        /// The probe.
        id: ProbeId,
    },
    /// A checker went up or down, or its first result confirmed its
    /// starting state.
    Checker {
        /// The state.
        up: bool,
        /// Whether this confirms the starting state.
        first: bool,
        /// Checker keyword.
        kind: &'static str,
    },
    /// A `track_file` that `FILE_CHECK`s follow changed value.
    FileValue {
        /// The value it held.
        from: i64,
        /// The value it holds now.
        to: i64,
    },
    /// A checker was suspended (`ha_suspend`, not master) or resumed.
    Suspended {
        /// Suspended (true) or resumed.
        suspended: bool,
    },
    /// A real server of a virtual server went up or down.
    RealServer {
        /// The virtual server.
        vs: VsId,
        /// Alive or not.
        alive: bool,
        /// Its effective weight.
        weight: u32,
        /// Why.
        cause: Cause,
    },
    /// A real server's effective weight changed.
    Weight {
        /// The virtual server.
        vs: VsId,
        /// Old weight.
        from: u32,
        /// New weight.
        to: u32,
    },
    /// Quorum was gained or lost.
    Quorum {
        /// Gained (true) or lost.
        up: bool,
        /// Live weight.
        weight: u64,
        /// The threshold it was compared with.
        threshold: i64,
        /// At start-up or reload.
        init: bool,
    },
    /// The sorry server was put in or taken out of the pool.
    SorryServer {
        /// In (true) or out.
        active: bool,
        /// Its address.
        addr: SocketAddr,
    },
    /// A new configuration was taken.
    Reloaded {
        /// Checkers whose state was carried over.
        kept: usize,
        /// New checkers.
        added: usize,
        /// Checkers dropped.
        removed: usize,
    },
    /// The engine stopped.
    Stopped,
}

/// A health-checker event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Whose.
    pub component: Component,
    /// What.
    pub kind: EventKind,
}

fn state(up: bool) -> &'static str {
    if up { "up" } else { "down" }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.component)?;
        match &self.kind {
            EventKind::Started { checkers, uses } => {
                f.write_str("start")?;
                Fields::new(f)
                    .field("checkers", checkers)
                    .field("uses", uses);
            }
            EventKind::Probe { id, kind, path } => {
                f.write_str("probe")?;
                Fields::new(f)
                    .field("id", id)
                    .field("kind", kind)
                    .opt("path", path.as_deref());
            }
            EventKind::Result {
                id,
                verdict,
                retry_it,
                retry,
            } => {
                f.write_str("result")?;
                let mut w = Fields::new(f);
                w.field("id", id);
                match verdict {
                    Verdict::Pass { weight } => {
                        w.field("verdict", "pass").opt("weight", *weight);
                    }
                    Verdict::Fail(r) => {
                        w.field("verdict", "fail").field("reason", r);
                    }
                }
                w.field("retry", format!("{retry_it}/{retry}"));
            }
            EventKind::Stale { id } => {
                f.write_str("stale-result")?;
                Fields::new(f).field("id", id);
            }
            EventKind::Checker { up, first, kind } => {
                f.write_str(if *first { "checker-first" } else { "checker" })?;
                Fields::new(f)
                    .field("state", state(*up))
                    .field("kind", kind);
            }
            EventKind::FileValue { from, to } => {
                f.write_str("value")?;
                Fields::new(f).field("from", from).field("to", to);
            }
            EventKind::Suspended { suspended } => {
                f.write_str(if *suspended { "suspend" } else { "resume" })?;
            }
            EventKind::RealServer {
                vs,
                alive,
                weight,
                cause,
            } => {
                f.write_str(if *alive { "rs-up" } else { "rs-down" })?;
                Fields::new(f)
                    .field("vs", vs)
                    .field("weight", weight)
                    .field("cause", cause);
            }
            EventKind::Weight { vs, from, to } => {
                f.write_str("weight")?;
                Fields::new(f)
                    .field("vs", vs)
                    .field("from", from)
                    .field("to", to);
            }
            EventKind::Quorum {
                up,
                weight,
                threshold,
                init,
            } => {
                f.write_str(if *up { "quorum-up" } else { "quorum-down" })?;
                let mut w = Fields::new(f);
                w.field("weight", weight).field("threshold", threshold);
                if *init {
                    w.field("init", "yes");
                }
            }
            EventKind::SorryServer { active, addr } => {
                f.write_str(if *active { "sorry-in" } else { "sorry-out" })?;
                Fields::new(f).field("addr", addr);
            }
            EventKind::Reloaded {
                kept,
                added,
                removed,
            } => {
                f.write_str("reload")?;
                Fields::new(f)
                    .field("kept", kept)
                    .field("added", added)
                    .field("removed", removed);
            }
            EventKind::Stopped => f.write_str("stop")?,
        }
        Ok(())
    }
}
