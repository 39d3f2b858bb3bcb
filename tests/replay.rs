//! `vigil replay` end to end: the exit status follows the verdict (0
//! PASS, 1 FAIL, 2 unusable input, 3 NOT CHECKED) and the report ends
//! with the verdict line.

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

fn last_line(text: &str) -> &str {
    text.lines().last().unwrap_or("")
}

#[test]
fn ah_capture_is_not_checked() {
    let (code, out, err) = vigil(&[
        "replay",
        "pcaps/keepalived-ah.pcap",
        "--config",
        "pcaps/configs/keepalived-ah/lb2.conf",
    ]);
    assert_eq!(code, 3, "{out}{err}");
    let last = last_line(&out);
    assert!(
        last.starts_with("NOT CHECKED: ")
            && last.contains(
                "adverts of VRID 51 skipped (AH authentication is not supported, first at packet #"
            )
            && last.contains("; 0 state changes checked"),
        "{out}"
    );
    assert!(!out.contains("\nPASS"), "{out}");
    // --quiet ends with the same line.
    let (code, quiet, _) = vigil(&[
        "replay",
        "--quiet",
        "pcaps/keepalived-ah-unicast.pcap",
        "--config",
        "pcaps/configs/keepalived-ah-unicast/lb2.conf",
    ]);
    assert_eq!(code, 3, "{quiet}");
    assert!(last_line(&quiet).starts_with("NOT CHECKED: "), "{quiet}");
}

#[test]
fn keepalived_capture_passes() {
    let (code, out, err) = vigil(&[
        "replay",
        "pcaps/keepalived-v2.pcap",
        "--config",
        "pcaps/configs/keepalived-v2/lb2.conf",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(last_line(&out).starts_with("PASS: "), "{out}");
}

#[test]
fn frr_skew_fails() {
    let (code, out, err) = vigil(&[
        "replay",
        "pcaps/frr-v3.pcap",
        "--config",
        "pcaps/configs/frr-v3/lb2.conf",
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(last_line(&out).starts_with("FAIL: "), "{out}");
}

#[test]
fn unusable_input_is_2() {
    let (code, _, err) = vigil(&[
        "replay",
        "pcaps/no-such.pcap",
        "--config",
        "pcaps/configs/keepalived-v2/lb2.conf",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no-such.pcap"), "{err}");
}
