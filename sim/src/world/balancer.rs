//! A director's load-balancing side: core's health-check engine drives
//! probes over the simulated network; its verdicts become the desired
//! IPVS table (core::ipvs::desired), reached by minimal diffs applied to
//! the forwarding model, which picks a real server for each client flow
//! the way the kernel's scheduler would.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use tokio::sync::mpsc::UnboundedSender;
use vigil_core::check::{self, Engine, ProbeId, ProbeResult};
use vigil_core::config::{Config, RealServer, VirtualServer};
use vigil_core::ipvs::sched::Flow;
use vigil_core::ipvs::{self, ConnId, Forwarder, HealthView};
use vigil_core::rng::Rng;
use vigil_core::time::Instant;
use vigil_core::trace::Event;

use super::probe;
use super::shared::{Shared, now};
use crate::record::TableChange;

/// A probe's answer, back from its task.
#[derive(Debug)]
pub struct ProbeDone {
    /// Which probe.
    pub id: ProbeId,
    /// What came back.
    pub result: ProbeResult,
}

/// Health checks, the IPVS table and flow placement of one director.
pub struct Balancer {
    config: Config,
    engine: Engine,
    forwarder: Forwarder,
    probe_tx: UnboundedSender<ProbeDone>,
    /// Open connections by client address and port.
    conns: BTreeMap<SocketAddr, ConnId>,
    shared: Shared,
    idx: usize,
    name: String,
    addr: IpAddr,
}

/// core::check's health seen through core::ipvs's view of it.
struct CheckHealth<'a>(&'a check::Health);

impl HealthView for CheckHealth<'_> {
    fn quorum_up(&self, _i: usize, vs: &VirtualServer) -> bool {
        self.0
            .virtual_server(&check::VsId::of(vs))
            .is_none_or(|h| h.quorum_up)
    }

    fn real_server(
        &self,
        _i: usize,
        vs: &VirtualServer,
        _j: usize,
        rs: &RealServer,
    ) -> ipvs::RsHealth {
        match self.0.real_server(&check::VsId::of(vs), rs.addr) {
            Some(h) => ipvs::RsHealth {
                alive: h.alive,
                weight: i64::from(h.weight),
            },
            None => ipvs::RsHealth {
                alive: true,
                weight: i64::from(rs.weight),
            },
        }
    }
}

impl Balancer {
    /// The balancer of director `idx` (`name`, at `addr`) for `config`;
    /// probe answers come back through `probe_tx`.
    pub fn new(
        config: &Config,
        shared: Shared,
        idx: usize,
        probe_tx: UnboundedSender<ProbeDone>,
    ) -> Balancer {
        let (seed, name, addr) = {
            let w = shared.borrow();
            let d = &w.scenario.directors[idx];
            (
                w.seed ^ (idx as u64 + 1).wrapping_mul(0x9e37_79b9),
                d.name.clone(),
                d.address,
            )
        };
        let opts = check::Options {
            trace_probes: false,
            ..check::Options::default()
        };
        Balancer {
            config: config.clone(),
            engine: Engine::new(config, Rng::new(seed), opts),
            forwarder: Forwarder::new(),
            probe_tx,
            conns: BTreeMap::new(),
            shared,
            idx,
            name,
            addr,
        }
    }

    /// The ports of the virtual services (what clients connect to).
    pub fn ports(&self) -> Vec<u16> {
        let mut v: Vec<u16> = self
            .config
            .virtual_servers
            .iter()
            .filter_map(|vs| match &vs.service {
                vigil_core::config::ServiceAddr::Addr(a) => Some(a.port()),
                _ => None,
            })
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Starts checking and programs the initial table.
    pub fn start(&mut self, now_own: Instant) {
        self.sync();
        self.input(now_own, check::Input::Start);
    }

    /// When the engine next needs time.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.engine.next_deadline()
    }

    /// Runs due timers.
    pub fn timer(&mut self, now_own: Instant) {
        if self.engine.next_deadline().is_some_and(|d| d <= now_own) {
            self.input(now_own, check::Input::Timer);
        }
    }

    /// Reloads `config`: checkers of unchanged real servers keep their
    /// state; the table changes only where health or config changed.
    pub fn reload(&mut self, now_own: Instant, config: &Config) {
        self.config = config.clone();
        let outs: Vec<check::Output> = self
            .engine
            .handle(now_own, check::Input::Reload(config))
            .collect();
        self.outputs(outs);
        self.sync();
    }

