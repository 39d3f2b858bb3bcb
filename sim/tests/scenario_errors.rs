//! Broken scenario files give every error at once, each naming the file,
//! line, column and key (holo-style: inputs in tests/bad-scenarios/,
//! expected diagnostics in snapshots beside this file).

use vigil_core::config::source::FsSource;
use vigil_sim::scenario;

fn errors(name: &str) -> String {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    let path = format!("tests/bad-scenarios/{name}.toml");
    match scenario::load(&FsSource, &path) {
        Ok(_) => panic!("{path} loaded"),
        Err(errs) => errs.iter().map(|e| format!("{e}\n")).collect(),
    }
}

#[test]
fn unknown_key() {
    insta::assert_snapshot!(errors("unknown-key"));
}

#[test]
fn bad_values() {
    insta::assert_snapshot!(errors("bad-values"));
}

#[test]
fn bad_trackers() {
    insta::assert_snapshot!(errors("bad-trackers"));
}

#[test]
fn broken_config() {
    insta::assert_snapshot!(errors("broken-config"));
}

#[test]
fn missing_file_and_not_toml() {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    let e = scenario::load(&FsSource, "tests/bad-scenarios/nope.toml").unwrap_err();
    assert!(
        e[0].to_string().contains("tests/bad-scenarios/nope.toml"),
        "{}",
        e[0]
    );
    let e = scenario::load(&FsSource, "tests/bad-scenarios/broken.conf").unwrap_err();
    assert!(
        e[0].to_string()
            .starts_with("tests/bad-scenarios/broken.conf:1:"),
        "{}",
        e[0]
    );
}

// In-memory scenarios: one broken rule each, on the seed deployment
// (lb1, lb2, rs1, rs2 and a client; VIP and virtual server
// 172.17.1.160:80; real servers 172.17.1.152:80 and 172.17.1.153:80).

use vigil_core::config::MemorySource;

const LB1: &str = include_str!("../../scenarios/seed/lb1.keepalived.conf");
const LB2: &str = include_str!("../../scenarios/seed/lb2.keepalived.conf");

/// A valid 60 s scenario; tests append to it or replace parts of it.
/// Its last line is line 24.
const BASE: &str = r#"duration = "60s"

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

[[real_server]]
name = "rs2"
address = "172.17.1.153"

[[client]]
name = "client"
address = "172.17.1.200"
rate = 20
"#;

fn source(toml: &str) -> MemorySource {
    MemorySource::new()
        .with("s/scenario.toml", toml)
        .with("s/lb1.conf", LB1)
        .with("s/lb2.conf", LB2)
        .with(
            "s/kal.pcap",
            &include_bytes!("../../pcaps/keepalived-v2.pcap")[..],
        )
}

/// The errors of loading `toml` (as `s/scenario.toml`), one string each.
fn load_errors(toml: &str) -> Vec<String> {
    match scenario::load(&source(toml), "s/scenario.toml") {
        Ok(_) => panic!("loaded:\n{toml}"),
        Err(errs) => errs.iter().map(|e| e.to_string()).collect(),
    }
}

#[test]
fn base_scenario_loads() {
    scenario::load(&source(BASE), "s/scenario.toml").unwrap();
}

#[test]
fn expectations_after_the_end_are_refused() {
    let toml = format!(
        "{BASE}{}",
        r#"
[[expect]]
check = "master"
node = "lb1"
at = "500s"

[[expect]]
check = "success-ratio"
min = 0.9
from = "61s"
to = "90s"

[[expect]]
check = "single-master"
except = [["10s", "70s"]]

[[timeline]]
at = "61s"
action = "crash"
target = "lb1"
"#
    );
    assert_eq!(
        load_errors(&toml),
        [
            "s/scenario.toml:42:6: error: timeline[0].at: 61s is after the end of the scenario (duration = 60s)",
            "s/scenario.toml:29:6: error: expect[0].at: 500s is after the end of the scenario (duration = 60s)",
            "s/scenario.toml:34:8: error: expect[1].from: 61s is after the end of the scenario (duration = 60s)",
            "s/scenario.toml:35:6: error: expect[1].to: 90s is after the end of the scenario (duration = 60s)",
            "s/scenario.toml:39:19: error: expect[2].except[0]: 70s is after the end of the scenario (duration = 60s)",
        ]
    );
}

