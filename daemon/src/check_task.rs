//! The health-check and IPVS side of vigild: core's
//! [`director::Balancer`] with real probes run concurrently and the IPVS
//! table read and written through an [`IpvsBackend`]. It carries out what
//! the balancer asks and answers it; it decides nothing. Runs on its own
//! thread and runtime, off the VRRP path. It watches the `track_file`s
//! its `FILE_CHECK`s follow itself (as keepalived's checker process does)
//! and hands their values to the balancer.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use vigil_core::check::{self, ProbeId, ProbeResult};
use vigil_core::config::Config;
use vigil_core::director::{self, Input, Output};
use vigil_core::ipvs::{self, Op, Table};
use vigil_core::trace;

use crate::clock::Clock;
use crate::events::Events;
use crate::ipvs_backend::IpvsBackend;
use crate::ipvs_netlink::reconcile;
use crate::log;
use crate::notify::Notifier;
use crate::probes::{self, icmp::Pinger};
use crate::script::Policy;
use crate::track::{TrackChange, TrackState, Trackers};

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

/// A finished probe: its id, what came back, when it finished, how long
/// it ran.
type Done = (ProbeId, ProbeResult, std::time::Instant, Duration);

/// The check side's state.
pub struct Checks {
    policy: Policy,
    director: director::Balancer,
    backend: Box<dyn IpvsBackend>,
    notifier: Notifier,
    pinger: Arc<Pinger>,
    clock: Clock,
    done_tx: mpsc::UnboundedSender<Done>,
    stats: Stats,
    events: Events,
    /// The files FILE_CHECKs follow.
    trackers: Trackers,
}

/// Finished probes and file changes, for [`Checks::run`].
pub struct Receivers {
    done_rx: mpsc::UnboundedReceiver<Done>,
    track_rx: mpsc::UnboundedReceiver<TrackChange>,
}

impl Checks {
    /// The check side for `cfg`, started now: the files its FILE_CHECKs
    /// follow are read first (keepalived reads them before programming
    /// IPVS), so that the servers start in the state they give.
    pub fn start(
        cfg: Arc<Config>,
        backend: Box<dyn IpvsBackend>,
        clock: Clock,
        detail: bool,
        events: Events,
    ) -> (Checks, Receivers) {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ u64::from(std::process::id());
        let opts = director::Options {
            seed,
            check: check::Options {
                trace_probes: detail,
                ..check::Options::default()
            },
            resync: Some(reconcile::resync_interval()),
            ..director::Options::default()
        };
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let (track_tx, mut track_rx) = mpsc::unbounded_channel();
        let mut trackers = Trackers::new(track_tx);
        trackers.apply_file_checks(&cfg, false);
        let mut c = Checks {
            policy: Policy::of(&cfg),
            director: director::Balancer::new(cfg, &opts),
            backend,
            notifier: Notifier::spawn(),
            pinger: Arc::new(Pinger::new()),
            clock,
            done_tx,
            stats: Stats::default(),
            events,
            trackers,
        };
        while let Ok(change) = track_rx.try_recv() {
            c.track(change);
        }
        c.input(Input::Start);
        (c, Receivers { done_rx, track_rx })
    }

