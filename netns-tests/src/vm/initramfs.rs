//! The VM's initramfs: static busybox, the kernel's modules, and an
//! `/init` that loads the modules in dependency order, mounts the host's
//! root (9p, read-only) under a tmpfs overlay, mounts the run's shared
//! folder (9p, read-write) at the same path, and runs the command the host
//! wrote there in a chroot, reporting its exit status on the console and
//! in the shared folder before powering off.

use std::path::{Path, PathBuf};

use super::cpio::Archive;
use super::kernel::Kernel;

/// The console line the guest prints just before it runs the command.
pub const START_MARK: &str = "VIGIL-VM-START";
/// The console line prefix with the command's exit status.
pub const EXIT_MARK: &str = "VIGIL-VM-EXIT";
/// Exit status the guest reports when its own setup failed.
pub const SETUP_FAILED: i32 = 125;

/// Where static busybox is expected on the host (`busybox-static`).
pub const BUSYBOX: &str = "/bin/busybox";

/// The `/init` script for module files `modules` (names, in load order).
pub fn init_script(modules: &[String]) -> String {
    let mut s = String::from(
        "#!/bin/busybox sh\n\
         # Vigil's VM lane init (vigil_netns::vm::initramfs).\n\
         /bin/busybox --install -s /bin\n\
         export PATH=/bin\n\
         mount -t proc proc /proc\n\
         mount -t sysfs sysfs /sys\n\
         mount -t devtmpfs devtmpfs /dev\n",
    );
    s += &format!(
        "fail() {{ echo \"vigil-vm: setup failed: $*\"; echo \"{EXIT_MARK} {SETUP_FAILED}\"; poweroff -f; }}\n"
    );
    for m in modules {
        s += &format!("insmod /lib/modules/{m} || fail insmod {m}\n");
    }
    s += "\
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 host /host || fail 9p host
mount -t tmpfs upper /upper || fail tmpfs
mkdir -p /upper/u /upper/w
mount -t overlay -o lowerdir=/host,upperdir=/upper/u,workdir=/upper/w overlay /newroot || fail overlay
mount -t proc proc /newroot/proc
mount -t sysfs sysfs /newroot/sys
mount -t devtmpfs devtmpfs /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts devpts /newroot/dev/pts
mount -t tmpfs shm /newroot/dev/shm
mount -t tmpfs run /newroot/run
mkdir -p /newroot/run/netns /newroot/run/lock
[ -n \"$VIGIL_OUT\" ] || fail no VIGIL_OUT on the kernel command line
mkdir -p /newroot$VIGIL_OUT
mount -t 9p -o trans=virtio,version=9p2000.L,rw,msize=512000 out /newroot$VIGIL_OUT || fail 9p out
mkdir -p /newroot/lib/modules/$(uname -r)
mount --bind /lib/modules /newroot/lib/modules/$(uname -r)
hostname vigil-vm
ip link set lo up
";
    s += &format!(
        "echo \"{START_MARK} $(cut -d' ' -f1 /proc/uptime)\"\n\
         chroot /newroot /bin/sh $VIGIL_OUT/run.sh\n\
         code=$?\n\
         echo \"{EXIT_MARK} $code\"\n\
         sync\n\
         poweroff -f\n"
    );
    s
}

/// The archive for `kernel`: busybox from `busybox`, its modules, `/init`.
pub fn build(kernel: &Kernel, busybox: &[u8]) -> Vec<u8> {
    let names: Vec<String> = kernel
        .modules
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    let mut a = Archive::new();
    for d in [
        "bin",
        "dev",
        "proc",
        "sys",
        "host",
        "upper",
        "newroot",
        "tmp",
        "lib",
        "lib/modules",
    ] {
        a.dir(d);
    }
    a.char_dev("dev/console", 0o600, 5, 1);
    a.char_dev("dev/null", 0o666, 1, 3);
    a.file("bin/busybox", 0o755, busybox);
    a.symlink("bin/sh", "busybox");
    for (p, n) in kernel.modules.iter().zip(&names) {
        let data = std::fs::read(p).unwrap_or_default();
        a.file(&format!("lib/modules/{n}"), 0o644, &data);
    }
    a.file("init", 0o755, init_script(&names).as_bytes());
    a.finish()
}

/// FNV-1a over `parts`: a cache key that stays put across builds.
pub fn key(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.iter().chain(&[0xff]) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The initramfs for `kernel` in the cache (built when missing or when
/// the init script, the modules or busybox changed).
pub fn ensure(kernel: &Kernel, cache_dir: &Path) -> Result<PathBuf, String> {
    let bb = std::fs::read(BUSYBOX).map_err(|e| format!("{BUSYBOX}: {e}"))?;
    let names: Vec<String> = kernel
        .modules
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    let script = init_script(&names);
    let paths: Vec<String> = kernel
        .modules
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let k = key(&[script.as_bytes(), &bb, paths.join("\n").as_bytes()]);
    let path = cache_dir.join(format!("initramfs-{k:016x}.cpio"));
    if path.exists() {
        return Ok(path);
    }
    let bytes = build(kernel, &bb);
    static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_loads_modules_in_order_and_reports_the_exit() {
        let s = init_script(&["a.ko".into(), "b.ko".into()]);
        let a = s.find("insmod /lib/modules/a.ko").unwrap();
        let b = s.find("insmod /lib/modules/b.ko").unwrap();
        assert!(a < b);
        assert!(s.contains("chroot /newroot /bin/sh $VIGIL_OUT/run.sh"));
        assert!(s.contains("echo \"VIGIL-VM-EXIT $code\""));
        assert!(s.ends_with("poweroff -f\n"));
        // The host's root is read-only; the run's folder is the only
        // read-write share.
        assert!(s.contains("ro,cache=loose,msize=512000 host /host"));
    }

    #[test]
    fn keys_depend_on_every_part() {
        assert_ne!(key(&[b"a", b"b"]), key(&[b"ab"]));
        assert_eq!(key(&[b"x"]), key(&[b"x"]));
    }
}
