//! The VM lane: tests that need a real IPVS kernel (the host's has none)
//! run inside a qemu VM booting Debian's own kernel.
//!
//! [`run`] boots one VM for a [`Spec`]: the kernel package
//! `linux-image-amd64` depends on is fetched and prepared once
//! ([`kernel`], cached under `target/vm-cache` by package name), the
//! initramfs is built once ([`initramfs`], keyed by its content), and qemu
//! ([`qemu`]) boots it under TCG (this host's KVM cannot boot a stock
//! kernel) through the PVH entry with qboot, in about 3 s. The guest
//! mounts the host's root read-only under a tmpfs overlay and chroots
//! into it, so binaries built on the host run unchanged inside; the run's
//! folder is shared read-write at the same path for results. The command
//! runs as root in the VM's own root namespace, with `VIGIL_VM_GUEST=1`
//! and `VIGIL_VM_OUT` set ([`guest`]); its exit status comes back in the
//! shared folder and on the console. The VM has no network device.
//!
//! Where the lane cannot run (no qemu, no busybox-static, no kernel
//! package reachable), [`run`] says why with [`VmError::Unavailable`];
//! [`skip`] turns that into a skip, or a failure when
//! `VIGIL_REQUIRE_ROOT_TESTS=1`.

pub mod cpio;
pub mod guest;
pub mod initramfs;
pub mod kernel;
pub mod modules;
pub mod qemu;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// One VM run: a command to run inside.
#[derive(Clone, Debug)]
pub struct Spec {
    /// A short name for the run's folder and logs.
    pub name: String,
    /// The program (an absolute host path) and its arguments; `{out}` in
    /// them stands for the run's shared folder.
    pub argv: Vec<String>,
    /// Files (name, content) written into the run's shared folder before
    /// the boot. The guest sees the host's whole tree, `/tmp` included
    /// (a checkout may live there), and writes only to its own overlay.
    pub files: Vec<(String, String)>,
    /// Extra environment for the command.
    pub env: Vec<(String, String)>,
    /// The command's working directory (default: the current one).
    pub cwd: Option<PathBuf>,
    /// Guest memory in MiB.
    pub memory_mb: u32,
    /// Guest CPUs.
    pub cpus: u32,
    /// The whole run's time limit (boot included).
    pub timeout: Duration,
}

impl Spec {
    /// A run of `argv` named `name`: 256 MiB, 2 CPUs, 10 minutes.
    pub fn new(name: &str, argv: &[&str]) -> Spec {
        Spec {
            name: name.to_string(),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            env: Vec::new(),
            files: Vec::new(),
            cwd: None,
            memory_mb: 256,
            cpus: 2,
            timeout: Duration::from_secs(600),
        }
    }

    /// The same run with `KEY=VALUE` in the command's environment.
    pub fn env(mut self, key: &str, value: &str) -> Spec {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// The same run with file `name` (content `text`) in its folder.
    pub fn file(mut self, name: &str, text: &str) -> Spec {
        self.files.push((name.to_string(), text.to_string()));
        self
    }
}

/// How a run went.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The command's exit status (`None`: it never reported one).
    pub status: Option<i32>,
    /// The command's standard output and error.
    pub output: String,
    /// The VM's console.
    pub console: String,
    /// The run's shared folder (results written by the guest).
    pub dir: PathBuf,
    /// The kernel release booted.
    pub release: String,
    /// Guest uptime when the command started (boot time).
    pub boot: Option<Duration>,
    /// Wall time of the whole run on the host (cache work excluded).
    pub wall: Duration,
    /// Whether the time limit killed the VM.
    pub timed_out: bool,
}

impl Outcome {
    /// Whether the command exited 0.
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }

    /// A report for a failed run: status, output, console tail.
    pub fn report(&self) -> String {
        let tail: Vec<&str> = self.console.lines().rev().take(40).collect();
        format!(
            "VM run {}: status {:?}{} (wall {:?}, boot {:?})\n--- output ---\n{}\n--- console (tail) ---\n{}",
            self.dir.display(),
            self.status,
            if self.timed_out { ", timed out" } else { "" },
            self.wall,
            self.boot,
            self.output,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    }
}

