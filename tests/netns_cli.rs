//! `vigil netns` end to end (root): a scenario on real namespaces prints
//! its trace with the address rewrite in the header, the summary and the
//! verdict, and exits 0; a scenario it cannot run exits 2.

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
fn vrrp3_fast_on_namespaces() {
    if !vigil_netns::ns::require_root("vrrp3_fast_on_namespaces") {
        return;
    }
    let (code, out, err) = vigil(&["netns", "scenarios/vrrp3-fast/scenario.toml"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.starts_with("# vigil netns scenario=vrrp3-fast file=scenarios/vrrp3-fast/scenario.toml director-impl=vigild\n# rewrite 172.17.1.0/24 -> 192.0.2.0/24"),
        "{out}"
    );
    assert!(out.contains("172.17.1.160 -> 192.0.2.160"), "{out}");
    assert!(
        out.contains(
            " lb2 vrrp/apache state from=backup to=master reason=master-down-timeout prio=90\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("expect ok   line  58: every failover within 40ms"),
        "{out}"
    );
    assert!(out.ends_with("PASS vrrp3-fast (vigild)\n"), "{out}");
}

#[test]
fn refusals_exit_2() {
    if !vigil_netns::ns::require_root("refusals_exit_2") {
        return;
    }
    let (code, _, err) = vigil(&["netns", "scenarios/no-such/scenario.toml"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("scenarios/no-such/scenario.toml"), "{err}");
    let (code, _, err) = vigil(&[
        "netns",
        "--director-impl",
        "frr",
        "scenarios/vrrp3-fast/scenario.toml",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("expected vigild or keepalived"), "{err}");
}
