//! vigild on a config with nothing to run stays up idle, as keepalived
//! does, and a reload (SIGHUP) that adds an instance runs it.

mod common;

use std::time::Duration;

use common::{Vigild, wait_holders};
use vigil_netns::ns::{self, Lab};

const VIP: &str = "192.0.2.169";
const T: Duration = Duration::from_secs(15);

#[test]
fn empty_config_idles_until_a_reload_gives_it_an_instance() {
    if !ns::require_root("empty_config_idles_until_a_reload_gives_it_an_instance") {
        return;
    }
    let mut lab = Lab::new("idle");
    lab.host("lb", &["192.0.2.168/24"]);
    let dir = lab.dir().to_path_buf();
    let conf = dir.join("k.conf");
    std::fs::write(&conf, "# nothing yet\nglobal_defs {\n    router_id lb\n}\n").unwrap();
    let mut lb = Vigild::start(lab.get("lb"), &dir, "lb", &conf, &[]);
    lb.wait_log(T, &["has nothing to run", "idle until a reload"], 1);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        lb.proc.wait_exit(Duration::from_millis(100)),
        None,
        "vigild exited"
    );
    std::fs::write(
        &conf,
        format!(
            "vrrp_instance v {{\n    interface eth0\n    virtual_router_id 69\n    priority 255\n    \
             virtual_ipaddress {{\n        {VIP}\n    }}\n}}\n"
        ),
    )
    .unwrap();
    lb.proc.signal("HUP");
    lb.wait_log(T, &["reload done"], 1);
    wait_holders(&lab, VIP, &["lb"], T, &[&lb]);
}
