//! vigild: the production driver of Vigil's core on Linux sockets and
//! kernel tables.
//!
//! Not built yet: see the status table in README.md.
