//! The reference deployment through the IPVS model, end to end: config ->
//! desired table under health -> ops from the kernel's table -> the kernel
//! model -> `ipvsadm -Ln`, and flows forwarded as the kernel would
//! (SEED.md's checks 1 to 3).

use vigil_core::config::{Config, parse_str};
use vigil_core::ipvs::render::{Format, render};
use vigil_core::ipvs::sched::Flow;
use vigil_core::ipvs::{Forwarder, Health, Op, Table, desired, ipvsadm_ln, plan};
use vigil_core::time::Instant;

fn seed() -> Config {
    let text = include_str!("../../scenarios/seed/lb1.keepalived.conf");
    let parsed = parse_str("lb1.keepalived.conf", text);
    parsed.config.expect("seed parses")
}

/// What one reconciliation step does: ops from `kernel` to `want`,
/// applied to the kernel model; returns the ops as trace text.
fn reconcile(kernel: &mut Forwarder, want: &Table) -> String {
    let owned = want.keys().copied().collect();
    let p = plan(kernel.table(), want, &owned);
    assert!(p.foreign.is_empty());
    kernel.apply(&p.ops).expect("ops apply in order");
    assert_eq!(kernel.table(), want);
    p.ops.iter().map(|o: &Op| format!("{o}\n")).collect()
}

#[test]
fn seed_lifecycle() {
    let c = seed();
    let mut kernel = Forwarder::new();
    let mut health = Health::initial(&c);
    let mut log = String::new();

    log += "# start: both real servers assumed up\n";
    log += &reconcile(&mut kernel, &desired(&c, &health));
    log += "# both fail their TCP_CHECK (httpd not running yet)\n";
    for j in 0..2 {
        health.rs_mut(0, j).unwrap().alive = false;
    }
    log += &reconcile(&mut kernel, &desired(&c, &health));
    log += &ipvsadm_ln(kernel.table());
    log += "# httpd starts on both\n";
    for j in 0..2 {
        health.rs_mut(0, j).unwrap().alive = true;
    }
    log += &reconcile(&mut kernel, &desired(&c, &health));
    log += &ipvsadm_ln(kernel.table());
    log += "# a browser reloads http://172.17.1.160 four times\n";
    for i in 0..4u16 {
        let flow = Flow::tcp(
            "198.51.100.7".parse().unwrap(),
            50000 + i,
            "172.17.1.160".parse().unwrap(),
            80,
        );
        let placed = kernel.connect(Instant::from_secs(i as u64), &flow).unwrap();
        kernel.established(placed.id);
        log += &format!("{} -> {}\n", flow.client_port, placed.dest);
    }
    log += &render(kernel.table(), &kernel.counters(), Format::Plain);
    insta::assert_snapshot!(log);
}
