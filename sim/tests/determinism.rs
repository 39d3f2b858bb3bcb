//! Same scenario and seed: byte-identical trace and pcap.

use vigil_sim::{embedded, scenario, world};

#[test]
fn same_seed_same_bytes() {
    let s = scenario::load(&embedded::source(), embedded::SEED_SCENARIO).unwrap();
    let opts = world::Options {
        seed: Some(7),
        capture: true,
        ..Default::default()
    };
    let a = vigil_sim::run(&s, &opts).unwrap();
    let b = vigil_sim::run(&s, &opts).unwrap();
    let (ta, tb) = (
        vigil_sim::render_trace(&s, &a.run),
        vigil_sim::render_trace(&s, &b.run),
    );
    assert_eq!(ta, tb);
    let (pa, pb) = (
        vigil_sim::pcap(&a.run).unwrap(),
        vigil_sim::pcap(&b.run).unwrap(),
    );
    assert!(pa.len() > 10_000, "pcap holds the run's frames");
    assert_eq!(pa, pb);
    assert_eq!(a.verdict.summary, b.verdict.summary);
}
