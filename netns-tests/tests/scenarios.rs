//! The scenario files of scenarios/ on real namespaces: vigild on both
//! directors for every scenario, and keepalived 2.2.7 on both directors
//! for the reference failover. Each run must keep the simulator's
//! invariants and the expectations it can judge without IPVS, with real
//! timings within their bounds; runs whose event order does not depend
//! on a race are compared with snapshots of that order and the final
//! state (netns-tests/tests/snapshots/).
//!
//! The runs of one test go in parallel (real time: the longest scenario
//! is 120 s).

use std::path::Path;

use vigil_core::config::source::FsSource;
use vigil_netns::harness::{self, DirectorImpl, Keep, Options, Outcome};
use vigil_netns::ns;

fn scenario_path(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

/// A run to make: scenario file, daemon, tag, snapshot name (None: the
/// event order depends on a race, only the verdict is checked).
struct Case {
    file: &'static str,
    imp: DirectorImpl,
    tag: &'static str,
    snapshot: Option<&'static str>,
    /// Environment for the directors' daemons.
    env: Vec<(String, String)>,
}

fn run_case(c: &Case) -> Result<Outcome, String> {
    let p = harness::prepare(&FsSource, &scenario_path(c.file)).map_err(|errs| {
        errs.iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    harness::run(
        &p,
        &Options {
            director_impl: c.imp,
            tag: c.tag.into(),
            keep: Keep::OnFailure,
            daemon_env: c.env.clone(),
            ..Options::default()
        },
    )
}

/// Runs `cases` in parallel; fails naming every failed run with its
/// verdict (the failed runs' directories are kept).
fn run_all(cases: &[Case]) {
    let results: Vec<Result<Outcome, String>> = std::thread::scope(|sc| {
        let handles: Vec<_> = cases.iter().map(|c| sc.spawn(|| run_case(c))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("the run panicked".into())))
            .collect()
    });
    let mut failures = Vec::new();
    for (c, r) in cases.iter().zip(&results) {
        match r {
            Err(e) => failures.push(format!("{} ({}): {e}", c.file, c.imp)),
            Ok(o) => {
                eprintln!(
                    "--- {} ({}) ---\n{}",
                    c.file,
                    c.imp,
                    harness::report::verdict(o)
                );
                if !o.pass() {
                    failures.push(format!(
                        "{} ({}): {}\n{}",
                        c.file,
                        c.imp,
                        o.first_failure().unwrap_or_default(),
                        harness::report::verdict(o)
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    for (c, r) in cases.iter().zip(results) {
        if let (Some(name), Ok(o)) = (c.snapshot, r) {
            insta::with_settings!({ prepend_module_to_snapshot => false }, {
                insta::assert_snapshot!(name, harness::report::snapshot(&o));
            });
        }
    }
}

#[test]
fn seed_failover_with_vigild_and_with_keepalived() {
    if !ns::require_root("seed_failover_with_vigild_and_with_keepalived") {
        return;
    }
    if vigil_netns::binaries::keepalived().is_err()
        && std::env::var(ns::REQUIRE_ROOT_VAR).as_deref() != Ok("1")
    {
        eprintln!(
            "SKIPPED seed_failover_with_vigild_and_with_keepalived: keepalived is not installed"
        );
        return;
    }
    run_all(&[
        Case {
            file: "seed/failover.toml",
            imp: DirectorImpl::Vigild,
            tag: "seedv",
            snapshot: Some("seed_failover_vigild"),
            env: Vec::new(),
        },
        Case {
            file: "seed/failover.toml",
            imp: DirectorImpl::Keepalived,
            tag: "seedk",
            snapshot: Some("seed_failover_keepalived"),
            env: Vec::new(),
        },
        // keepalived's console log pads days 1-9 with a space (`Fri Dec  4
        // 05:58:15 2026: `): the same run under a wall clock set to such a
        // day (libfaketime; timers and capture stamps keep the real
        // monotonic clock) must read the same.
        Case {
            file: "seed/failover.toml",
            imp: DirectorImpl::Keepalived,
            tag: "seedd",
            snapshot: Some("seed_failover_keepalived"),
            env: single_digit_day(),
        },
    ]);
}

/// libfaketime's environment for a wall clock starting on 4 December
/// 2026, a single-digit day; the monotonic clock is left alone.
fn single_digit_day() -> Vec<(String, String)> {
    let lib = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
    assert!(
        Path::new(lib).exists(),
        "{lib} is missing: install Debian's libfaketime (scripts/debian-packages)"
    );
    vec![
        ("LD_PRELOAD".into(), lib.into()),
        ("FAKETIME".into(), "@2026-12-04 05:58:15".into()),
        ("FAKETIME_DONT_FAKE_MONOTONIC".into(), "1".into()),
        ("TZ".into(), "UTC".into()),
    ]
}

#[test]
fn every_scenario_with_vigild() {
    if !ns::require_root("every_scenario_with_vigild") {
        return;
    }
    let v = DirectorImpl::Vigild;
    run_all(&[
        Case {
            file: "graceful-stop/scenario.toml",
            imp: v,
            tag: "grace",
            snapshot: Some("graceful_stop_vigild"),
            env: Vec::new(),
        },
        Case {
            file: "nopreempt/scenario.toml",
            imp: v,
            tag: "nopre",
            snapshot: Some("nopreempt_vigild"),
            env: Vec::new(),
        },
        Case {
            file: "unicast/scenario.toml",
            imp: v,
            tag: "ucast",
            snapshot: Some("unicast_vigild"),
            env: Vec::new(),
        },
        Case {
            file: "both-down/scenario.toml",
            imp: v,
            tag: "both",
            snapshot: Some("both_down_vigild"),
            env: Vec::new(),
        },
        Case {
            file: "equal-priority/scenario.toml",
            imp: v,
            tag: "equal",
            snapshot: Some("equal_priority_vigild"),
            env: Vec::new(),
        },
        Case {
            file: "http-get/scenario.toml",
            imp: v,
            tag: "http",
            snapshot: Some("http_get_vigild"),
            env: Vec::new(),
        },
        Case {
            file: "split-brain/scenario.toml",
            imp: v,
            tag: "split",
            snapshot: None,
            env: Vec::new(),
        },
        // Random loss: the backup's flaps differ from run to run.
        Case {
            file: "lossy-link/scenario.toml",
            imp: v,
            tag: "lossy",
            snapshot: None,
            env: Vec::new(),
        },
        // Both directors time out within 0.4 ms of each other at start:
        // which one's first advert wins is a race on real hosts.
        Case {
            file: "vrrp3-fast/scenario.toml",
            imp: v,
            tag: "fast",
            snapshot: None,
            env: Vec::new(),
        },
    ]);
}
