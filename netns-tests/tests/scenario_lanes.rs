//! The scenarios beyond the reference shape on real namespaces:
//! `track-script` (a `vrrp_script` failing and recovering, a `track_file`
//! written, notify calls recorded) runs with vigild and with keepalived
//! 2.2.7 and both must meet every expectation the simulator meets
//! (priorities, states, notify argv). `track-process`, `checks` and
//! `sync-group` are refused here, naming why (the directors share one
//! process table; the harness's real servers serve HTTP only; it gives
//! each director one interface), rather than run with their expectations
//! unjudged.

use std::path::Path;

use vigil_core::config::source::FsSource;
use vigil_netns::harness::{self, DirectorImpl, Keep, Options};
use vigil_netns::ns;

fn prepared(rel: &str) -> harness::Prepared {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(rel)
        .to_string_lossy()
        .into_owned();
    harness::prepare(&FsSource, &path).unwrap_or_else(|e| panic!("{rel}: {e:?}"))
}

#[test]
fn track_script_with_vigild_and_with_keepalived() {
    if !ns::require_root("track_script_with_vigild_and_with_keepalived") {
        return;
    }
    let p = prepared("track-script/scenario.toml");
    let runs = [
        (DirectorImpl::Vigild, "tsv"),
        (DirectorImpl::Keepalived, "tsk"),
    ];
    let outcomes: Vec<_> = std::thread::scope(|sc| {
        let handles: Vec<_> = runs
            .iter()
            .map(|(imp, tag)| {
                let p = &p;
                sc.spawn(move || {
                    harness::run(
                        p,
                        &Options {
                            director_impl: *imp,
                            tag: (*tag).into(),
                            keep: Keep::OnFailure,
                            ..Options::default()
                        },
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic"))
            .collect()
    });
    let mut failures = Vec::new();
    for ((imp, _), o) in runs.iter().zip(outcomes) {
        let o = o.unwrap_or_else(|e| panic!("{imp}: {e}"));
        let text = harness::report::verdict(&o);
        eprintln!("--- track-script ({imp}) ---\n{text}");
        // Every expectation is judged here: none may be set aside.
        assert!(o.unjudged.is_empty(), "{imp}: unjudged {:?}", o.unjudged);
        assert_eq!(o.verdict.expectations.len(), p.scenario.expectations.len());
        if !o.pass() {
            failures.push(format!(
                "{imp}: {}\n{text}",
                o.first_failure().unwrap_or_default()
            ));
        }
        // The notify calls came from the daemon through the recorder.
        assert!(
            o.run
                .rec
                .notifies
                .iter()
                .any(|(_, _, a)| a.last().map(String::as_str) == Some("80")),
            "{imp}: no notify call with lb1's lowered priority: {:?}",
            o.run.rec.notifies
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Scenario `rel` is refused before anything runs, with `why` and the
/// place in the scenario file.
fn refused(rel: &str, why: &str) {
    let p = prepared(rel);
    let e = harness::run(&p, &Options::default()).expect_err("refused");
    assert!(e.contains(why), "{rel}: {e}");
    assert!(e.contains("scenario.toml"), "{rel}: names the file: {e}");
}

#[test]
fn what_namespaces_cannot_run_is_refused_with_the_reason() {
    refused("track-process/scenario.toml", "share one process table");
    refused("checks/scenario.toml", "serve HTTP only");
    refused(
        "sync-group/scenario.toml",
        "the harness gives each director one",
    );
}
