//! The qemu process: its command line (TCG, PVH entry into the
//! uncompressed kernel through qboot, no network device at all, the
//! host's root and the run's folder over 9p, the console to a file), and
//! a guard that kills it by pid on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The qemu binary.
pub const QEMU: &str = "qemu-system-x86_64";
/// The qboot firmware (fast PVH boot); SeaBIOS is used when it is absent.
pub const QBOOT: &str = "/usr/share/qemu/qboot.rom";
/// Selects the accelerator (`tcg`, the default, or `kvm` on a host whose
/// KVM can boot a stock kernel).
pub const ACCEL_VAR: &str = "VIGIL_VM_ACCEL";

/// What to boot and how.
#[derive(Clone, Debug)]
pub struct Boot {
    /// Uncompressed kernel (ELF with a PVH note).
    pub vmlinux: PathBuf,
    /// Initramfs.
    pub initrd: PathBuf,
    /// The run's shared folder (read-write in the guest, same path).
    pub out: PathBuf,
    /// Console log file.
    pub console: PathBuf,
    /// Memory in MiB.
    pub memory_mb: u32,
    /// Virtual CPUs.
    pub cpus: u32,
}

/// The qemu arguments for `b`.
pub fn args(b: &Boot) -> Vec<String> {
    let accel = std::env::var(ACCEL_VAR).unwrap_or_else(|_| "tcg".into());
    let mut a: Vec<String> = vec![
        "-accel".into(),
        accel,
        "-cpu".into(),
        "max".into(),
        "-m".into(),
        b.memory_mb.to_string(),
        "-smp".into(),
        b.cpus.to_string(),
        "-M".into(),
        "pc".into(),
        "-nodefaults".into(),
        "-no-user-config".into(),
        "-display".into(),
        "none".into(),
        "-monitor".into(),
        "none".into(),
        // No network device: nothing the guest does reaches the host.
        "-nic".into(),
        "none".into(),
        "-no-reboot".into(),
        "-serial".into(),
        format!("file:{}", b.console.display()),
    ];
    if Path::new(QBOOT).exists() {
        a.extend(["-bios".into(), QBOOT.into()]);
    }
    a.extend([
        "-kernel".into(),
        b.vmlinux.display().to_string(),
        "-initrd".into(),
        b.initrd.display().to_string(),
        "-append".into(),
        format!(
            "console=ttyS0 quiet panic=-1 rdinit=/init VIGIL_OUT={}",
            b.out.display()
        ),
        "-virtfs".into(),
        "local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap".into(),
        "-virtfs".into(),
        format!(
            "local,path={},mount_tag=out,security_model=none,multidevs=remap",
            b.out.display()
        ),
    ]);
    a
}

/// A running qemu, killed (SIGKILL, by pid) and reaped on drop.
#[derive(Debug)]
pub struct Qemu {
    child: Option<Child>,
}

impl Qemu {
    /// Starts qemu for `b`, its own stdout/stderr to `log`.
    pub fn start(b: &Boot, log: &Path) -> Result<Qemu, String> {
        let f = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let f2 = f.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(QEMU)
            .args(args(b))
            .stdin(Stdio::null())
            .stdout(f)
            .stderr(f2)
            .spawn()
            .map_err(|e| format!("{QEMU}: {e}"))?;
        Ok(Qemu { child: Some(child) })
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Waits up to `timeout` for qemu to exit; its exit code, or `None`
    /// when the timeout passed (qemu is then killed).
    pub fn wait(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while let Some(c) = self.child.as_mut() {
            if let Ok(Some(st)) = c.try_wait() {
                self.child = None;
                return Some(st.code().unwrap_or(-1));
            }
            if Instant::now() >= deadline {
                self.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Kills it now and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_network_and_a_read_only_host() {
        let b = Boot {
            vmlinux: "/c/vmlinux".into(),
            initrd: "/c/i.cpio".into(),
            out: "/t/run1".into(),
            console: "/t/run1.console".into(),
            memory_mb: 256,
            cpus: 2,
        };
        let a = args(&b);
        let at = |flag: &str| a.iter().position(|x| x == flag).map(|i| a[i + 1].clone());
        assert_eq!(at("-nic").as_deref(), Some("none"));
        assert!(a.iter().any(|x| x == "-nodefaults"));
        assert!(
            !a.iter()
                .any(|x| x.contains("user") && x.starts_with("-netdev"))
        );
        let shares: Vec<&String> = a.iter().filter(|x| x.starts_with("local,")).collect();
        assert_eq!(shares.len(), 2);
        assert!(shares[0].contains("path=/,") && shares[0].contains("readonly=on"));
        assert!(shares[1].contains("path=/t/run1,") && shares[1].contains("mount_tag=out"));
        assert!(at("-append").unwrap().contains("VIGIL_OUT=/t/run1"));
        assert_eq!(at("-m").as_deref(), Some("256"));
    }
}