/// Why a run did not happen or broke down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VmError {
    /// The lane cannot run on this machine (a skip reason).
    Unavailable(String),
    /// The lane broke (a failure).
    Failed(String),
}

impl fmt::Display for VmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VmError::Unavailable(s) => write!(f, "VM lane unavailable: {s}"),
            VmError::Failed(s) => write!(f, "VM lane failed: {s}"),
        }
    }
}

impl std::error::Error for VmError {}

/// Prints why `test` is skipped, or panics when
/// `VIGIL_REQUIRE_ROOT_TESTS=1` (the README's test command sets it).
pub fn skip(test: &str, why: &str) {
    if std::env::var(crate::ns::REQUIRE_ROOT_VAR).is_ok_and(|v| v == "1") {
        panic!(
            "{test}: the VM lane cannot run ({why}) and {}=1 is set",
            crate::ns::REQUIRE_ROOT_VAR
        );
    }
    eprintln!(
        "SKIPPED {test}: the VM lane cannot run: {why}; set {}=1 to make this a failure",
        crate::ns::REQUIRE_ROOT_VAR
    );
}

/// What the lane needs on the host: qemu and static busybox.
pub fn host_ready() -> Result<(), String> {
    let qemu_ok = std::process::Command::new(qemu::QEMU)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !qemu_ok {
        return Err(format!(
            "{} is not installed (package qemu-system-x86)",
            qemu::QEMU
        ));
    }
    let bb = std::fs::read(initramfs::BUSYBOX)
        .map_err(|e| format!("{}: {e} (package busybox-static)", initramfs::BUSYBOX))?;
    if !modules::elf_is_static(&bb) {
        return Err(format!(
            "{} is not statically linked (install busybox-static)",
            initramfs::BUSYBOX
        ));
    }
    Ok(())
}

/// The kernel to boot: the cached one for the package apt names, fetched
/// if needed; an already cached one when apt cannot tell.
pub fn kernel() -> Result<kernel::Kernel, VmError> {
    match kernel::resolve_package() {
        Ok(pkg) => kernel::ensure(&pkg).or_else(|e| {
            kernel::cached_any()
                .ok_or_else(|| VmError::Unavailable(format!("kernel package {pkg}: {e}")))
        }),
        Err(e) => kernel::cached_any().ok_or(VmError::Unavailable(e)),
    }
}

/// POSIX shell quoting.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The script the guest runs (in the host's root, chrooted).
fn run_script(spec: &Spec, out: &Path, cwd: &Path) -> String {
    let mut s = String::from("#!/bin/sh\n");
    s += &format!("cd {} || exit 126\n", sh_quote(&cwd.to_string_lossy()));
    s += "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root\n";
    s += &format!(
        "export VIGIL_VM_GUEST=1 VIGIL_VM_OUT={}\n",
        sh_quote(&out.to_string_lossy())
    );
    for (k, v) in &spec.env {
        s += &format!("export {k}={}\n", sh_quote(v));
    }
    let argv: Vec<String> = spec
        .argv
        .iter()
        .map(|a| sh_quote(&a.replace("{out}", &out.to_string_lossy())))
        .collect();
    s += &format!(
        "{} > {} 2>&1 < /dev/null\n",
        argv.join(" "),
        sh_quote(&out.join("output").to_string_lossy())
    );
    s += &format!(
        "code=$?\necho $code > {}\nexit $code\n",
        sh_quote(&out.join("status").to_string_lossy())
    );
    s
}

/// The folder runs go in: next to the cache (`target/vm-runs`).
pub fn runs_root() -> PathBuf {
    kernel::cache_root()
        .parent()
        .map_or_else(|| PathBuf::from("vm-runs"), |p| p.join("vm-runs"))
}

