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
