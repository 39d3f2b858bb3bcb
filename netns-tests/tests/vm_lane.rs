//! The VM lane itself: one boot runs a shell script inside that checks
//! what the IPVS tests rely on (Debian's kernel with IPVS loaded, the
//! host's files, a writable shared folder, namespaces), and the exit
//! status comes back; a second run shows the time limit kills the VM.

use std::time::Duration;

use vigil_netns::vm::{self, Spec};

const CHECKS: &str = r#"set -u
uname -r
cat /proc/net/ip_vs
test -e /proc/net/ip_vs || exit 10
# The host's files, read-only underneath, writable through the overlay.
test -x /usr/sbin/ipvsadm || exit 11
echo scratch > /etc/vigil-vm-scratch || exit 12
# Namespaces and veth work (the end-to-end topology needs them).
ip netns add vmtest || exit 13
ip netns exec vmtest ip link add va type veth peer name vb || exit 14
ip netns del vmtest
# Every IPVS scheduler module the kernel ships is loaded.
for s in rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh; do
  grep -q "^ip_vs_$s " /proc/modules || { echo "no ip_vs_$s"; exit 15; }
done
# No network device besides loopback.
ls /sys/class/net > "$VIGIL_VM_OUT/netdevs"
echo "shared folder works" > "$VIGIL_VM_OUT/result"
exit 3
"#;

#[test]
fn vm_boots_debian_kernel_with_ipvs_and_reports_the_exit_status() {
    let spec = Spec::new("lane", &["/bin/sh", "{out}/checks.sh"]).file("checks.sh", CHECKS);
    let Some(o) = vm::run_or_skip("vm_boots_debian_kernel_with_ipvs", &spec) else {
        return;
    };
    assert_eq!(o.status, Some(3), "{}", o.report());
    assert!(
        o.output.contains("IP Virtual Server version"),
        "{}",
        o.report()
    );
    assert!(o.output.starts_with(&o.release), "{}", o.report());
    assert_eq!(
        std::fs::read_to_string(o.dir.join("result")).unwrap(),
        "shared folder works\n"
    );
    assert_eq!(
        std::fs::read_to_string(o.dir.join("netdevs"))
            .unwrap()
            .trim(),
        "lo"
    );
    // The scratch write stayed in the guest's overlay.
    assert!(!std::path::Path::new("/etc/vigil-vm-scratch").exists());
    eprintln!(
        "VM lane: kernel {} boot {:?} wall {:?}",
        o.release, o.boot, o.wall
    );
}

#[test]
fn vm_is_killed_at_its_time_limit() {
    let mut spec = Spec::new("timeout", &["/bin/sleep", "600"]);
    spec.timeout = Duration::from_secs(15);
    let Some(o) = vm::run_or_skip("vm_is_killed_at_its_time_limit", &spec) else {
        return;
    };
    assert!(o.timed_out, "{}", o.report());
    assert_eq!(o.status, None);
    assert!(o.wall < Duration::from_secs(30), "{:?}", o.wall);
}
