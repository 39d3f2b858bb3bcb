//! Trace events of the harnesses that drive core (simulator, namespaces,
//! replay): injected faults, what clients' ARP caches say, and whether
//! clients get answers. They share the trace vocabulary with core's own
//! events so that both harnesses' traces read alike.

use std::fmt;
use std::net::IpAddr;

use crate::trace::Fields;

/// An event of a harness.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A fault or repair was injected (component `fault`).
    Fault {
        /// The action (`crash`, `restart`, `stop`, `partition`, …).
        action: String,
        /// Its parameters as `key=value` text (may be empty).
        detail: String,
    },
    /// A client's ARP (or neighbour) cache entry for a VIP changed
    /// (component `arp`).
    ArpCache {
        /// The VIP.
        vip: IpAddr,
        /// The node it now resolves to.
        holder: String,
        /// The node it resolved to before, if any.
        previous: Option<String>,
    },
    /// The share of a client's requests that succeed changed (component
    /// `client`), judged per second of request start times.
    Service {
        /// `up` (all succeed), `degraded` (some fail) or `down` (all fail).
        state: &'static str,
        /// The second (of request start times) that showed it.
        since: crate::time::Instant,
        /// Requests of that second that succeeded.
        ok: u64,
        /// Requests of that second that failed.
        failed: u64,
        /// Why the first failing request of that second failed.
        reason: Option<String>,
    },
    /// A notify script was called (component `notify`): the simulator
    /// records the call instead of running it.
    Notify {
        /// Program then arguments, as keepalived passes them.
        argv: Vec<String>,
    },
    /// A line was written to a notify FIFO (component `notify`).
    FifoLine {
        /// The FIFO.
        path: String,
        /// The line, without its newline.
        line: String,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Fault { action, detail } => {
                write!(f, "fault {action}")?;
                if !detail.is_empty() {
                    write!(f, " {detail}")?;
                }
            }
            Event::ArpCache {
                vip,
                holder,
                previous,
            } => {
                f.write_str("arp cache")?;
                Fields::new(f)
                    .field("vip", vip)
                    .field("now", holder)
                    .opt("was", previous.as_ref());
            }
            Event::Service {
                state,
                since,
                ok,
                failed,
                reason,
            } => {
                f.write_str("client service")?;
                Fields::new(f)
                    .field("state", state)
                    .field("since", since)
                    .field("ok", ok)
                    .field("failed", failed)
                    .opt("reason", reason.as_ref());
            }
            Event::Notify { argv } => {
                f.write_str("notify run")?;
                Fields::new(f).field("argv", argv.join(" "));
            }
            Event::FifoLine { path, line } => {
                f.write_str("notify fifo")?;
                Fields::new(f).field("path", path).field("line", line);
            }
        }
        Ok(())
    }
}
