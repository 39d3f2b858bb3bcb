//! The load-balancing half of a director: the health-check engine, the
//! IPVS table its verdicts ask for, and the sync that keeps the kernel's
//! table in line with it.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Options;
use super::io::{Input, Output, Run};
use crate::check::{self, Engine};
use crate::config::Config;
use crate::ipvs::{self, Sync, SyncOutput, Table};
use crate::rng::Rng;
use crate::time::Instant;
use crate::trace;
use crate::vrrp::TrackerId;

/// The load-balancing half of a director.
#[derive(Debug)]
pub struct Balancer {
    config: Arc<Config>,
    opts: Options,
    engine: Engine,
    sync: Sync,
    master: bool,
    /// The director has started (and not stopped).
    started: bool,
    /// Checking and syncing: started with a virtual server to balance.
    active: bool,
    /// The value each `track_file` holds, as last told (FILE_CHECKs).
    files: BTreeMap<String, i64>,
    out: Vec<Output>,
}

impl Balancer {
    /// The half for `config`, not yet started.
    pub fn new(config: Arc<Config>, opts: &Options) -> Balancer {
        Balancer {
            engine: Engine::new(&config, Rng::new(opts.seed), opts.check),
            sync: Sync::new(opts.resync),
            opts: *opts,
            config,
            master: false,
            started: false,
            active: false,
            files: BTreeMap::new(),
            out: Vec::new(),
        }
    }

    /// The configuration it runs.
    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// The check engine (health, counters).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The table believed to be in the kernel.
    pub fn table(&self) -> &Table {
        self.sync.actual()
    }

    /// Whether an IPVS request (dump or ops) waits for its answer.
    pub fn busy(&self) -> bool {
        self.sync.busy()
    }

    /// The table the config and the current health ask for.
    pub fn desired(&self) -> Table {
        let health = self.engine.health();
        ipvs::desired(&self.config, &health)
    }

    /// When to be called with [`Input::Timer`] next.
    pub fn next_deadline(&self) -> Option<Instant> {
        match (self.engine.next_deadline(), self.sync.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Processes `input` at `now`; the outputs, in the order to act on them.
    /// Inputs of the VRRP half are ignored.
    pub fn handle(&mut self, now: Instant, input: Input<'_>) -> std::vec::Drain<'_, Output> {
        match input {
            Input::Start => {
                if !self.started {
                    self.started = true;
                    self.activate(now);
                }
            }
            Input::Timer => {
                if self.engine.next_deadline().is_some_and(|d| d <= now) {
                    self.engine_input(now, check::Input::Timer);
                }
                let outs: Vec<_> = self.sync.timer(now).collect();
                self.sync_outputs(outs);
            }
            Input::Mastership(m) => {
                if m != self.master {
                    self.master = m;
                    self.engine_input(now, check::Input::Mastership { master: m });
                }
            }
            Input::ProbeDone { id, result } => {
                self.engine_input(now, check::Input::ProbeDone { id, result });
            }
            Input::IpvsDumped(r) => {
                let outs: Vec<_> = self.sync.dumped(now, r).collect();
                self.sync_outputs(outs);
            }
            Input::IpvsApplied { refused } => {
                let outs: Vec<_> = self.sync.applied(now, refused).collect();
                self.sync_outputs(outs);
            }
            Input::TrackerValue {
                id: TrackerId::File(name),
                value,
            } => {
                // Before the start: the value read at start-up.
                self.files.insert(name.clone(), value);
                self.engine_input(now, check::Input::TrackFile { name, value });
            }
            Input::Reload { config, .. } => self.reload(now, config),
            Input::Shutdown { keep_ipvs, .. } => {
                if self.active {
                    self.engine_input(now, check::Input::Shutdown);
                    if !keep_ipvs {
                        self.sync.retire(ipvs::owned_services(&self.config));
                        let outs: Vec<_> = self.sync.want(now, Table::new()).collect();
                        self.sync_outputs(outs);
                    }
                }
                self.started = false;
                self.active = false;
            }
            Input::Datagram { .. }
            | Input::Message { .. }
            | Input::Link { .. }
            | Input::AddressRemoved { .. }
            | Input::Tracker { .. }
            | Input::TrackerValue { .. } => {}
        }
        self.out.drain(..)
    }

    /// Starts checking and syncing when started with a virtual server to
    /// balance.
    fn activate(&mut self, now: Instant) {
        if self.active || !self.started || self.config.virtual_servers.is_empty() {
            return;
        }
        self.active = true;
        self.engine = Engine::new(&self.config, Rng::new(self.opts.seed), self.opts.check);
        // keepalived reads the tracked files before programming anything:
        // the FILE_CHECKs start in the state their files give.
        let files = std::mem::take(&mut self.files);
        for (name, value) in &files {
            self.engine_input(
                now,
                check::Input::TrackFile {
                    name,
                    value: *value,
                },
            );
        }
        self.files = files;
        // keepalived programs the services first, then starts checking.
        let want = self.desired();
        let outs: Vec<_> = self.sync.full(now, want).collect();
        self.sync_outputs(outs);
        self.engine_input(now, check::Input::Start);
    }

    /// A new configuration: checkers of unchanged real servers keep their
    /// state, services it no longer owns go, the kernel is read again.
    fn reload(&mut self, now: Instant, config: Arc<Config>) {
        let old: std::collections::BTreeSet<_> =
            ipvs::owned_services(&self.config).into_iter().collect();
        let new: std::collections::BTreeSet<_> =
            ipvs::owned_services(&config).into_iter().collect();
        self.sync.retire(old.difference(&new).copied());
        self.config = config.clone();
        if self.active {
            self.engine_input(now, check::Input::Reload(&config));
            let want = self.desired();
            let outs: Vec<_> = self.sync.full(now, want).collect();
            self.sync_outputs(outs);
        } else {
            self.activate(now);
        }
    }

    fn engine_input(&mut self, now: Instant, input: check::Input<'_>) {
        let outs: Vec<check::Output> = self.engine.handle(now, input).collect();
        let mut changed = false;
        for o in outs {
            match o {
                check::Output::Probe {
                    id,
                    kind,
                    target,
                    timeout,
                } => self.out.push(Output::Probe {
                    id,
                    kind,
                    target,
                    timeout,
                }),
                check::Output::Verdict(_) | check::Output::Quorum(_) => changed = true,
                check::Output::Notify(n) => self.out.push(Output::Notify(Run {
                    command: n.command,
                    args: Vec::new(),
                    what: n.event.to_string(),
                    stopping: n.stopping,
                })),
                check::Output::Trace(e) => self.out.push(Output::Trace(e)),
            }
        }
        if changed && self.active {
            let want = self.desired();
            let outs: Vec<_> = self.sync.want(now, want).collect();
            self.sync_outputs(outs);
        }
    }

    fn sync_outputs(&mut self, outs: Vec<SyncOutput>) {
        for o in outs {
            self.out.push(match o {
                SyncOutput::Dump => Output::IpvsDump,
                SyncOutput::Apply(ops) => Output::Ipvs(ops),
                SyncOutput::Event(e) => Output::Trace(trace::Event::Ipvs(e)),
                SyncOutput::Stuck(why) => {
                    Output::Trace(trace::Event::Ipvs(ipvs::Event::Stuck(why)))
                }
            });
        }
    }
}
