//! Two vigild processes in two namespaces on one bridge (the seed moved to
//! 192.0.2.0/24): the right master is elected; the VIP moves on SIGKILL and
//! on SIGTERM, comes back on preemption, and is held by exactly one
//! namespace each time.

mod common;

use std::time::Duration;

use common::{Vigild, configs, wait_holders};
use vigil_netns::ns::{self, Lab};

const VIP: &str = "192.0.2.160";
const T: Duration = Duration::from_secs(15);

#[test]
fn two_directors_elect_fail_over_and_preempt() {
    if !ns::require_root("two_directors_elect_fail_over_and_preempt") {
        return;
    }
    let mut lab = Lab::new("fo");
    lab.host("lb1", &["192.0.2.150/24"]);
    lab.host("lb2", &["192.0.2.151/24"]);
    let dir = lab.dir().to_path_buf();
    let (c1, c2) = (configs().join("lb1.conf"), configs().join("lb2.conf"));

    let mut lb1 = Vigild::start(lab.get("lb1"), &dir, "lb1", &c1, &[]);
    let lb2 = Vigild::start(lab.get("lb2"), &dir, "lb2", &c2, &[]);
    // lb1 (priority 100) wins: it becomes master, lb2 stays backup.
    wait_holders(&lab, VIP, &["lb1"], T, &[&lb1, &lb2]);
    lb1.wait_log(T, &["vrrp/apache state from=backup to=master"], 1);
    assert!(lb2.matching(&["to=master"]).is_empty(), "lb2 became master");
    assert!(std::fs::read_to_string(&lb1.pid_file).unwrap().trim() == lb1.proc.pid().to_string());

    // SIGKILL lb1: lb2 takes over after its master-down interval (3.65 s).
    // lb1's VIP stays configured in lb1's namespace (nobody removed it).
    lb1.proc.signal("KILL");
    let took = {
        let (_, t) = ns::wait_for(T, "lb2 holds the VIP", || {
            lab.get("lb2").has_addr(VIP).then_some(())
        })
        .unwrap_or_else(|e| panic!("{e}\n{}", lb2.lines().join("\n")));
        t
    };
    assert!(
        took >= Duration::from_millis(2500),
        "lb2 took over too early: {took:?}"
    );
    lb2.wait_log(
        T,
        &["vrrp/apache state from=backup to=master reason=master-down-timeout"],
        1,
    );
    let _ = lb1.proc.wait_exit(Duration::from_secs(5));

    // lb1 restarts: it removes the VIP its killed predecessor left,
    // preempts (priority 100 > 90), and only lb1 holds the VIP.
    let mut lb1 = Vigild::start(lab.get("lb1"), &dir, "lb1b", &c1, &[]);
    lb1.wait_log(T, &["vip-cleanup addr=192.0.2.160/32 dev=eth0"], 1);
    lb1.wait_log(T, &["vrrp/apache state from=backup to=master"], 1);
    wait_holders(&lab, VIP, &["lb1"], T, &[&lb1, &lb2]);
    lb2.wait_log(
        T,
        &["vrrp/apache state from=master to=backup reason=higher-priority-seen"],
        1,
    );

    // SIGTERM lb1: priority 0, VIP released, exit 0; lb2 takes over
    // after its skew only.
    lb1.proc.signal("TERM");
    assert_eq!(
        lb1.proc.wait_exit(T),
        Some(0),
        "vigild exit status on SIGTERM"
    );
    lb1.wait_log(
        T,
        &["vrrp/apache state from=master to=initialize reason=shutdown"],
        1,
    );
    let t = wait_holders(&lab, VIP, &["lb2"], T, &[&lb1, &lb2]);
    assert!(t < Duration::from_secs(3), "graceful takeover took {t:?}");
    lb2.wait_log(T, &["reason=priority-0-received"], 1);
    assert!(!lb1.pid_file.exists(), "pid file left after SIGTERM");

    // Back again: preemption returns the VIP to lb1 alone.
    let lb1 = Vigild::start(lab.get("lb1"), &dir, "lb1c", &c1, &[]);
    wait_holders(&lab, VIP, &["lb1"], T, &[&lb1, &lb2]);
    lb2.wait_log(T, &["from=master to=backup reason=higher-priority-seen"], 2);
}
