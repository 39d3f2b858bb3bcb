//! The namespace harness: a scenario file run on real network namespaces
//! with real daemons (vigild, or keepalived on every director), judged by
//! the simulator's own verdict.
//!
//! [`prepare`] loads a scenario with its addresses moved to documentation
//! ranges ([`crate::rewrite`]); [`run`] builds the topology (a bridge in a
//! namespace of its own, one namespace per host, the MACs the simulator
//! uses, each director's veth end named as its config's `interface`),
//! starts real servers (HTTP, set up for LVS-DR), a capture on the bridge,
//! the daemons and the clients, applies the timeline with real means,
//! records everything into the simulator's [`Recorder`] and judges it
//! with [`vigil_sim::verdict::judge_with`].
//!
//! What a kernel without IPVS cannot show is said, not faked: directors
//! log the table they would program (vigild's "unavailable" backend),
//! clients probe the VIP with ICMP echo, and expectations that need
//! forwarding (`success-ratio`) or a checker (`in-table` with keepalived
//! `--vrrp`) are listed as not judged. With [`Options::ipvs`] (the VM
//! lane) clients make real HTTP requests through the VIP.

pub mod client;
pub mod director;
pub mod hooks;
pub mod keepalived_log;
pub mod links;
pub mod live;
pub mod real_server;
pub mod report;
pub mod timing;

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::Command;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use vigil_core::config::Source;
use vigil_core::harness as hev;
use vigil_core::trace::Event;
use vigil_core::vrrp::InstanceConfig;
use vigil_sim::record::Recorder;
use vigil_sim::scenario::{self, Action, Expectation, Host, Peer, RsMode, Scenario};
use vigil_sim::verdict::{self, Tolerance, Verdict};
use vigil_sim::world::{DirectorView, Run, net};

use crate::capture::Capture;
use crate::ns::{self, Lab, Proc};
use crate::rewrite::Rewriting;

use client::{Client, ClientMode, ClientSpec, Neigh, Probe, Results};
use director::Daemon;
use keepalived_log::InstanceInfo;
use links::{Cut, Links};
use live::{DirLive, Live};
use real_server::RealServer;
use timing::{Timed, TimedDirector, TimedInstance};

/// Which daemon runs on the directors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DirectorImpl {
    /// vigild, built from this workspace.
    #[default]
    Vigild,
    /// keepalived 2.2.7 (`--vrrp`), Debian's package.
    Keepalived,
}

impl DirectorImpl {
    /// Its name on the command line and in traces.
    pub const fn name(self) -> &'static str {
        match self {
            DirectorImpl::Vigild => "vigild",
            DirectorImpl::Keepalived => "keepalived",
        }
    }
}

impl fmt::Display for DirectorImpl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DirectorImpl {
    type Err = String;
    fn from_str(s: &str) -> Result<DirectorImpl, String> {
        match s {
            "vigild" => Ok(DirectorImpl::Vigild),
            "keepalived" => Ok(DirectorImpl::Keepalived),
            _ => Err(format!("{s:?}: expected vigild or keepalived")),
        }
    }
}

/// When to keep a run's directory (daemon logs, capture, configs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Keep {
    /// Never.
    Never,
    /// When the verdict fails (or the run errs).
    #[default]
    OnFailure,
    /// Always.
    Always,
}

/// How to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// The daemon on every director.
    pub director_impl: DirectorImpl,
    /// The kernel has IPVS (the VM lane): clients make HTTP requests
    /// through the VIP and every expectation is judged.
    pub ipvs: bool,
    /// Extra tolerance for the verdict (see [`Tolerance`]).
    pub grace: Duration,
    /// When to keep the run directory.
    pub keep: Keep,
    /// A short word naming the run's namespaces (`vgl-<pid>-<tag><n>-*`).
    pub tag: String,
    /// Environment added to every director daemon's (e.g. libfaketime's
    /// `LD_PRELOAD` and `FAKETIME`, to run it under another wall clock).
    pub daemon_env: Vec<(String, String)>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            director_impl: DirectorImpl::Vigild,
            ipvs: false,
            grace: Duration::from_millis(50),
            keep: Keep::OnFailure,
            tag: "run".into(),
            daemon_env: Vec::new(),
        }
    }
}

/// A scenario ready to run on real interfaces.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The scenario, its addresses rewritten.
    pub scenario: Scenario,
    /// The rewrite: old address -> new.
    pub mapping: BTreeMap<Ipv4Addr, Ipv4Addr>,
    /// Each director's config text, rewritten.
    pub configs: Vec<String>,
}

/// Loads scenario `path` from `source` with its addresses moved to
/// 192.0.2.0/24 (see [`crate::rewrite`]).
pub fn prepare(source: &dyn Source, path: &str) -> Result<Prepared, Vec<scenario::Error>> {
    let rw = Rewriting::new(source);
    let s = scenario::load(&rw, path)?;
    let mut configs = Vec::new();
    for d in &s.directors {
        configs.push(rw.text(&d.config_path).map_err(|message| {
            vec![scenario::Error {
                place: None,
                key: None,
                message,
            }]
        })?);
    }
    Ok(Prepared {
        mapping: rw.mapping(),
        scenario: s,
        configs,
    })
}

