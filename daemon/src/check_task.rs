//! The health-check and IPVS side of vigild: core's check [`Engine`] with
//! real probes run concurrently, and the IPVS table kept in line with the
//! health it produces through an [`IpvsBackend`]. Runs on its own thread
//! and runtime, off the VRRP path.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use vigil_core::check::{self, Engine, Input, Options, Output, ProbeId, ProbeResult};
use vigil_core::config::{Config, RealServer, VirtualServer};
use vigil_core::ipvs::{self, HealthView, Table};
use vigil_core::rng::Rng;

use crate::clock::Clock;
use crate::ipvs_backend::IpvsBackend;
use crate::ipvs_netlink::reconcile;
use crate::log;
use crate::notify::Notifier;
use crate::probes::{self, icmp::Pinger};
use crate::script::Policy;

/// What the daemon tells the check side.
#[derive(Debug)]
pub enum Command {
    /// A new (already validated) configuration.
    Reload(Arc<Config>),
    /// Log the counters (SIGUSR2) and reset the lateness maxima.
    Stats,
    /// Stop: omega scripts, the owned IPVS services removed (unless
    /// `keep_ipvs`); answered when done.
    Shutdown {
        /// Leave the table as it is (`--dont-release-ipvs`).
        keep_ipvs: bool,
        /// Answered when done.
        done: oneshot::Sender<()>,
    },
}

/// Counters of the check side (logged on SIGUSR2).
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Probes started.
    pub probes: u64,
    /// Probe results handed to the engine.
    pub results: u64,
    /// Largest delay between a check timer's deadline and its handling.
    pub timer_late_max: Duration,
    /// Largest delay between a probe's completion and its judgement.
    pub result_late_max: Duration,
    /// Timer or result handlings late by more than 100 ms.
    pub late_over_100ms: u64,
    /// Probes that failed (any error or failing answer).
    pub failed: u64,
    /// Sum of probe durations (start to answer), for the mean.
    pub probe_time: Duration,
    /// Probes that took longer than 100 ms.
    pub probe_over_100ms: u64,
}

/// The engine's health seen as [`ipvs::desired`] wants it.
struct EngineHealth(check::Health);

impl HealthView for EngineHealth {
    fn quorum_up(&self, i: usize, vs: &VirtualServer) -> bool {
        self.0
            .virtual_servers
            .get(i)
            .map_or_else(|| ipvs::VsHealth::all_up(vs).quorum_up, |h| h.quorum_up)
    }

