//! One member of a mixed VRRP group in its namespace: vigild, keepalived
//! (`--vrrp`) or FRR (zebra + vrrpd with its macvlan), its config
//! written from the group's spec, started, killed (SIGKILL) and stopped
//! (SIGTERM) by pid, its log lines stamped as they arrive.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use vigil_core::packet::MacAddr;
use vigil_core::packet::vrrp::Interval;

use crate::ns::{self, Netns, Proc};

use super::{GroupSpec, Impl};

/// Log lines of a member, stamped on arrival.
pub type Lines = Arc<Mutex<Vec<(SystemTime, String)>>>;

/// A member of the group.
pub struct Router {
    /// Its implementation.
    pub imp: Impl,
    /// Its name (`a`, `b`).
    pub name: String,
    /// Its namespace.
    pub netns: String,
    /// Its priority.
    pub priority: u8,
    /// Its primary addresses (v4, v6) on eth0.
    pub addrs: (IpAddr, IpAddr),
    /// The source address of its adverts (set once up).
    pub src: Option<IpAddr>,
    /// Its scratch directory.
    pub dir: PathBuf,
    /// Its log lines.
    pub lines: Lines,
    /// zebra, for FRR (runs across vrrpd restarts).
    zebra: Option<Proc>,
    /// The VRRP daemon.
    proc: Option<Proc>,
    starts: u32,
}

/// The macvlan FRR's vrrpd needs for `vrid` (`vrrp4-51` / `vrrp6-51`).
pub fn macvlan_name(v6: bool, vrid: u8) -> String {
    format!("vrrp{}-{vrid}", if v6 { 6 } else { 4 })
}

/// The keepalived.conf text vigild and keepalived both read.
pub fn keepalived_conf(g: &GroupSpec, me: &Router, peer: IpAddr, own: IpAddr) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "global_defs {{\n    router_id {}\n}}", me.name);
    let _ = writeln!(s, "vrrp_instance VI_{} {{", g.vrid);
    let _ = writeln!(s, "    state BACKUP\n    interface eth0");
    let _ = writeln!(s, "    virtual_router_id {}", g.vrid);
    let _ = writeln!(s, "    priority {}", me.priority);
    match g.interval() {
        Interval::Seconds(n) => {
            let _ = writeln!(s, "    advert_int {n}");
        }
        Interval::Centiseconds(cs) => {
            let _ = writeln!(s, "    advert_int {}", f64::from(cs) / 100.0);
        }
    }
    if g.version == 3 {
        let _ = writeln!(s, "    version 3");
    }
    if let Some(pass) = &g.auth {
        let _ = writeln!(
            s,
            "    authentication {{\n        auth_type PASS\n        auth_pass {pass}\n    }}"
        );
    }
    if g.unicast {
        let _ = writeln!(
            s,
            "    unicast_src_ip {own}\n    unicast_peer {{\n        {peer}\n    }}"
        );
    }
    let _ = writeln!(
        s,
        "    virtual_ipaddress {{\n        {}\n    }}\n}}",
        g.vip()
    );
    s
}

/// FRR's vrrpd.conf for the group.
pub fn frr_conf(g: &GroupSpec, me: &Router) -> String {
    let v = g.vrid;
    let mut s = format!("hostname {}\ninterface eth0\n", me.name);
    let _ = writeln!(s, " vrrp {v} version {}", g.version);
    let _ = writeln!(s, " vrrp {v} priority {}", me.priority);
    let _ = writeln!(
        s,
        " vrrp {v} advertisement-interval {}",
        g.interval().as_duration().as_millis()
    );
    let _ = writeln!(
        s,
        " vrrp {v} {} {}",
        if g.v6 { "ipv6" } else { "ip" },
        g.vip()
    );
    s
}

impl Router {
    /// A member in `ns` (already on the bridge with `addrs`).
    pub fn new(
        imp: Impl,
        name: &str,
        ns: &Netns,
        priority: u8,
        addrs: (IpAddr, IpAddr),
        dir: &Path,
    ) -> Router {
        let dir = dir.join(name);
        let _ = std::fs::create_dir_all(&dir);
        Router {
            imp,
            name: name.to_string(),
            netns: ns.name().to_string(),
            priority,
            addrs,
            src: None,
            dir,
            lines: Arc::new(Mutex::new(Vec::new())),
            zebra: None,
            proc: None,
            starts: 0,
        }
    }

