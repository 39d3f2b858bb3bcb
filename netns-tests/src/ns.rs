//! Network namespaces for tests: created with `ip netns`, joined by veth
//! pairs to a bridge that lives in a namespace of its own (the root
//! namespace never gets an interface), every namespace and process
//! removed on drop, even when a test panics.
//!
//! Names are `vgl-<pid>-<tag>-<role>`: the pid of the test process that
//! made them, so that [`clean_stale`] can remove what a killed run left
//! (names whose pid is dead) without touching a running test's.

use std::fmt;
use std::io::{BufRead, BufReader};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// The prefix of every namespace this module creates.
pub const PREFIX: &str = "vgl-";

/// Set it to keep a lab's scratch directory (logs) after the test.
pub const KEEP_LOGS_VAR: &str = "VIGIL_KEEP_LOGS";

/// The variable that turns a root test's skip into a failure.
pub const REQUIRE_ROOT_VAR: &str = "VIGIL_REQUIRE_ROOT_TESTS";

/// Whether a root-only test may run. Not root: prints why the test is
/// skipped and returns false, or panics when `VIGIL_REQUIRE_ROOT_TESTS=1`
/// (the README's test command sets it). Also panics when `ip` is missing.
pub fn require_root(test: &str) -> bool {
    let root = nix_is_root();
    let required = std::env::var(REQUIRE_ROOT_VAR).is_ok_and(|v| v == "1");
    if !root {
        if required {
            panic!("{test}: needs root (network namespaces) and {REQUIRE_ROOT_VAR}=1 is set");
        }
        eprintln!(
            "SKIPPED {test}: needs root (network namespaces); set {REQUIRE_ROOT_VAR}=1 to make this a failure"
        );
        return false;
    }
    if Command::new("ip").arg("-V").output().is_err() {
        panic!("{test}: the `ip` command (iproute2) is missing");
    }
    true
}

/// Whether this process runs as root (effective uid 0).
pub fn is_root() -> bool {
    nix_is_root()
}

fn nix_is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Runs a command; its output, or a panic naming the command and its
/// stderr when it fails.
pub fn run(cmd: &str, args: &[&str]) -> Output {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} {}: {e}", args.join(" ")));
    if !out.status.success() {
        panic!(
            "{cmd} {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    out
}

/// Runs `ip ARGS`, panicking on failure.
pub fn ip(args: &[&str]) -> String {
    String::from_utf8_lossy(&run("ip", args).stdout).into_owned()
}

/// Removes namespaces named by this module whose creating process is
/// dead (left by a killed test run).
pub fn clean_stale() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let pid: Option<u32> = rest.split('-').next().and_then(|p| p.parse().ok());
        if let Some(pid) = pid
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            kill_pids_in(name);
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

/// Kills (SIGKILL) every process running in namespace `name`.
fn kill_pids_in(name: &str) {
    if let Ok(out) = Command::new("ip").args(["netns", "pids", name]).output() {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            let _ = Command::new("kill").args(["-9", pid]).status();
        }
    }
}

