//! Debian's own kernel for the VM, fetched once and cached: the package
//! `linux-image-amd64` depends on is downloaded with `apt-get download`,
//! unpacked with `dpkg -x`, and only what the VM needs is kept under the
//! cache folder, keyed by package name: the uncompressed `vmlinux` (taken
//! out of the bzImage, for qemu's PVH entry) and the modules the VM loads
//! with their dependencies, in load order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::modules::{self, ModInfo};

/// Overrides the cache folder.
pub const CACHE_VAR: &str = "VIGIL_VM_CACHE";
/// Overrides the kernel package (`linux-image-6.1.0-48-amd64`).
pub const PKG_VAR: &str = "VIGIL_VM_KERNEL_PKG";

/// The modules the VM loads (those missing from a kernel are skipped):
/// virtio and 9p for the host's files, overlayfs, IPVS with every
/// scheduler Linux ships, veth and bridge for test topologies, nlmon to
/// count netlink traffic.
pub const WANTED: &[&str] = &[
    "virtio_pci",
    "9pnet_virtio",
    "9p",
    "overlay",
    "crc32c_generic",
    "ip_vs",
    "ip_vs_rr",
    "ip_vs_wrr",
    "ip_vs_lc",
    "ip_vs_wlc",
    "ip_vs_lblc",
    "ip_vs_lblcr",
    "ip_vs_dh",
    "ip_vs_sh",
    "ip_vs_sed",
    "ip_vs_nq",
    "ip_vs_fo",
    "ip_vs_ovf",
    "ip_vs_mh",
    "ip_vs_twos",
    "veth",
    "bridge",
    "nlmon",
];

/// A kernel ready for the VM.
#[derive(Clone, Debug)]
pub struct Kernel {
    /// The Debian package it came from.
    pub package: String,
    /// Its release (`uname -r`).
    pub release: String,
    /// The uncompressed kernel image.
    pub vmlinux: PathBuf,
    /// Module files, in load order.
    pub modules: Vec<PathBuf>,
    /// Wanted modules this kernel does not have.
    pub missing: Vec<String>,
}

/// The cache folder: [`CACHE_VAR`], else `$CARGO_TARGET_DIR/vm-cache`,
/// else the workspace's `target/vm-cache`.
pub fn cache_root() -> PathBuf {
    if let Some(p) = std::env::var_os(CACHE_VAR) {
        return PathBuf::from(p);
    }
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(t).join("vm-cache");
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."))
        .join("target/vm-cache")
}

/// An exclusive `flock` on a file, released on drop.
#[derive(Debug)]
pub struct Lock {
    _file: std::fs::File,
}

impl Lock {
    /// Waits for the lock on `path` (created if needed).
    pub fn take(path: &Path) -> Result<Lock, String> {
        use std::os::fd::AsRawFd;
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        // SAFETY: flock on a descriptor we own.
        let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
        if r != 0 {
            return Err(format!(
                "lock {}: {}",
                path.display(),
                std::io::Error::last_os_error()
            ));
        }
        Ok(Lock { _file: f })
    }
}

/// The kernel package `linux-image-amd64` depends on, from apt's lists
/// (refreshed once with `apt-get update` when they name none and this
/// process is root).
pub fn resolve_package() -> Result<String, String> {
    if let Ok(p) = std::env::var(PKG_VAR) {
        return Ok(p);
    }
    resolve_from_lists().or_else(|first| {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err(first);
        }
        let _ = Command::new("apt-get").args(["update", "-q"]).output();
        resolve_from_lists()
    })
}

