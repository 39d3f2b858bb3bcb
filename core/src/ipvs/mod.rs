//! The IPVS table model: services, destinations, the table a config asks
//! for, the minimal diff to reach it, and the kernel's schedulers.
//!
//! - [`Table`] holds services ([`ServiceKey`] -> [`Service`]) and their
//!   destinations ([`DestKey`] -> [`Dest`]) in a fixed order.
//! - [`desired`] builds the table a [`crate::config::Config`] asks for under
//!   the current [`Health`] (keepalived 2.2.7's semantics).
//! - [`diff`]/[`plan`] give the ordered, minimal [`Op`]s from the kernel's
//!   table to the desired one; [`apply`] is the model of what the kernel
//!   then holds; [`Drainer`] removes destinations gracefully.
//! - [`render`] prints a table exactly as `ipvsadm -Ln` (and `--stats`,
//!   `--thresholds`, `--persistent-conn`) does.
//! - [`sched`] models Linux 6.1's schedulers; [`persist`] its persistence
//!   templates; [`Forwarder`] puts them together to place simulated flows
//!   as the kernel would.
//! - [`Sync`] keeps the kernel's table in line with the desired one,
//!   sans-IO (dump, plan, apply, re-read on refusal, periodic resync).
//! - [`Event`] is the component's trace vocabulary (`ipvs ...`).

mod apply;
mod desired;
mod dest;
mod diff;
mod event;
mod forward;
mod op;
pub mod persist;
pub mod render;
pub mod sched;
mod service;
mod sync;
mod table;

pub use crate::health::{Health, RsHealth, VsHealth, initial_quorum, next_quorum, real_weight};
pub use apply::{ApplyError, ApplyErrorKind, apply, apply_one};
pub use desired::{MAX_RANGE, desired, owned_services};
pub use dest::{Dest, DestKey, ForwardMethod};
pub use diff::{Drainer, Plan, diff, plan};
pub use event::Event;
pub use forward::{ConnId, Forwarder, Placed, Refused};
pub use op::Op;
pub use render::ipvsadm_ln;
pub use service::{
    Family, Netmask, Persistence, Protocol, Scheduler, Service, ServiceFlags, ServiceKey,
    UnknownScheduler,
};
pub use sync::{MAX_ROUNDS, Sync, SyncOutput};
pub use table::{ServiceEntry, Table};

#[cfg(test)]
mod props;
