//! keepalived's dump signals against the real keepalived 2.2.7: a master
//! alone on a bridge gets SIGUSR1 (data dump), SIGUSR2 (statistics),
//! SIGRTMIN+2 (JSON), SIGRTMAX-1 (statistics, then cleared) and SIGRTMAX
//! (thread dump). Whichever daemon runs, it must stay up, master and
//! holding its VIP, and write keepalived.data, keepalived.stats and
//! keepalived.json in its TMPDIR saying the same about the instance:
//! state, effective priority, VIPs, JSON state and priority keys.

use std::time::Duration;

use vigil_netns::ns::{self, Lab};
use vigil_netns::solo::Daemon;

const VIP: &str = "192.0.2.166";

fn config() -> String {
    format!(
        "vrrp_instance web {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 66\n    \
         priority 120\n    advert_int 1\n    virtual_ipaddress {{\n        {VIP}/32\n    }}\n}}\n"
    )
}

/// The lines of `text`'s VRRP topology an operator greps for, in order.
fn picked(text: &str, keys: &[&str]) -> Vec<String> {
    text.lines()
        .skip_while(|l| !l.contains("< VRRP Topology >"))
        .take_while(|l| !l.contains("------<") || l.contains("< VRRP Topology >"))
        .filter(|l| keys.iter().any(|k| l.trim_start().starts_with(k)))
        .map(|l| l.trim().to_string())
        .collect()
}

/// What `imp` wrote and whether it stayed master: (up and holding the
/// VIP, data lines, stats lines, JSON facts).
fn run(imp: Daemon) -> (bool, Vec<String>, Vec<String>, Vec<String>) {
    let mut lab = Lab::new(&format!("dp{}", &imp.name()[..1]));
    let dir = lab.dir().to_path_buf();
    std::fs::write(dir.join("k.conf"), config()).unwrap();
    lab.host("a", &["192.0.2.26/24"]);
    let a = lab.get("a");
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let tmp_s = tmp.to_str().expect("utf-8 path").to_string();
    let mut p = imp.start_env(a, &dir.join("k.conf"), &dir, "a", &[("TMPDIR", &tmp_s)]);
    let master = ns::wait_for(Duration::from_secs(8), "master", || {
        a.has_addr(VIP).then_some(())
    });
    assert!(master.is_ok(), "{}: never master", imp.name());
    std::thread::sleep(Duration::from_millis(500));
    let rtmin = libc::SIGRTMIN();
    let rtmax = libc::SIGRTMAX();
    for sig in ["USR1", "USR2"] {
        p.signal(sig);
        std::thread::sleep(Duration::from_millis(300));
    }
    for n in [rtmin + 2, rtmax - 1, rtmax] {
        // SAFETY: kill(2) on the pid of a child this test started.
        unsafe { libc::kill(p.pid() as i32, n) };
        std::thread::sleep(Duration::from_millis(300));
    }
    std::thread::sleep(Duration::from_secs(1));
    let alive = p.wait_exit(Duration::from_millis(100)).is_none() && a.has_addr(VIP);
    let read = |n: &str| std::fs::read_to_string(tmp.join(n)).unwrap_or_default();
    let data = picked(
        &read("keepalived.data"),
        &[
            "VRRP Instance =",
            "State =",
            "Virtual Router ID =",
            "Priority =",
            "Effective priority =",
            "Virtual IP (",
            VIP,
        ],
    );
    let stats = picked(
        &read("keepalived.stats"),
        &["VRRP Instance:", "Became master:", "Released master:"],
    );
    let json = read("keepalived.json");
    let facts = [
        "\"iname\":\"web\"",
        "\"state\":2",
        "\"vrid\":66",
        "\"base_priority\":120",
        "\"effective_priority\":120",
        "\"become_master\":1",
    ]
    .iter()
    .filter(|f| json.replace(' ', "").contains(*f))
    .map(|f| f.to_string())
    .collect();
    p.kill();
    (alive, data, stats, facts)
}

#[test]
fn dump_signals_keep_the_master_and_write_keepalived_files() {
    if !ns::require_root("dump_signals_keep_the_master_and_write_keepalived_files") {
        return;
    }
    let keepalived = run(Daemon::Keepalived);
    assert!(
        keepalived.0,
        "keepalived (the reference) did not stay master"
    );
    assert_eq!(
        keepalived.3.len(),
        6,
        "keepalived's JSON: {:?}",
        keepalived.3
    );
    let vigild = run(Daemon::Vigild);
    assert_eq!(
        vigild, keepalived,
        "vigild against keepalived: (alive, data, stats, JSON facts)"
    );
}
