//! State shared by every simulated host and the runner: what the world
//! looks like (links, real-server modes, ARP caches), what happened (the
//! record), and the seeded randomness of the segment.
//!
//! turmoil runs every host on one thread, tick by tick in a fixed order,
//! so a `Rc<RefCell<_>>` is enough and every access happens in the same
//! order on every run with the same seed.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::rc::Rc;
use std::time::Duration;

use tokio::sync::watch;
use vigil_core::rng::Rng;
use vigil_core::time::Instant;
use vigil_core::trace::{Event, Record};

use crate::record::Recorder;
use crate::scenario::{RsServices, Scenario};

/// A handle on the shared state.
pub type Shared = Rc<RefCell<World>>;

/// Per-director controls the runner sets and the director host obeys.
#[derive(Clone, Debug, PartialEq)]
pub struct DirectorControl {
    /// Stopped gracefully (priority 0 sent, daemon not running).
    pub stopped: bool,
    /// Interface up.
    pub link_up: bool,
    /// Clock rate factor (1.0: exact).
    pub drift: f64,
    /// Reloads requested so far (each increment is one SIGHUP).
    pub reloads: u64,
    /// What the host around the daemon looks like (kept across restarts).
    pub env: HostEnv,
    /// Virtual addresses someone else deleted, in order, since the daemon
    /// started (each is deleted once).
    pub vip_removals: Vec<std::net::IpAddr>,
}

/// The director host's surroundings the daemon tracks: interface links,
/// script results, file contents, processes. What is not named is healthy:
/// links up, scripts succeed, files missing, processes running.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostEnv {
    /// Interfaces whose link is down.
    pub links_down: std::collections::BTreeSet<String>,
    /// `vrrp_script`s that fail (exit 1) from now on.
    pub failing_scripts: std::collections::BTreeSet<String>,
    /// Tracked files' contents by path.
    pub files: BTreeMap<String, String>,
    /// Tracked processes (by process name) that are stopped.
    pub stopped_processes: std::collections::BTreeSet<String>,
}

impl HostEnv {
    /// The surroundings after `action` (other actions change nothing).
    pub fn apply(&mut self, action: &crate::scenario::Action) {
        use crate::scenario::Action;
        let set = |set: &mut std::collections::BTreeSet<String>, name: &String, on: bool| {
            if on {
                set.insert(name.clone());
            } else {
                set.remove(name);
            }
        };
        match action {
            Action::Interface { iface, up, .. } => set(&mut self.links_down, iface, !up),
            Action::Script { script, ok, .. } => set(&mut self.failing_scripts, script, !ok),
            Action::File { path, content, .. } => {
                self.files.insert(path.clone(), content.clone());
            }
            Action::Process {
                process, running, ..
            } => set(&mut self.stopped_processes, process, !running),
            _ => {}
        }
    }
}

impl Default for DirectorControl {
    fn default() -> Self {
        DirectorControl {
            stopped: false,
            link_up: true,
            drift: 1.0,
            reloads: 0,
            env: HostEnv::default(),
            vip_removals: Vec::new(),
        }
    }
}

/// What a director exposes at the end of a run (the final state that
/// harness snapshots show).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectorView {
    /// Instance name -> state name, as the last trace said.
    pub states: BTreeMap<String, vigil_core::vrrp::State>,
    /// Whether it holds the VIPs.
    pub holds_vips: bool,
    /// Whether the host runs (not crashed, not stopped).
    pub running: bool,
    /// Real servers (address:port) present in its table with weight > 0.
    pub live_servers: Vec<String>,
}

/// The whole shared state.
pub struct World {
    /// The scenario being run (shared: timeline actions and hosts read it
    /// without copying it).
    pub scenario: Rc<Scenario>,
    /// The seed of this run.
    pub seed: u64,
    /// Everything recorded.
    pub rec: Recorder,
    /// Segment randomness (datagram loss), seeded by the scenario seed.
    pub rng: Rng,
    /// Directed loss rate per (from, to) address pair.
    pub loss: BTreeMap<(IpAddr, IpAddr), f64>,
    /// Current behaviour of each real server's services, watched by its
    /// host.
    pub rs_watch: Vec<watch::Sender<RsServices>>,
    /// Whether each real server's host is crashed.
    pub rs_down: Vec<bool>,
    /// Controls of each director, watched by its host.
    pub controls: Vec<watch::Sender<DirectorControl>>,
    /// What each director exposes.
    pub views: Vec<DirectorView>,
    /// Each client's ARP cache: VIP -> director index.
    pub arp: Vec<BTreeMap<IpAddr, usize>>,
    /// Deliberate bugs every director runs with (tests only).
    pub planted: vigil_core::vrrp::planted::Planted,
}

impl World {
    /// A fresh world for `scenario` run with `seed`.
    pub fn new(scenario: Scenario, seed: u64) -> World {
        let n = scenario.directors.len();
        World {
            rec: Recorder::default(),
            rng: Rng::new(seed ^ 0x5eed_5e9e_0000_0001),
            loss: BTreeMap::new(),
            rs_watch: (0..scenario.real_servers.len())
                .map(|_| watch::channel(RsServices::default()).0)
                .collect(),
            rs_down: vec![false; scenario.real_servers.len()],
            controls: (0..n)
                .map(|_| watch::channel(DirectorControl::default()).0)
                .collect(),
            views: vec![DirectorView::default(); n],
            arp: vec![BTreeMap::new(); scenario.clients.len()],
            planted: Default::default(),
            seed,
            scenario: Rc::new(scenario),
        }
    }

    /// Whether a datagram from `from` to `to` is lost (draws from the
    /// segment's generator only when the link is lossy).
    pub fn lost(&mut self, from: IpAddr, to: IpAddr) -> bool {
        match self.loss.get(&(from, to)) {
            Some(&rate) if rate > 0.0 => self.rng.unit() < rate,
            _ => false,
        }
    }

    /// Records a trace event of `node` at `at`.
    pub fn trace(&mut self, at: Instant, node: &str, event: Event) {
        self.rec.trace.push(Record {
            at,
            node: node.to_string(),
            event,
        });
    }

    /// The director whose address is `addr`.
    pub fn director_at(&self, addr: IpAddr) -> Option<usize> {
        self.scenario
            .directors
            .iter()
            .position(|d| d.address == addr)
    }
}

/// Simulated time `elapsed`, as core's [`Instant`].
pub fn now_of(elapsed: Duration) -> Instant {
    Instant::from_duration(elapsed)
}

/// Simulated time now, as core's [`Instant`] (time since the start of the
/// run). Outside a running simulation it is the origin.
pub fn now() -> Instant {
    Instant::from_duration(turmoil::sim_elapsed().unwrap_or(Duration::ZERO))
}
