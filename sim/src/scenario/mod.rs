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
pub use untracked::{unmodelled_checks, untracked};
pub use write::to_toml;

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

/// How a real server misbehaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RsMode {
    /// Serves its page.
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
}

impl Action {
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
    /// `node` is master at `at`.
    Master {
        /// Director index.
        node: usize,
        /// When.
        at: Duration,
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
    /// The master's IPVS table has (or lacks) a real server at `at`
    /// (there must be a master with a table).
    InTable {
        /// Real server index.
        server: usize,
        /// When.
        at: Duration,
        /// Whether it should be there.
        present: bool,
    },
    /// At most one master outside the `except` windows, in a run where
    /// some VRRP state was recorded.
    SingleMaster {
        /// Windows where two masters are allowed.
        except: Vec<(Duration, Duration)>,
    },
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
