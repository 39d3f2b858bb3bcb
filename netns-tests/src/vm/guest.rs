//! The guest side of the VM lane: whether this process runs inside the
//! VM, where its results go, and writing them.

use std::path::PathBuf;

/// Set to `1` in the guest command's environment.
pub const GUEST_VAR: &str = "VIGIL_VM_GUEST";
/// The run's shared folder, in the guest command's environment.
pub const OUT_VAR: &str = "VIGIL_VM_OUT";

/// Whether this process runs inside the VM lane.
pub fn in_guest() -> bool {
    std::env::var(GUEST_VAR).is_ok_and(|v| v == "1")
}

/// Whether a guest-only test may run here: true inside the VM; outside it
/// prints why it is skipped (the host-side test that boots the VM runs it)
/// and returns false.
pub fn require(test: &str) -> bool {
    if in_guest() {
        return true;
    }
    eprintln!("SKIPPED {test}: runs inside the IPVS VM lane only (its host-side test boots it)");
    false
}

/// The run's shared folder (the current directory outside the VM).
pub fn out_dir() -> PathBuf {
    std::env::var_os(OUT_VAR).map_or_else(|| PathBuf::from("."), PathBuf::from)
}

/// Writes result `name` into the shared folder (panics on failure: a
/// result the host cannot read is a failed test).
pub fn write(name: &str, text: &str) {
    let p = out_dir().join(name);
    if let Some(d) = p.parent() {
        let _ = std::fs::create_dir_all(d);
    }
    std::fs::write(&p, text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
}
