//! The kernel's IPVS over generic netlink (family `IPVS`, version 1).
//!
//! Layered like a packet stack:
//! - [`attr`]: the attributes of `linux/ip_vs.h` (command, service,
//!   destination, sync daemon, statistics, info), emitted and parsed on
//!   netlink-packet-core;
//! - [`message`]: [`IpvsMessage`], a command with its attributes, a
//!   `GenlFamily` for netlink-packet-generic;
//! - [`convert`]: core's table model to and from attributes;
//! - [`client`]: a synchronous socket client (family resolution, acked
//!   requests pipelined in batches, dumps, counters), errors named by
//!   [`errno`];
//! - [`backend`]: [`NetlinkBackend`], vigild's [`crate::ipvs_backend::IpvsBackend`]
//!   on the kernel;
//! - [`reconcile`]: one sync of the kernel's table with the desired one
//!   (dump once, diff, apply the ops, re-read and re-diff on refusals;
//!   periodic full resyncs).

pub mod attr;
pub mod backend;
pub mod client;
pub mod convert;
pub mod errno;
pub mod message;
pub mod reconcile;

pub use backend::{Info, NetlinkBackend, Timeouts, op_message};
pub use client::{Client, Counters, Error};
pub use message::{IpvsCmd, IpvsMessage};
