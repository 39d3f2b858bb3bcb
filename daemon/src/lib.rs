//! vigild: the Linux daemon built from Vigil's core, a drop-in for
//! keepalived (`vigild -f /etc/keepalived/keepalived.conf`).
//!
//! Two sides, each on its own thread and runtime:
//! - VRRP ([`vrrp_task`]): core's router on raw sockets
//!   ([`vrrp_socket`]), VIPs through rtnetlink ([`netlink`]), gratuitous
//!   ARP / unsolicited NA ([`announce`]), link and script trackers
//!   ([`track`]), notify scripts ([`notify`], [`script`]).
//! - Checks ([`check_task`]): core's check engine with real probes
//!   ([`probes`]) and the IPVS table through a backend
//!   ([`ipvs_backend`]; on the kernel: [`ipvs_netlink`]).
//!
//! Every decision is core's [`vigil_core::director`]: the VRRP side drives
//! its [`vigil_core::director::Vrrp`] half, the check side its
//! [`vigil_core::director::Balancer`] half, joined by the mastership.
//! [`daemon`] ties them to the command line ([`cli`]), pid files
//! ([`pidfile`]), capabilities ([`caps`]), logging ([`log`]), the event
//! stream ([`events`]) and signals.

pub mod announce;
pub mod caps;
pub mod check_task;
pub mod cli;
pub mod clock;
pub mod daemon;
pub mod events;
pub mod fifo;
pub mod ipvs_backend;
pub mod ipvs_netlink;
pub mod log;
pub mod netlink;
pub mod notify;
pub mod pidfile;
pub mod precise_timer;
pub mod probes;
pub mod script;
pub mod track;
pub mod vrrp_socket;
pub mod vrrp_task;

#[cfg(test)]
mod testns;
