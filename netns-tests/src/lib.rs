//! Vigil's real-namespace harness: scenarios on Linux network namespaces
//! with vigild, keepalived and FRR peers.
//!
//! - [`ns`]: namespaces, a bridge in its own namespace, veth-joined
//!   hosts, processes killed on drop, waiting with deadlines.
//! - [`vm`]: the VM lane, a qemu VM booting Debian's kernel (with IPVS)
//!   that runs host-built test binaries.
//! - [`harness`]: a scenario file run on namespaces with vigild (or
//!   keepalived) on the directors, recorded into the simulator's
//!   `Recorder` and judged by the simulator's verdict (`vigil netns`).
//! - [`peers`]: mixed VRRP groups of vigild with keepalived or FRR's
//!   vrrpd, both directions, and the agreement checks between them.
//! - [`capture`]: AF_PACKET capture on the bridge, pcap, decoded adverts.
//! - [`solo`]: one vigild or keepalived from a keepalived.conf, a pair of
//!   them on one segment, scripts under `enable_script_security`.
//! - [`rewrite`]: the seed's 172.17.1.0/24 moved to 192.0.2.0/24.
//! - [`binaries`]: where vigild, keepalived, zebra and vrrpd are found.

pub mod binaries;
pub mod capture;
pub mod harness;
pub mod ns;
pub mod peers;
pub mod rewrite;
pub mod solo;
pub mod vm;
