//! Scenario files: the directors (each from a keepalived.conf), real
//! servers, clients, a timeline of actions and the expectations checked
//! at the end. Errors name the file, line, column and key, and a file is
//! refused with every error at once: unknown keys, actions, checks and
//! host names; times after the end of the run and empty windows; a
//! duration of zero or beyond [`limits::MAX_DURATION`]; hosts on a
//! virtual address, real servers no config balances, client targets that
//! are no virtual server.

mod configs;
pub mod duration;
mod file;
mod keys;
pub mod limits;
mod load;
mod names;
pub mod recorded;
mod untracked;
mod write;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use vigil_core::config::Config;

pub use load::load;
pub use untracked::{unmodelled_checks, unmodelled_network, untracked};
pub use write::to_toml;

/// `path` as a scenario file in directory `dir` names it: relative to
/// `dir`, or absolute as it is.
fn beside(dir: &str, path: &str) -> String {
    if dir.is_empty() || path.starts_with('/') {
        path.to_string()
    } else {
        format!("{dir}/{path}")
    }
}

/// A position in a scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// An error in a scenario file or in a config it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// Where, when known.
    pub place: Option<Place>,
    /// The key at fault (`timeline[2].at`), when known.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.place {
            write!(f, "{p}: ")?;
        }
        f.write_str("error: ")?;
        if let Some(k) = &self.key {
            write!(f, "{k}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Default link behaviour.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    /// One-way latency of every datagram and connection.
    pub latency: Duration,
    /// Extra random latency, up to this much.
    pub jitter: Duration,
    /// Loss rate of datagrams on every link.
    pub loss: f64,
}

/// A director: a host running a keepalived.conf.
#[derive(Clone, Debug)]
pub struct Director {
    /// Host name.
    pub name: String,
    /// Its address on the segment.
    pub address: IpAddr,
    /// The config path as given (for traces).
    pub config_path: String,
    /// The parsed config.
    pub config: Config,
}

/// A real server running a small HTTP server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealServer {
    /// Host name.
    pub name: String,
    /// Its address.
    pub address: IpAddr,
    /// HTTP port.
    pub port: u16,
    /// The page it serves.
    pub page: String,
}

/// A client requesting the VIP at a fixed rate.
#[derive(Clone, Debug, PartialEq)]
pub struct Client {
    /// Host name.
    pub name: String,
    /// Its address.
    pub address: IpAddr,
    /// Requests per second.
    pub rate: f64,
    /// The virtual service it requests.
    pub target: SocketAddr,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// A host of the scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Host {
    /// Index into [`Scenario::directors`].
    Director(usize),
    /// Index into [`Scenario::real_servers`].
    RealServer(usize),
    /// Index into [`Scenario::clients`].
    Client(usize),
}

/// The other side of a link action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// One host.
    Host(Host),
    /// Every other host.
    All,
}

/// How a real server misbehaves (one `rs` action).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RsMode {
    /// Serves its page, and every other service answers as its checkers
    /// expect (clears every other mode).
    Ok,
    /// Accepts connections and never answers.
    Hang,
    /// Answers after a delay.
    Slow(Duration),
    /// Answers with another status code.
    Status(u16),
    /// Answers 200 with another page.
    Body(String),
    /// Refuses connections (server stopped, host up).
    Refuse,
    /// Its UDP_CHECK ports stay silent (no reply, no ICMP error).
    UdpSilent,
    /// Its DNS service answers NXDOMAIN.
    DnsNxdomain,
    /// Its SMTP service refuses connections.
    SmtpRefuse,
    /// The MISC_CHECK scripts about it exit with this status.
    MiscExit(u8),
}

impl RsMode {
    /// The mode as `key=value` words, for traces.
    pub fn detail(&self) -> String {
        match self {
            RsMode::Ok => "mode=ok".to_string(),
            RsMode::Hang => "mode=hang".to_string(),
            RsMode::Refuse => "mode=refuse".to_string(),
            RsMode::Slow(d) => format!("mode=slow delay={}", vigil_core::time::fmt_ms(*d)),
            RsMode::Status(c) => format!("mode=status status={c}"),
            RsMode::Body(_) => "mode=body".to_string(),
            RsMode::UdpSilent => "mode=udp-silent".to_string(),
            RsMode::DnsNxdomain => "mode=dns-nxdomain".to_string(),
            RsMode::SmtpRefuse => "mode=smtp-refuse".to_string(),
            RsMode::MiscExit(n) => format!("mode=misc-exit exit={n}"),
        }
    }
}

