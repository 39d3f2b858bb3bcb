//! vigild refuses to run with a clear message and exit status 1 (never a
//! panic): a config with errors, missing capabilities, a missing
//! interface.

mod common;

use std::process::Command;

use common::configs;
use vigil_netns::ns::{self, Lab};

fn vigild() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vigild"))
}

fn check_refusal(out: std::process::Output, needle: &str) {
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains(needle), "expected {needle:?} in:\n{text}");
    assert!(!text.contains("panicked"), "{text}");
}

#[test]
fn config_errors_are_reported_with_their_place() {
    let dir = std::env::temp_dir().join(format!("vigild-err-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("bad.conf");
    std::fs::write(&conf, "vrrp_instance x {\n  virtual_router_id 300\n}\n").unwrap();
    let out = vigild()
        .args(["-f", conf.to_str().unwrap(), "-l", "-G", "-p"])
        .arg(dir.join("p.pid"))
        .output()
        .unwrap();
    check_refusal(
        out,
        "bad.conf:1:1: error: vrrp_instance x has no valid virtual_router_id",
    );
    let out = vigild()
        .args(["-t", "-f", conf.to_str().unwrap()])
        .output()
        .unwrap();
    check_refusal(out, "has errors");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A config keepalived runs with a fallback passes `-t` with its warnings
/// logged; `--strict` refuses it.
#[test]
fn strict_refuses_warnings() {
    let dir = std::env::temp_dir().join(format!("vigild-strict-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("warn.conf");
    std::fs::write(
        &conf,
        "vrrp_instance x {\n  interface eth0\n  virtual_router_id 5\n  priority 300\n  virtual_ipaddress {\n    192.0.2.9\n  }\n}\n",
    )
    .unwrap();
    let out = vigild()
        .args(["-t", "-f", conf.to_str().unwrap()])
        .output()
        .unwrap();
    let log =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        log.contains("warn.conf:4:12: warning: priority '300'"),
        "{log}"
    );
    let out = vigild()
        .args(["-t", "--strict", "-f", conf.to_str().unwrap()])
        .output()
        .unwrap();
    check_refusal(out, "(--strict)");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_capabilities_are_named() {
    if !ns::require_root("missing_capabilities_are_named") {
        return;
    }
    // As nobody, without capabilities.
    let conf = configs().join("lb1.conf");
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(env!("CARGO_BIN_EXE_vigild"))
        .args([
            "-f",
            conf.to_str().unwrap(),
            "-l",
            "-G",
            "-p",
            "/nonexistent/vigild.pid",
        ])
        .output()
        .expect("setpriv (util-linux)");
    check_refusal(out, "missing: CAP_NET_ADMIN, CAP_NET_RAW");
}

#[test]
fn missing_interface_is_named() {
    if !ns::require_root("missing_interface_is_named") {
        return;
    }
    let lab = Lab::new("er");
    // A namespace without eth0: the bridge's own is enough for this.
    let mut lab = lab;
    lab.host("lb1", &["192.0.2.150/24"]);
    lab.get("lb1").ip(&["link", "set", "eth0", "name", "ens9"]);
    let conf = configs().join("lb1.conf");
    let pid = lab.dir().join("v.pid");
    let out = lab
        .get("lb1")
        .command(env!("CARGO_BIN_EXE_vigild"))
        .args([
            "-f",
            conf.to_str().unwrap(),
            "-l",
            "-G",
            "-p",
            pid.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    check_refusal(out, "interface eth0 does not exist");
    assert!(!pid.exists(), "pid file left behind");
}