    /// Writes its config and prepares its namespace (FRR: the macvlan
    /// with the virtual MAC, `addrgenmode random` set as its own step,
    /// the VIP on it; FRR's files owned by user frr, which it runs as).
    pub fn setup(
        &mut self,
        g: &GroupSpec,
        ns: &Netns,
        peer: (IpAddr, IpAddr),
    ) -> Result<(), String> {
        let (own, other) = if g.v6 {
            (self.addrs.1, peer.1)
        } else {
            (self.addrs.0, peer.0)
        };
        match self.imp {
            Impl::Vigild | Impl::Keepalived => {
                std::fs::write(
                    self.dir.join("vrrp.conf"),
                    keepalived_conf(g, self, other, own),
                )
                .map_err(|e| e.to_string())?;
                // IPv6 multicast adverts leave from the link-local
                // address; unicast ones from unicast_src_ip.
                self.src = Some(if g.v6 && !g.unicast {
                    link_local(ns, "eth0")?
                } else {
                    own
                });
            }
            Impl::Frr => {
                let mvl = macvlan_name(g.v6, g.vrid);
                let mac = MacAddr::virtual_router(
                    if g.v6 {
                        vigil_core::packet::Family::V6
                    } else {
                        vigil_core::packet::Family::V4
                    },
                    g.vrid,
                )
                .to_string();
                ns.ip(&[
                    "link", "add", &mvl, "link", "eth0", "type", "macvlan", "mode", "bridge",
                ]);
                ns.ip(&["link", "set", "dev", &mvl, "addrgenmode", "random"]);
                ns.ip(&["link", "set", "dev", &mvl, "address", &mac]);
                let vip = if g.v6 {
                    format!("{}/64", g.vip())
                } else {
                    format!("{}/24", g.vip())
                };
                if g.v6 {
                    ns.ip(&["addr", "add", &vip, "dev", &mvl, "nodad"]);
                } else {
                    ns.ip(&["addr", "add", &vip, "dev", &mvl]);
                }
                ns.ip(&["link", "set", "dev", &mvl, "up"]);
                self.src = Some(if g.v6 { link_local(ns, &mvl)? } else { own });
                std::fs::write(
                    self.dir.join("zebra.conf"),
                    format!("hostname {}\n", self.name),
                )
                .map_err(|e| e.to_string())?;
                std::fs::write(self.dir.join("vrrpd.conf"), frr_conf(g, self))
                    .map_err(|e| e.to_string())?;
                let st = Command::new("chown")
                    .args(["-R", "frr:frr"])
                    .arg(&self.dir)
                    .status()
                    .map_err(|e| format!("chown: {e}"))?;
                if !st.success() {
                    return Err("chown -R frr:frr failed (is Debian's frr installed?)".into());
                }
            }
        }
        Ok(())
    }

    fn spawn(&self, ns: &Netns, bin: &str, args: &[&str], log: &str) -> Proc {
        let lines = self.lines.clone();
        let name = self.name.clone();
        ns.spawn_lines(bin, args, &self.dir.join(log), move |at, line| {
            let _ = &name;
            lines
                .lock()
                .expect("not poisoned")
                .push((at, line.to_string()));
        })
    }

    /// Starts its VRRP daemon (and FRR's zebra the first time).
    pub fn start(&mut self, ns: &Netns) -> Result<(), String> {
        self.starts += 1;
        let d = self.dir.to_string_lossy().to_string();
        let p = |f: &str| format!("{d}/{f}");
        match self.imp {
            Impl::Vigild => {
                let bin = crate::binaries::vigild()?;
                let proc = self.spawn(
                    ns,
                    &bin.to_string_lossy(),
                    &[
                        "-f",
                        &p("vrrp.conf"),
                        "-p",
                        &p(&format!("vigild{}.pid", self.starts)),
                        "-n",
                        "-l",
                        "-G",
                    ],
                    "vigild.log",
                );
                self.proc = Some(proc);
            }
            Impl::Keepalived => {
                let bin = crate::binaries::keepalived()?;
                let proc = self.spawn(
                    ns,
                    &bin.to_string_lossy(),
                    &[
                        "--vrrp",
                        "-n",
                        "-l",
                        "-D",
                        "-G",
                        "-R",
                        "-f",
                        &p("vrrp.conf"),
                        "-p",
                        &p(&format!("keepalived{}.pid", self.starts)),
                        "-r",
                        &p(&format!("vrrp{}.pid", self.starts)),
                    ],
                    "keepalived.log",
                );
                self.proc = Some(proc);
            }
            Impl::Frr => {
                let common = |daemon: &str| -> Vec<String> {
                    vec![
                        "-f".into(),
                        p(&format!("{daemon}.conf")),
                        "-i".into(),
                        p(&format!("{daemon}.pid")),
                        "-z".into(),
                        p("zserv.api"),
                        "--vty_socket".into(),
                        d.clone(),
                        "-P".into(),
                        "0".into(),
                        "--log".into(),
                        "stdout".into(),
                        "--log-level".into(),
                        "info".into(),
                    ]
                };
                if self.zebra.is_none() {
                    let zebra = crate::binaries::frr("zebra")?;
                    let args = common("zebra");
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    self.zebra = Some(self.spawn(ns, &zebra.to_string_lossy(), &args, "zebra.log"));
                    let sock = self.dir.join("zserv.api");
                    ns::wait_for(Duration::from_secs(10), "zebra's zserv socket", || {
                        sock.exists().then_some(())
                    })?;
                }
                let vrrpd = crate::binaries::frr("vrrpd")?;
                let args = common("vrrpd");
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                self.proc = Some(self.spawn(ns, &vrrpd.to_string_lossy(), &args, "vrrpd.log"));
            }
        }
        Ok(())
    }