    /// Runs until shut down.
    pub async fn run(
        mut self,
        mut ctl: mpsc::UnboundedReceiver<Command>,
        rx: Receivers,
        mut master_rx: watch::Receiver<bool>,
    ) {
        let Receivers {
            mut done_rx,
            mut track_rx,
        } = rx;
        let mut master_open = true;
        loop {
            let deadline = self.director.next_deadline();
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
                    self.input(Input::Mastership(master));
                }
                Some(change) = track_rx.recv() => self.track(change),
                Some((id, result, at, took)) = done_rx.recv() => {
                    self.probe_done(id, result, at, took);
                    // Hand in what else is ready too.
                    while let Ok((id, result, at, took)) = done_rx.try_recv() {
                        self.probe_done(id, result, at, took);
                    }
                }
                _ = sleep => {
                    if let Some(d) = deadline {
                        let late = self.clock.late(d);
                        self.note_late(late, true);
                    }
                    self.input(Input::Timer);
                }
            }
        }
    }

    /// A followed file's value (scripts are not run on this side).
    fn track(&mut self, (id, state): TrackChange) {
        if let TrackState::Value(value) = state {
            self.input(Input::TrackerValue { id: &id, value });
        }
    }

    fn probe_done(
        &mut self,
        id: ProbeId,
        result: ProbeResult,
        at: std::time::Instant,
        took: Duration,
    ) {
        self.note_late(at.elapsed(), false);
        self.note_probe(&result, took);
        self.input(Input::ProbeDone { id, result });
    }

    /// Hands `input` to the balancer and carries out what it asks.
    fn input(&mut self, input: Input<'_>) {
        let now = self.clock.now();
        let outs: VecDeque<Output> = self.director.handle(now, input).collect();
        self.act(outs);
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
            self.director.engine().checker_count(),
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

    /// Carries out the balancer's outputs in order; the kernel's answers
    /// (a dump, refused ops) go back to it at once and what they ask for
    /// is carried out before the rest.
    fn act(&mut self, mut outs: VecDeque<Output>) {
        let mut quiet_ops = count_op_traces(&outs) > reconcile::LOG_OPS_MAX;
        while let Some(o) = outs.pop_front() {
            self.events.output(&o);
            let answer = match o {
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
                    None
                }
                Output::Ipvs(ops) => {
                    if quiet_ops {
                        tracing::info!(
                            "ipvs ops {} (not listed one by one)",
                            reconcile::summary(ops.iter())
                        );
                    }
                    let refused: Vec<(Op, String)> = self
                        .backend
                        .apply(&ops)
                        .into_iter()
                        .filter_map(|e| match e.op {
                            Some(op) => Some((op, e.error)),
                            None => {
                                tracing::error!("ipvs: {}", e.error);
                                None
                            }
                        })
                        .collect();
                    Some(Input::IpvsApplied { refused })
                }
                Output::IpvsDump => Some(Input::IpvsDumped(
                    self.backend.dump().map_err(|e| e.to_string()),
                )),
                Output::Notify(run) => {
                    self.notifier
                        .run(run.command, run.args, run.what, &self.policy);
                    None
                }
                Output::FifoLine { path, line } => {
                    crate::fifo::write(&path, &line);
                    None
                }
                Output::Trace(trace::Event::Ipvs(ipvs::Event::Op(_))) if quiet_ops => None,
                Output::Trace(e) => {
                    log::event(&e);
                    None
                }
                // The VRRP half's requests never come from this half.
                Output::Send { .. }
                | Output::AddVip { .. }
                | Output::DelVip { .. }
                | Output::Announce { .. }
                | Output::Mastership(_)
                | Output::ReloadRefused(_) => None,
            };
            if let Some(input) = answer {
                let applied = matches!(input, Input::IpvsApplied { .. });
                let now = self.clock.now();
                let more: Vec<Output> = self.director.handle(now, input).collect();
                quiet_ops = count_op_traces(&more) > reconcile::LOG_OPS_MAX;
                for m in more.into_iter().rev() {
                    outs.push_front(m);
                }
                if applied && !self.backend.programs_kernel() && !self.director.busy() {
                    report_table(self.director.table());
                }
            }
        }
    }

    fn reload(&mut self, cfg: Arc<Config>) {
        self.policy = Policy::of(&cfg);
        let host = director::Host::default();
        self.input(Input::Reload {
            config: cfg.clone(),
            host: &host,
        });
        // Files newly followed are read now; their values come in as
        // changes.
        self.trackers.apply_file_checks(&cfg, true);
        tracing::info!(
            "reload check checkers={}",
            self.director.engine().checker_count()
        );
    }

    async fn shutdown(&mut self, keep_ipvs: bool) {
        self.trackers.stop();
        self.input(Input::Shutdown {
            keep_vips: true,
            keep_ipvs,
        });
        self.notifier.flush().await;
    }
}

/// How many IPVS op traces `outs` holds.
fn count_op_traces<'a>(outs: impl IntoIterator<Item = &'a Output>) -> usize {
    outs.into_iter()
        .filter(|o| matches!(o, Output::Trace(trace::Event::Ipvs(ipvs::Event::Op(_)))))
        .count()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs_backend::Unavailable;

    fn dests(c: &Checks) -> Vec<String> {
        c.director
            .table()
            .iter()
            .flat_map(|(_, e)| e.dests().iter().map(|d| format!("{d:?}")))
            .collect()
    }

    /// A FILE_CHECK (weight 0) follows a file: the value read before the
    /// start keeps the server out of the table, a change to 0 (polled,
    /// then handed in) puts it in.
    #[tokio::test]
    async fn file_check_follows_the_polled_file() {
        let dir = std::env::temp_dir().join(format!("vigild-file-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tf");
        std::fs::write(&path, "1\n").unwrap();
        let text = format!(
            "track_file tf {{\n file {}\n weight 0\n}}\n\
             virtual_server 10.0.0.1 80 {{\n lb_algo rr\n lb_kind DR\n protocol TCP\n \
             real_server 192.0.2.201 80 {{\n weight 1\n FILE_CHECK {{\n track_file tf\n }}\n }}\n \
             real_server 192.0.2.202 80 {{\n weight 1\n }}\n}}\n",
            path.display()
        );
        let cfg = vigil_core::config::parse_str("t.conf", &text)
            .config
            .expect("config");
        let clock = Clock::start();
        let (mut c, mut rx) = Checks::start(
            Arc::new(cfg),
            Box::new(Unavailable::new("test")),
            clock,
            false,
            Events::none(clock),
        );
        let before = dests(&c);
        assert_eq!(before.len(), 1, "{before:?}");
        assert!(before[0].contains("192.0.2.202"), "{before:?}");

        std::fs::write(&path, "0\n").unwrap();
        let change = tokio::time::timeout(Duration::from_secs(5), rx.track_rx.recv())
            .await
            .expect("a change within the poll")
            .expect("the channel is open");
        c.track(change);
        let after = dests(&c);
        assert_eq!(after.len(), 2, "{after:?}");
        c.trackers.stop();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