/// What a real server's services do after the `rs` actions so far: its
/// HTTP/TCP service (the port clients use), and the UDP, DNS, SMTP
/// services and MISC_CHECK scripts its checkers talk to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsServices {
    /// The HTTP/TCP service: one of the HTTP modes (`ok`, `hang`,
    /// `slow`, `status`, `body`, `refuse`).
    pub http: RsMode,
    /// UDP_CHECK ports stay silent.
    pub udp_silent: bool,
    /// DNS answers NXDOMAIN.
    pub dns_nxdomain: bool,
    /// SMTP refuses connections.
    pub smtp_refuse: bool,
    /// MISC_CHECK scripts exit with this status.
    pub misc_exit: u8,
}

impl Default for RsServices {
    fn default() -> Self {
        RsServices {
            http: RsMode::Ok,
            udp_silent: false,
            dns_nxdomain: false,
            smtp_refuse: false,
            misc_exit: 0,
        }
    }
}

impl RsServices {
    /// The services after `mode`: `ok` makes every one healthy, an HTTP
    /// mode changes the HTTP service, the others their own service.
    pub fn apply(&mut self, mode: &RsMode) {
        match mode {
            RsMode::Ok => *self = RsServices::default(),
            RsMode::UdpSilent => self.udp_silent = true,
            RsMode::DnsNxdomain => self.dns_nxdomain = true,
            RsMode::SmtpRefuse => self.smtp_refuse = true,
            RsMode::MiscExit(n) => self.misc_exit = *n,
            http => self.http = http.clone(),
        }
    }
}

/// A scripted action.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// The host stops at once (no priority-0 advert).
    Crash(Host),
    /// The host starts again after a crash or stop.
    Restart(Host),
    /// A director stops gracefully: priority 0, VIPs released.
    Stop(usize),
    /// A stopped director starts again.
    Start(usize),
    /// A director reloads its (unchanged) configuration, as on SIGHUP.
    Reload(usize),
    /// Datagrams and connections between the two sides are cut.
    Partition {
        /// One side.
        a: Host,
        /// The other side.
        b: Peer,
        /// Only from `a` to `b`.
        oneway: bool,
    },
    /// A partition ends.
    Heal {
        /// One side.
        a: Host,
        /// The other side.
        b: Peer,
    },
    /// Datagram loss between the two sides (0 clears).
    Loss {
        /// One side.
        a: Host,
        /// The other side.
        b: Peer,
        /// Loss rate.
        rate: f64,
    },
    /// Latency between the two sides.
    Latency {
        /// One side.
        a: Host,
        /// The other side.
        b: Peer,
        /// One-way latency.
        delay: Duration,
    },
    /// A director's interface goes down (VRRP FAULT, cut off).
    LinkDown(usize),
    /// A director's interface comes back.
    LinkUp(usize),
    /// A director's clock runs `factor` times as fast as real time.
    Drift {
        /// The director.
        director: usize,
        /// Clock rate.
        factor: f64,
    },
    /// A real server's behaviour changes.
    Serve {
        /// The real server.
        server: usize,
        /// How it behaves now.
        mode: RsMode,
    },
    /// One interface of a director goes down or comes back (its
    /// instances see the link; the host stays on the segment).
    Interface {
        /// The director.
        director: usize,
        /// The interface (one its config uses).
        iface: String,
        /// Whether it is up now.
        up: bool,
    },
    /// The next runs of a director's `vrrp_script` exit with this result.
    Script {
        /// The director.
        director: usize,
        /// The `vrrp_script` name.
        script: String,
        /// Exit status 0 (`ok`) or 1 (`fail`).
        ok: bool,
    },
    /// What a director's tracked file holds from now on.
    File {
        /// The director.
        director: usize,
        /// The file's path (a `track_file`'s `file`).
        path: String,
        /// Its text.
        content: String,
    },
    /// Someone else deletes one of a director's virtual addresses from
    /// its interface (`ip addr del`): keepalived's master steps down and
    /// takes it back (a director not holding it is left as it is).
    VipRemoved {
        /// The director.
        director: usize,
        /// The address (a VIP or excluded VIP of its config).
        addr: IpAddr,
    },
    /// Whether a tracked process runs on a director from now on.
    Process {
        /// The director.
        director: usize,
        /// The process name (a `vrrp_track_process`'s `process`).
        process: String,
        /// Running (as many as its quorum) or stopped (none).
        running: bool,
    },
}