/// Removes run folders (and their logs) older than `age`.
fn prune_runs(age: Duration) {
    let Ok(rd) = std::fs::read_dir(runs_root()) else {
        return;
    };
    for e in rd.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|el| el > age);
        if old {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Boots a VM and runs `spec` in it.
pub fn run(spec: &Spec) -> Result<Outcome, VmError> {
    host_ready().map_err(VmError::Unavailable)?;
    let k = kernel()?;
    let cache_dir = kernel::cache_root().join(&k.package);
    let initrd = initramfs::ensure(&k, &cache_dir).map_err(VmError::Failed)?;

    static SEQ: AtomicU32 = AtomicU32::new(0);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    if n == 0 {
        prune_runs(Duration::from_secs(24 * 3600));
    }
    let out = runs_root().join(format!("{}-{}-{n}", spec.name, std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out)
        .map_err(|e| VmError::Failed(format!("{}: {e}", out.display())))?;
    let out = out
        .canonicalize()
        .map_err(|e| VmError::Failed(format!("{}: {e}", out.display())))?;
    if out.to_string_lossy().contains(char::is_whitespace) {
        return Err(VmError::Unavailable(format!(
            "{}: the run folder's path has white space",
            out.display()
        )));
    }
    let cwd = match &spec.cwd {
        Some(c) => c.clone(),
        None => std::env::current_dir().map_err(|e| VmError::Failed(e.to_string()))?,
    };
    std::fs::write(out.join("run.sh"), run_script(spec, &out, &cwd))
        .map_err(|e| VmError::Failed(e.to_string()))?;
    for (name, text) in &spec.files {
        std::fs::write(out.join(name), text)
            .map_err(|e| VmError::Failed(format!("{name}: {e}")))?;
    }
    let logs = out.with_extension("logs");
    std::fs::create_dir_all(&logs).map_err(|e| VmError::Failed(e.to_string()))?;
    let boot = qemu::Boot {
        vmlinux: k.vmlinux.clone(),
        initrd,
        out: out.clone(),
        console: logs.join("console.log"),
        memory_mb: spec.memory_mb,
        cpus: spec.cpus,
    };
    let start = Instant::now();
    let mut vm = qemu::Qemu::start(&boot, &logs.join("qemu.log")).map_err(VmError::Failed)?;
    let code = vm.wait(spec.timeout);
    let wall = start.elapsed();
    let console = std::fs::read_to_string(&boot.console).unwrap_or_default();
    let qemu_log = std::fs::read_to_string(logs.join("qemu.log")).unwrap_or_default();
    let status = std::fs::read_to_string(out.join("status"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .or_else(|| {
            console
                .lines()
                .rev()
                .find_map(|l| l.trim().strip_prefix(initramfs::EXIT_MARK))
                .and_then(|s| s.trim().parse().ok())
        });
    let boot_time = console
        .lines()
        .find_map(|l| l.trim().strip_prefix(initramfs::START_MARK))
        .and_then(|s| s.trim().parse::<f64>().ok())
        .map(Duration::from_secs_f64);
    let outcome = Outcome {
        status,
        output: std::fs::read_to_string(out.join("output")).unwrap_or_default(),
        console: if qemu_log.trim().is_empty() {
            console
        } else {
            format!("{console}\n--- qemu ---\n{qemu_log}")
        },
        dir: out,
        release: k.release.clone(),
        boot: boot_time,
        wall,
        timed_out: code.is_none(),
    };
    if code.is_some_and(|c| c != 0) && status.is_none() {
        return Err(VmError::Failed(format!(
            "qemu exited with {code:?} before the guest reported\n{}",
            outcome.report()
        )));
    }
    Ok(outcome)
}

/// Runs `spec`, or returns `None` after [`skip`] when the lane is
/// unavailable; panics when the lane broke.
pub fn run_or_skip(test: &str, spec: &Spec) -> Option<Outcome> {
    match run(spec) {
        Ok(o) => Some(o),
        Err(VmError::Unavailable(why)) => {
            skip(test, &why);
            None
        }
        Err(e) => panic!("{test}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_script_quotes_and_reports() {
        let spec = Spec::new("t", &["/bin/echo", "it's", "a b", "{out}/f"]).env("X", "1 2");
        let s = run_script(&spec, Path::new("/o"), Path::new("/w d"));
        assert!(s.contains("cd '/w d' || exit 126\n"));
        assert!(s.contains("'/bin/echo' 'it'\\''s' 'a b' '/o/f' > '/o/output' 2>&1 < /dev/null\n"));
        assert!(s.contains("export X='1 2'\n"));
        assert!(s.contains("echo $code > '/o/status'\n"));
        assert!(s.contains("VIGIL_VM_GUEST=1"));
    }
}
