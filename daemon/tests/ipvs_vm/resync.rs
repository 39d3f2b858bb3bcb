//! vigild on the kernel: a reload that changes one weight issues exactly
//! one edit; an outside `ipvsadm -a` on vigild's service is undone at the
//! next resync; an outside service is left alone (and reported once);
//! stopping removes vigild's service only.

use std::time::Duration;

use vigil_core::ipvs;
use vigil_netns::ns::{self, Lab};
use vigil_netns::vm::guest;

use crate::common::Vigild;
use crate::support::ipvsadm_in;

const T: Duration = Duration::from_secs(30);

fn config(weight153: u32) -> String {
    format!(
        "virtual_server 192.0.2.160 80 {{\n  delay_loop 6\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n  \
         real_server 192.0.2.152 80 {{\n    weight 1\n  }}\n  real_server 192.0.2.153 80 {{\n    weight {weight153}\n  }}\n}}\n"
    )
}

fn desired(text: &str) -> ipvs::Table {
    let cfg = vigil_core::config::parse_str("k.conf", text)
        .config
        .unwrap();
    ipvs::desired(&cfg, &ipvs::Health::all_up(&cfg))
}

fn table_of(text: &str) -> String {
    ipvs::ipvsadm_ln(&desired(text))
}

/// `t` with someone else's service `tcp/203.0.113.5:80` added, listed.
fn with_foreign(mut t: ipvs::Table) -> String {
    t.insert(
        ipvs::ServiceKey::tcp("203.0.113.5".parse().unwrap(), 80),
        ipvs::ServiceEntry::new(ipvs::Service::new(ipvs::Scheduler::Wlc)).with_dest(
            ipvs::DestKey::new("203.0.113.50".parse().unwrap(), 80),
            ipvs::Dest::new(ipvs::ForwardMethod::Masq, 1),
        ),
    );
    ipvs::ipvsadm_ln(&t)
}

fn op_lines(v: &Vigild) -> Vec<String> {
    v.lines()
        .into_iter()
        .filter(|l| {
            ["ipvs add-", "ipvs edit-", "ipvs del-"]
                .iter()
                .any(|p| l.contains(p))
        })
        .collect()
}

#[test]
#[ignore = "runs inside the IPVS VM (booted by ipvs_vm_lane)"]
fn guest_vigild_reload_and_resync() {
    if !guest::require("guest_vigild_reload_and_resync") {
        return;
    }
    let mut lab = Lab::new("rs");
    lab.host("lb1", &["192.0.2.150/24"]);
    let dir = lab.dir().to_path_buf();
    let lb1 = lab.get("lb1");
    let conf = dir.join("keepalived.conf");
    std::fs::write(&conf, config(1)).unwrap();

    // vigild with a full resync every second.
    let log = dir.join("vigild.log");
    let pid_file = dir.join("vigild.pid");
    let args = [
        "VIGILD_IPVS_RESYNC=1",
        env!("CARGO_BIN_EXE_vigild"),
        "-f",
        &conf.to_string_lossy(),
        "-p",
        &pid_file.to_string_lossy(),
        "-n",
        "-l",
        "-G",
    ]
    .map(str::to_string);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut v = Vigild {
        proc: lb1.spawn("env", &args, Some(&log)),
        log,
        pid_file,
    };
    let shown = || ipvsadm_in(lb1, &["-Ln"]);
    let want = |t: &str| {
        ns::wait_for(T, "the table", || (shown() == t).then_some(()))
            .unwrap_or_else(|e| panic!("{e}\n{}\n--- log ---\n{}", shown(), v.lines().join("\n")))
    };
    want(&table_of(&config(1)));
    let ops_start = op_lines(&v);
    assert_eq!(ops_start.len(), 3, "{ops_start:?}");

    // Reload with one weight changed: exactly one edit.
    std::fs::write(&conf, config(3)).unwrap();
    v.proc.signal("HUP");
    v.wait_log(T, &["reload done"], 1);
    want(&table_of(&config(3)));
    std::thread::sleep(Duration::from_secs(3)); // three resyncs
    let ops: Vec<String> = op_lines(&v).split_off(ops_start.len());
    assert_eq!(ops.len(), 1, "{ops:?}");
    assert!(
        ops[0].ends_with(
            "ipvs edit-dest svc=tcp/192.0.2.160:80 rs=192.0.2.153:80 fwd=route weight=3"
        ),
        "{}",
        ops[0]
    );

    // Outside: a destination added to vigild's service (undone at the
    // next resync) and a service of someone else's (left alone).
    ipvsadm_in(lb1, &["-A", "-t", "203.0.113.5:80", "-s", "wlc"]);
    ipvsadm_in(
        lb1,
        &["-a", "-t", "203.0.113.5:80", "-r", "203.0.113.50:80", "-m"],
    );
    ipvsadm_in(
        lb1,
        &[
            "-a",
            "-t",
            "192.0.2.160:80",
            "-r",
            "192.0.2.199:80",
            "-g",
            "-w",
            "5",
        ],
    );
    let (_, undone) = ns::wait_for(T, "the outside destination undone", || {
        (shown() == with_foreign(desired(&config(3)))).then_some(())
    })
    .unwrap_or_else(|e| panic!("{e}\n{}\n--- log ---\n{}", shown(), v.lines().join("\n")));
    v.wait_log(
        T,
        &["ipvs del-dest svc=tcp/192.0.2.160:80 rs=192.0.2.199:80"],
        1,
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(shown(), with_foreign(desired(&config(3))));
    assert_eq!(
        v.matching(&["ipvs foreign svc=tcp/203.0.113.5:80"]).len(),
        1
    );
    assert!(v.matching(&["203.0.113.5:80", "ipvs del-"]).is_empty());

    // Stopping removes vigild's service, not the other.
    v.proc.signal("TERM");
    assert_eq!(v.proc.wait_exit(T), Some(0));
    assert_eq!(shown(), with_foreign(ipvs::Table::new()));
    guest::write(
        "resync/timings",
        &format!("outside destination undone after {undone:?} (resync every 1 s)\n"),
    );
}