impl Action {
    /// For an action on a director's surroundings (an interface's link,
    /// a script's result, a file's content, a process): the director, the
    /// trace's verb and its `key=value` detail.
    pub fn host_input(&self) -> Option<(usize, &'static str, String)> {
        Some(match self {
            Action::Interface {
                director,
                iface,
                up,
            } => (
                *director,
                if *up { "link-up" } else { "link-down" },
                format!("interface={iface}"),
            ),
            Action::Script {
                director,
                script,
                ok,
            } => (
                *director,
                "script",
                format!("script={script} result={}", if *ok { "ok" } else { "fail" }),
            ),
            Action::File {
                director,
                path,
                content,
            } => (
                *director,
                "file",
                format!("path={path} content={content:?}"),
            ),
            Action::VipRemoved { director, addr } => {
                (*director, "vip-removed", format!("address={addr}"))
            }
            Action::Process {
                director,
                process,
                running,
            } => (
                *director,
                "process",
                format!(
                    "process={process} state={}",
                    if *running { "running" } else { "stopped" }
                ),
            ),
            _ => return None,
        })
    }

    /// The action in a few words with host names (`crash lb1`,
    /// `partition lb1->lb2`), for reports and exploration output.
    pub fn describe(&self, s: &Scenario) -> String {
        let n = |h: Host| s.host_name(h).to_string();
        let p = |p: &Peer| match p {
            Peer::All => "*".to_string(),
            Peer::Host(h) => n(*h),
        };
        match self {
            Action::Crash(h) => format!("crash {}", n(*h)),
            Action::Restart(h) => format!("restart {}", n(*h)),
            Action::Stop(d) => format!("stop {}", n(Host::Director(*d))),
            Action::Start(d) => format!("start {}", n(Host::Director(*d))),
            Action::Reload(d) => format!("reload {}", n(Host::Director(*d))),
            Action::Partition { a, b, oneway } => {
                format!(
                    "partition {}{}{}",
                    n(*a),
                    if *oneway { "->" } else { "-" },
                    p(b)
                )
            }
            Action::Heal { a, b } => format!("heal {}-{}", n(*a), p(b)),
            Action::Loss { a, b, rate } => format!("loss {}-{} {rate}", n(*a), p(b)),
            Action::Latency { a, b, delay } => {
                format!("latency {}-{} {}", n(*a), p(b), duration::render(*delay))
            }
            Action::LinkDown(d) => format!("link-down {}", n(Host::Director(*d))),
            Action::LinkUp(d) => format!("link-up {}", n(Host::Director(*d))),
            Action::Drift { director, factor } => {
                format!("drift {} x{factor}", n(Host::Director(*director)))
            }
            Action::Serve { server, mode } => {
                format!("rs {} {mode:?}", n(Host::RealServer(*server)))
            }
            Action::Interface {
                director,
                iface,
                up,
            } => format!(
                "link-{} {}:{iface}",
                if *up { "up" } else { "down" },
                n(Host::Director(*director))
            ),
            Action::Script {
                director,
                script,
                ok,
            } => format!(
                "script {} {script} {}",
                n(Host::Director(*director)),
                if *ok { "ok" } else { "fail" }
            ),
            Action::File {
                director,
                path,
                content,
            } => format!("file {} {path} {content:?}", n(Host::Director(*director))),
            Action::VipRemoved { director, addr } => {
                format!("vip-removed {} {addr}", n(Host::Director(*director)))
            }
            Action::Process {
                director,
                process,
                running,
            } => format!(
                "process {} {process} {}",
                n(Host::Director(*director)),
                if *running { "running" } else { "stopped" }
            ),
        }
    }
}

/// One timeline entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// When.
    pub at: Duration,
    /// What.
    pub action: Action,
    /// The line it was written on.
    pub line: usize,
}

