//! An expectation that saw nothing to judge fails: no request in a
//! success-ratio window, no failover for max-failover, no VRRP state for
//! single-master, no master (or no table) for master, vip-holder and
//! in-table.

use vigil_core::config::MemorySource;
use vigil_core::time::Instant;
use vigil_core::vrrp::State;
use vigil_sim::record::{Recorder, StateChange};
use vigil_sim::scenario::{self, Scenario};
use vigil_sim::{verdict, world};

/// The seed deployment for 10 s with no client and no fault, and `expect`.
fn scenario(expect: &str) -> Scenario {
    let toml = format!(
        r#"duration = "10s"

[[director]]
name = "lb1"
address = "172.17.1.150"
config = "lb1.conf"

[[director]]
name = "lb2"
address = "172.17.1.151"
config = "lb2.conf"

[[real_server]]
name = "rs1"
address = "172.17.1.152"
{expect}"#
    );
    let src = MemorySource::new()
        .with("s/scenario.toml", toml)
        .with(
            "s/lb1.conf",
            include_str!("../../scenarios/seed/lb1.keepalived.conf"),
        )
        .with(
            "s/lb2.conf",
            include_str!("../../scenarios/seed/lb2.keepalived.conf"),
        );
    scenario::load(&src, "s/scenario.toml").unwrap_or_else(|e| panic!("{e:?}"))
}

/// Each expectation's (pass, seen).
fn judged(s: &Scenario, rec: Recorder) -> Vec<(bool, String)> {
    let run = world::Run {
        seed: 1,
        rec,
        views: Vec::new(),
    };
    verdict::judge(s, &run)
        .expectations
        .into_iter()
        .map(|c| (c.pass, c.seen))
        .collect()
}

#[test]
fn no_request_and_no_failover_fail_in_a_real_run() {
    let s = scenario(
        r#"
[[expect]]
check = "success-ratio"
min = 0.5

[[expect]]
check = "max-failover"
max = "5s"

[[expect]]
check = "master"
node = "lb1"
at = "8s"

[[expect]]
check = "single-master"
"#,
    );
    let outcome = vigil_sim::run(
        &s,
        &world::Options {
            seed: None,
            capture: false,
            ..Default::default()
        },
    )
    .unwrap();
    let got: Vec<(bool, String)> = outcome
        .verdict
        .expectations
        .iter()
        .map(|c| (c.pass, c.seen.clone()))
        .collect();
    assert_eq!(
        got,
        [
            (false, "no request in the window".to_string()),
            (false, "no failover seen".to_string()),
            (true, "masters lb1".to_string()),
            (true, "one master at most".to_string()),
        ]
    );
    assert!(!outcome.verdict.pass());
}

#[test]
fn nothing_recorded_fails_every_expectation() {
    let s = scenario(
        r#"
[[expect]]
check = "master"
node = "lb1"
at = "5s"

[[expect]]
check = "vip-holder"
node = "lb1"
at = "5s"

[[expect]]
check = "in-table"
server = "rs1"
at = "5s"
present = false

[[expect]]
check = "single-master"

[[expect]]
check = "max-failover"
max = "5s"

[[expect]]
check = "success-ratio"
min = 0.0

[[expect]]
check = "master"
node = "lb1"
instance = "apache"
at = "5s"

[[expect]]
check = "state"
node = "lb1"
instance = "apache"
state = "backup"
at = "5s"

[[expect]]
check = "priority"
node = "lb1"
instance = "apache"
value = 100
at = "5s"

[[expect]]
check = "notify"
node = "lb1"
argv = ["/bin/true"]

[[expect]]
check = "in-table"
server = "rs1"
at = "5s"
weight = 0
on = "backup"
"#,
    );
    assert_eq!(
        judged(&s, Recorder::default()),
        [
            (false, "masters none".to_string()),
            (false, "holders none".to_string()),
            (false, "master none, no table recorded".to_string()),
            (false, "no VRRP state recorded".to_string()),
            (false, "no failover seen".to_string()),
            (false, "no request in the window".to_string()),
            (false, "masters none".to_string()),
            (false, "no state recorded".to_string()),
            (false, "no priority recorded".to_string()),
            (false, "no notify call in the window".to_string()),
            (false, "no backup with a table (masters none)".to_string()),
        ]
    );
}

#[test]
fn a_master_without_a_table_fails_in_table() {
    let s = scenario(
        r#"
[[expect]]
check = "in-table"
server = "rs1"
at = "5s"
present = false
"#,
    );
    let rec = Recorder {
        states: vec![StateChange {
            at: Instant::from_secs(1),
            director: 0,
            instance: "apache".into(),
            to: State::Master,
        }],
        ..Recorder::default()
    };
    assert_eq!(
        judged(&s, rec),
        [(false, "master lb1, no table recorded".to_string())]
    );
}