fn resolve_from_lists() -> Result<String, String> {
    let out = Command::new("apt-cache")
        .args(["depends", "linux-image-amd64"])
        .output()
        .map_err(|e| format!("apt-cache: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("Depends:"))
        .map(str::trim)
        .find(|p| p.starts_with("linux-image-") && !p.contains('<'))
        .map(str::to_string)
        .ok_or_else(|| {
            format!(
                "apt-cache depends linux-image-amd64 names no kernel package (run apt-get update?): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )
        })
}

/// The compressed payload of a bzImage, decompressed: the ELF `vmlinux`
/// (Debian compresses with xz).
pub fn vmlinux_from_bzimage(bz: &[u8]) -> Result<Vec<u8>, String> {
    let get = |i: usize, n: usize| bz.get(i..i + n).ok_or("bzImage too short");
    if get(0x202, 4)? != b"HdrS" {
        return Err("not a bzImage (no HdrS)".into());
    }
    let setup_sects = match bz[0x1f1] {
        0 => 4,
        n => usize::from(n),
    };
    let pm = (setup_sects + 1) * 512;
    let word = |i: usize| -> Result<usize, String> {
        Ok(u32::from_le_bytes(get(i, 4)?.try_into().map_err(|_| "short")?) as usize)
    };
    let (off, len) = (word(0x248)?, word(0x24c)?);
    let payload = bz
        .get(pm + off..pm + off + len)
        .ok_or("bzImage payload out of range")?;
    if !payload.starts_with(b"\xfd7zXZ\x00") {
        return Err(format!(
            "bzImage payload is not xz (starts {:02x?})",
            &payload[..payload.len().min(6)]
        ));
    }
    let tmp = std::env::temp_dir().join(format!("vigil-vmlinux-{}.xz", std::process::id()));
    std::fs::write(&tmp, payload).map_err(|e| format!("{}: {e}", tmp.display()))?;
    // xz-utils if present, else busybox's xz.
    let attempt = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .arg(&tmp)
            .output()
            .ok()
            .filter(|o| o.status.success() && o.stdout.starts_with(b"\x7fELF"))
            .map(|o| o.stdout)
    };
    let out =
        attempt("xz", &["-dc", "--single-stream"]).or_else(|| attempt("busybox", &["xz", "-dc"]));
    let _ = std::fs::remove_file(&tmp);
    out.ok_or_else(|| "cannot decompress the kernel (need xz or busybox xz)".into())
}

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{what}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// The cached kernel `package`, fetching and preparing it first when it is
/// not in the cache yet.
pub fn ensure(package: &str) -> Result<Kernel, String> {
    let root = cache_root();
    std::fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    let dir = root.join(package);
    if let Some(k) = load(package, &dir) {
        return Ok(k);
    }
    let _lock = Lock::take(&root.join(".lock"))?;
    if let Some(k) = load(package, &dir) {
        return Ok(k);
    }
    prepare(package, &root, &dir)?;
    load(package, &dir).ok_or_else(|| format!("{}: prepared but unreadable", dir.display()))
}

/// The newest kernel already in the cache (when apt cannot be asked).
pub fn cached_any() -> Option<Kernel> {
    let rd = std::fs::read_dir(cache_root()).ok()?;
    let mut ks: Vec<(std::time::SystemTime, Kernel)> = rd
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let k = load(&name, &e.path())?;
            let t = std::fs::metadata(e.path().join("ready"))
                .ok()?
                .modified()
                .ok()?;
            Some((t, k))
        })
        .collect();
    ks.sort_by_key(|(t, _)| *t);
    ks.pop().map(|(_, k)| k)
}

fn load(package: &str, dir: &Path) -> Option<Kernel> {
    let ready = std::fs::read_to_string(dir.join("ready")).ok()?;
    let mut lines = ready.lines();
    let release = lines.next()?.to_string();
    let mut modules = Vec::new();
    let mut missing = Vec::new();
    for l in lines {
        if let Some(m) = l.strip_prefix("missing ") {
            missing.push(m.to_string());
        } else if !l.is_empty() {
            modules.push(dir.join("modules").join(l));
        }
    }
    let vmlinux = dir.join("vmlinux");
    // Prepared for an older WANTED list: prepare again.
    let covered = |w: &&str| {
        let w = modules::canonical(w);
        missing.contains(&w)
            || modules
                .iter()
                .any(|m| m.file_stem().is_some_and(|s| *s == *w))
    };
    if !WANTED.iter().all(covered) {
        return None;
    }
    (vmlinux.exists() && modules.iter().all(|m| m.exists())).then(|| Kernel {
        package: package.to_string(),
        release,
        vmlinux,
        modules,
        missing,
    })
}