/// A check of the outcome.
#[derive(Clone, Debug, PartialEq)]
pub enum Expectation {
    /// `node` is master at `at`, alone: of `instance`, or of every
    /// instance when `None`.
    Master {
        /// Director index.
        node: usize,
        /// When.
        at: Duration,
        /// The one instance judged, if not all.
        instance: Option<String>,
    },
    /// `node`'s `instance` is in `state` at `at`.
    State {
        /// Director index.
        node: usize,
        /// Instance name.
        instance: String,
        /// The state.
        state: vigil_core::vrrp::State,
        /// When.
        at: Duration,
    },
    /// `node`'s `instance` has effective priority `value` at `at`.
    Priority {
        /// Director index.
        node: usize,
        /// Instance name.
        instance: String,
        /// Effective priority (after trackers).
        value: u8,
        /// When.
        at: Duration,
    },
    /// `node` calls a notify script whose argv starts with `argv` within
    /// the window.
    Notify {
        /// Director index.
        node: usize,
        /// Program and leading arguments.
        argv: Vec<String>,
        /// Window start.
        from: Duration,
        /// Window end.
        to: Duration,
    },
    /// `node` holds the VIPs at `at` (and no one else does).
    VipHolder {
        /// Director index.
        node: usize,
        /// When.
        at: Duration,
    },
    /// Every failover (loss of the master to a new master) takes at most
    /// `max`, and there is at least one.
    MaxFailover {
        /// The bound.
        max: Duration,
    },
    /// Of the requests started in the window (there must be some), at
    /// least `min` succeed.
    SuccessRatio {
        /// The least acceptable ratio.
        min: f64,
        /// Window start.
        from: Duration,
        /// Window end.
        to: Duration,
    },
    /// The master's (or the backups') IPVS table has (or lacks) a real
    /// server at `at` (there must be such a director with a table).
    InTable {
        /// Real server index.
        server: usize,
        /// When.
        at: Duration,
        /// Whether it should be there with a weight above 0 (with
        /// `weight`: there at all).
        present: bool,
        /// The weight it should have (0: present but out of rotation, as
        /// `inhibit_on_failure` leaves it).
        weight: Option<u32>,
        /// Whose table: the master's or the backups'.
        on: TableOf,
    },
    /// At most one master outside the `except` windows, in a run where
    /// some VRRP state was recorded.
    SingleMaster {
        /// Windows where two masters are allowed.
        except: Vec<(Duration, Duration)>,
    },
}

/// Whose IPVS table an `in-table` check reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableOf {
    /// The master's (of any instance).
    Master,
    /// Every running director that is master of no instance.
    Backup,
}

/// One `[[expect]]` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Expect {
    /// The check.
    pub check: Expectation,
    /// The line it was written on.
    pub line: usize,
}

/// A validated scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Short name.
    pub name: String,
    /// What it shows.
    pub description: String,
    /// The file it came from.
    pub path: String,
    /// Default seed.
    pub seed: u64,
    /// Simulated time to run.
    pub duration: Duration,
    /// Simulator tick.
    pub resolution: Duration,
    /// Default link behaviour.
    pub network: Network,
    /// Directors.
    pub directors: Vec<Director>,
    /// Real servers.
    pub real_servers: Vec<RealServer>,
    /// Clients.
    pub clients: Vec<Client>,
    /// Actions in time order.
    pub timeline: Vec<Step>,
    /// Checks.
    pub expectations: Vec<Expect>,
    /// Nodes of captures replayed onto the segment.
    pub recorded_peers: Vec<recorded::RecordedPeer>,
    /// The directors' config warnings (keepalived's fallbacks, what Vigil
    /// does not act on), one line each, located.
    pub warnings: Vec<String>,
}

impl Scenario {
    /// The name of `host`.
    pub fn host_name(&self, host: Host) -> &str {
        match host {
            Host::Director(i) => &self.directors[i].name,
            Host::RealServer(i) => &self.real_servers[i].name,
            Host::Client(i) => &self.clients[i].name,
        }
    }

    /// The address of `host`.
    pub fn host_address(&self, host: Host) -> IpAddr {
        match host {
            Host::Director(i) => self.directors[i].address,
            Host::RealServer(i) => self.real_servers[i].address,
            Host::Client(i) => self.clients[i].address,
        }
    }

    /// Every host, directors first.
    pub fn hosts(&self) -> Vec<Host> {
        (0..self.directors.len())
            .map(Host::Director)
            .chain((0..self.real_servers.len()).map(Host::RealServer))
            .chain((0..self.clients.len()).map(Host::Client))
            .collect()
    }

    /// The host named `name`.
    pub fn host(&self, name: &str) -> Option<Host> {
        self.hosts()
            .into_iter()
            .find(|h| self.host_name(*h) == name)
    }
}
