//! The reference deployment's scenario, embedded in the binary so that
//! `vigil run` needs no file (and never reads outside the project).

use vigil_core::config::MemorySource;

/// Path of the embedded seed scenario, as traces name it.
pub const SEED_SCENARIO: &str = "scenarios/seed/failover.toml";

/// The embedded files: scenario, the two configs, the real-server script.
pub const FILES: [(&str, &[u8]); 4] = [
    (
        SEED_SCENARIO,
        include_bytes!("../../scenarios/seed/failover.toml"),
    ),
    (
        "scenarios/seed/lb1.keepalived.conf",
        include_bytes!("../../scenarios/seed/lb1.keepalived.conf"),
    ),
    (
        "scenarios/seed/lb2.keepalived.conf",
        include_bytes!("../../scenarios/seed/lb2.keepalived.conf"),
    ),
    (
        "scenarios/seed/lvsrsdr",
        include_bytes!("../../scenarios/seed/lvsrsdr"),
    ),
];

/// A source holding the embedded files.
pub fn source() -> MemorySource {
    FILES
        .iter()
        .fold(MemorySource::new(), |s, (p, b)| s.with(*p, *b))
}
