//! The VRRP instance state machine (RFC 3768, RFC 5798, RFC 9568), with
//! keepalived 2.2.7's behaviour where the RFCs leave room.
//!
//! - [`Instance`]: one `vrrp_instance`, sans-IO.
//! - [`Router`]: a node's instances behind one entry point.
//! - [`InstanceConfig`]: what an instance needs, defaults applied.
//! - [`timers`]: skew and master-down arithmetic per version.
//! - [`validate()`]: receive-side checks, one [`Reject`] per reason.

mod announce;
mod config;
mod event;
mod from_config;
mod instance;
mod io;
pub mod planted;
mod process_quorum;
mod reject;
mod router;
mod script_verdict;
mod state;
mod stats;
mod sync;
pub mod timers;
mod track_file;
pub mod track_process;
mod validate;
mod vip;

pub use config::{GarpConfig, InitialState, InstanceConfig, TrackSpec, TrackerId};
pub use event::{Event, EventKind, GarpCause, Reason};
pub use from_config::{DEFAULT_INTERFACE, interval};
pub use instance::{Instance, PRIORITY_OWNER, PRIORITY_STOP, SyncGate};
pub use io::{Input, Notify, NotifyState, Output, Transmit};
pub use process_quorum::QuorumDelay;
pub use reject::Reject;
pub use router::{Event as RouterEvent, Router, RouterStats, Unrouted};
pub use script_verdict::ScriptVerdict;
pub use state::State;
pub use stats::Stats;
pub use track_file::file_value;
pub use validate::validate;
pub use vip::Vip;

#[cfg(test)]
mod tests;
