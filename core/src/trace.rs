//! The trace vocabulary every driver shares.
//!
//! A trace is a sequence of [`Record`]s: time, node, [`Event`]. Each event
//! renders as stable text, `component event key=value…`, so that a whole
//! run renders as one line per event:
//!
//! ```text
//! +0003.648437s lb2 vrrp/apache state from=backup to=master reason=master-down-timeout
//! ```
//!
//! Each core module owns its own event type; [`Event`] gathers them.

use std::fmt;

use crate::time::Instant;

/// One event of any component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A VRRP instance event (component `vrrp/<instance>`).
    Vrrp(crate::vrrp::Event),
    /// A health-check event (component `check`, `check/<target>`,
    /// `check/<vs>`).
    Check(crate::check::Event),
    /// An IPVS event: ops, foreign services, placed flows (component `ipvs`).
    Ipvs(crate::ipvs::Event),
    /// A harness event: faults, ARP caches, client service.
    Harness(crate::harness::Event),
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Vrrp(e) => e.fmt(f),
            Event::Check(e) => e.fmt(f),
            Event::Ipvs(e) => e.fmt(f),
            Event::Harness(e) => e.fmt(f),
        }
    }
}

/// One trace line: when, on which node, what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// When it happened.
    pub at: Instant,
    /// The node (director, real server, client, harness) it happened on.
    pub node: String,
    /// What happened.
    pub event: Event,
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.at, self.node, self.event)
    }
}

/// Writes ` key=value` pairs, quoting values that hold spaces, `=` or
/// quotes, so that trace lines stay machine-splittable.
pub struct Fields<'a, 'b> {
    f: &'a mut fmt::Formatter<'b>,
}

impl<'a, 'b> Fields<'a, 'b> {
    /// Starts writing fields after an event name already written to `f`.
    pub fn new(f: &'a mut fmt::Formatter<'b>) -> Self {
        Fields { f }
    }

    /// Writes ` key=value`.
    pub fn field(&mut self, key: &str, value: impl fmt::Display) -> &mut Self {
        let v = value.to_string();
        if v.is_empty() || v.contains([' ', '=', '"', '\t', '\n']) {
            let escaped = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            let _ = write!(self.f, " {key}=\"{escaped}\"");
        } else {
            let _ = write!(self.f, " {key}={v}");
        }
        self
    }

    /// Writes ` key=value` only when `value` is `Some`.
    pub fn opt(&mut self, key: &str, value: Option<impl fmt::Display>) -> &mut Self {
        if let Some(v) = value {
            self.field(key, v);
        }
        self
    }
}
