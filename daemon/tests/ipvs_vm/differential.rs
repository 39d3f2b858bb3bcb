//! The differential test against the reference implementation: the seed's
//! lb1 config (moved to 192.0.2.0/24) run by vigild, then by Debian's
//! keepalived 2.2.7 (full mode), in the same namespace of the same VM,
//! with both real servers answering their TCP_CHECKs. `ipvsadm -Ln` must
//! be byte-identical after each, and identical to `vigil check-config
//! --table` for the same config.

use std::path::Path;
use std::time::Duration;

use vigil_core::config;
use vigil_core::ipvs;
use vigil_netns::ns::{self, Lab, Netns};
use vigil_netns::vm::guest;

use crate::common::Vigild;
use crate::support::{httpd, ipvsadm_in, lvsrsdr, seed_config};

const VIP: &str = "192.0.2.160";

/// `vigil check-config --table` of `conf`: from the `vigil` binary when
/// the workspace built it, and always from the same core functions.
fn check_config_table(conf: &Path, text: &str) -> String {
    let cfg = config::parse_str("keepalived.conf", text)
        .config
        .expect("the seed config parses");
    let table = ipvs::ipvsadm_ln(&ipvs::desired(&cfg, &ipvs::Health::all_up(&cfg)));
    let vigil = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/vigil");
    if vigil.exists() {
        let o = std::process::Command::new(&vigil)
            .args(["check-config", "--table"])
            .arg(conf)
            .output()
            .expect("run vigil");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            table,
            "vigil check-config --table"
        );
    }
    table
}

/// Waits until `ipvsadm -Ln` in `ns` is `want`, then that it stays so for
/// `settle` (both TCP_CHECKs have run by then); the listing.
fn wait_table(ns: &Netns, want: &str, settle: Duration, log: &dyn Fn() -> String) -> String {
    let shown = || ipvsadm_in(ns, &["-Ln"]);
    ns::wait_for(Duration::from_secs(60), "the seed table", || {
        (shown() == want).then_some(())
    })
    .unwrap_or_else(|e| {
        panic!(
            "{e}\n--- ipvsadm -Ln ---\n{}\n--- log ---\n{}",
            shown(),
            log()
        )
    });
    std::thread::sleep(settle);
    let now = shown();
    assert_eq!(now, want, "the table changed while settling\n{}", log());
    now
}

fn empty_after_stop(ns: &Netns, who: &str) {
    let empty = ipvs::ipvsadm_ln(&ipvs::Table::new());
    ns::wait_for(Duration::from_secs(20), "an empty table", || {
        (ipvsadm_in(ns, &["-Ln"]) == empty).then_some(())
    })
    .unwrap_or_else(|e| panic!("{who} left services behind: {e}"));
}

#[test]
#[ignore = "runs inside the IPVS VM (booted by ipvs_vm_lane)"]
fn guest_seed_table_matches_keepalived_and_check_config() {
    if !guest::require("guest_seed_table_matches_keepalived_and_check_config") {
        return;
    }
    let mut lab = Lab::new("df");
    lab.host("lb1", &["192.0.2.150/24"]);
    for (role, addr) in [("rs1", "192.0.2.152"), ("rs2", "192.0.2.153")] {
        lab.host(role, &[&format!("{addr}/24")]);
    }
    let dir = lab.dir().to_path_buf();
    let mut servers = Vec::new();
    for (role, addr) in [("rs1", "192.0.2.152"), ("rs2", "192.0.2.153")] {
        lvsrsdr(lab.get(role), VIP);
        servers.push(httpd(lab.get(role), &dir.join(role), addr, role));
    }
    let text = seed_config("lb1");
    let conf = dir.join("keepalived.conf");
    std::fs::write(&conf, &text).unwrap();
    let want = check_config_table(&conf, &text);
    let lb1 = lab.get("lb1");
    // delay_loop 6 plus connect_timeout 3: every check has run once.
    let settle = Duration::from_secs(10);

    let mut v = Vigild::start(lb1, &dir, "vigild", &conf, &[]);
    let by_vigild = wait_table(lb1, &want, settle, &|| v.lines().join("\n"));
    v.proc.signal("TERM");
    assert_eq!(v.proc.wait_exit(Duration::from_secs(20)), Some(0));
    empty_after_stop(lb1, "vigild");

    let klog = dir.join("keepalived.log");
    let p = |n: &str| dir.join(n).to_string_lossy().to_string();
    let mut k = lb1.spawn(
        "keepalived",
        &[
            "--dont-fork",
            "--log-console",
            "--log-detail",
            "--use-file",
            &conf.to_string_lossy(),
            "--pid",
            &p("k.pid"),
            "--vrrp_pid",
            &p("k-vrrp.pid"),
            "--checkers_pid",
            &p("k-check.pid"),
        ],
        Some(&klog),
    );
    let by_keepalived = wait_table(lb1, &want, settle, &|| ns::log_lines(&klog).join("\n"));
    k.signal("TERM");
    let _ = k.wait_exit(Duration::from_secs(20));
    empty_after_stop(lb1, "keepalived");
    drop(servers);

    assert_eq!(by_vigild, by_keepalived, "vigild and keepalived differ");
    guest::write("differential/check-config-table", &want);
    guest::write("differential/vigild.ipvsadm-Ln", &by_vigild);
    guest::write("differential/keepalived.ipvsadm-Ln", &by_keepalived);
}