/// A network namespace, deleted on drop (with any process left in it).
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates namespace `name` with its loopback up.
    pub fn new(name: &str) -> Netns {
        run("ip", &["netns", "add", name]);
        let ns = Netns {
            name: name.to_string(),
        };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip -n NAME ARGS`, panicking on failure.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut a = vec!["-n", self.name.as_str()];
        a.extend_from_slice(args);
        ip(&a)
    }

    /// `ip netns exec NAME CMD ARGS`: its output (not checked).
    pub fn exec(&self, cmd: &str, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name, cmd])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("ip netns exec {} {cmd}: {e}", self.name))
    }

    /// A `Command` running `cmd` in the namespace.
    pub fn command(&self, cmd: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, cmd]);
        c
    }

    /// Starts `cmd ARGS` in the namespace, standard output and error to
    /// `log` (appended) or discarded; killed by pid on drop.
    pub fn spawn(&self, cmd: &str, args: &[&str], log: Option<&Path>) -> Proc {
        self.spawn_env(cmd, args, &[], log)
    }

    /// [`Netns::spawn`] with `env` added to the command's environment.
    pub fn spawn_env(
        &self,
        cmd: &str,
        args: &[&str],
        env: &[(&str, &str)],
        log: Option<&Path>,
    ) -> Proc {
        let mut c = self.command(cmd);
        c.envs(env.iter().copied());
        c.args(args).stdin(Stdio::null());
        match log {
            Some(p) => {
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                let f2 = f.try_clone().expect("dup log file");
                c.stdout(f).stderr(f2);
            }
            None => {
                c.stdout(Stdio::null()).stderr(Stdio::null());
            }
        }
        let child = c
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {cmd} in {}: {e}", self.name));
        Proc {
            what: format!("{cmd} in {}", self.name),
            child: Some(child),
        }
    }

    /// Starts `cmd ARGS` in the namespace with standard output and error
    /// read line by line on a thread of its own: each line is appended to
    /// `log` and handed to `on_line` with the wall-clock time it arrived.
    /// Killed by pid on drop.
    pub fn spawn_lines(
        &self,
        cmd: &str,
        args: &[&str],
        log: &Path,
        on_line: impl FnMut(SystemTime, &str) + Send + 'static,
    ) -> Proc {
        let mut c = self.command(cmd);
        c.args(args).stdin(Stdio::null());
        spawn_lines(c, format!("{cmd} in {}", self.name), log, on_line)
    }

    /// [`Netns::spawn_lines`] with `env` added to the command's environment.
    pub fn spawn_lines_env(
        &self,
        cmd: &str,
        args: &[&str],
        env: &[(String, String)],
        log: &Path,
        on_line: impl FnMut(SystemTime, &str) + Send + 'static,
    ) -> Proc {
        let mut c = self.command(cmd);
        c.args(args).stdin(Stdio::null());
        c.envs(env.iter().map(|(k, v)| (k, v)));
        spawn_lines(c, format!("{cmd} in {}", self.name), log, on_line)
    }

    /// Moves the calling thread into this namespace (network namespace
    /// only; other threads are not affected). Sockets the thread opens
    /// afterwards belong to the namespace.
    pub fn enter(&self) -> std::io::Result<()> {
        enter(&self.name)
    }

    /// Every address configured in the namespace (`ip -j addr show`),
    /// read from iproute2's JSON rather than from its text layout.
    pub fn addresses(&self) -> Vec<IfAddr> {
        parse_addresses(&self.ip(&["-j", "addr", "show"]))
    }

    /// The link-layer address of `dev` (`ip -j link show dev DEV`).
    pub fn mac(&self, dev: &str) -> Option<vigil_core::packet::MacAddr> {
        parse_link_mac(&self.ip(&["-j", "link", "show", "dev", dev]))
    }

    /// Whether `addr` (as text, e.g. `192.0.2.160`) is configured on any
    /// interface of the namespace.
    pub fn has_addr(&self, addr: &str) -> bool {
        addr.parse::<std::net::IpAddr>()
            .is_ok_and(|a| self.addresses().iter().any(|x| x.addr == a))
    }
}

/// One address of an interface, as `ip -j addr show` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfAddr {
    /// The interface's name.
    pub dev: String,
    /// The address.
    pub addr: std::net::IpAddr,
    /// Its prefix length.
    pub prefix: u8,
    /// Its scope (`global`, `link`, `host`).
    pub scope: String,
    /// Still in duplicate address detection (IPv6).
    pub tentative: bool,
}

#[derive(serde::Deserialize)]
struct JsonLink {
    ifname: String,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    addr_info: Vec<JsonAddr>,
}

#[derive(serde::Deserialize)]
struct JsonAddr {
    local: Option<String>,
    prefixlen: Option<u8>,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    tentative: bool,
}

/// The addresses in `ip -j addr show` output (nothing when it is not
/// that JSON).
pub fn parse_addresses(json: &str) -> Vec<IfAddr> {
    let links: Vec<JsonLink> = serde_json::from_str(json).unwrap_or_default();
    links
        .into_iter()
        .flat_map(|l| {
            let dev = l.ifname;
            l.addr_info.into_iter().filter_map(move |a| {
                Some(IfAddr {
                    dev: dev.clone(),
                    addr: a.local?.parse().ok()?,
                    prefix: a.prefixlen?,
                    scope: a.scope,
                    tentative: a.tentative,
                })
            })
        })
        .collect()
}

/// The link-layer address in `ip -j link show dev DEV` output.
pub fn parse_link_mac(json: &str) -> Option<vigil_core::packet::MacAddr> {
    let links: Vec<JsonLink> = serde_json::from_str(json).ok()?;
    links.into_iter().next()?.address?.parse().ok()
}

impl Drop for Netns {
    fn drop(&mut self) {
        kill_pids_in(&self.name);
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// A process started by a test; killed (SIGKILL, by pid) and reaped on
/// drop unless it already ended.
#[derive(Debug)]
pub struct Proc {
    what: String,
    child: Option<Child>,
}

impl Proc {
    /// Its pid (of the `ip netns exec` process, which execs the command).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Sends `signal` (e.g. "TERM", "KILL", "HUP") to it.
    pub fn signal(&self, signal: &str) {
        signal_pid(self.pid(), signal);
    }

    /// Waits up to `timeout` for it to exit; its exit code (None: killed
    /// by a signal or still running).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        let child = self.child.as_mut()?;
        loop {
            if let Ok(Some(st)) = child.try_wait() {
                self.child = None;
                return st.code();
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills it now (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

impl fmt::Display for Proc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (pid {})", self.what, self.pid())
    }
}

/// Sends `signal` (by name: "TERM", "KILL", "HUP", "INT", "STOP",
/// "CONT", "USR1", "USR2") to process `pid` with one system call: no
/// `kill` process in between whose start-up a loaded machine delays.
pub fn signal_pid(pid: u32, signal: &str) {
    let sig = match signal {
        "TERM" => libc::SIGTERM,
        "KILL" => libc::SIGKILL,
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "STOP" => libc::SIGSTOP,
        "CONT" => libc::SIGCONT,
        "USR1" => libc::SIGUSR1,
        "USR2" => libc::SIGUSR2,
        other => panic!("signal {other}: not one this harness sends"),
    };
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    if pid <= 0 {
        return;
    }
    // SAFETY: kill(2) takes plain integers; a pid that is gone gives ESRCH.
    unsafe {
        libc::kill(pid, sig);
    }
}

/// A test's topology: one bridge in a namespace of its own, and hosts
/// (namespaces) each joined to it by a veth pair whose host end is
/// `eth0`. Dropping it removes everything (hosts first).
#[derive(Debug)]
pub struct Lab {
    prefix: String,
    hosts: Vec<(String, Netns)>,
    bridge: Netns,
    dir: PathBuf,
    keep: AtomicBool,
}

impl Lab {
    /// A lab for test `tag` (a short word): cleans stale leftovers, then
    /// creates the bridge namespace and a scratch directory.
    pub fn new(tag: &str) -> Lab {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        clean_stale();
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("{PREFIX}{}-{tag}{n}", std::process::id());
        let bridge = Netns::new(&format!("{prefix}-br"));
        bridge.ip(&[
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ]);
        bridge.ip(&["link", "set", "br0", "up"]);
        let dir = std::env::temp_dir().join(&prefix);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory");
        Lab {
            prefix,
            hosts: Vec::new(),
            bridge,
            dir,
            keep: AtomicBool::new(false),
        }
    }

    /// The namespace holding the bridge `br0` (and the hosts' ports).
    pub fn bridge(&self) -> &Netns {
        &self.bridge
    }

    /// The prefix of every namespace of this lab (`vgl-<pid>-<tag><n>`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Keeps the scratch directory after the lab is dropped (a failed
    /// run's logs and capture).
    pub fn keep(&self) {
        self.keep.store(true, Ordering::Relaxed);
    }

    /// The lab's scratch directory (removed on drop unless
    /// `VIGIL_KEEP_LOGS` is set).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Adds host `role` with `eth0` on the bridge holding `addrs`
    /// (`192.0.2.150/24`, ...). Addresses must come from the
    /// documentation ranges.
    pub fn host(&mut self, role: &str, addrs: &[&str]) -> &Netns {
        self.host_dev(role, "eth0", None, addrs)
    }

    /// Adds host `role` whose end of the veth pair is called `dev` (the
    /// interface its keepalived.conf names), with MAC address `mac` when
    /// given, holding `addrs` (documentation ranges only).
    pub fn host_dev(&mut self, role: &str, dev: &str, mac: Option<&str>, addrs: &[&str]) -> &Netns {
        check_addrs(addrs);
        let ns = Netns::new(&format!("{}-{role}", self.prefix));
        let port = format!("p{}", self.hosts.len());
        self.plug(&ns, &port, dev, mac, addrs);
        self.hosts.push((role.to_string(), ns));
        &self.hosts.last().expect("just pushed").1
    }

    /// Gives host `role` (already added) a further interface `dev` on the
    /// bridge, holding `addrs` (documentation ranges only); its bridge
    /// port is `p<role-index>-<dev>`.
    pub fn add_dev(&self, role: &str, dev: &str, addrs: &[&str]) {
        check_addrs(addrs);
        let port = format!("{}-{dev}", self.port(role));
        self.plug(self.get(role), &port, dev, None, addrs);
    }

    /// Joins `ns` to the bridge by a veth pair: the bridge's end `port`,
    /// up in `br0`; `ns`'s end `dev`, with MAC address `mac` when given,
    /// holding `addrs`, up.
    fn plug(&self, ns: &Netns, port: &str, dev: &str, mac: Option<&str>, addrs: &[&str]) {
        self.bridge.ip(&[
            "link",
            "add",
            port,
            "type",
            "veth",
            "peer",
            "name",
            dev,
            "netns",
            ns.name(),
        ]);
        self.bridge
            .ip(&["link", "set", port, "master", "br0", "up"]);
        if let Some(m) = mac {
            ns.ip(&["link", "set", dev, "address", m]);
        }
        for a in addrs {
            ns.ip(&["addr", "add", a, "dev", dev]);
        }
        ns.ip(&["link", "set", dev, "up"]);
    }

    /// The host called `role`.
    pub fn get(&self, role: &str) -> &Netns {
        self.hosts
            .iter()
            .find(|(r, _)| r == role)
            .map(|(_, n)| n)
            .unwrap_or_else(|| panic!("no host {role}"))
    }

    /// The bridge port (`p0`, `p1`, ...) of host `role`.
    pub fn port(&self, role: &str) -> String {
        let i = self
            .hosts
            .iter()
            .position(|(r, _)| r == role)
            .unwrap_or_else(|| panic!("no host {role}"));
        format!("p{i}")
    }

    /// Sets host `role`'s bridge port up or down (its cable plugged or
    /// pulled: the host's own interface stays up).
    pub fn set_port(&self, role: &str, up: bool) {
        let port = self.port(role);
        self.bridge
            .ip(&["link", "set", &port, if up { "up" } else { "down" }]);
    }

    /// The namespaces (of `roles`) holding `addr` now.
    pub fn holders(&self, addr: &str) -> Vec<String> {
        self.hosts
            .iter()
            .filter(|(_, n)| n.has_addr(addr))
            .map(|(r, _)| r.clone())
            .collect()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.hosts.clear();
        if std::env::var_os(KEEP_LOGS_VAR).is_none() && !self.keep.load(Ordering::Relaxed) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Panics unless every address is from the documentation ranges.
fn check_addrs(addrs: &[&str]) {
    for a in addrs {
        assert!(
            ["192.0.2.", "198.51.100.", "203.0.113.", "2001:db8:"]
                .iter()
                .any(|p| a.starts_with(p)),
            "{a}: tests use documentation addresses only"
        );
    }
}

/// Polls `f` every 50 ms until it returns `Some` or `timeout` passes;
/// the value and when it came, or an error naming `what`.
pub fn wait_for<T>(
    timeout: Duration,
    what: &str,
    mut f: impl FnMut() -> Option<T>,
) -> Result<(T, Duration), String> {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return Ok((v, start.elapsed()));
        }
        if start.elapsed() >= timeout {
            return Err(format!("timed out after {timeout:?} waiting for {what}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The lines of a log file (empty when it does not exist yet).
pub fn log_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Starts `c` with standard output and error read line by line (see
/// [`Netns::spawn_lines`]); `what` names it in messages.
pub fn spawn_lines(
    mut c: Command,
    what: String,
    log: &Path,
    mut on_line: impl FnMut(SystemTime, &str) + Send + 'static,
) -> Proc {
    let (reader, writer) = std::io::pipe().unwrap_or_else(|e| panic!("pipe for {what}: {e}"));
    let writer2 = writer
        .try_clone()
        .unwrap_or_else(|e| panic!("pipe for {what}: {e}"));
    c.stdout(writer).stderr(writer2);
    let child = c.spawn().unwrap_or_else(|e| panic!("spawn {what}: {e}"));
    // The parent's copies of the write end are gone with `c`.
    drop(c);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    std::thread::spawn(move || {
        use std::io::Write;
        let mut r = BufReader::new(reader);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match r.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let at = SystemTime::now();
                    let _ = file.write_all(&buf);
                    let line = String::from_utf8_lossy(&buf);
                    on_line(at, line.trim_end_matches(['\n', '\r']));
                }
            }
        }
    });
    Proc {
        what,
        child: Some(child),
    }
}

/// Moves the calling thread into network namespace `name`.
pub fn enter(name: &str) -> std::io::Result<()> {
    let file = std::fs::File::open(format!("/run/netns/{name}"))?;
    // SAFETY: setns with a valid namespace fd affects this thread only.
    if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Runs `f` on a new thread inside network namespace `name`.
pub fn spawn_in<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    let name = name.to_string();
    std::thread::spawn(move || {
        enter(&name).unwrap_or_else(|e| panic!("enter namespace {name}: {e}"));
        f()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_mac_from_iproute2_json() {
        // `ip -j addr show`, trimmed: a veth (its text name is `eth0@if7`),
        // a global IPv4 address, a tentative link-local IPv6 address.
        let json = r#"[{"ifindex":1,"ifname":"lo","address":"00:00:00:00:00:00",
            "addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8,"scope":"host","label":"lo"}]},
            {"ifindex":6,"link_index":7,"ifname":"eth0","address":"02:00:00:00:00:0a",
            "addr_info":[{"family":"inet","local":"192.0.2.150","prefixlen":24,"scope":"global","label":"eth0"},
            {"family":"inet6","local":"fe80::a","prefixlen":64,"scope":"link","tentative":true}]}]"#;
        let a = parse_addresses(json);
        assert_eq!(a.len(), 3);
        assert_eq!(a[1].dev, "eth0");
        assert_eq!(
            a[1].addr,
            "192.0.2.150".parse::<std::net::IpAddr>().unwrap()
        );
        assert_eq!(
            (a[1].prefix, a[1].scope.as_str(), a[1].tentative),
            (24, "global", false)
        );
        assert_eq!((a[2].scope.as_str(), a[2].tentative), ("link", true));
        assert!(parse_addresses("not json").is_empty());
        let link = r#"[{"ifindex":6,"ifname":"eth0","address":"02:00:00:00:00:0a"}]"#;
        assert_eq!(
            parse_link_mac(link).map(|m| m.to_string()).as_deref(),
            Some("02:00:00:00:00:0a")
        );
        assert_eq!(parse_link_mac("[]"), None);
    }
}
