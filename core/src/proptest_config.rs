//! The configuration of every property test in this workspace.
//!
//! In CI (and any plain `cargo test`) a property test draws its cases from
//! a fixed seed, after replaying the committed regression files beside
//! it, so that two runs of the same commit test the same cases. The
//! search for new cases is a separate lane (`scripts/test-deep`):
//! `VIGIL_PROPTEST_SEED=N` draws from seed N and `VIGIL_PROPTEST_SCALE=K`
//! runs K times the cases.

use proptest::test_runner::{Config, RngSeed};

/// The seed CI draws from.
pub const CI_SEED: u64 = 0x5eed_0fc1;

/// `cases` cases (times `VIGIL_PROPTEST_SCALE`) drawn from `CI_SEED` or
/// `VIGIL_PROPTEST_SEED`. A variable that is set but unreadable panics,
/// naming it, rather than silently testing something else.
pub fn config(cases: u32) -> Config {
    let var = |name: &str| -> Option<u64> {
        let v = std::env::var(name).ok()?;
        Some(v.trim().parse().unwrap_or_else(|_| {
            panic!("{name}={v:?} is not a whole number");
        }))
    };
    let seed = var("VIGIL_PROPTEST_SEED").unwrap_or(CI_SEED);
    let scale = var("VIGIL_PROPTEST_SCALE").unwrap_or(1).max(1);
    Config {
        cases: cases.saturating_mul(u32::try_from(scale).unwrap_or(u32::MAX)),
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    }
}