    /// SIGKILL its VRRP daemon (keepalived: parent stopped first, then
    /// the VRRP child and the parent killed, so none speaks).
    pub fn kill(&mut self) {
        let Some(mut p) = self.proc.take() else {
            return;
        };
        if self.imp == Impl::Keepalived {
            p.signal("STOP");
            let pid_file = self.dir.join(format!("vrrp{}.pid", self.starts));
            if let Some(pid) = std::fs::read_to_string(pid_file)
                .ok()
                .and_then(|s| s.trim().parse::<u32>().ok())
            {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
        p.signal("KILL");
        p.kill();
    }

    /// SIGTERM its VRRP daemon and wait for it to end; its exit code.
    pub fn term(&mut self) -> Option<i32> {
        let mut p = self.proc.take()?;
        p.signal("TERM");
        let code = p.wait_exit(Duration::from_secs(10));
        p.kill();
        code
    }

    /// When its daemon logged its start as backup, after `after`.
    pub fn started_backup(&self, after: SystemTime, v6: bool) -> Option<SystemTime> {
        let fam = if v6 { "[IPv6]" } else { "[IPv4]" };
        let needle = match self.imp {
            Impl::Vigild => "from=initialize to=backup",
            Impl::Keepalived => "Entering BACKUP STATE (init)",
            Impl::Frr => "Initialize -> Backup",
        };
        self.lines
            .lock()
            .expect("not poisoned")
            .iter()
            .find(|(t, l)| {
                *t >= after && l.contains(needle) && (self.imp != Impl::Frr || l.contains(fam))
            })
            .map(|(t, _)| *t)
    }

    /// When its daemon logged a transition to master, after `after`
    /// (FRR: of the family `v6` says).
    pub fn became_master(&self, after: SystemTime, v6: bool) -> Option<SystemTime> {
        let fam = if v6 { "[IPv6]" } else { "[IPv4]" };
        self.lines
            .lock()
            .expect("not poisoned")
            .iter()
            .find(|(t, l)| {
                *t >= after
                    && match self.imp {
                        Impl::Vigild => l.contains(" to=master "),
                        Impl::Keepalived => l.contains("Entering MASTER STATE"),
                        Impl::Frr => l.contains("-> Master") && l.contains(fam),
                    }
            })
            .map(|(t, _)| *t)
    }

    /// Its log, as text.
    pub fn log_text(&self) -> String {
        self.lines
            .lock()
            .expect("not poisoned")
            .iter()
            .map(|(_, l)| format!("{l}\n"))
            .collect()
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        self.proc.take();
        self.zebra.take();
    }
}

/// The link-local address of `dev` in `ns`, once it is usable (not
/// tentative).
pub fn link_local(ns: &Netns, dev: &str) -> Result<IpAddr, String> {
    let (a, _) = ns::wait_for(
        Duration::from_secs(10),
        &format!("a usable link-local address on {dev} in {}", ns.name()),
        || {
            ns.addresses()
                .into_iter()
                .find(|a| a.dev == dev && a.scope == "link" && a.addr.is_ipv6() && !a.tentative)
                .map(|a| a.addr)
        },
    )?;
    Ok(a)
}
