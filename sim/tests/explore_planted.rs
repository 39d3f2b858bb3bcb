//! A planted bug proves the exploration loop works: with the equal-priority
//! tie-break turned off (core's `planted-bugs` feature, a test-only
//! switch), exploring the equal-priority scenario finds two masters that
//! never resolve, shrinks the schedule to the partition that causes it,
//! and the written reproduction replays byte for byte; with the bug off,
//! the same reproduction passes. (Its own test binary: the switch is
//! process-wide.)

use std::time::Duration;

use vigil_core::config::source::FsSource;
use vigil_core::vrrp::planted::Planted;

/// The bug planted: no tie-break at equal priority.
const BUG: Planted = Planted { no_tie_break: true };
use vigil_sim::explore::{self, Kind};
use vigil_sim::{scenario, world};

#[test]
fn exploration_finds_and_shrinks_a_planted_bug() {
    std::env::set_current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).unwrap();
    let loaded = scenario::load(&FsSource, "scenarios/equal-priority/scenario.toml").unwrap();
    let mut base = explore::prepare(
        &loaded,
        Some(Duration::from_secs(60)),
        Some(Duration::from_millis(10)),
    );
    // Keep lb2's late start, drop the scenario's own split brain.
    base.timeline.retain(|s| s.at < Duration::from_secs(5));

    let seeds: Vec<u64> = (1..=60).collect();
    let results = explore::explore(&base, &seeds, 2, BUG, |_, _| {});
    let found = results
        .iter()
        .find(|r| {
            r.violation
                .as_ref()
                .is_some_and(|v| v.invariant == "single-master")
        })
        .expect("60 seeds find the missing tie-break");
    let shrunk = explore::shrink(&base, found.seed, &found.faults, "single-master", BUG);
    eprintln!(
        "seed {} of {} broke single-master; {} faults shrunk to {:?}",
        found.seed,
        seeds.len(),
        found.faults.len(),
        shrunk
            .iter()
            .map(|f| (
                f.kind.name(),
                f.steps.iter().map(|s| s.at).collect::<Vec<_>>()
            ))
            .collect::<Vec<_>>()
    );
    assert!(
        !shrunk.is_empty() && shrunk.len() <= 2,
        "shrunk to {:?}",
        shrunk
    );
    assert!(
        shrunk.iter().any(|f| matches!(
            f.kind,
            Kind::PartitionTwoWay
                | Kind::PartitionOneWay
                | Kind::DirectorCrash
                | Kind::DirectorStop
                | Kind::LossBurst
                | Kind::LatencySpike
                | Kind::Drift
        )),
        "{shrunk:?}"
    );

    // The reproduction, written and read back, replays byte for byte.
    let repro = explore::reproduction(&base, found.seed, &shrunk);
    let dir = std::env::temp_dir().join(format!("vigil-planted-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for d in &repro.directors {
        std::fs::write(
            dir.join(format!("{}.keepalived.conf", d.name)),
            vigil_core::config::dump(&d.config),
        )
        .unwrap();
    }
    let text = scenario::to_toml(&repro, |_, d| format!("{}.keepalived.conf", d.name));
    let path = dir.join("scenario.toml");
    std::fs::write(&path, &text).unwrap();
    let again = scenario::load(&FsSource, path.to_str().unwrap()).unwrap();
    let opts = world::Options {
        seed: Some(found.seed),
        capture: false,
        planted: BUG,
    };
    let a = vigil_sim::run(&again, &opts).unwrap();
    let b = vigil_sim::run(&again, &opts).unwrap();
    assert_eq!(
        vigil_sim::render_trace(&again, &a.run),
        vigil_sim::render_trace(&again, &b.run)
    );
    assert!(
        a.verdict
            .violations
            .iter()
            .any(|v| v.invariant == "single-master"),
        "{}",
        a.verdict.render()
    );

    // Without the planted bug the same schedule keeps every invariant.
    let fixed = vigil_sim::run(
        &again,
        &world::Options {
            planted: Planted::default(),
            ..opts
        },
    )
    .unwrap();
    assert!(
        fixed.verdict.violations.is_empty(),
        "{}",
        fixed.verdict.render()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
