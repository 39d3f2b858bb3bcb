//! The director's event stream as JSON lines (vigild's `--events FILE`),
//! for programs that judge a running director without reading its log
//! text. One object per line:
//!
//! ```text
//! {"at_ms":1234.5,"vrrp":{"instance":"apache","kind":{"State":{...}}}}
//! {"at_ms":1240.0,"ipvs":{"Op":{"AddDest":{...}}}}
//! {"at_ms":1240.0,"mastership":true}
//! {"at_ms":1300.1,"check":"check/192.0.2.152:80 checker state=down kind=TCP_CHECK"}
//! ```
//!
//! `at_ms` is milliseconds since the director started (its monotonic
//! clock). VRRP and IPVS events are core's types serialised; check events
//! are their text.

use serde::{Deserialize, Serialize};

use super::Output;
use crate::time::Instant;
use crate::trace;

/// One line of the stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// Milliseconds since vigild started.
    pub at_ms: f64,
    /// A VRRP instance event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrrp: Option<crate::vrrp::Event>,
    /// An IPVS event (op sent, op refused, foreign service, stuck).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipvs: Option<crate::ipvs::Event>,
    /// The director became master of some instance (true) or of none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mastership: Option<bool>,
    /// A health-check event, as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
}

impl Line {
    /// An empty line at `at_ms`.
    pub fn at(at_ms: f64) -> Line {
        Line {
            at_ms,
            vrrp: None,
            ipvs: None,
            mastership: None,
            check: None,
        }
    }

    /// The line recording `out` at `now`, if the stream carries it
    /// (mastership, VRRP, IPVS and check events).
    pub fn of(now: Instant, out: &Output) -> Option<Line> {
        let mut l = Line::at(now.as_nanos() as f64 / 1e6);
        match out {
            Output::Mastership(m) => l.mastership = Some(*m),
            Output::Trace(trace::Event::Vrrp(e)) => l.vrrp = Some(e.clone()),
            Output::Trace(trace::Event::Ipvs(e)) => l.ipvs = Some(e.clone()),
            Output::Trace(trace::Event::Check(e)) => l.check = Some(e.to_string()),
            _ => return None,
        }
        Some(l)
    }

    /// The VRRP or IPVS event it carries, as a trace event.
    pub fn trace_event(&self) -> Option<trace::Event> {
        match (&self.vrrp, &self.ipvs) {
            (Some(e), _) => Some(trace::Event::Vrrp(e.clone())),
            (_, Some(e)) => Some(trace::Event::Ipvs(e.clone())),
            _ => None,
        }
    }
}
