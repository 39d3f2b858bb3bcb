//! Benchmark: exploration seeds per second for the reference scenario at
//! 60 simulated seconds per seed and 10 ms resolution, with 1 and 2 jobs
//! (scaling), checking every invariant of every seed.
//!
//! `cargo bench -p vigil-sim --bench explore_speed`.

use std::time::{Duration, Instant};

use vigil_sim::{embedded, explore, scenario};

fn main() {
    let base = scenario::load(&embedded::source(), embedded::SEED_SCENARIO).unwrap();
    let base = explore::prepare(
        &base,
        Some(Duration::from_secs(60)),
        Some(Duration::from_millis(10)),
    );
    let seeds: Vec<u64> = (1..=200).collect();
    println!(
        "{:<40} {:>8} {:>10} {:>12}",
        "case (60 s per seed, 10 ms)", "seeds", "wall", "seeds/s"
    );
    let mut rates = Vec::new();
    for jobs in [1usize, 2] {
        let t = Instant::now();
        let r = explore::explore(&base, &seeds, jobs, Default::default(), |_, _| {});
        let secs = t.elapsed().as_secs_f64();
        let rate = r.len() as f64 / secs;
        let bad = r
            .iter()
            .filter(|x| x.violation.is_some() || x.error.is_some())
            .count();
        assert_eq!(bad, 0, "no seed may break an invariant");
        rates.push(rate);
        println!(
            "{:<40} {:>8} {:>9.2}s {:>11.1}",
            format!("--jobs {jobs}"),
            r.len(),
            secs,
            rate
        );
    }
    println!(
        "summary: explore {:.1} seeds/s on one job, {:.1} on two ({:.2}x)",
        rates[0],
        rates[1],
        rates[1] / rates[0]
    );
}
