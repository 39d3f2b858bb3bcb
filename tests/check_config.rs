//! `vigil check-config` end to end: exit codes, diagnostics on stderr,
//! summary or dump on stdout.

use std::process::Command;

fn vigil(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn seed_config_runs() {
    let (code, out, err) = vigil(&["check-config", "scenarios/seed/lb1.keepalived.conf"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("instance apache on eth0 (VRID 51"), "{out}");
    assert!(
        err.contains("lb1.keepalived.conf:29:1: warning: 'nat_mask'"),
        "{err}"
    );
}

#[test]
fn dump_is_keepalived_text() {
    let (code, out, _) = vigil(&[
        "check-config",
        "--dump",
        "scenarios/seed/lb2.keepalived.conf",
    ]);
    assert_eq!(code, 0);
    assert!(out.starts_with("global_defs {\n"), "{out}");
    assert!(out.contains("    priority 90\n"), "{out}");
}

#[test]
fn errors_exit_1() {
    let (code, out, err) = vigil(&[
        "check-config",
        "core/tests/configs/invalid/vrrp_ranges.conf",
    ]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(
        err.contains("vrrp_ranges.conf:5:14: error: priority '0' is out of range (must be 1..255)"),
        "{err}"
    );
}

#[test]
fn includes_resolve_from_the_filesystem() {
    let (code, out, err) = vigil(&["check-config", "core/tests/configs/valid/lexing.conf"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("instance included_b on eth3"), "{out}");
}

#[test]
fn missing_file_is_an_error() {
    let (code, _, err) = vigil(&["check-config", "no/such/keepalived.conf"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no/such/keepalived.conf:1:1: error: cannot read configuration file"),
        "{err}"
    );
}