    /// A probe answered.
    pub fn probe_done(&mut self, now_own: Instant, done: ProbeDone) {
        self.input(
            now_own,
            check::Input::ProbeDone {
                id: done.id,
                result: done.result,
            },
        );
    }

    /// This director became master (or stopped being one), for ha_suspend.
    pub fn mastership(&mut self, now_own: Instant, master: bool) {
        self.input(now_own, check::Input::Mastership { master });
    }

    fn input(&mut self, now_own: Instant, input: check::Input<'_>) {
        let outs: Vec<check::Output> = self.engine.handle(now_own, input).collect();
        self.outputs(outs);
    }

    fn outputs(&mut self, outs: Vec<check::Output>) {
        let mut changed = false;
        for o in outs {
            match o {
                check::Output::Probe {
                    id,
                    kind,
                    target,
                    timeout,
                } => {
                    let tx = self.probe_tx.clone();
                    let shared = self.shared.clone();
                    let me = self.addr;
                    tokio::task::spawn_local(async move {
                        let result = probe::perform(&shared, me, &kind, &target, timeout).await;
                        let _ = tx.send(ProbeDone { id, result });
                    });
                }
                check::Output::Verdict(_) | check::Output::Quorum(_) => changed = true,
                check::Output::Notify(_) => {}
                check::Output::Trace(e) => self.trace(e),
            }
        }
        if changed {
            self.sync();
        }
    }

    /// Brings the forwarding table to what the current health asks for,
    /// with the minimal ordered ops, each traced.
    fn sync(&mut self) {
        let health = self.engine.health();
        let desired = ipvs::desired(&self.config, &CheckHealth(&health));
        let ops = ipvs::diff(self.forwarder.table(), &desired);
        if ops.is_empty() {
            return;
        }
        if let Err(e) = self.forwarder.apply(&ops) {
            self.trace(Event::Harness(vigil_core::harness::Event::Fault {
                action: "ipvs-error".into(),
                detail: format!("error=\"{e}\""),
            }));
            return;
        }
        for op in &ops {
            self.trace(Event::Ipvs(ipvs::Event::Op(op.clone())));
        }
        let live = live_servers(self.forwarder.table());
        self.shared.borrow_mut().views[self.idx].live_servers = live.clone();
        self.shared.borrow_mut().rec.tables.push(TableChange {
            at: now(),
            director: self.idx,
            live,
        });
    }

    /// Picks the real server for a new client connection from `client`
    /// to `vip`; `None` when no service or destination takes it.
    pub fn pick(
        &mut self,
        vip: SocketAddr,
        client: SocketAddr,
        now_own: Instant,
    ) -> Option<SocketAddr> {
        let flow = Flow::tcp(client.ip(), client.port(), vip.ip(), vip.port());
        let placed = self.forwarder.connect(now_own, &flow).ok()?;
        let dest = SocketAddr::new(placed.dest.addr, placed.dest.port);
        self.forwarder.established(placed.id);
        if let Some(old) = self.conns.insert(client, placed.id) {
            // The client port was reused before its close arrived.
            self.forwarder.closing(old);
            self.forwarder.expired(now_own, old);
        }
        self.shared
            .borrow_mut()
            .rec
            .forwards
            .push((now(), self.idx, dest));
        Some(dest)
    }

    /// The client closed its connection.
    pub fn conn_closed(&mut self, client: SocketAddr, now_own: Instant) {
        if let Some(id) = self.conns.remove(&client) {
            self.forwarder.closing(id);
            self.forwarder.expired(now_own, id);
        }
    }

    fn trace(&self, e: Event) {
        self.shared.borrow_mut().trace(now(), &self.name, e);
    }
}

/// The real servers with weight above zero in `table`, as address:port, sorted.
pub fn live_servers(table: &ipvs::Table) -> Vec<String> {
    let mut v: Vec<String> = table
        .iter()
        .flat_map(|(_, e)| e.dests().iter())
        .filter(|(_, d)| d.weight > 0)
        .map(|(k, _)| SocketAddr::new(k.addr, k.port).to_string())
        .collect();
    v.sort();
    v.dedup();
    v
}