/// The reference deployment's failover (embedded), prepared.
pub fn prepare_seed() -> Prepared {
    let src = vigil_sim::embedded::source();
    prepare(&src, vigil_sim::embedded::SEED_SCENARIO).expect("the embedded seed scenario loads")
}

/// An expectation this run cannot judge, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unjudged {
    /// Its line in the scenario file.
    pub line: usize,
    /// What it expects.
    pub what: String,
    /// Why it is not judged here.
    pub why: String,
}

/// A finished run and its verdict.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The scenario as run.
    pub scenario: Scenario,
    /// Which daemon ran.
    pub director_impl: DirectorImpl,
    /// The run, in the simulator's terms (timings from real clocks).
    pub run: Run,
    /// The simulator's verdict on it (invariants, judged expectations,
    /// summary).
    pub verdict: Verdict,
    /// Expectations not judged here.
    pub unjudged: Vec<Unjudged>,
    /// Real timings against their bounds (from the capture).
    pub timing: Vec<Timed>,
    /// Client echo probes (no IPVS).
    pub probes: Vec<Probe>,
    /// Problems of the run itself (a daemon that would not start, ...).
    pub problems: Vec<String>,
    /// Timeline steps that took effect more than [`LATE_NOTE`] after
    /// they were due: (line, lateness). The run is judged from when they
    /// took effect ([`retime`]); the report says so.
    pub late_steps: Vec<(usize, Duration)>,
    /// The trace header.
    pub header: String,
    /// Where the logs, configs and capture were kept, if they were.
    pub dir: Option<PathBuf>,
    /// The run's time origin (wall clock).
    pub origin: SystemTime,
}

impl Outcome {
    /// Whether every invariant, judged expectation and timing held.
    pub fn pass(&self) -> bool {
        self.verdict.pass() && self.timing.iter().all(|t| t.pass) && self.problems.is_empty()
    }

    /// The first failure, in words.
    pub fn first_failure(&self) -> Option<String> {
        if let Some(p) = self.problems.first() {
            return Some(p.clone());
        }
        if let Some(f) = self.verdict.first_failure() {
            return Some(f);
        }
        self.timing.iter().find(|t| !t.pass).map(|t| {
            format!(
                "timing at {}: {}: {} (bound: {})",
                t.at, t.what, t.seen, t.bound
            )
        })
    }
}

/// Runs `p` with `o` to the scenario's end and judges it.
pub fn run(p: &Prepared, o: &Options) -> Result<Outcome, String> {
    let s = &p.scenario;
    check_supported(s)?;
    let bin = match o.director_impl {
        DirectorImpl::Vigild => crate::binaries::vigild()?,
        DirectorImpl::Keepalived => crate::binaries::keepalived()?,
    };
    let mut world = World::build(p, o, bin)?;
    let result = world.play();
    let outcome = world.finish(p, o, result);
    Ok(outcome)
}

/// Refuses what real namespaces cannot do (yet), naming it.
fn check_supported(s: &Scenario) -> Result<(), String> {
    for step in &s.timeline {
        let why = match &step.action {
            Action::Drift { .. } => "clock drift cannot be applied to real clocks",
            Action::Latency { .. } => "latency between hosts is not supported on namespaces yet",
            Action::Interface {
                director, iface, ..
            } if *iface != interface_of(s, *director) => {
                "the harness gives each director one interface, the one its instances run on: another interface's link cannot be changed"
            }
            Action::Serve {
                mode:
                    RsMode::UdpSilent | RsMode::DnsNxdomain | RsMode::SmtpRefuse | RsMode::MiscExit(_),
                ..
            } => {
                "the harness's real servers serve HTTP only: UDP, DNS, SMTP and MISC_CHECK modes are judged in the simulator"
            }
            Action::Process { .. } => {
                "the directors share one process table here (and keepalived hears process events only in the initial namespace): tracked processes are judged in the simulator"
            }
            _ => continue,
        };
        return Err(format!("{}:{}: {why}", s.path, step.line));
    }
    for h in s.hosts() {
        let a = s.host_address(h);
        if !documentation(a) {
            return Err(format!(
                "{}: {} has address {a}: real interfaces carry documentation addresses only (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32)",
                s.path,
                s.host_name(h)
            ));
        }
    }
    for d in &s.directors {
        let mut ifs: Vec<&str> = d
            .config
            .vrrp_instances
            .iter()
            .map(|i| {
                i.interface
                    .as_deref()
                    .unwrap_or(vigil_core::vrrp::DEFAULT_INTERFACE)
            })
            .collect();
        ifs.sort();
        ifs.dedup();
        if ifs.len() > 1 {
            return Err(format!(
                "{}: director {} uses interfaces {}: the harness gives each director one",
                s.path,
                d.name,
                ifs.join(", ")
            ));
        }
    }
    Ok(())
}

/// Whether `a` is in a documentation range.
pub fn documentation(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => {
            let o = v.octets();
            matches!(o[..3], [192, 0, 2] | [198, 51, 100] | [203, 0, 113])
        }
        IpAddr::V6(v) => v.segments()[..2] == [0x2001, 0xdb8],
    }
}

/// The interface of director `d`'s instances.
fn interface_of(s: &Scenario, d: usize) -> String {
    s.directors[d]
        .config
        .vrrp_instances
        .first()
        .and_then(|i| i.interface.clone())
        .unwrap_or_else(|| vigil_core::vrrp::DEFAULT_INTERFACE.to_string())
}