fn prepare(package: &str, root: &Path, dir: &Path) -> Result<(), String> {
    let work = root.join(format!("tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let result = (|| {
        run(
            Command::new("apt-get")
                .args(["download", "-q", package])
                .current_dir(&work),
            &format!("apt-get download {package}"),
        )?;
        let deb = std::fs::read_dir(&work)
            .map_err(|e| e.to_string())?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "deb"))
            .ok_or("apt-get download left no .deb")?;
        let x = work.join("x");
        run(Command::new("dpkg").arg("-x").arg(&deb).arg(&x), "dpkg -x")?;
        let _ = std::fs::remove_file(&deb);
        let boot = x.join("boot");
        let bz = std::fs::read_dir(&boot)
            .map_err(|e| format!("{}: {e}", boot.display()))?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
            })
            .ok_or("the package has no boot/vmlinuz-*")?;
        let release = bz
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("vmlinuz-"))
            .ok_or("odd kernel file name")?
            .to_string();
        let image = std::fs::read(&bz).map_err(|e| format!("{}: {e}", bz.display()))?;
        let vmlinux = vmlinux_from_bzimage(&image)?;
        let mods = x.join("lib/modules").join(&release).join("kernel");
        let idx = modules::index(&mods);
        let cache: std::cell::RefCell<BTreeMap<String, Option<ModInfo>>> = Default::default();
        let info = |n: &str| -> Option<ModInfo> {
            if let Some(v) = cache.borrow().get(n) {
                return v.clone();
            }
            let v = idx
                .get(n)
                .and_then(|p| std::fs::read(p).ok())
                .and_then(|b| modules::modinfo(&b));
            cache.borrow_mut().insert(n.to_string(), v.clone());
            v
        };
        let aliases: BTreeMap<String, String> =
            [("crc32c".to_string(), "crc32c_generic".to_string())]
                .into_iter()
                .collect();
        let (order, missing) = modules::load_order(WANTED, &info, &aliases)?;
        let _ = std::fs::remove_dir_all(dir);
        let mdir = dir.join("modules");
        std::fs::create_dir_all(&mdir).map_err(|e| format!("{}: {e}", mdir.display()))?;
        let mut ready = format!("{release}\n");
        for m in &order {
            let src = &idx[m];
            let name = format!("{m}.ko");
            std::fs::copy(src, mdir.join(&name)).map_err(|e| format!("{}: {e}", src.display()))?;
            ready += &name;
            ready.push('\n');
        }
        for m in &missing {
            ready += &format!("missing {m}\n");
        }
        std::fs::write(dir.join("vmlinux"), vmlinux).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("ready"), ready).map_err(|e| e.to_string())?;
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&work);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bzimage_header_is_checked() {
        assert!(vmlinux_from_bzimage(&[0u8; 100]).is_err());
        let mut fake = vec![0u8; 0x300];
        fake[0x202..0x206].copy_from_slice(b"HdrS");
        fake[0x1f1] = 0;
        // Payload offset beyond the image: an error, not a panic.
        fake[0x248..0x24c].copy_from_slice(&0x10000u32.to_le_bytes());
        fake[0x24c..0x250].copy_from_slice(&16u32.to_le_bytes());
        assert!(vmlinux_from_bzimage(&fake).is_err());
    }

    #[test]
    fn cache_root_honours_the_override() {
        // Only check the default shape; the variable is the user's.
        if std::env::var_os(CACHE_VAR).is_none() && std::env::var_os("CARGO_TARGET_DIR").is_none() {
            assert!(cache_root().ends_with("target/vm-cache"));
        }
    }
}
