//! Vigil's deterministic simulator: a turmoil world of directors, real
//! servers and clients that runs `vigil-core` under faults.
//!
//! Not built yet: see the status table in README.md.
