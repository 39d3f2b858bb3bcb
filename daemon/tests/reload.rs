//! SIGHUP reloads: an unchanged config changes nothing, a broken one is
//! refused with its diagnostics while the old one keeps running, and a
//! changed real-server weight changes only that entry of the table.

mod common;

use std::path::Path;
use std::time::Duration;

use common::Vigild;
use vigil_netns::ns::{self, Lab};

const T: Duration = Duration::from_secs(15);

fn config(dir: &Path, weight153: u32) -> String {
    format!(
        r#"global_defs {{
  router_id reload_test
}}
vrrp_instance apache {{
  state MASTER
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  authentication {{
    auth_type PASS
    auth_pass 1111
  }}
  virtual_ipaddress {{
    192.0.2.160
  }}
  notify "{dir}/notify.sh extra-arg"
}}
virtual_server 192.0.2.160 80 {{
  delay_loop 6
  lb_algo rr
  lb_kind DR
  protocol TCP
  real_server 192.0.2.152 80 {{
    weight 1
  }}
  real_server 192.0.2.153 80 {{
    weight {weight153}
  }}
}}
"#,
        dir = dir.display()
    )
}

#[test]
fn reload_keeps_state_refuses_errors_and_applies_only_the_diff() {
    if !ns::require_root("reload_keeps_state_refuses_errors_and_applies_only_the_diff") {
        return;
    }
    let mut lab = Lab::new("rl");
    lab.host("lb1", &["192.0.2.150/24"]);
    let dir = lab.dir().to_path_buf();
    let notify_out = dir.join("notify.out");
    let script = dir.join("notify.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$@\" >> {}\n", notify_out.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let conf = dir.join("keepalived.conf");
    std::fs::write(&conf, config(&dir, 1)).unwrap();

    let v = Vigild::start(lab.get("lb1"), &dir, "lb1", &conf, &[]);
    v.wait_log(T, &["vrrp/apache state from=backup to=master"], 1);
    assert!(lab.get("lb1").has_addr("192.0.2.160"));
    // notify: argv as configured, then INSTANCE NAME STATE PRIORITY.
    ns::wait_for(T, "notify script output", || {
        std::fs::read_to_string(&notify_out)
            .ok()
            .filter(|s| s.contains("extra-arg INSTANCE apache MASTER 100"))
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", v.lines().join("\n")));
    v.wait_log(T, &["ipvs add-dest", "rs=192.0.2.153:80", "weight=1"], 1);
    let count = |needles: &[&str]| v.matching(needles).len();
    let states = count(&["vrrp/apache state"]);
    let ops = count(&["ipvs "]) - count(&["ipvs table"]);

    // Unchanged config: everything kept, nothing happens.
    v.proc.signal("HUP");
    v.wait_log(T, &["reload vrrp kept=1 started=0 stopped=0"], 1);
    v.wait_log(T, &["reload done"], 1);
    assert_eq!(
        count(&["vrrp/apache state"]),
        states,
        "state changed on reload"
    );
    assert_eq!(
        count(&["ipvs "]) - count(&["ipvs table"]),
        ops,
        "ipvs changed on reload"
    );

    // Broken config: refused with file:line:col diagnostics; old one runs.
    let broken = config(&dir, 1).replace("virtual_router_id 51", "virtual_router_id 999");
    std::fs::write(&conf, broken).unwrap();
    v.proc.signal("HUP");
    v.wait_log(
        T,
        &[
            "reload refused: ",
            "error: vrrp_instance apache has no valid virtual_router_id",
        ],
        1,
    );
    v.wait_log(T, &["the running configuration stays"], 1);
    assert_eq!(count(&["reload done"]), 1);
    assert_eq!(count(&["vrrp/apache state"]), states);
    assert!(
        lab.get("lb1").has_addr("192.0.2.160"),
        "VIP lost after a refused reload"
    );

    // Weight of one real server: exactly one op, on that server.
    std::fs::write(&conf, config(&dir, 3)).unwrap();
    v.proc.signal("HUP");
    v.wait_log(T, &["reload done"], 2);
    let new_ops: Vec<String> = v
        .lines()
        .into_iter()
        .filter(|l| l.contains("ipvs ") && !l.contains("ipvs table"))
        .skip(ops)
        .collect();
    assert_eq!(new_ops.len(), 1, "{new_ops:?}");
    assert!(
        new_ops[0].ends_with(
            "ipvs edit-dest svc=tcp/192.0.2.160:80 rs=192.0.2.153:80 fwd=route weight=3"
        ),
        "{new_ops:?}"
    );
    assert_eq!(
        count(&["vrrp/apache state"]),
        states,
        "state changed on reload"
    );
    assert!(lab.get("lb1").has_addr("192.0.2.160"));
}
