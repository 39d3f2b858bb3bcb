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
fn ah_capture_is_checked() {
    // keepalived's IPsec-AH adverts are verified under auth_pass and the
    // replay checks them like any others.
    let (code, out, err) = vigil(&[
        "replay",
        "pcaps/keepalived-ah.pcap",
        "--config",
        "pcaps/configs/keepalived-ah/lb2.conf",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(last_line(&out).starts_with("PASS: "), "{out}");
    assert!(!out.contains("auth_failures"), "{out}");
}

#[test]
fn skipped_frames_are_not_checked() {
    // keepalived-v2.pcap with one VRRP checksum broken: that advert is
    // skipped, so the replay cannot vouch for the capture (exit 3).
    let mut pcap = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pcaps/keepalived-v2.pcap"),
    )
    .unwrap();
    let at = (0..pcap.len() - 40)
        .find(|&i| pcap[i] == 0x45 && pcap[i + 9] == 112 && pcap[i + 12..i + 15] == [192, 0, 2])
        .expect("a VRRP datagram in the capture");
    pcap[at + 20 + 6] ^= 0xff;
    let path = std::env::temp_dir().join(format!("vigil-skip-{}.pcap", std::process::id()));
    std::fs::write(&path, &pcap).unwrap();
    let p = path.to_str().unwrap();
    let (code, out, err) = vigil(&[
        "replay",
        p,
        "--config",
        "pcaps/configs/keepalived-v2/lb2.conf",
    ]);
    let (qcode, quiet, _) = vigil(&[
        "replay",
        "--quiet",
        p,
        "--config",
        "pcaps/configs/keepalived-v2/lb2.conf",
    ]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(code, 3, "{out}{err}");
    let last = last_line(&out);
    assert!(
        last.starts_with("NOT CHECKED: ")
            && last.contains("(wrong VRRP checksum, first at packet #"),
        "{out}"
    );
    assert!(!out.contains("\nPASS"), "{out}");
    // --quiet ends with the same line.
    assert_eq!(qcode, 3, "{quiet}");
    assert_eq!(last_line(&quiet), last, "{quiet}");
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