    fn real_server(
        &self,
        i: usize,
        _vs: &VirtualServer,
        j: usize,
        rs: &RealServer,
    ) -> ipvs::RsHealth {
        match self
            .0
            .virtual_servers
            .get(i)
            .and_then(|v| v.real_servers.get(j))
        {
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

/// A finished probe: its id, what came back, when it finished, how long
/// it ran.
type Done = (ProbeId, ProbeResult, std::time::Instant, Duration);

/// The check side's state.
pub struct Checks {
    cfg: Arc<Config>,
    policy: Policy,
    engine: Engine,
    backend: Box<dyn IpvsBackend>,
    actual: Table,
    retired: BTreeSet<ipvs::ServiceKey>,
    notifier: Notifier,
    pinger: Arc<Pinger>,
    clock: Clock,
    done_tx: mpsc::UnboundedSender<Done>,
    stats: Stats,
}

impl Checks {
    /// The check side for `cfg`, started now.
    pub fn start(
        cfg: Arc<Config>,
        backend: Box<dyn IpvsBackend>,
        clock: Clock,
        detail: bool,
    ) -> (Checks, mpsc::UnboundedReceiver<Done>) {
        let opts = Options {
            trace_probes: detail,
            ..Options::default()
        };
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ u64::from(std::process::id());
        let engine = Engine::new(&cfg, Rng::new(seed), opts);
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let mut c = Checks {
            policy: Policy::of(&cfg),
            engine,
            backend,
            actual: Table::new(),
            retired: BTreeSet::new(),
            notifier: Notifier::spawn(),
            pinger: Arc::new(Pinger::new()),
            clock,
            done_tx,
            stats: Stats::default(),
            cfg,
        };
        let now = c.clock.now();
        let outs: Vec<_> = c.engine.handle(now, Input::Start).collect();
        c.act(outs);
        c.sync_ipvs(true);
        (c, done_rx)
    }

    /// Runs until shut down.
    pub async fn run(
        mut self,
        mut ctl: mpsc::UnboundedReceiver<Command>,
        mut done_rx: mpsc::UnboundedReceiver<Done>,
        mut master_rx: watch::Receiver<bool>,
    ) {
        let mut master_open = true;
        let every = reconcile::resync_interval();
        let mut resync = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let deadline = self.engine.next_deadline();
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(self.clock.to_tokio(d)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                cmd = ctl.recv() => match cmd {
                    Some(Command::Reload(cfg)) => self.reload(cfg),
                    Some(Command::Stats) => self.log_stats(),
                    Some(Command::Shutdown { keep_ipvs, done }) => {
                        self.shutdown(keep_ipvs).await;
                        let _ = done.send(());
                        return;
                    }
                    None => {
                        self.shutdown(false).await;
                        return;
                    }
                },
                r = master_rx.changed(), if master_open => {
                    if r.is_err() {
                        master_open = false;
                        continue;
                    }
                    let master = *master_rx.borrow_and_update();
                    let now = self.clock.now();
                    let outs: Vec<_> = self.engine.handle(now, Input::Mastership { master }).collect();
                    self.act(outs);
                }
                Some((id, result, at, took)) = done_rx.recv() => {
                    let late = at.elapsed();
                    self.note_late(late, false);
                    self.note_probe(&result, took);
                    let now = self.clock.now();
                    let outs: Vec<_> = self.engine.handle(now, Input::ProbeDone { id, result }).collect();
                    let changed = self.act(outs);
                    // Drain what else is ready before touching IPVS once.
                    let mut changed_more = false;
                    while let Ok((id, result, at, took)) = done_rx.try_recv() {
                        self.note_late(at.elapsed(), false);
                        self.note_probe(&result, took);
                        let now = self.clock.now();
                        let outs: Vec<_> = self.engine.handle(now, Input::ProbeDone { id, result }).collect();
                        changed_more |= self.act(outs);
                    }
                    if changed || changed_more {
                        self.sync_ipvs(false);
                    }
                }
                _ = sleep => {
                    if let Some(d) = deadline {
                        let late = self.clock.late(d);
                        self.note_late(late, true);
                    }
                    let now = self.clock.now();
                    let outs: Vec<_> = self.engine.handle(now, Input::Timer).collect();
                    if self.act(outs) {
                        self.sync_ipvs(false);
                    }
                }
                _ = resync.tick() => self.sync_ipvs(true),
            }
        }
    }

    fn note_late(&mut self, late: Duration, timer: bool) {
        let m = if timer {
            &mut self.stats.timer_late_max
        } else {
            &mut self.stats.result_late_max
        };
        *m = (*m).max(late);
        if late > Duration::from_millis(100) {
            self.stats.late_over_100ms += 1;
        }
    }

    fn note_probe(&mut self, r: &ProbeResult, took: Duration) {
        self.stats.results += 1;
        self.stats.probe_time += took;
        if took > Duration::from_millis(100) {
            self.stats.probe_over_100ms += 1;
        }
        if matches!(r, ProbeResult::Net(_)) {
            self.stats.failed += 1;
        }
    }

    fn log_stats(&mut self) {
        let s = &self.stats;
        tracing::info!(
            "check stats checkers={} probes={} results={} failed={} probe-time-ms={} probe-over-100ms={} \
             timer-late-max={} result-late-max={} late-over-100ms={}",
            self.engine.checker_count(),
            s.probes,
            s.results,
            s.failed,
            s.probe_time.as_millis(),
            s.probe_over_100ms,
            vigil_core::time::fmt_ms(s.timer_late_max),
            vigil_core::time::fmt_ms(s.result_late_max),
            s.late_over_100ms
        );
        self.stats.timer_late_max = Duration::ZERO;
        self.stats.result_late_max = Duration::ZERO;
    }

    /// Carries out the engine's outputs; true when health changed.
    fn act(&mut self, outs: Vec<Output>) -> bool {
        let mut changed = false;
        for o in outs {
            match o {
                Output::Probe {
                    id,
                    kind,
                    target,
                    timeout,
                } => {
                    self.stats.probes += 1;
                    let (tx, policy, pinger) = (
                        self.done_tx.clone(),
                        self.policy.clone(),
                        self.pinger.clone(),
                    );
                    tokio::spawn(async move {
                        let t = std::time::Instant::now();
                        let r = probes::run(&kind, &target, timeout, &policy, &pinger).await;
                        let _ = tx.send((id, r, std::time::Instant::now(), t.elapsed()));
                    });
                }
                Output::Verdict(_) | Output::Quorum(_) => changed = true,
                Output::Notify(n) => self.notifier.run(
                    n.command.clone(),
                    Vec::new(),
                    n.event.to_string(),
                    &self.policy,
                ),
                Output::Trace(e) => log::event(&e),
            }
        }
        changed
    }

    /// Brings the backend's table to what the config and health ask for
    /// (`full`: reading the kernel's table first).
    fn sync_ipvs(&mut self, full: bool) {
        let want = ipvs::desired(&self.cfg, &EngineHealth(self.engine.health()));
        self.apply(&want, full);
    }

    fn apply(&mut self, want: &Table, full: bool) {
        let r = reconcile::sync(
            &mut *self.backend,
            &mut self.actual,
            want,
            &self.retired,
            full,
        );
        if r.converged {
            self.retired.clear();
        }
        if r.sent > 0 && !self.backend.programs_kernel() {
            report_table(&self.actual);
        }
    }

    fn reload(&mut self, cfg: Arc<Config>) {
        let old: BTreeSet<_> = ipvs::owned_services(&self.cfg).into_iter().collect();
        let new: BTreeSet<_> = ipvs::owned_services(&cfg).into_iter().collect();
        self.retired.extend(old.difference(&new).cloned());
        self.cfg = cfg.clone();
        self.policy = Policy::of(&cfg);
        let now = self.clock.now();
        let outs: Vec<_> = self.engine.handle(now, Input::Reload(&cfg)).collect();
        self.act(outs);
        self.sync_ipvs(true);
        tracing::info!("reload check checkers={}", self.engine.checker_count());
    }

    async fn shutdown(&mut self, keep_ipvs: bool) {
        let now = self.clock.now();
        let outs: Vec<_> = self.engine.handle(now, Input::Shutdown).collect();
        self.act(outs);
        if !keep_ipvs {
            self.retired.extend(ipvs::owned_services(&self.cfg));
            self.apply(&Table::new(), false);
        }
        self.notifier.flush().await;
    }
}

/// Tables with more destinations than this are summarised, not listed.
pub const REPORT_MAX_DESTS: usize = 256;

/// Logs, one line each, the table vigild would have programmed (a
/// one-line summary for large tables; the ops are logged anyway).
pub fn report_table(t: &Table) {
    let dests: usize = t.iter().map(|(_, e)| e.dests().len()).sum();
    if dests > REPORT_MAX_DESTS {
        tracing::info!(
            "ipvs table (not programmed: IPVS unavailable): services={} dests={dests}",
            t.len()
        );
        return;
    }
    tracing::info!("ipvs table (not programmed: IPVS unavailable):");
    for line in ipvs::ipvsadm_ln(t).lines() {
        tracing::info!("ipvs table | {line}");
    }
}
