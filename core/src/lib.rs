//! Vigil's sans-IO core.
//!
//! Every decision a keepalived director makes lives here as pure functions
//! and state machines of the form `handle(now, input) -> outputs` plus
//! `next_deadline()`:
//!
//! - [`packet`]: the VRRP wire format, gratuitous ARP and unsolicited NA.
//! - [`vrrp`]: the VRRP instance state machine (RFC 3768, 5798, 9568).
//! - [`config`]: keepalived.conf parsing, typed config, diagnostics.
//! - [`check`]: health-check scheduling and verdicts.
//! - [`health`]: what the checks say of the pool, which the table is
//!   built from.
//! - [`ipvs`]: the IPVS table model, its diff and the kernel's schedulers.
//! - [`director`]: all of the above composed into one keepalived director.
//! - [`trace`]: the event vocabulary every driver shares, with the
//!   harnesses' own events in [`harness`].
//!
//! Core never reads a clock, never sleeps, never spawns and never does I/O
//! (the optional `fs` feature adds a filesystem source for config includes).

pub mod check;
pub mod config;
pub mod director;
pub mod harness;
pub mod health;
pub mod ipvs;
pub mod packet;
#[cfg(test)]
pub(crate) mod proptest_config;
pub mod rng;
pub mod time;
pub mod trace;
pub mod vrrp;
