//! Helpers for the guest side: a fresh network namespace for a closure,
//! `ipvsadm` in a namespace, the seed config moved to 192.0.2.0/24, real
//! servers as `lvsrsdr` sets them up, HTTP clients and servers.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use vigil_netns::ns::{self, Netns, Proc};

/// Runs `f` on a thread of its own in a new network namespace (so its
/// IPVS table is its own); commands it spawns run there too.
pub fn in_fresh_netns<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        let h = s.spawn(|| {
            // SAFETY: unshare has no memory-safety preconditions; it moves
            // only this thread to a new network namespace.
            let r = unsafe { libc::unshare(libc::CLONE_NEWNET) };
            assert_eq!(r, 0, "unshare: {}", std::io::Error::last_os_error());
            run_ok("ip", &["link", "set", "lo", "up"]);
            f()
        });
        match h.join() {
            Ok(v) => v,
            Err(e) => std::panic::resume_unwind(e),
        }
    })
}

/// Runs a command, panicking with its stderr when it fails; its stdout.
pub fn run_ok(cmd: &str, args: &[&str]) -> String {
    let o = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        o.status.success(),
        "{cmd} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `ipvsadm ARGS` in the current namespace.
pub fn ipvsadm(args: &[&str]) -> String {
    run_ok("ipvsadm", args)
}

/// `ipvsadm ARGS` in namespace `ns`.
pub fn ipvsadm_in(ns: &Netns, args: &[&str]) -> String {
    let o = ns.exec("ipvsadm", args);
    assert!(
        o.status.success(),
        "ipvsadm {} in {}: {}",
        args.join(" "),
        ns.name(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The seed's lb1 or lb2 config (`scenarios/seed/`), verbatim but for the
/// addresses: 172.17.1.x becomes 192.0.2.x.
pub fn seed_config(which: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/seed")
        .join(format!("{which}.keepalived.conf"));
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .replace("172.17.1.", "192.0.2.")
}

/// Sets a real server up as the seed's `lvsrsdr start` does: the VIP on
/// loopback, ARP ignored and announced from the primary address.
pub fn lvsrsdr(ns: &Netns, vip: &str) {
    ns.ip(&["addr", "add", &format!("{vip}/32"), "dev", "lo"]);
    for (k, v) in [
        ("lo/arp_ignore", "1"),
        ("lo/arp_announce", "2"),
        ("all/arp_ignore", "1"),
        ("all/arp_announce", "2"),
    ] {
        let o = ns.exec(
            "sh",
            &["-c", &format!("echo {v} > /proc/sys/net/ipv4/conf/{k}")],
        );
        assert!(o.status.success(), "sysctl {k} in {}", ns.name());
    }
}

/// A web server in `ns` on port 80 serving `body` at `/` (busybox httpd
/// from `dir`); waits until it listens.
pub fn httpd(ns: &Netns, dir: &Path, addr: &str, body: &str) -> Proc {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("index.html"), body).unwrap();
    let d = dir.to_string_lossy().to_string();
    let p = ns.spawn("busybox", &["httpd", "-f", "-p", "80", "-h", &d], None);
    let at: SocketAddr = format!("{addr}:80").parse().unwrap();
    ns::wait_for(Duration::from_secs(20), "httpd answering", || {
        (in_netns(ns.name(), || http_get(at, Duration::from_secs(2))).as_deref() == Ok(body))
            .then_some(())
    })
    .unwrap_or_else(|e| panic!("{e} in {}", ns.name()));
    p
}

/// Runs `f` on a thread of its own inside namespace `name`.
pub fn in_netns<T: Send>(name: &str, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        let h = s.spawn(|| {
            enter_netns(name);
            f()
        });
        match h.join() {
            Ok(v) => v,
            Err(e) => std::panic::resume_unwind(e),
        }
    })
}

/// Moves the calling thread into namespace `name` (`/run/netns/NAME`).
pub fn enter_netns(name: &str) {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::open(format!("/run/netns/{name}"))
        .unwrap_or_else(|e| panic!("/run/netns/{name}: {e}"));
    // SAFETY: setns on a descriptor we hold; affects only this thread.
    let r = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(r, 0, "setns {name}: {}", std::io::Error::last_os_error());
}

/// One HTTP/1.0 GET of `/` from this thread's namespace: the body, or
/// why it failed.
pub fn http_get(addr: SocketAddr, timeout: Duration) -> Result<String, String> {
    let mut s = TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(timeout)).ok();
    s.set_write_timeout(Some(timeout)).ok();
    s.write_all(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no header end in {text:?}"))?;
    if !head.starts_with("HTTP/1.") || !head.contains(" 200 ") {
        return Err(format!("status: {}", head.lines().next().unwrap_or("")));
    }
    Ok(body.to_string())
}
