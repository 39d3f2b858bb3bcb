//! Mixed VRRP groups on namespaces: vigild with keepalived 2.2.7 and
//! with FRR 8.4's vrrpd, in both directions (vigild the higher priority
//! or the peer), for VRRPv2 and v3, IPv4 and IPv6, multicast and unicast
//! (keepalived; FRR has no unicast), PASS authentication where v2 allows
//! it (keepalived; FRR implements none). Each case runs election,
//! preemption, SIGKILL and SIGTERM failovers (see `vigil_netns::peers`);
//! every takeover must come within ±20 ms of the moment Vigil's core
//! computes, whichever side decides. The cases of one test run in
//! parallel.

use vigil_netns::ns;
use vigil_netns::peers::{self, Case, GroupSpec, Impl, Report};

/// VRRPv3 cases advertise every 50 ms: short, yet well above the
/// scheduling noise of a loaded 2-core runner.
const V3_CS: u16 = 5;

fn group(version: u8, v6: bool, unicast: bool, auth: bool) -> GroupSpec {
    GroupSpec {
        version,
        v6,
        unicast,
        auth: auth.then(|| "1111".to_string()),
        interval_cs: V3_CS,
        vrid: 51,
    }
}

/// Both directions of each group with `peer`.
fn both_ways(peer: Impl, groups: &[GroupSpec]) -> Vec<Case> {
    groups
        .iter()
        .flat_map(|g| {
            [
                Case {
                    group: g.clone(),
                    high: Impl::Vigild,
                    low: peer,
                },
                Case {
                    group: g.clone(),
                    high: peer,
                    low: Impl::Vigild,
                },
            ]
        })
        .collect()
}

fn available(test: &str, peer: Impl) -> bool {
    if !ns::require_root(test) {
        return false;
    }
    let found = match peer {
        Impl::Keepalived => vigil_netns::binaries::keepalived().map(|_| ()),
        Impl::Frr => vigil_netns::binaries::frr("vrrpd")
            .and(vigil_netns::binaries::frr("zebra"))
            .map(|_| ()),
        Impl::Vigild => Ok(()),
    };
    match found {
        Ok(()) => true,
        Err(e) if std::env::var(ns::REQUIRE_ROOT_VAR).as_deref() == Ok("1") => {
            panic!("{test}: {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED {test}: {e}");
            false
        }
    }
}

/// Cases run at once per test: more would measure the runner's CPU
/// (36 daemons starting together on 2 cores), not the routers.
const AT_ONCE: usize = 4;

/// Runs `cases`, `AT_ONCE` at a time; a case that fails is run once
/// more on its own, and both results are printed.
fn run_cases(tag: &str, cases: &[Case]) -> Vec<Result<Report, String>> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<Result<Report, String>>>> =
        cases.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|sc| {
        for _ in 0..AT_ONCE {
            sc.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(c) = cases.get(i) else { break };
                    let r = std::panic::catch_unwind(|| peers::run(c, &format!("{tag}{i}")))
                        .unwrap_or_else(|_| Err("the case panicked".into()));
                    *results[i].lock().unwrap() = Some(r);
                }
            });
        }
    });
    let mut out = Vec::new();
    for (i, (c, r)) in cases.iter().zip(results).enumerate() {
        let r = r.into_inner().unwrap().expect("every case ran");
        let failed = !matches!(&r, Ok(rep) if rep.pass());
        if failed {
            let first = match &r {
                Ok(rep) => rep.render(),
                Err(e) => format!("case {}: {e}\n", c.name()),
            };
            eprintln!("RETRY (failed among {AT_ONCE} cases at once; run again alone):\n{first}");
            out.push(peers::run(c, &format!("{tag}{i}r")));
        } else {
            out.push(r);
        }
    }
    out
}

fn run_all(tag: &str, cases: &[Case]) {
    let reports = run_cases(tag, cases);
    let mut failed = Vec::new();
    let mut outline = String::new();
    for (c, r) in cases.iter().zip(&reports) {
        match r {
            Ok(r) => {
                eprint!("{}", r.render());
                outline.push_str(&r.outline());
                if !r.pass() {
                    failed.push(format!("{}{}", r.render(), r.logs));
                }
            }
            Err(e) => failed.push(format!("case {}: {e}", c.name())),
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    insta::with_settings!({ prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(format!("peers_{tag}"), outline);
    });
}

#[test]
fn vigild_with_keepalived() {
    if !available("vigild_with_keepalived", Impl::Keepalived) {
        return;
    }
    let groups = [
        group(2, false, false, true),
        group(2, false, true, true),
        group(3, false, false, false),
        group(3, false, true, false),
        group(3, true, false, false),
        group(3, true, true, false),
    ];
    run_all("keepalived", &both_ways(Impl::Keepalived, &groups));
}

#[test]
fn vigild_with_frr() {
    if !available("vigild_with_frr", Impl::Frr) {
        return;
    }
    let groups = [
        group(2, false, false, false),
        group(3, false, false, false),
        group(3, true, false, false),
    ];
    run_all("frr", &both_ways(Impl::Frr, &groups));
}
