//! IPVS against a real kernel, in the VM lane (`vigil_netns::vm`).
//!
//! The host has no IPVS, so [`ipvs_vm_lane`] boots one VM with Debian's
//! kernel and runs this same test binary inside it, with `--ignored`:
//! the `guest_*` tests (ignored on the host) are the scenarios, run one
//! after the other in the VM; they write what they saw to the run's
//! shared folder, and the host compares that with the snapshots beside
//! this file. One boot for every scenario keeps the lane's cost to one
//! VM start.

#[path = "../common/mod.rs"]
mod common;
mod differential;
mod e2e;
mod kernel;
mod reconcile;
mod resync;
mod support;

use std::time::Duration;

use vigil_netns::vm::{self, Spec};

#[test]
fn ipvs_vm_lane() {
    let exe = std::env::current_exe().expect("test binary path");
    let exe = exe.to_string_lossy();
    let mut spec = Spec::new(
        "ipvs",
        &[
            &exe,
            "--ignored",
            "--test-threads=1",
            "--nocapture",
            "guest_",
        ],
    )
    .env("RUST_BACKTRACE", "1");
    // VIGIL_VM_FILTER narrows the guest tests (a libtest filter).
    if let Ok(f) = std::env::var("VIGIL_VM_FILTER") {
        *spec.argv.last_mut().expect("the filter") = f;
    }
    spec.memory_mb = 512;
    spec.timeout = Duration::from_secs(1500);
    let Some(o) = vm::run_or_skip("ipvs_vm_lane", &spec) else {
        return;
    };
    eprintln!(
        "--- guest output ({}) ---\n{}\nVM: kernel {} boot {:?} wall {:?}",
        o.dir.display(),
        o.output,
        o.release,
        o.boot,
        o.wall
    );
    assert!(o.success(), "{}", o.report());
    assert!(
        !o.output.contains("running 0 tests"),
        "no guest test ran\n{}",
        o.report()
    );

    // What the guest saw, against the snapshots beside this file.
    let result = |name: &str| {
        let p = o.dir.join(name);
        std::fs::read_to_string(&p).ok()
    };
    insta::with_settings!({ snapshot_path => "snapshots", prepend_module_to_snapshot => false }, {
        if let Some(t) = result("differential/check-config-table") {
            insta::assert_snapshot!("seed_table", t);
            assert_eq!(result("differential/vigild.ipvsadm-Ln").as_ref(), Some(&t));
            assert_eq!(result("differential/keepalived.ipvsadm-Ln").as_ref(), Some(&t));
        }
        if let Some(t) = result("kernel/everything.ipvsadm-Ln") {
            insta::assert_snapshot!("kernel_everything", t);
        }
        if let Some(t) = result("reconcile/after-outside-edits.ipvsadm-Ln") {
            insta::assert_snapshot!("reconcile_after_outside_edits", t);
        }
    });
    for r in ["e2e/report", "resync/timings"] {
        if let Some(t) = result(r) {
            eprint!("{r}:\n{t}");
        }
    }
}
