//! vigild under systemd's `Type=notify` (Debian's keepalived.service):
//! READY=1 once it runs, RELOADING=1 then READY=1 around a reload,
//! STOPPING=1 on SIGTERM, read from the NOTIFY_SOCKET a test binds; and
//! `--signum` as keepalived prints it.

mod common;

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use common::Vigild;
use vigil_netns::ns::{self, Lab};

/// The messages received until one holds `want` (up to `within`).
fn until(sock: &UnixDatagram, want: &str, within: Duration) -> Result<Vec<String>, String> {
    let end = Instant::now() + within;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < end {
        if let Ok(n) = sock.recv(&mut buf) {
            let m = String::from_utf8_lossy(&buf[..n]).into_owned();
            let hit = m.lines().any(|l| l == want);
            seen.push(m);
            if hit {
                return Ok(seen);
            }
        }
    }
    Err(format!("no {want} within {within:?}; got {seen:?}"))
}

#[test]
fn notify_socket_hears_ready_reloading_and_stopping() {
    if !ns::require_root("notify_socket_hears_ready_reloading_and_stopping") {
        return;
    }
    let mut lab = Lab::new("sdn");
    lab.host("lb", &["192.0.2.170/24"]);
    let dir = lab.dir().to_path_buf();
    let sock_path = dir.join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let conf = dir.join("k.conf");
    std::fs::write(
        &conf,
        "vrrp_instance v {\n    interface eth0\n    virtual_router_id 70\n    \
         virtual_ipaddress {\n        192.0.2.171\n    }\n}\n",
    )
    .unwrap();
    let s = sock_path.to_str().unwrap();
    let mut lb = Vigild::start_env(
        lab.get("lb"),
        &dir,
        "lb",
        &conf,
        &[],
        &[("NOTIFY_SOCKET", s)],
    );
    let t = Duration::from_secs(10);
    until(&sock, "READY=1", t).unwrap_or_else(|e| panic!("{e}\n{}", lb.lines().join("\n")));
    lb.proc.signal("HUP");
    let reload = until(&sock, "READY=1", t).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        reload.iter().any(|m| m.lines().any(|l| l == "RELOADING=1")),
        "{reload:?}"
    );
    lb.proc.signal("TERM");
    until(&sock, "STOPPING=1", t).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(lb.proc.wait_exit(t), Some(0));
}

#[test]
fn signum_prints_keepalived_signal_numbers() {
    let run = |name: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_vigild"))
            .arg(format!("--signum={name}"))
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        )
    };
    assert_eq!(run("DATA"), (Some(0), "10".to_string()));
    assert_eq!(run("JSON"), (Some(0), "36".to_string()));
    assert_eq!(run("STATS_CLEAR"), (Some(0), "63".to_string()));
    assert_eq!(run("NOPE").0, Some(1));
}