#[test]
fn empty_and_reversed_windows_are_refused() {
    let toml = format!(
        "{BASE}{}",
        r#"
[[expect]]
check = "success-ratio"
min = 0.9
from = "40s"
to = "30s"

[[expect]]
check = "success-ratio"
min = 0.9
from = "60s"

[[expect]]
check = "single-master"
except = [["25s", "20s"], ["30s", "30s"]]
"#
    );
    assert_eq!(
        load_errors(&toml),
        [
            "s/scenario.toml:29:8: error: expect[0].from: the window from 40s to 30s is empty: from must be before to",
            "s/scenario.toml:35:8: error: expect[1].from: the window from 60s to 60s is empty: from must be before to",
            "s/scenario.toml:39:12: error: expect[2].except[0]: the window from 25s to 20s is empty: the first time must be before the second",
            "s/scenario.toml:39:28: error: expect[2].except[1]: the window from 30s to 30s is empty: the first time must be before the second",
        ]
    );
}

#[test]
fn zero_and_unbounded_durations_are_refused() {
    assert_eq!(
        load_errors(&BASE.replace(r#"duration = "60s""#, r#"duration = "0s""#)),
        [
            "s/scenario.toml:1:12: error: duration: must be more than 0s: a run of no time checks nothing"
        ]
    );
    assert_eq!(
        load_errors(&BASE.replace(r#"duration = "60s""#, r#"duration = "100000h""#)),
        [
            "s/scenario.toml:1:12: error: duration: 100000h is more than the maximum of 24h of simulated time (a simulated minute at 1ms takes about 1 s of wall-clock, so 24h is about 25 min)"
        ]
    );
    assert_eq!(
        load_errors(&BASE.replace(
            r#"duration = "60s""#,
            "duration = \"2h\"\nresolution = \"10us\""
        )),
        [
            "s/scenario.toml:1:12: error: duration: 2h at a resolution of 10us is 720000000 ticks, more than the maximum of 86400000 (24h at 1ms; a simulated minute at 1ms takes about 1 s of wall-clock)"
        ]
    );
    // The longest allowed run loads.
    scenario::load(
        &source(&BASE.replace(r#"duration = "60s""#, r#"duration = "24h""#)),
        "s/scenario.toml",
    )
    .unwrap();
}

#[test]
fn hosts_on_a_virtual_address_are_refused() {
    let toml = BASE
        .replace(r#"address = "172.17.1.151""#, r#"address = "172.17.1.160""#)
        .replace(r#"address = "172.17.1.200""#, r#"address = "172.17.1.160""#);
    let toml = format!(
        "{toml}{}",
        r#"
[[recorded_peer]]
name = "kal"
pcap = "kal.pcap"
source = "192.0.2.150"
address = "172.17.1.160"
"#
    );
    let why = "172.17.1.160 is a VIP (virtual_ipaddress of vrrp_instance apache in s/lb1.conf): no host may have it";
    assert_eq!(
        load_errors(&toml),
        [
            "s/scenario.toml:22:8: error: address: address 172.17.1.160 is used twice".into(),
            format!("s/scenario.toml:10:11: error: director[1].address: {why}"),
            format!("s/scenario.toml:23:11: error: client[0].address: {why}"),
            format!("s/scenario.toml:30:11: error: recorded_peer[0].address: {why}"),
            "s/scenario.toml:27:8: error: address: address 172.17.1.160 is used twice".into(),
        ]
    );
}

#[test]
fn client_target_must_be_a_virtual_server() {
    let toml = format!("{BASE}target = \"172.17.1.161:80\"\n");
    assert_eq!(
        load_errors(&toml),
        [
            "s/scenario.toml:25:10: error: client[0].target: 172.17.1.161:80 is a virtual server of no director's config (virtual servers: 172.17.1.160:80; searched s/lb1.conf, s/lb2.conf)"
        ]
    );
    let toml = format!("{BASE}target = \"172.17.1.160:8080\"\n");
    assert_eq!(load_errors(&toml).len(), 1, "the port counts too");
}

#[test]
fn real_servers_must_be_in_a_config() {
    let toml = BASE
        .replace(r#"address = "172.17.1.153""#, r#"address = "172.17.1.154""#)
        .replace(
            "address = \"172.17.1.152\"\n",
            "address = \"172.17.1.152\"\nport = 8080\n",
        );
    assert_eq!(
        load_errors(&toml),
        [
            "s/scenario.toml:15:11: error: real_server[0].address: rs1 (172.17.1.152:8080) is a real_server or sorry_server of no director's config (searched s/lb1.conf, s/lb2.conf)",
            "s/scenario.toml:20:11: error: real_server[1].address: rs2 (172.17.1.154:80) is a real_server or sorry_server of no director's config (searched s/lb1.conf, s/lb2.conf)",
        ]
    );
}

#[test]
fn targets_naming_no_host_are_refused() {
    let toml = format!(
        "{BASE}{}",
        r#"
[[timeline]]
at = "5s"
action = "crash"
target = "lb9"

[[expect]]
check = "in-table"
server = "rs9"
at = "5s"
"#
    );
    assert_eq!(
        load_errors(&toml),
        [
            "s/scenario.toml:29:10: error: timeline[0].target: no host named \"lb9\" (hosts: lb1, lb2, rs1, rs2, client)",
            "s/scenario.toml:33:10: error: expect[0].server: no host named \"rs9\" (hosts: lb1, lb2, rs1, rs2, client)",
        ]
    );
}

#[test]
fn three_unknown_keys_in_file_order() {
    // Alphabetical order would be director, speed, timeline: file order
    // is what counts. The keys are dropped and the rest still checked.
    let toml = format!(
        "{}{}",
        BASE.replace("duration = \"60s\"\n", "duration = \"60s\"\nspeed = 2\n")
            .replace(
                "config = \"lb1.conf\"\n",
                "config = \"lb1.conf\"\npriority = 100\n"
            ),
        r#"
[[timeline]]
at = "5s"
action = "crash"
tagret = "lb1"
"#
    );
    assert_eq!(
        load_errors(&toml),
        [
            "s/scenario.toml:2:1: error: speed: unknown key \"speed\"; did you mean \"seed\"?",
            "s/scenario.toml:8:1: error: director[0].priority: unknown key \"priority\" (known: name, address, config)",
            "s/scenario.toml:31:1: error: timeline[0].tagret: unknown key \"tagret\"; did you mean \"target\"?",
            "s/scenario.toml:30:10: error: timeline[0].target: missing",
        ]
    );
}

#[test]
fn unknown_actions_and_checks_suggest_from_the_one_list() {
    let toml = format!(
        "{BASE}{}",
        r#"
[[timeline]]
at = "5s"
action = "relaod"
target = "lb1"

[[timeline]]
at = "6s"
action = "rs"
target = "rs1"
mode = "hnag"

[[expect]]
check = "single-mastr"
"#
    );
    assert_eq!(
        load_errors(&toml),
        [
            "s/scenario.toml:28:10: error: timeline[0].action: unknown action \"relaod\"; did you mean \"reload\"?",
            "s/scenario.toml:35:8: error: timeline[1].mode: unknown mode \"hnag\"; did you mean \"hang\"?",
            "s/scenario.toml:38:9: error: expect[0].check: unknown check \"single-mastr\"; did you mean \"single-master\"?",
        ]
    );
}

/// An address owner (priority 255) carries its VIP as its own address
/// (RFC 5798 section 1): that director may have it; the other may not.
#[test]
fn an_address_owner_may_have_its_vip() {
    let owner = LB1
        .replace("priority 100", "priority 255")
        .replace("172.17.1.160", "172.17.1.150");
    let backup = LB2.replace("172.17.1.160", "172.17.1.150");
    let toml = BASE.replace("172.17.1.160:80", "172.17.1.150:80");
    let src = |toml: &str| {
        MemorySource::new()
            .with("s/scenario.toml", toml)
            .with("s/lb1.conf", owner.as_str())
            .with("s/lb2.conf", backup.as_str())
    };
    if let Err(e) = scenario::load(&src(&toml), "s/scenario.toml") {
        panic!("{e:?}");
    }
    // lb2 is not the owner: on the VIP it is refused.
    let swapped = toml
        .replace("172.17.1.150\"", "172.17.1.999\"")
        .replace("172.17.1.151\"", "172.17.1.150\"")
        .replace("172.17.1.999\"", "172.17.1.151\"");
    let errs: Vec<String> = match scenario::load(&src(&swapped), "s/scenario.toml") {
        Ok(_) => panic!("loaded:\n{swapped}"),
        Err(e) => e.iter().map(|e| e.to_string()).collect(),
    };
    assert!(
        errs.iter()
            .any(|e| e.contains("director[1].address: 172.17.1.150 is a VIP")),
        "{errs:?}"
    );
}
