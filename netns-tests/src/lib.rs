//! Vigil's real-namespace harness: scenarios on Linux network namespaces
//! with vigild, keepalived and FRR peers.
//!
//! - [`ns`]: namespaces, a bridge in its own namespace, veth-joined
//!   hosts, processes killed on drop, waiting with deadlines.
//! - [`vm`]: the VM lane, a qemu VM booting Debian's kernel (with IPVS)
//!   that runs host-built test binaries.
//!
//! The scenario harness itself is not built yet: see the status table
//! in README.md.

pub mod ns;
pub mod vm;
