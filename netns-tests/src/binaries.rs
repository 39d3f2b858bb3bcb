//! Finding the programs a run starts: vigild (built from this workspace),
//! keepalived and FRR's zebra and vrrpd (Debian's packages).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Overrides where vigild is taken from.
pub const VIGILD_VAR: &str = "VIGILD";

/// keepalived, as Debian installs it.
pub const KEEPALIVED: &str = "/usr/sbin/keepalived";
/// FRR's daemons, as Debian installs them.
pub const FRR_DIR: &str = "/usr/lib/frr";

/// The vigild binary to run: `$VIGILD` when set; under cargo (tests,
/// benches, `cargo run`), the workspace's vigild built for the same
/// profile (`cargo build -p vigild`, once per process); otherwise
/// `vigild` beside the running executable, then on `PATH`.
pub fn vigild() -> Result<PathBuf, String> {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    FOUND.get_or_init(find_vigild).clone()
}

fn find_vigild() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os(VIGILD_VAR) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("{VIGILD_VAR}={}: no such file", p.display()))
        };
    }
    let exe = std::env::current_exe().map_err(|e| format!("current executable: {e}"))?;
    // target/<profile>/vigil or target/<profile>/deps/<test>-<hash>.
    let profile_dir = exe
        .ancestors()
        .skip(1)
        .find(|d| d.file_name().is_some_and(|n| n != "deps" && n != "build"))
        .map(Path::to_path_buf);
    if let Some(cargo) = std::env::var_os("CARGO")
        && let Some(dir) = &profile_dir
    {
        let release = dir.file_name().is_some_and(|n| n == "release");
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        let mut c = Command::new(cargo);
        c.args([
            "build",
            "--quiet",
            "-p",
            "vigild",
            "--bin",
            "vigild",
            "--manifest-path",
        ])
        .arg(&manifest);
        if release {
            c.arg("--release");
        }
        match c.status() {
            Ok(s) if s.success() => {
                let p = dir.join("vigild");
                if p.is_file() {
                    return Ok(p);
                }
            }
            Ok(s) => return Err(format!("cargo build -p vigild failed ({s})")),
            Err(e) => return Err(format!("cargo build -p vigild: {e}")),
        }
    }
    if let Some(dir) = &profile_dir {
        let p = dir.join("vigild");
        if p.is_file() {
            return Ok(p);
        }
    }
    if let Some(p) = on_path("vigild") {
        return Ok(p);
    }
    Err(format!(
        "vigild not found: build it (`cargo build -p vigild`) or set {VIGILD_VAR}=/path/to/vigild"
    ))
}

/// `name` on `PATH`, if there.
pub fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// keepalived, or why it cannot run (`apt-get install keepalived`).
pub fn keepalived() -> Result<PathBuf, String> {
    let p = PathBuf::from(KEEPALIVED);
    if p.is_file() {
        return Ok(p);
    }
    on_path("keepalived").ok_or_else(|| {
        "keepalived not found (Debian: apt-get install keepalived; scripts/test-all installs it)"
            .to_string()
    })
}

/// FRR's `daemon` (zebra, vrrpd), or why it cannot run.
pub fn frr(daemon: &str) -> Result<PathBuf, String> {
    let p = Path::new(FRR_DIR).join(daemon);
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!(
            "{} not found (Debian: apt-get install frr; scripts/test-all installs it)",
            p.display()
        ))
    }
}
