//! Exploration of the reference scenario keeps every invariant. The seeds
//! are split into batches, one test each, so that cargo-nextest's
//! `--partition count:K/N` (or `vigil explore --shard K/N`) spreads them
//! over machines with no coordinator.

use std::time::Duration;

use vigil_sim::{embedded, explore, scenario};

fn batch(k: u64) {
    let base = scenario::load(&embedded::source(), embedded::SEED_SCENARIO).unwrap();
    let base = explore::prepare(
        &base,
        Some(Duration::from_secs(60)),
        Some(Duration::from_millis(10)),
    );
    let seeds: Vec<u64> = (k * 25 + 1..=k * 25 + 25).collect();
    let results = explore::explore(&base, &seeds, 1, Default::default(), |_, _| {});
    let bad: Vec<String> = results
        .iter()
        .filter_map(|r| {
            let why = r.error.clone().or_else(|| {
                r.violation
                    .as_ref()
                    .map(|v| format!("{} at {}: {}", v.invariant, v.at, v.detail))
            })?;
            Some(format!(
                "seed {}: {why} (replay: vigil explore --first {} --seeds 1 --resolution 10ms)",
                r.seed, r.seed
            ))
        })
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

macro_rules! batches {
    ($($name:ident = $k:expr),*) => { $( #[test] fn $name() { batch($k); } )* };
}

batches!(
    batch_0 = 0,
    batch_1 = 1,
    batch_2 = 2,
    batch_3 = 3,
    batch_4 = 4,
    batch_5 = 5,
    batch_6 = 6,
    batch_7 = 7
);

#[test]
fn shards_partition_the_seeds() {
    let all: Vec<u64> = (1..=100).collect();
    let mut joined: Vec<u64> = (1..=4).flat_map(|k| explore::shard(1, 100, k, 4)).collect();
    joined.sort();
    assert_eq!(joined, all);
    assert!(
        explore::shard(1, 100, 2, 4)
            .iter()
            .all(|s| (s - 1) % 4 == 1)
    );
}

/// Seeds 6618 and 7169 (10 ms resolution) preempt at +43.610 s and lose
/// that advert to a partition / loss burst that starts 3 ms / 10 ms later:
/// the two masters that follow are the fault's, not a bug. Both must pass;
/// the fault windows open one datagram flight before their fault.
#[test]
fn an_advert_lost_to_a_fault_starting_after_its_send_is_the_faults() {
    let base = scenario::load(&embedded::source(), embedded::SEED_SCENARIO).unwrap();
    let base = explore::prepare(
        &base,
        Some(Duration::from_secs(60)),
        Some(Duration::from_millis(10)),
    );
    let results = explore::explore(&base, &[6618, 7169], 1, Default::default(), |_, _| {});
    for r in &results {
        assert!(r.error.is_none(), "seed {}: {:?}", r.seed, r.error);
        assert!(r.violation.is_none(), "seed {}: {:?}", r.seed, r.violation);
        // The schedule still holds the fault that lost the advert.
        assert!(!r.faults.is_empty(), "seed {}", r.seed);
    }
}
