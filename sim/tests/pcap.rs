//! The simulator's pcap is real Ethernet/IPv4: tshark decodes every frame
//! with no malformed packet and every IP, TCP and VRRP checksum good.

use std::process::Command;

use vigil_sim::{embedded, scenario, world};

/// Whether the full test lane is required (the README's test command
/// sets this; tools it installs must then be present).
fn required() -> bool {
    std::env::var("VIGIL_REQUIRE_ROOT_TESTS").is_ok_and(|v| v == "1")
}

#[test]
fn tshark_decodes_the_seed_capture_cleanly() {
    if Command::new("tshark").arg("--version").output().is_err() {
        assert!(
            !required(),
            "tshark is missing but VIGIL_REQUIRE_ROOT_TESTS=1"
        );
        eprintln!("SKIPPED: tshark not installed (scripts/test-all installs it)");
        return;
    }
    let s = scenario::load(&embedded::source(), embedded::SEED_SCENARIO).unwrap();
    let out = vigil_sim::run(
        &s,
        &world::Options {
            seed: None,
            capture: true,
            ..Default::default()
        },
    )
    .unwrap();
    let path = std::env::temp_dir().join(format!("vigil-sim-seed-{}.pcap", std::process::id()));
    std::fs::write(&path, vigil_sim::pcap(&out.run).unwrap()).unwrap();
    let tshark = |filter: &str| {
        let o = Command::new("tshark")
            .args([
                "-r",
                path.to_str().unwrap(),
                "-o",
                "ip.check_checksum:TRUE",
                "-o",
                "tcp.check_checksum:TRUE",
            ])
            .args(["-Y", filter])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "tshark failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).lines().count()
    };
    let bad = tshark(
        "_ws.malformed || ip.checksum.status == \"Bad\" || tcp.checksum.status == \"Bad\" || vrrp.checksum.status == \"Bad\"",
    );
    let vrrp = tshark("vrrp.checksum.status == \"Good\"");
    let garp = tshark("arp.isgratuitous");
    let http = tshark("http.response.code == 200");
    let _ = std::fs::remove_file(&path);
    assert_eq!(bad, 0, "malformed frames or bad checksums");
    assert!(vrrp > 100, "{vrrp} good VRRP adverts");
    assert!(
        garp >= 30,
        "{garp} gratuitous ARPs (3 masters x 2 bursts x 5)"
    );
    assert!(http > 2000, "{http} HTTP 200 answers");
}