fn with_prefix(a: IpAddr) -> String {
    match a {
        IpAddr::V4(_) => format!("{a}/24"),
        IpAddr::V6(_) => format!("{a}/64"),
    }
}

/// Everything a run holds while it runs. Dropping it tears the run
/// down (processes by pid, then namespaces).
struct World {
    scenario: Scenario,
    live: Arc<Mutex<Live>>,
    daemons: Vec<Daemon>,
    devs: Vec<String>,
    /// Each director's scripts, tracked files and notify recorder.
    hooks: Vec<hooks::Hooks>,
    servers: Vec<RealServer>,
    clients: Vec<Client>,
    results: Results,
    capture: Option<Capture>,
    monitors: Vec<Proc>,
    links: Links,
    /// Per timeline step: when it was due and when it had taken effect
    /// (its commands returned), from the origin.
    applied: Vec<(Duration, Duration)>,
    starts: Vec<Vec<SystemTime>>,
    problems: Vec<String>,
    origin: SystemTime,
    client_mode: ClientMode,
    neighs: Vec<Neigh>,
    /// Last: the namespaces go after every thread and process in them.
    lab: Lab,
}

/// A marker address the monitors are probed with (on `lo`).
const MARK: &str = "203.0.113.254";

impl World {
    fn build(p: &Prepared, o: &Options, bin: PathBuf) -> Result<World, String> {
        let s = p.scenario.clone();
        let mut lab = Lab::new(&o.tag);
        let mut devs = Vec::new();
        for (i, d) in s.directors.iter().enumerate() {
            let dev = interface_of(&s, i);
            let mac = net::mac(Host::Director(i)).to_string();
            lab.host_dev(&d.name, &dev, Some(&mac), &[&with_prefix(d.address)]);
            devs.push(dev);
        }
        for (i, r) in s.real_servers.iter().enumerate() {
            let mac = net::mac(Host::RealServer(i)).to_string();
            lab.host_dev(&r.name, "eth0", Some(&mac), &[&with_prefix(r.address)]);
        }
        for (i, c) in s.clients.iter().enumerate() {
            let mac = net::mac(Host::Client(i)).to_string();
            lab.host_dev(&c.name, "eth0", Some(&mac), &[&with_prefix(c.address)]);
        }
        // The bridge itself stays silent (no IPv6 chatter of its own).
        let _ = lab
            .bridge()
            .exec("sysctl", &["-q", "-w", "net.ipv6.conf.br0.disable_ipv6=1"]);
        let dir = lab.dir().to_path_buf();
        if o.keep == Keep::Always {
            lab.keep();
        }

        // Configs, rewritten, as the daemons read them: scripts, tracked
        // files and notify commands handed to the harness.
        let mut confs = Vec::new();
        let mut hooks = Vec::new();
        for (i, d) in s.directors.iter().enumerate() {
            let path = dir.join(format!("{}.conf", d.name));
            let (text, h) =
                hooks::Hooks::install(&d.name, &d.config_path, &p.configs[i], &d.config, &dir)?;
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
            confs.push(path);
            hooks.push(h);
        }

        // Real servers, DR style.
        let vips: Vec<IpAddr> = {
            let mut v: Vec<IpAddr> = s
                .directors
                .first()
                .map(|d| {
                    d.config
                        .virtual_servers
                        .iter()
                        .filter_map(|vs| match &vs.service {
                            vigil_core::config::ServiceAddr::Addr(a) => Some(a.ip()),
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            v.extend(s.clients.iter().map(|c| c.target.ip()));
            v.sort();
            v.dedup();
            v
        };
        let mut servers = Vec::new();
        for r in &s.real_servers {
            let ns = lab.get(&r.name);
            real_server::setup_dr(ns, &vips);
            servers.push(RealServer::start(ns.name(), r.port, &r.page, &r.name));
        }

        let capture = Capture::start(lab.bridge().name(), "br0", &dir.join("segment.pcap"))?;

        let dirs: Vec<DirLive> = s
            .directors
            .iter()
            .map(|d| DirLive {
                name: d.name.clone(),
                vips: d
                    .config
                    .vrrp_instances
                    .iter()
                    .flat_map(|i| i.virtual_ipaddress.iter().map(|v| v.addr))
                    .collect(),
                ..DirLive::default()
            })
            .collect();
        let live = Arc::new(Mutex::new(Live::new(SystemTime::now(), dirs)));

        // Kernel address events of every director, and neighbour events
        // of every client, each monitor probed until it reports.
        let mut monitors = Vec::new();
        for (i, d) in s.directors.iter().enumerate() {
            let ns = lab.get(&d.name).name().to_string();
            let seen = Arc::new(AtomicBool::new(false));
            let (l, sn) = (live.clone(), seen.clone());
            let mut c = Command::new("ip");
            c.args(["-n", &ns, "monitor", "address"]);
            monitors.push(ns::spawn_lines(
                c,
                format!("ip monitor address in {ns}"),
                &dir.join(format!("{}.addr.log", d.name)),
                move |at, line| {
                    if line.contains(MARK) {
                        sn.store(true, Ordering::Relaxed);
                    }
                    l.lock().expect("not poisoned").addr_line(i, at, line);
                },
            ));
            probe_monitor(&lab, &d.name, &seen, true)?;
        }
        let mut neighs = Vec::new();
        for (i, c) in s.clients.iter().enumerate() {
            let ns = lab.get(&c.name).name().to_string();
            let neigh: Neigh = Arc::new(Mutex::new(None));
            let seen = Arc::new(AtomicBool::new(false));
            let (l, sn, nb) = (live.clone(), seen.clone(), neigh.clone());
            let vip = c.target.ip();
            let name = c.name.clone();
            let scen = s.clone();
            let mut cmd = Command::new("ip");
            cmd.args(["-n", &ns, "monitor", "neigh"]);
            monitors.push(ns::spawn_lines(
                cmd,
                format!("ip monitor neigh in {ns}"),
                &dir.join(format!("{}.neigh.log", c.name)),
                move |at, line| {
                    if line.contains(MARK) {
                        sn.store(true, Ordering::Relaxed);
                        return;
                    }
                    let Some((addr, Some(mac))) = client::parse_neigh(line) else {
                        return;
                    };
                    if addr != vip || line.trim_start().starts_with("Deleted") {
                        return;
                    }
                    let who = match net::host_of_mac(&scen, mac) {
                        Some(Host::Director(d)) => Some(d),
                        _ => None,
                    };
                    let previous = nb.lock().expect("not poisoned").replace((mac, who));
                    if previous.map(|p| p.0) != Some(mac) {
                        let label = |m: vigil_core::packet::MacAddr, d: Option<usize>| {
                            d.map_or_else(|| m.to_string(), |d| scen.directors[d].name.clone())
                        };
                        let ev = Event::Harness(hev::Event::ArpCache {
                            vip,
                            holder: label(mac, who),
                            previous: previous.map(|(m, d)| label(m, d)),
                        });
                        let _ = i;
                        l.lock().expect("not poisoned").trace(at, &name, ev);
                    }
                },
            ));
            probe_monitor(&lab, &c.name, &seen, false)?;
            neighs.push(neigh);
        }

        let daemons = s
            .directors
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let instances = d
                    .config
                    .vrrp_instances
                    .iter()
                    .map(|inst| {
                        let cfg = InstanceConfig::from_config(&d.config, inst, d.address);
                        InstanceInfo {
                            name: cfg.name.clone(),
                            priority: cfg.priority,
                            vips: cfg.vips.iter().map(|v| v.addr).collect(),
                            garp_repeat: cfg.garp.master_repeat,
                        }
                    })
                    .collect();
                let mut daemon = Daemon::new(
                    i,
                    o.director_impl,
                    bin.clone(),
                    confs[i].clone(),
                    &dir,
                    &d.name,
                    instances,
                );
                daemon.env = o.daemon_env.clone();
                daemon
            })
            .collect();
        let n = s.directors.len();
        Ok(World {
            scenario: s,
            lab,
            live,
            daemons,
            devs,
            hooks,
            servers,
            clients: Vec::new(),
            results: Results::default(),
            capture: Some(capture),
            monitors,
            links: Links::default(),
            starts: vec![Vec::new(); n],
            problems: Vec::new(),
            applied: Vec::new(),
            origin: SystemTime::now(),
            client_mode: if o.ipvs {
                ClientMode::Http
            } else {
                ClientMode::Reach
            },
            neighs,
        })
    }

    /// Starts everything at the time origin and applies the timeline.
    fn play(&mut self) -> Result<(), String> {
        let origin = SystemTime::now();
        self.origin = origin;
        self.live.lock().expect("not poisoned").origin = origin;
        // A director the timeline crashes at 0 s never starts (as in the
        // simulator, where 0 s faults come before any host runs); the
        // others start in order, each once it has initialised, so that a
        // slow start on a loaded machine (keepalived forking its VRRP
        // child) cannot hand an election to whoever started first.
        let at_once: Vec<usize> = (0..self.scenario.timeline.len())
            .filter(|&i| {
                let st = &self.scenario.timeline[i];
                st.at.is_zero() && matches!(st.action, Action::Crash(Host::Director(_)))
            })
            .collect();
        for &i in &at_once {
            let action = self.scenario.timeline[i].action.clone();
            self.apply(&action)?;
        }
        for d in 0..self.daemons.len() {
            let down = at_once.iter().any(|&i| {
                matches!(self.scenario.timeline[i].action,
                    Action::Crash(Host::Director(x)) if x == d)
            });
            if !down {
                self.start_daemon(d);
                self.wait_initialised(d);
            }
        }
        let s = self.scenario.clone();
        for (i, c) in s.clients.iter().enumerate() {
            let spec = ClientSpec {
                idx: i,
                netns: self.lab.get(&c.name).name().to_string(),
                rate: c.rate,
                target: c.target,
                timeout: c.timeout,
                count: (c.rate * s.duration.as_secs_f64()).floor() as u64,
                pages: s.real_servers.iter().map(|r| r.page.clone()).collect(),
            };
            self.clients.push(Client::start(
                spec,
                self.client_mode,
                self.neighs[i].clone(),
                self.results.clone(),
            ));
        }
        for (i, step) in s.timeline.iter().enumerate() {
            if at_once.contains(&i) {
                // Applied before anything started.
                self.applied.push((Duration::ZERO, Duration::ZERO));
                continue;
            }
            sleep_until(origin + step.at);
            self.apply(&step.action)?;
            let done = SystemTime::now().duration_since(origin).unwrap_or_default();
            self.applied.push((step.at, done));
        }
        sleep_until(origin + s.duration);
        Ok(())
    }

    fn start_daemon(&mut self, d: usize) {
        let ns = self.lab.get(&self.scenario.directors[d].name);
        self.daemons[d].start(ns, &self.live);
        self.starts[d].push(SystemTime::now());
    }

    /// Waits (at most 5 s) until director `d`'s daemon reports its first
    /// VRRP state, so that directors started "at once" start in their
    /// order, as in the simulator: otherwise a slow start on a loaded
    /// machine (keepalived forking its VRRP child) lets a lower priority
    /// win an election it only wins by starting first.
    fn wait_initialised(&self, d: usize) {
        if self.daemons[d].instances.is_empty() {
            return;
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if !self.live.lock().expect("not poisoned").dirs[d]
                .states
                .is_empty()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn fault(&self, node: &str, action: &str, detail: String) {
        let ev = Event::Harness(hev::Event::Fault {
            action: action.to_string(),
            detail,
        });
        self.live
            .lock()
            .expect("not poisoned")
            .trace(SystemTime::now(), node, ev);
    }

    /// Removes the VIPs a killed daemon left (a rebooted host has none)
    /// and waits until the address monitor has seen them go.
    fn flush_vips(&self, d: usize) {
        let name = &self.scenario.directors[d].name;
        let ns = self.lab.get(name);
        let vips = self.live.lock().expect("not poisoned").dirs[d].vips.clone();
        for a in ns.addresses() {
            if vips.contains(&a.addr) {
                let cidr = format!("{}/{}", a.addr, a.prefix);
                let _ = ns.exec("ip", &["addr", "del", &cidr, "dev", &a.dev]);
            }
        }
        let _ = ns::wait_for(Duration::from_secs(3), "leftover VIPs gone", || {
            self.live.lock().expect("not poisoned").dirs[d]
                .present
                .is_empty()
                .then_some(())
        });
    }

    fn host_port(&self, h: Host) -> String {
        self.lab.port(self.scenario.host_name(h))
    }

    fn ports(&self, a: Host, b: Peer) -> Vec<(String, String)> {
        let pa = self.host_port(a);
        match b {
            Peer::Host(h) => vec![(pa, self.host_port(h))],
            Peer::All => self
                .scenario
                .hosts()
                .into_iter()
                .filter(|h| *h != a)
                .map(|h| (pa.clone(), self.host_port(h)))
                .collect(),
        }
    }

    fn apply(&mut self, action: &Action) -> Result<(), String> {
        let s = self.scenario.clone();
        let name = |h: Host| s.host_name(h).to_string();
        let peer_name = |p: Peer| match p {
            Peer::All => "*".to_string(),
            Peer::Host(h) => name(h),
        };
        let bridge = self.lab.bridge().name().to_string();
        match action {
            Action::Crash(h) => {
                // The host stops at once: its daemon dies without a word
                // and it leaves the segment (its cable pulled).
                // (The daemon is killed before the cable is pulled: it
                // must not see its link go down.)
                self.fault(&name(*h), "crash", String::new());
                match h {
                    Host::Director(d) => {
                        // Lost when the SIGKILL went, not when the harness
                        // decided: the daemon runs until then.
                        let at = self.daemons[*d].kill().unwrap_or_else(SystemTime::now);
                        self.live.lock().expect("not poisoned").lost(*d, at);
                    }
                    Host::RealServer(r) => self.servers[*r].crash(true),
                    Host::Client(_) => {}
                }
                self.lab.set_port(&name(*h), false);
            }
            Action::Restart(h) => {
                self.fault(&name(*h), "restart", String::new());
                match h {
                    Host::Director(d) => {
                        if let Some(at) = self.daemons[*d].kill() {
                            self.live.lock().expect("not poisoned").lost(*d, at);
                        }
                        self.flush_vips(*d);
                        self.lab.set_port(&name(*h), true);
                        self.live
                            .lock()
                            .expect("not poisoned")
                            .back(*d, SystemTime::now());
                        self.start_daemon(*d);
                    }
                    Host::RealServer(r) => {
                        self.lab.set_port(&name(*h), true);
                        self.servers[*r].crash(false);
                    }
                    Host::Client(_) => self.lab.set_port(&name(*h), true),
                }
            }
            Action::Stop(d) => {
                self.fault(&name(Host::Director(*d)), "stop", String::new());
                let code = self.daemons[*d].term();
                if code != Some(0) {
                    self.problems.push(format!(
                        "{} ({}) exited with {code:?} on SIGTERM",
                        name(Host::Director(*d)),
                        self.daemons[*d].imp
                    ));
                }
            }
            Action::Start(d) => {
                self.fault(&name(Host::Director(*d)), "start", String::new());
                self.start_daemon(*d);
            }
            Action::Reload(d) => {
                self.fault(&name(Host::Director(*d)), "reload", String::new());
                self.daemons[*d].hup();
            }
            Action::Partition { a, b, oneway } => {
                self.fault(
                    &name(*a),
                    "partition",
                    format!(
                        "peer={}{}",
                        peer_name(*b),
                        if *oneway { " oneway=true" } else { "" }
                    ),
                );
                for (x, y) in self.ports(*a, *b) {
                    self.links.set(&x, &y, Some(Cut::Partition));
                    if !oneway {
                        self.links.set(&y, &x, Some(Cut::Partition));
                    }
                }
                self.links.apply(&bridge)?;
            }
            Action::Heal { a, b } => {
                self.fault(&name(*a), "heal", format!("peer={}", peer_name(*b)));
                for (x, y) in self.ports(*a, *b) {
                    self.links.heal(&x, &y);
                    self.links.heal(&y, &x);
                }
                self.links.apply(&bridge)?;
            }
            Action::Loss { a, b, rate } => {
                self.fault(
                    &name(*a),
                    "loss",
                    format!("peer={} rate={rate}", peer_name(*b)),
                );
                let n = (rate * 1000.0).round() as u32;
                for (x, y) in self.ports(*a, *b) {
                    if n == 0 {
                        self.links.clear_loss(&x, &y);
                        self.links.clear_loss(&y, &x);
                    } else {
                        self.links.set(&x, &y, Some(Cut::Loss(n)));
                        self.links.set(&y, &x, Some(Cut::Loss(n)));
                    }
                }
                self.links.apply(&bridge)?;
            }
            Action::LinkDown(_) | Action::LinkUp(_) | Action::Interface { .. } => {
                let (d, up) = match action {
                    Action::LinkDown(d) => (*d, false),
                    Action::LinkUp(d) => (*d, true),
                    Action::Interface { director, up, .. } => (*director, *up),
                    _ => unreachable!("matched above"),
                };
                let detail = action.host_input().map(|h| h.2).unwrap_or_default();
                self.fault(
                    &name(Host::Director(d)),
                    if up { "link-up" } else { "link-down" },
                    detail,
                );
                let ns = self.lab.get(&s.directors[d].name);
                ns.ip(&["link", "set", &self.devs[d], if up { "up" } else { "down" }]);
            }
            Action::Serve { server, mode } => {
                let detail = mode.detail();
                self.fault(&name(Host::RealServer(*server)), "rs", detail);
                self.servers[*server].set(mode.clone());
            }
            Action::VipRemoved { director, addr } => {
                let (_, verb, detail) = action.host_input().expect("an action on a host");
                self.fault(&name(Host::Director(*director)), verb, detail);
                let ns = self.lab.get(&s.directors[*director].name);
                // As `ip addr del` by hand; nothing when it is not held.
                if let Some(a) = ns.addresses().into_iter().find(|a| a.addr == *addr) {
                    ns.ip(&[
                        "addr",
                        "del",
                        &format!("{}/{}", a.addr, a.prefix),
                        "dev",
                        &a.dev,
                    ]);
                }
            }
            Action::Script { .. } | Action::File { .. } => {
                let (d, verb, detail) = action.host_input().expect("an action on a host");
                self.fault(&name(Host::Director(d)), verb, detail);
                match action {
                    Action::Script { script, ok, .. } => self.hooks[d].set_script(script, *ok)?,
                    Action::File { path, content, .. } => self.hooks[d].set_file(path, content)?,
                    _ => unreachable!("matched above"),
                }
            }
            Action::Drift { .. } | Action::Latency { .. } | Action::Process { .. } => {
                return Err("unsupported action (checked before the run)".into());
            }
        }
        Ok(())
    }

    /// Stops everything, judges, and keeps the directory if asked.
    fn finish(mut self, p: &Prepared, o: &Options, played: Result<(), String>) -> Outcome {
        if let Err(e) = played {
            self.problems.push(e);
        }
        for c in &mut self.clients {
            c.stop();
        }
        let obs = self.capture.take().map(Capture::finish).unwrap_or_default();
        // The final state is what the record holds now; the daemons go.
        let views: Vec<DirectorView> = {
            let l = self.live.lock().expect("not poisoned");
            l.dirs
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    let mut live: Vec<String> = d
                        .table
                        .iter()
                        .filter(|(_, w)| **w > 0)
                        .map(|((_, rs), _)| rs.clone())
                        .collect();
                    live.dedup();
                    DirectorView {
                        states: d.states.clone(),
                        holds_vips: d.holds,
                        running: !d.down && self.daemons[i].running(),
                        live_servers: live,
                    }
                })
                .collect()
        };
        for d in &mut self.daemons {
            d.kill();
        }
        self.monitors.clear();
        let live = std::mem::replace(
            &mut *self.live.lock().expect("not poisoned"),
            Live::new(self.origin, Vec::new()),
        );
        let origin = self.origin;
        let mut rec: Recorder = live.finish();
        let at = |t: SystemTime| {
            vigil_core::time::Instant::from_duration(t.duration_since(origin).unwrap_or_default())
        };
        for (d, h) in self.hooks.iter().enumerate() {
            for (t, argv) in h.notifies() {
                rec.notifies.push((at(t), d, argv));
            }
        }
        rec.notifies.sort_by_key(|n| n.0);
        let mut probes = std::mem::take(&mut *self.results.probes.lock().expect("not poisoned"));
        probes.sort_by_key(|p| p.start);
        let mut reqs = std::mem::take(&mut *self.results.requests.lock().expect("not poisoned"));
        reqs.sort_by_key(|r| r.0);
        for (st, en, mut r) in reqs {
            r.start = at(st);
            r.end = at(en);
            rec.requests.push(r);
        }
        report::service_events(&self.scenario, &mut rec, &probes, origin);
        let s = &self.scenario;
        let run = Run {
            seed: s.seed,
            rec,
            views,
        };
        let (mut judged, unjudged) = split_expectations(s, o);
        retime(&mut judged, &self.applied);
        let mut verdict = verdict::judge_with(
            &judged,
            &run,
            Tolerance {
                extra_grace: o.grace,
            },
        );
        // Expectations read as written (the retimed instants are the
        // judge's; late steps are reported on their own).
        for c in &mut verdict.expectations {
            if let Some(e) = s.expectations.iter().find(|e| e.line == c.line) {
                c.what = verdict::describe(s, &e.check);
            }
        }
        let timed_dirs: Vec<TimedDirector> = s
            .directors
            .iter()
            .enumerate()
            .map(|(i, d)| TimedDirector {
                name: d.name.clone(),
                mac: net::mac(Host::Director(i)),
                instances: d
                    .config
                    .vrrp_instances
                    .iter()
                    .map(|inst| {
                        let c = InstanceConfig::from_config(&d.config, inst, d.address);
                        TimedInstance {
                            name: c.name.clone(),
                            vrid: c.vrid,
                            priority: c.priority,
                            interval: c.interval,
                            down_adverts: c.down_timer_adverts,
                        }
                    })
                    .collect(),
                starts: self.starts[i].clone(),
            })
            .collect();
        let masters: Vec<timing::BecameMaster> = run
            .rec
            .states
            .iter()
            .filter(|c| c.to == vigil_core::vrrp::State::Master)
            .map(|c| timing::BecameMaster {
                at: c.at,
                director: c.director,
                instance: c.instance.clone(),
            })
            .collect();
        let timing = timing::check(&obs, &timed_dirs, &masters, origin);
        let header = report::header(p, o, &self.lab, &self.devs);
        let mut outcome = Outcome {
            scenario: s.clone(),
            director_impl: o.director_impl,
            run,
            verdict,
            unjudged,
            timing,
            probes,
            problems: std::mem::take(&mut self.problems),
            late_steps: s
                .timeline
                .iter()
                .zip(&self.applied)
                .map(|(st, (due, done))| (st.line, done.saturating_sub(*due)))
                .filter(|(_, l)| *l > LATE_NOTE)
                .collect(),
            header,
            dir: None,
            origin,
        };
        let keep = match o.keep {
            Keep::Always => true,
            Keep::OnFailure => !outcome.pass(),
            Keep::Never => false,
        };
        if keep {
            self.lab.keep();
            let dir = self.lab.dir().to_path_buf();
            let _ = std::fs::write(dir.join("trace.txt"), report::trace(&outcome));
            outcome.dir = Some(dir);
        }
        outcome
    }
}

/// Waits until monitor `seen` reports a marker change made in `role`'s
/// namespace (an address on `lo`, or a neighbour entry).
fn probe_monitor(lab: &Lab, role: &str, seen: &AtomicBool, address: bool) -> Result<(), String> {
    let ns = lab.get(role);
    let mut tries = 0;
    ns::wait_for(
        Duration::from_secs(5),
        &format!("the monitor of {role}"),
        || {
            tries += 1;
            if tries % 10 == 1 {
                if address {
                    let _ = ns.exec("ip", &["addr", "add", &format!("{MARK}/32"), "dev", "lo"]);
                    let _ = ns.exec("ip", &["addr", "del", &format!("{MARK}/32"), "dev", "lo"]);
                } else {
                    let _ = ns.exec(
                        "ip",
                        &[
                            "neigh",
                            "replace",
                            MARK,
                            "lladdr",
                            "02:00:00:00:00:fe",
                            "dev",
                            "eth0",
                        ],
                    );
                    let _ = ns.exec("ip", &["neigh", "del", MARK, "dev", "eth0"]);
                }
            }
            seen.load(Ordering::Relaxed).then_some(())
        },
    )
    .map(|_| ())
}

fn sleep_until(t: SystemTime) {
    if let Ok(d) = t.duration_since(SystemTime::now()) {
        std::thread::sleep(d);
    }
}

/// The scenario with only the expectations this run can judge, and the
/// others with the reason.
/// How late a timeline step may take effect before the report names it.
pub const LATE_NOTE: Duration = Duration::from_millis(20);

/// The scenario as it was played: each timeline step at the moment it had
/// taken effect, and every expectation's time moved by the lateness of
/// the last step due at or before it. A real harness applies a step some
/// milliseconds after it is due (seconds on an overloaded machine: an
/// `nft` or `ip` command to start); the scenario's clock is the steps'
/// clock, so "1 s after the heal" stays 1 s after the heal took effect,
/// and the run is judged by what was done, not by what was meant.
pub fn retime(s: &mut Scenario, applied: &[(Duration, Duration)]) {
    let late = |t: Duration| {
        applied
            .iter()
            .take_while(|(due, _)| *due <= t)
            .last()
            .map_or(Duration::ZERO, |(due, done)| done.saturating_sub(*due))
    };
    let shift = |t: &mut Duration| *t += late(*t);
    for e in &mut s.expectations {
        match &mut e.check {
            Expectation::Master { at, .. }
            | Expectation::VipHolder { at, .. }
            | Expectation::InTable { at, .. }
            | Expectation::State { at, .. }
            | Expectation::Priority { at, .. } => shift(at),
            Expectation::Notify { from, to, .. } => {
                shift(from);
                shift(to);
            }
            Expectation::SuccessRatio { from, to, .. } => {
                shift(from);
                shift(to);
            }
            Expectation::SingleMaster { except } => {
                for (a, b) in except {
                    shift(a);
                    shift(b);
                }
            }
            Expectation::MaxFailover { .. } => {}
        }
    }
    for (step, (_, done)) in s.timeline.iter_mut().zip(applied) {
        step.at = *done;
    }
    if let Some(last) = applied.last() {
        s.duration = s.duration.max(last.1);
    }
}

fn split_expectations(s: &Scenario, o: &Options) -> (Scenario, Vec<Unjudged>) {
    let mut judged = s.clone();
    let mut unjudged = Vec::new();
    judged.expectations.retain(|e| {
        let why = match &e.check {
            Expectation::SuccessRatio { .. } if !o.ipvs => Some(
                "clients need IPVS to be forwarded (LVS-DR); this kernel has none: HTTP through the VIP is judged in the VM lane",
            ),
            Expectation::InTable { .. } if o.director_impl == DirectorImpl::Keepalived => Some(
                "keepalived runs --vrrp here (its checker needs IPVS): no table to read",
            ),
            _ => None,
        };
        match why {
            Some(why) => {
                unjudged.push(Unjudged {
                    line: e.line,
                    what: verdict::describe(s, &e.check),
                    why: why.to_string(),
                });
                false
            }
            None => true,
        }
    });
    (judged, unjudged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_step_moves_the_judged_clock_after_it() {
        let p = prepare_seed();
        let mut s = p.scenario.clone();
        let secs = Duration::from_secs;
        let ms = Duration::from_millis;
        // The crash at 20 s took 3 ms, the restart at 40 s took 1.5 s
        // (an overloaded machine), the others 2 ms.
        let applied = [
            (secs(20), secs(20) + ms(3)),
            (secs(40), secs(41) + ms(500)),
            (secs(60), secs(60) + ms(2)),
            (secs(90), secs(90) + ms(2)),
        ];
        retime(&mut s, &applied);
        let at: Vec<Duration> = s.timeline.iter().map(|t| t.at).collect();
        assert_eq!(at, applied.iter().map(|a| a.1).collect::<Vec<_>>());
        let times: Vec<Duration> = s
            .expectations
            .iter()
            .filter_map(|e| match e.check {
                Expectation::Master { at, .. } | Expectation::InTable { at, .. } => Some(at),
                _ => None,
            })
            .collect();
        // 10 s: before any step; 25 s: after the crash; 45 s: after the
        // late restart; 88 s: after the rs crash; 110 s: after the rs restart.
        assert_eq!(
            times,
            [
                secs(10),
                secs(25) + ms(3),
                secs(46) + ms(500),
                secs(88) + ms(2),
                secs(110) + ms(2),
                secs(110) + ms(2)
            ]
        );
    }

    #[test]
    fn the_seed_moves_to_documentation_addresses() {
        let p = prepare_seed();
        let s = &p.scenario;
        assert_eq!(s.directors[0].address.to_string(), "192.0.2.150");
        assert_eq!(s.clients[0].target.to_string(), "192.0.2.160:80");
        assert!(p.configs[1].contains("192.0.2.160 #"), "{}", p.configs[1]);
        assert!(p.configs[1].contains("interface ens32"));
        assert!(!p.configs.iter().any(|c| c.contains("172.17.1.")));
        assert_eq!(
            p.mapping.get(&"172.17.1.153".parse().unwrap()),
            Some(&"192.0.2.153".parse().unwrap())
        );
        assert_eq!(interface_of(s, 1), "ens32");
        assert!(check_supported(s).is_ok());
        let (judged, unjudged) = split_expectations(s, &Options::default());
        assert_eq!(unjudged.len(), 4, "the success-ratio expectations");
        assert_eq!(judged.expectations.len() + 4, s.expectations.len());
        let ka = Options {
            director_impl: DirectorImpl::Keepalived,
            ..Options::default()
        };
        assert_eq!(split_expectations(s, &ka).1.len(), 7, "and in-table");
    }

    #[test]
    fn refuses_what_namespaces_cannot_do() {
        let mut p = prepare_seed();
        p.scenario.timeline[0].action = Action::Drift {
            director: 0,
            factor: 1.5,
        };
        let e = check_supported(&p.scenario).unwrap_err();
        assert!(
            e.contains("clock drift cannot be applied to real clocks"),
            "{e}"
        );
        let mut p = prepare_seed();
        p.scenario.directors[0].address = "10.0.0.1".parse().unwrap();
        let e = check_supported(&p.scenario).unwrap_err();
        assert!(e.contains("documentation addresses only"), "{e}");
        assert!(documentation("2001:db8::1".parse().unwrap()));
        assert!(!documentation("2001:db9::1".parse().unwrap()));
        assert_eq!("keepalived".parse(), Ok(DirectorImpl::Keepalived));
        assert!("frr".parse::<DirectorImpl>().is_err());
    }
}
