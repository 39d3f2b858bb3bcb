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
    let (code, out, err) = vigil(&["check-config", "sim/tests/bad-scenarios/broken.conf"]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(
        err.contains("broken.conf:1:1: error: vrrp_instance apache has no valid virtual_router_id"),
        "{err}"
    );
}

/// What keepalived runs with a fallback: exit 0 with located warnings
/// saying what keepalived does; `--strict` makes them fatal.
#[test]
fn fallbacks_warn_and_strict_refuses_them() {
    let file = "core/tests/configs/fallback/vrrp_ranges.conf";
    let (code, out, err) = vigil(&["check-config", file]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("instance a on eth0 (VRID 1"), "{out}");
    assert!(
        err.contains(
            "vrrp_ranges.conf:7:14: warning: priority '0' must be in 1..255; keepalived uses 100"
        ),
        "{err}"
    );
    let (code, out, err) = vigil(&["check-config", "--strict", file]);
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("--strict refuses them"), "{err}");
    let (code, _, err) = vigil(&[
        "check-config",
        "--strict",
        "scenarios/seed/lb2.keepalived.conf",
    ]);
    assert_eq!(code, 1, "the seed's nat_mask is a warning: {err}");
}

/// `-i ID` picks the `@ID` lines, as keepalived's `--config-id`.
#[test]
fn config_id_selects_lines() {
    let dir = std::env::temp_dir().join(format!("vigil-cfgid-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("k.conf");
    std::fs::write(
        &file,
        "vrrp_instance v {\n interface eth0\n virtual_router_id 5\n@lb1 priority 150\n@^lb1 priority 90\n virtual_ipaddress {\n  192.0.2.9\n }\n}\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let (code, out, err) = vigil(&["check-config", "-i", "lb1", f]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("priority 150"), "{out}");
    let (code, out, err) = vigil(&["check-config", "--config-id", "lb2", f]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("priority 90"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
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

/// The reference deployment's table with both real servers up, as the
/// article shows it from `ipvsadm -Ln` on lb2 (SEED.md, step 2). ipvsadm
/// pads the InActConn column (`%-10u`), so lines end in spaces.
#[test]
fn table_is_ipvsadm_ln() {
    for conf in [
        "scenarios/seed/lb1.keepalived.conf",
        "scenarios/seed/lb2.keepalived.conf",
    ] {
        let (code, out, err) = vigil(&["check-config", "--table", conf]);
        assert_eq!(code, 0, "{err}");
        let expected = "IP Virtual Server version 1.2.1 (size=4096)\n\
            Prot LocalAddress:Port Scheduler Flags\n  \
            -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n\
            TCP  172.17.1.160:80 rr\n  \
            -> 172.17.1.152:80              Route   1      0          0         \n  \
            -> 172.17.1.153:80              Route   1      0          0         \n";
        assert_eq!(out, expected);
        let trimmed: Vec<&str> = out.lines().map(str::trim_end).collect();
        assert_eq!(
            trimmed[4],
            "  -> 172.17.1.152:80              Route   1      0          0"
        );
    }
}
