//! Exploration: run many seeds of random fault schedules with every
//! invariant checked; shrink any schedule that breaks one to a minimal
//! reproduction (delta debugging) that replays byte for byte.

pub mod faults;
mod shrink;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub use faults::{Fault, Kind};
pub use shrink::ddmin;

use crate::scenario::Scenario;
use crate::verdict::Violation;
use crate::world::Options;
use vigil_core::vrrp::planted::Planted;

/// What one seed did.
#[derive(Clone, Debug)]
pub struct SeedRun {
    /// The seed.
    pub seed: u64,
    /// The fault kinds drawn for it.
    pub kinds: Vec<Kind>,
    /// Its fault schedule.
    pub faults: Vec<Fault>,
    /// The first broken invariant, if any.
    pub violation: Option<Violation>,
    /// Or the simulation error, if it failed to run.
    pub error: Option<String>,
}

/// `base` prepared for exploration: `duration` and `resolution` when
/// given, no expectations (invariants only), its own timeline clipped.
pub fn prepare(
    base: &Scenario,
    duration: Option<Duration>,
    resolution: Option<Duration>,
) -> Scenario {
    let mut s = base.clone();
    if let Some(d) = duration {
        s.duration = d;
    }
    if let Some(r) = resolution {
        s.resolution = r;
    }
    let end = s.duration;
    s.timeline.retain(|st| st.at <= end);
    s.expectations.clear();
    s
}

/// Runs `base` with the faults of `seed`.
pub fn run_seed(base: &Scenario, seed: u64, planted: Planted) -> SeedRun {
    let (kinds, faults) = faults::schedule(base, seed);
    let (violation, error) = check(base, seed, &faults, planted);
    SeedRun {
        seed,
        kinds,
        faults,
        violation,
        error,
    }
}

/// The first invariant `faults` break in `base` run with `seed` (its
/// directors running with the `planted` bugs).
pub fn check(
    base: &Scenario,
    seed: u64,
    faults: &[Fault],
    planted: Planted,
) -> (Option<Violation>, Option<String>) {
    let s = faults::apply(base, faults);
    match crate::run(
        &s,
        &Options {
            seed: Some(seed),
            capture: false,
            planted,
        },
    ) {
        Ok(o) => (o.verdict.violations.into_iter().next(), None),
        Err(e) => (None, Some(e)),
    }
}

/// Shrinks `faults` to a 1-minimal schedule that still breaks the same
/// invariant with `seed`.
pub fn shrink(
    base: &Scenario,
    seed: u64,
    faults: &[Fault],
    invariant: &str,
    planted: Planted,
) -> Vec<Fault> {
    ddmin(faults.to_vec(), |candidate| {
        check(base, seed, candidate, planted)
            .0
            .is_some_and(|v| v.invariant == invariant)
    })
}

/// The scenario that reproduces `faults` on `base`, named for `seed`.
pub fn reproduction(base: &Scenario, seed: u64, faults: &[Fault]) -> Scenario {
    let mut s = faults::apply(base, faults);
    s.name = format!("{}-explore-{seed}", base.name);
    s.description = format!(
        "shrunk reproduction found by vigil explore: {}",
        faults
            .iter()
            .map(|f| f.kind.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    s.seed = seed;
    s
}

/// Runs `seeds` over `jobs` threads; `progress(done, violations)` is called
/// after each seed. Results come back in seed order.
pub fn explore(
    base: &Scenario,
    seeds: &[u64],
    jobs: usize,
    planted: Planted,
    progress: impl Fn(usize, usize) + Sync,
) -> Vec<SeedRun> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let bad = AtomicUsize::new(0);
    let results: Mutex<Vec<SeedRun>> = Mutex::new(Vec::with_capacity(seeds.len()));
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&seed) = seeds.get(i) else { break };
                    let r = run_seed(base, seed, planted);
                    if r.violation.is_some() || r.error.is_some() {
                        bad.fetch_add(1, Ordering::Relaxed);
                    }
                    results
                        .lock()
                        .expect("no worker panics while holding it")
                        .push(r);
                    let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                    progress(d, bad.load(Ordering::Relaxed));
                }
            });
        }
    });
    let mut v = results.into_inner().expect("workers finished");
    v.sort_by_key(|r| r.seed);
    v
}

/// The seeds of shard `k` of `n` (1-based) among `0..count` offset by `first`.
pub fn shard(first: u64, count: u64, k: u64, n: u64) -> Vec<u64> {
    (first..first + count)
        .filter(|s| (s - first) % n == k - 1)
        .collect()
}

/// Wall-clock helper for seeds-per-second figures.
pub fn rate(seeds: usize, since: Instant) -> f64 {
    seeds as f64 / since.elapsed().as_secs_f64().max(1e-9)
}
