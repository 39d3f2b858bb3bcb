//! Vigil's real-namespace harness: scenarios on Linux network namespaces
//! with vigild, keepalived and FRR peers.
//!
//! Not built yet: see the status table in README.md.
