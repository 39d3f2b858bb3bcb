//! The scenarios beyond the reference shape on real namespaces:
//! `track-script` (a `vrrp_script` failing and recovering, a `track_file`
//! written, notify calls recorded) and `vip-removed` (the master's VIP
//! deleted by hand) run with vigild and with keepalived 2.2.7, and both
//! must meet every expectation the simulator meets (priorities, states,
//! notify argv). `track-process`, `checks` and
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

/// Runs scenario `rel` with vigild and with keepalived at once (tags
/// `tag` + v/k); every expectation must be judged and met by both. The
/// outcomes, vigild's first.
fn with_both_daemons(rel: &str, tag: &str) -> Vec<harness::Outcome> {
    let p = prepared(rel);
    let runs = [
        (DirectorImpl::Vigild, format!("{tag}v")),
        (DirectorImpl::Keepalived, format!("{tag}k")),
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
                            tag: tag.clone(),
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
    let mut out = Vec::new();
    for ((imp, _), o) in runs.iter().zip(outcomes) {
        let o = o.unwrap_or_else(|e| panic!("{rel} ({imp}): {e}"));
        let text = harness::report::verdict(&o);
        eprintln!("--- {rel} ({imp}) ---\n{text}");
        // Every expectation is judged here: none may be set aside.
        assert!(o.unjudged.is_empty(), "{imp}: unjudged {:?}", o.unjudged);
        assert_eq!(o.verdict.expectations.len(), p.scenario.expectations.len());
        if !o.pass() {
            failures.push(format!(
                "{rel} ({imp}): {}\n{text}",
                o.first_failure().unwrap_or_default()
            ));
        }
        out.push(o);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    out
}

#[test]
fn track_script_with_vigild_and_with_keepalived() {
    if !ns::require_root("track_script_with_vigild_and_with_keepalived") {
        return;
    }
    for o in with_both_daemons("track-script/scenario.toml", "ts") {
        // The notify calls came from the daemon through the recorder.
        assert!(
            o.run
                .rec
                .notifies
                .iter()
                .any(|(_, _, a)| a.last().map(String::as_str) == Some("80")),
            "{}: no notify call with lb1's lowered priority: {:?}",
            o.director_impl,
            o.run.rec.notifies
        );
    }
}

#[test]
fn vip_removed_with_vigild_and_with_keepalived() {
    if !ns::require_root("vip_removed_with_vigild_and_with_keepalived") {
        return;
    }
    with_both_daemons("vip-removed/scenario.toml", "vr");
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
