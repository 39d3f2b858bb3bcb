//! The health-check engine: every checker of a configuration, sans-IO.
//!
//! - Identical checkers (same kind, settings, timing and destination,
//!   under `ha_suspend` or not) are scheduled once; their results fan out
//!   to every (virtual server, real server) that uses them.
//! - A real server is alive when all its checkers are up (keepalived's
//!   `num_failed_checkers == 0`); `alpha` checkers start down.
//! - Quorum per virtual server with hysteresis over the live weight
//!   (keepalived's update_quorum_state), `quorum_up`/`quorum_down`
//!   commands, and the sorry server while quorum is lost.
//! - `notify_up`/`notify_down` on every real-server change, as outputs.
//! - `ha_suspend`: checkers of such virtual servers only probe while
//!   this director is master ([`Input::Mastership`]).
//! - `omega`: on [`Input::Shutdown`], run the down scripts.
//! - `FILE_CHECK`: event driven, no probes. Each one follows a
//!   `track_file` whose value the driver gives ([`Input::TrackFile`]);
//!   the value times the checker's weight moves the real server's weight,
//!   and a fault (weight 0: any non-zero value; else a product at or below
//!   keepalived's IPVS_WEIGHT_FAULT, `i32::MIN`) holds it down
//!   (keepalived 2.2.7 check/check_file.c, trackers/track_file.c).
//!
//! The driver runs the probes ([`Output::Probe`]) and answers each with
//! [`Input::ProbeDone`]; it keeps the pool in line with [`Engine::health`]
//! (or the [`Output::Verdict`]/[`Output::Quorum`] changes), and after a
//! [`Input::Reload`] rebuilds it from [`Engine::health`].

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::event::{Cause, Component, Event, EventKind};
use super::io::{Input, Output, QuorumChange, RsVerdict};
use super::notify::{Notify, NotifyEvent};
use super::probe::{HttpGet, ProbeId, ProbeKind, ProbeResult, ProbeTarget};
use super::schedule::{Discipline, Extensions, Fire, Schedule, Step, Transition};
use super::verdict::{self, Failure, Rules, Verdict, http::UrlRule, udp::UdpRule};
use crate::config::{
    CheckTiming, Checker, CheckerKind, Command, Config, ConnectOpts, FileCheck, LvsFlushOnStop,
    Quorum, RealServer,
};
use crate::health::{Health, RsHealth, VsHealth, VsId};
use crate::rng::Rng;
use crate::time::Instant;
use crate::trace;

/// keepalived's connect_timeout when nothing sets one.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest weight IPVS takes (keepalived's IPVS_WEIGHT_LIMIT).
const WEIGHT_LIMIT: i64 = i32::MAX as i64;

/// keepalived's IPVS_WEIGHT_FAULT: a `FILE_CHECK` status at (or, before
/// clamping, below) this is a fault.
const WEIGHT_FAULT: i64 = i32::MIN as i64;

/// The keyword of a `FILE_CHECK`.
const FILE_CHECK: &str = "FILE_CHECK";

/// Engine settings beyond keepalived.conf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// HAProxy-like `rise`/`fall` (default: keepalived's behaviour).
    pub ext: Extensions,
    /// Emit a trace event for every probe sent and every result (default
    /// true); state changes are always traced.
    pub trace_probes: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            ext: Extensions::default(),
            trace_probes: true,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    Running,
    Stopped,
}

/// What makes two checker blocks the same checker.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct CheckKey {
    kind: CheckerKind,
    timing: CheckTiming,
    conn: Option<ConnectOpts>,
    ha_suspend: bool,
}

/// One distinct checker.
#[derive(Debug)]
struct Check {
    key: CheckKey,
    keyword: &'static str,
    sched: Schedule,
    rules: Rules,
    /// The probe to send (HTTP/SSL: see `gets`).
    probe: ProbeKind,
    /// HTTP_GET / SSL_GET: one request per URL.
    gets: Vec<HttpGet>,
    tls: bool,
    target: ProbeTarget,
    timeout: Duration,
    label: Arc<str>,
    /// Every use: (virtual server, real server) indices; a server using
    /// the same checker twice appears twice, as keepalived counts it.
    subs: Vec<(u32, u32)>,
    in_flight: Option<(ProbeId, usize)>,
    last_failure: Option<Failure>,
}

impl Check {
    fn new(ch: &Checker, rs: &RealServer, ha_suspend: bool, ext: Extensions) -> Option<Check> {
        let dst = super::probe::destination(ch, rs);
        let remote = match &ch.conn {
            Some(c) => ProbeTarget::Remote {
                dst,
                bind_ip: c.bindto,
                bind_port: c.bind_port,
                bind_if: c.bind_if.clone(),
                fwmark: c.fwmark,
            },
            None => ProbeTarget::Remote {
                dst,
                bind_ip: None,
                bind_port: None,
                bind_if: None,
                fwmark: None,
            },
        };
        let connect_timeout = ch
            .conn
            .as_ref()
            .map_or(DEFAULT_CONNECT_TIMEOUT, |c| c.connect_timeout);
        let mut gets = Vec::new();
        let mut tls = false;
        let (discipline, rules, probe, target, timeout) = match &ch.kind {
            CheckerKind::Tcp => (
                Discipline::Tcp,
                Rules::Tcp,
                ProbeKind::Tcp,
                remote,
                connect_timeout,
            ),
            CheckerKind::Ping => (
                Discipline::RetryWhileUp,
                Rules::Icmp,
                ProbeKind::Icmp,
                remote,
                connect_timeout,
            ),
            CheckerKind::Udp(u) => (
                Discipline::RetryWhileUp,
                Rules::Udp(UdpRule::new(u)),
                ProbeKind::Udp {
                    payload: u.payload.clone(),
                    require_reply: u.require_reply.is_some(),
                },
                remote,
                connect_timeout,
            ),
            CheckerKind::Dns(d) => (
                Discipline::RetryWhileUp,
                Rules::Dns,
                ProbeKind::Dns {
                    qtype: d.qtype,
                    name: d.name.clone(),
                },
                remote,
                connect_timeout,
            ),
            CheckerKind::Smtp(s) => (
                Discipline::Smtp,
                Rules::Smtp,
                ProbeKind::Smtp {
                    helo_name: s.helo_name.clone(),
                },
                remote,
                connect_timeout,
            ),
            CheckerKind::Misc(m) => (
                Discipline::Misc,
                Rules::Misc { dynamic: m.dynamic },
                ProbeKind::Misc {
                    command: m.command.clone(),
                    dynamic: m.dynamic,
                },
                ProbeTarget::Local,
                m.timeout,
            ),
            CheckerKind::Http(h) | CheckerKind::Ssl(h) => {
                tls = matches!(ch.kind, CheckerKind::Ssl(_));
                for (i, u) in h.urls.iter().enumerate() {
                    let vhost = u.virtualhost.as_ref().or(h.virtualhost.as_ref());
                    gets.push(HttpGet {
                        path: u.path.clone(),
                        host: vhost.cloned().unwrap_or_else(|| dst.to_string()),
                        protocol: h.http_protocol,
                        sni: vhost.filter(|_| tls && h.enable_sni).cloned(),
                        url_index: i,
                    });
                }
                (
                    Discipline::Http {
                        urls: h.urls.len(),
                        fast_recovery: h.fast_recovery,
                    },
                    Rules::Http(h.urls.iter().map(UrlRule::new).collect()),
                    ProbeKind::Tcp,
                    remote,
                    connect_timeout,
                )
            }
            // FILE_CHECK is not scheduled: see FileUse.
            CheckerKind::File(_) => return None,
        };
        let label: Arc<str> = match &target {
            ProbeTarget::Remote { dst, .. } => dst.to_string().into(),
            ProbeTarget::Local => rs.addr.to_string().into(),
        };
        Some(Check {
            key: CheckKey {
                kind: ch.kind.clone(),
                timing: ch.timing.clone(),
                conn: ch.conn.clone(),
                ha_suspend,
            },
            keyword: ch.kind.keyword(),
            sched: Schedule::new(&ch.timing, discipline, ext),
            rules,
            probe,
            gets,
            tls,
            target,
            timeout,
            label,
            subs: Vec::new(),
            in_flight: None,
            last_failure: None,
        })
    }

    fn probe_kind(&self, url: usize) -> ProbeKind {
        match self.gets.get(url) {
            Some(g) if self.tls => ProbeKind::Ssl(g.clone()),
            Some(g) => ProbeKind::Http(g.clone()),
            None => self.probe.clone(),
        }
    }
}

/// One `FILE_CHECK` of a real server (keepalived's FILE_CHECK checker
/// and its tracking_obj_t on the tracked_file_t): no probe, its state
/// follows the value of the `track_file` it names.
#[derive(Clone, Debug)]
struct FileUse {
    /// The `track_file`'s name.
    file: Arc<str>,
    /// Multiplier of the value (0: a non-zero value is a fault).
    weight: i32,
    /// `reverse`: the multiplier's sign is flipped.
    reverse: bool,
    /// keepalived's checker->is_up.
    up: bool,
    /// keepalived's checker->cur_weight: the status it last applied.
    cur_weight: i64,
    /// What it has added to the real server's effective weight so far
    /// (keepalived moves rs->effective_weight by steps; this is their sum).
    added: i64,
}

impl FileUse {
    fn new(f: &FileCheck) -> FileUse {
        FileUse {
            file: f.track_file.as_str().into(),
            weight: f.weight,
            reverse: f.reverse,
            up: true,
            cur_weight: 0,
            added: 0,
        }
    }

    /// `value` times the weight, signed by `reverse`, unclamped.
    fn product(&self, value: i64) -> i64 {
        let w = i64::from(self.weight);
        if self.reverse { -value * w } else { value * w }
    }

    /// The status `value` gives (keepalived's update_track_file_status):
    /// with weight 0, a fault when the value is non-zero (zero when
    /// `reverse`), else 0; otherwise the product clamped to 32 bits, a
    /// fault at [`WEIGHT_FAULT`].
    fn status(&self, value: i64) -> i64 {
        if self.weight == 0 {
            if (value != 0) != self.reverse {
                WEIGHT_FAULT
            } else {
                0
            }
        } else {
            self.product(value).clamp(WEIGHT_FAULT, WEIGHT_LIMIT)
        }
    }

    /// The state at start-up or on a reload from the value the file holds
    /// (keepalived's set_track_file_weights, then
    /// set_track_file_checkers_down and init_service_rs): a file holding
    /// 0 never starts a checker down, whatever `reverse` says; otherwise
    /// it is down with weight 0 or when the product is at most
    /// [`WEIGHT_FAULT`]. On a reload keepalived goes through its update
    /// path, which leaves a `reverse` checker up and takes a failed one's
    /// weight back. The weight applied is the product cut to a C `int`.
    fn init(&mut self, value: i64, reload: bool) {
        let product = self.product(value);
        self.cur_weight = if value != 0 && self.weight != 0 {
            i64::from(product as i32)
        } else {
            0
        };
        let fault = value != 0 && (self.weight == 0 || product <= WEIGHT_FAULT);
        self.up = !fault || (reload && self.reverse);
        if !self.up && reload {
            self.cur_weight = 0;
        }
        self.added = self.cur_weight;
    }
}

/// One real server of one virtual server.
#[derive(Clone, Debug)]
struct RsState {
    addr: SocketAddr,
    iweight: u32,
    /// keepalived's effective_weight: configured, moved by misc_dynamic
    /// and FILE_CHECKs.
    effective: i64,
    alive: bool,
    inhibit: bool,
    num_failed: u32,
    notify_up: Option<Command>,
    notify_down: Option<Command>,
    /// The checker of each use.
    checks: Vec<u32>,
    /// Its FILE_CHECKs.
    files: Vec<FileUse>,
}

/// One virtual server.
#[derive(Clone, Debug)]
struct VsState {
    id: VsId,
    quorum: Quorum,
    quorum_up_cmd: Option<Command>,
    quorum_down_cmd: Option<Command>,
    sorry: Option<SocketAddr>,
    /// The sorry server is in the pool (keepalived: `s_svr->alive`).
    sorry_in: bool,
    omega: bool,
    quorum_up: bool,
    rss: Vec<RsState>,
}

/// keepalived's real_weight: the weight IPVS can take.
fn real_weight(w: i64) -> u32 {
    w.clamp(0, WEIGHT_LIMIT) as u32
}

/// keepalived's effective weight: the configured weight moved by each
/// `misc_dynamic` checker to the weight its exit status asks for, plus
/// what each FILE_CHECK added.
fn effective_of(checks: &[Check], rs: &RsState) -> i64 {
    let iw = i64::from(rs.iweight);
    let dynamic: i64 = rs
        .checks
        .iter()
        .filter_map(|&c| checks[c as usize].sched.dyn_weight())
        .map(|d| i64::from(d) - iw)
        .sum();
    iw + dynamic + rs.files.iter().map(|f| f.added).sum::<i64>()
}

/// Failed checkers of a real server: (scheduled ones, FILE_CHECKs).
fn failed_of(checks: &[Check], rs: &RsState) -> (u32, u32) {
    let sched = rs
        .checks
        .iter()
        .filter(|&&c| !checks[c as usize].sched.is_up())
        .count() as u32;
    let files = rs.files.iter().filter(|f| !f.up).count() as u32;
    (sched, files)
}

/// Every server's starting state (keepalived's start_check): FILE_CHECKs
/// from the values their files hold, then the failed counts, liveness and
/// effective weights, then each virtual server's quorum
/// (set_quorum_states).
fn initial_states(checks: &[Check], vss: &mut [VsState], values: &HashMap<String, i64>) {
    for vs in vss.iter_mut() {
        for rs in &mut vs.rss {
            for f in &mut rs.files {
                f.init(values.get(&*f.file).copied().unwrap_or(0), false);
            }
            let (sched, files) = failed_of(checks, rs);
            rs.num_failed = sched + files;
            rs.alive = rs.num_failed == 0;
            rs.effective = effective_of(checks, rs);
        }
        vs.quorum_up = vs.quorum.initial(live_weight(vs));
    }
}

fn live_weight(vs: &VsState) -> i64 {
    vs.rss
        .iter()
        .filter(|r| r.alive)
        .map(|r| i64::from(real_weight(r.effective)))
        .sum()
}

/// All checkers of a configuration and the health they produce.
#[derive(Debug)]
pub struct Engine {
    opts: Options,
    rng: Rng,
    checks: Vec<Check>,
    vss: Vec<VsState>,
    timers: BinaryHeap<Reverse<(Instant, u32)>>,
    /// Probes out: id -> checker.
    probes: HashMap<ProbeId, u32>,
    probe_seq: u64,
    master: bool,
    phase: Phase,
    flush_on_stop: LvsFlushOnStop,
    /// The value each `track_file` holds (keepalived's last_status).
    file_values: HashMap<String, i64>,
    out: Vec<Output>,
}

/// The checkers and servers of `config`, in their starting states with
/// the files holding `values`.
fn build(
    config: &Config,
    ext: Extensions,
    values: &HashMap<String, i64>,
) -> (Vec<Check>, Vec<VsState>) {
    let mut checks: Vec<Check> = Vec::new();
    let mut index: HashMap<CheckKey, u32> = HashMap::new();
    let mut vss = Vec::with_capacity(config.virtual_servers.len());
    for (vi, vs) in config.virtual_servers.iter().enumerate() {
        let mut rss = Vec::with_capacity(vs.real_servers.len());
        for (ri, rs) in vs.real_servers.iter().enumerate() {
            let mut uses = Vec::with_capacity(rs.checkers.len());
            let mut files = Vec::new();
            for ch in &rs.checkers {
                if let CheckerKind::File(f) = &ch.kind {
                    files.push(FileUse::new(f));
                    continue;
                }
                let key = CheckKey {
                    kind: ch.kind.clone(),
                    timing: ch.timing.clone(),
                    conn: ch.conn.clone(),
                    ha_suspend: vs.ha_suspend,
                };
                let c = match index.get(&key) {
                    Some(&c) => c,
                    None => {
                        let Some(check) = Check::new(ch, rs, vs.ha_suspend, ext) else {
                            continue;
                        };
                        checks.push(check);
                        let c = (checks.len() - 1) as u32;
                        index.insert(key, c);
                        c
                    }
                };
                checks[c as usize].subs.push((vi as u32, ri as u32));
                uses.push(c);
            }
            // Liveness, failed count and weight: see initial_states.
            rss.push(RsState {
                addr: rs.addr,
                iweight: rs.weight,
                effective: i64::from(rs.weight),
                alive: true,
                inhibit: rs.inhibit_on_failure,
                num_failed: 0,
                notify_up: rs.notify_up.clone(),
                notify_down: rs.notify_down.clone(),
                checks: uses,
                files,
            });
        }
        vss.push(VsState {
            id: VsId::of(vs),
            quorum: vs.quorum_rule(),
            quorum_up_cmd: vs.quorum_up.clone(),
            quorum_down_cmd: vs.quorum_down.clone(),
            sorry: vs.sorry_server.as_ref().map(|s| s.addr),
            sorry_in: false,
            omega: vs.omega,
            quorum_up: false,
            rss,
        });
    }
    initial_states(&checks, &mut vss, values);
    (checks, vss)
}

impl Engine {
    /// An engine for `config`, not started. `rng` draws the warmup delays.
    pub fn new(config: &Config, rng: Rng, opts: Options) -> Engine {
        let file_values = HashMap::new();
        let (checks, vss) = build(config, opts.ext, &file_values);
        Engine {
            opts,
            rng,
            checks,
            vss,
            timers: BinaryHeap::new(),
            probes: HashMap::new(),
            probe_seq: 0,
            master: false,
            phase: Phase::Idle,
            flush_on_stop: config.global.lvs_flush_on_stop,
            file_values,
            out: Vec::new(),
        }
    }

    /// Distinct checkers scheduled (after deduplication).
    pub fn checker_count(&self) -> usize {
        self.checks.len()
    }

    /// The health of every virtual and real server now.
    pub fn health(&self) -> Health {
        Health {
            virtual_servers: self
                .vss
                .iter()
                .map(|vs| VsHealth {
                    id: vs.id.clone(),
                    quorum_up: vs.quorum_up,
                    sorry_server: vs.sorry,
                    real_servers: vs
                        .rss
                        .iter()
                        .map(|rs| RsHealth {
                            addr: rs.addr,
                            alive: rs.alive,
                            weight: rs.effective,
                            inhibit: rs.inhibit,
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// When to call [`Engine::handle`] with [`Input::Timer`] next.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((at, _))| *at)
    }

    /// Processes `input` at `now`; the outputs, in the order to act on
    /// them.
    pub fn handle(&mut self, now: Instant, input: Input<'_>) -> std::vec::Drain<'_, Output> {
        match input {
            Input::Start => self.start(now),
            Input::Timer => self.timer(now),
            Input::ProbeDone { id, result } => self.probe_done(now, id, &result),
            Input::Mastership { master } => self.mastership(master),
            Input::TrackFile { name, value } => self.track_file(name, value),
            Input::Reload(config) => self.reload(now, config),
            Input::Shutdown => self.shutdown(),
        }
        self.drop_stale_timers();
        self.out.drain(..)
    }

    fn trace(&mut self, component: Component, kind: EventKind) {
        self.out.push(Output::Trace(trace::Event::Check(Event {
            component,
            kind,
        })));
    }

    fn arm(&mut self, c: usize) {
        if let Some(at) = self.checks[c].sched.due() {
            self.timers.push(Reverse((at, c as u32)));
        }
    }

    fn drop_stale_timers(&mut self) {
        while let Some(&Reverse((at, c))) = self.timers.peek() {
            if self.checks.get(c as usize).and_then(|k| k.sched.due()) == Some(at) {
                break;
            }
            self.timers.pop();
        }
    }

    fn start(&mut self, now: Instant) {
        if self.phase != Phase::Idle {
            return;
        }
        self.phase = Phase::Running;
        // A FILE_CHECK is a checker of its own per use, as in keepalived.
        let file_uses: usize = self
            .vss
            .iter()
            .flat_map(|v| &v.rss)
            .map(|r| r.files.len())
            .sum();
        let uses = self.checks.iter().map(|c| c.subs.len()).sum::<usize>() + file_uses;
        self.trace(
            Component::Engine,
            EventKind::Started {
                checkers: self.checks.len() + file_uses,
                uses,
            },
        );
        self.arm_all(now);
        for v in 0..self.vss.len() {
            self.update_quorum(v, true);
        }
    }

    /// Arms every checker's first probe (start and reload) and applies
    /// the mastership to `ha_suspend` checkers.
    fn arm_all(&mut self, now: Instant) {
        self.timers.clear();
        self.probes.clear();
        for c in 0..self.checks.len() {
            let enabled = !self.checks[c].key.ha_suspend || self.master;
            let check = &mut self.checks[c];
            check.sched.set_enabled(enabled);
            check.sched.start(now, &mut self.rng);
            check.in_flight = None;
            self.arm(c);
        }
    }

    fn timer(&mut self, now: Instant) {
        if self.phase != Phase::Running {
            return;
        }
        while let Some(&Reverse((at, c))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            if self.checks[c as usize].sched.due() == Some(at) {
                self.fire(now, c as usize);
            }
        }
    }

    fn fire(&mut self, now: Instant, c: usize) {
        let check = &mut self.checks[c];
        match check.sched.fire(now) {
            Fire::Skip => self.arm(c),
            Fire::Probe { url } => {
                if let Rules::Http(urls) = &check.rules
                    && urls.is_empty()
                {
                    // keepalived: no URL to fetch, the server passes.
                    let step = check.sched.complete(now, Verdict::PASS);
                    self.arm(c);
                    let cause = Cause::CheckPassed(self.checks[c].keyword);
                    self.apply(c, step, cause);
                    return;
                }
                let id = ProbeId(self.probe_seq);
                self.probe_seq += 1;
                check.in_flight = Some((id, url));
                self.probes.insert(id, c as u32);
                let kind = check.probe_kind(url);
                let (target, timeout) = (check.target.clone(), check.timeout);
                if self.opts.trace_probes {
                    let path = check.gets.get(url).map(|g| g.path.clone());
                    let (label, keyword) = (check.label.clone(), check.keyword);
                    self.trace(
                        Component::Checker(label),
                        EventKind::Probe {
                            id,
                            kind: keyword,
                            path,
                        },
                    );
                }
                self.out.push(Output::Probe {
                    id,
                    kind,
                    target,
                    timeout,
                });
            }
        }
    }

    fn probe_done(&mut self, now: Instant, id: ProbeId, result: &ProbeResult) {
        let Some(c) = self.probes.remove(&id) else {
            self.trace(Component::Engine, EventKind::Stale { id });
            return;
        };
        let c = c as usize;
        let Some((_, url)) = self.checks[c].in_flight.filter(|(want, _)| *want == id) else {
            self.trace(Component::Engine, EventKind::Stale { id });
            return;
        };
        let check = &mut self.checks[c];
        check.in_flight = None;
        let verdict = verdict::judge(&check.rules, url, result);
        let cause = match verdict {
            Verdict::Pass { .. } => Cause::CheckPassed(check.keyword),
            Verdict::Fail(f) => {
                check.last_failure = Some(f);
                Cause::CheckFailed(check.keyword, Some(f))
            }
        };
        let step = check.sched.complete(now, verdict);
        if self.opts.trace_probes {
            let (retry_it, retry) = (check.sched.retry_it(), check.sched.retry());
            let label = check.label.clone();
            self.trace(
                Component::Checker(label),
                EventKind::Result {
                    id,
                    verdict,
                    retry_it,
                    retry,
                },
            );
        }
        self.arm(c);
        self.apply(c, step, cause);
    }

    /// Applies a checker's step to every real server using it
    /// (keepalived's update_svr_wgt and update_svr_checker_state).
    fn apply(&mut self, c: usize, step: Step, cause: Cause) {
        if let Some(wc) = step.weight {
            for i in 0..self.checks[c].subs.len() {
                let (v, r) = self.checks[c].subs[i];
                let (v, r) = (v as usize, r as usize);
                let eff = self.effective_weight(v, r);
                if wc.silent {
                    self.vss[v].rss[r].effective = eff;
                } else {
                    self.update_weight(v, r, eff, Cause::DynamicWeight);
                }
            }
        }
        let Some(t) = step.transition else {
            return;
        };
        let (label, keyword) = (self.checks[c].label.clone(), self.checks[c].keyword);
        match t {
            Transition::FirstRun { up, notify } => {
                self.trace(
                    Component::Checker(label),
                    EventKind::Checker {
                        up,
                        first: true,
                        kind: keyword,
                    },
                );
                if notify {
                    for i in 0..self.checks[c].subs.len() {
                        let (v, r) = self.checks[c].subs[i];
                        self.rs_notify(v as usize, r as usize, false);
                    }
                }
            }
            Transition::Changed { up } => {
                self.trace(
                    Component::Checker(label),
                    EventKind::Checker {
                        up,
                        first: false,
                        kind: keyword,
                    },
                );
                for i in 0..self.checks[c].subs.len() {
                    let (v, r) = self.checks[c].subs[i];
                    self.checker_changed(v as usize, r as usize, up, cause);
                }
            }
        }
    }

    /// keepalived's update_svr_checker_state for a checker of server `r`
    /// of `v` that changed state: the server follows when this was its
    /// only failed checker (up) or it had none (down); then the failed
    /// count (set_checker_state).
    fn checker_changed(&mut self, v: usize, r: usize, up: bool, cause: Cause) {
        let failed = self.vss[v].rss[r].num_failed;
        if up {
            if failed <= 1 {
                self.set_alive(v, r, true, cause, true);
            }
            let rs = &mut self.vss[v].rss[r];
            rs.num_failed = rs.num_failed.saturating_sub(1);
        } else {
            if failed == 0 {
                self.set_alive(v, r, false, cause, true);
            }
            self.vss[v].rss[r].num_failed += 1;
        }
    }

    /// keepalived's effective weight of server `r` of `v` (see
    /// [`effective_of`]).
    fn effective_weight(&self, v: usize, r: usize) -> i64 {
        effective_of(&self.checks, &self.vss[v].rss[r])
    }

    /// A `track_file` holds `value` now. Before the start it is the value
    /// read at start-up: the starting states are worked out again. While
    /// running, each FILE_CHECK following it moves as keepalived's
    /// process_update_checker_track_file_status does: into a fault, the
    /// checker goes down and its weight is taken back; out of a fault, its
    /// weight is added and the checker goes up; otherwise the server's
    /// weight moves by the difference (update_svr_wgt). A value outside
    /// `i32::MIN..=i32::MAX + 1` is ignored, as keepalived ignores it.
    fn track_file(&mut self, name: &str, value: i64) {
        // keepalived logs a number outside this range and ignores it.
        if !(WEIGHT_FAULT..=WEIGHT_LIMIT + 1).contains(&value) {
            return;
        }
        let last = self
            .file_values
            .insert(name.to_string(), value)
            .unwrap_or(0);
        match self.phase {
            Phase::Idle => {
                initial_states(&self.checks, &mut self.vss, &self.file_values);
                return;
            }
            Phase::Stopped => return,
            Phase::Running => {}
        }
        if value == last {
            return;
        }
        let mut uses = Vec::new();
        for (v, vs) in self.vss.iter().enumerate() {
            for (r, rs) in vs.rss.iter().enumerate() {
                for (i, f) in rs.files.iter().enumerate() {
                    if &*f.file == name {
                        uses.push((v, r, i));
                    }
                }
            }
        }
        if uses.is_empty() {
            return;
        }
        self.trace(
            Component::TrackFile(name.into()),
            EventKind::FileValue {
                from: last,
                to: value,
            },
        );
        for (v, r, i) in uses {
            let f = &self.vss[v].rss[r].files[i];
            let (new, prev) = (f.status(value), f.status(last));
            if new == prev {
                continue;
            }
            if new == WEIGHT_FAULT {
                self.file_checker(v, r, i, false);
                let f = &mut self.vss[v].rss[r].files[i];
                f.added -= f.cur_weight;
                f.cur_weight = 0;
                self.vss[v].rss[r].effective = self.effective_weight(v, r);
            } else if prev == WEIGHT_FAULT {
                let f = &mut self.vss[v].rss[r].files[i];
                f.cur_weight = new;
                f.added += new;
                self.vss[v].rss[r].effective = self.effective_weight(v, r);
                self.file_checker(v, r, i, true);
            } else {
                self.vss[v].rss[r].files[i].added += new - prev;
                let eff = self.effective_weight(v, r);
                self.update_weight(v, r, eff, Cause::TrackFile);
                self.vss[v].rss[r].files[i].cur_weight = new;
            }
        }
    }

    /// FILE_CHECK `i` of server `r` of `v` goes up or down.
    fn file_checker(&mut self, v: usize, r: usize, i: usize, up: bool) {
        let rs = &self.vss[v].rss[r];
        if rs.files[i].up == up {
            return;
        }
        let label: Arc<str> = rs.addr.to_string().into();
        self.trace(
            Component::Checker(label),
            EventKind::Checker {
                up,
                first: false,
                kind: FILE_CHECK,
            },
        );
        let cause = if up {
            Cause::CheckPassed(FILE_CHECK)
        } else {
            Cause::CheckFailed(FILE_CHECK, None)
        };
        self.checker_changed(v, r, up, cause);
        self.vss[v].rss[r].files[i].up = up;
    }

    /// keepalived's update_svr_wgt with quorum update.
    fn update_weight(&mut self, v: usize, r: usize, eff: i64, cause: Cause) {
        let rs = &mut self.vss[v].rss[r];
        let (old, new) = (real_weight(rs.effective), real_weight(eff));
        rs.effective = eff;
        if old == new {
            return;
        }
        let (addr, alive, inhibit) = (rs.addr, rs.alive, rs.inhibit);
        let vs = self.vss[v].id.clone();
        self.trace(
            Component::RealServer(addr),
            EventKind::Weight {
                vs: vs.clone(),
                from: old,
                to: new,
            },
        );
        if alive {
            self.out.push(Output::Verdict(RsVerdict {
                vs,
                rs: addr,
                alive,
                weight: new,
                inhibit,
                cause,
            }));
        }
        self.update_quorum(v, false);
    }

    /// keepalived's perform_svr_state: a real server goes up or down;
    /// notify, then re-evaluate the quorum.
    fn set_alive(&mut self, v: usize, r: usize, alive: bool, cause: Cause, notify: bool) {
        let rs = &mut self.vss[v].rss[r];
        if rs.alive == alive {
            return;
        }
        rs.alive = alive;
        let (addr, weight, inhibit) = (rs.addr, real_weight(rs.effective), rs.inhibit);
        let vs = self.vss[v].id.clone();
        self.trace(
            Component::RealServer(addr),
            EventKind::RealServer {
                vs: vs.clone(),
                alive,
                weight,
                cause,
            },
        );
        self.out.push(Output::Verdict(RsVerdict {
            vs,
            rs: addr,
            alive,
            weight,
            inhibit,
            cause,
        }));
        if notify {
            self.rs_notify(v, r, false);
        }
        self.update_quorum(v, false);
    }

    /// keepalived's do_rs_notifies: the script for the server's state.
    fn rs_notify(&mut self, v: usize, r: usize, stopping: bool) {
        let (vs, rs) = (&self.vss[v], &self.vss[v].rss[r]);
        let (cmd, event) = if rs.alive {
            (
                &rs.notify_up,
                NotifyEvent::RealServerUp {
                    vs: vs.id.clone(),
                    rs: rs.addr,
                },
            )
        } else {
            (
                &rs.notify_down,
                NotifyEvent::RealServerDown {
                    vs: vs.id.clone(),
                    rs: rs.addr,
                },
            )
        };
        if let Some(command) = cmd {
            self.out.push(Output::Notify(Notify {
                command: command.clone(),
                event,
                stopping,
            }));
        }
    }

    /// keepalived's do_vs_notifies (the script part).
    fn vs_notify(&mut self, v: usize, stopping: bool) {
        let vs = &self.vss[v];
        if stopping && !vs.omega {
            return;
        }
        let (cmd, event) = if vs.quorum_up {
            (
                &vs.quorum_up_cmd,
                NotifyEvent::QuorumUp { vs: vs.id.clone() },
            )
        } else {
            (
                &vs.quorum_down_cmd,
                NotifyEvent::QuorumDown { vs: vs.id.clone() },
            )
        };
        if let Some(command) = cmd {
            self.out.push(Output::Notify(Notify {
                command: command.clone(),
                event,
                stopping,
            }));
        }
    }

    /// keepalived's update_quorum_state: hysteresis around `quorum`,
    /// sorry server swap, quorum scripts.
    fn update_quorum(&mut self, v: usize, init: bool) {
        let vs = &self.vss[v];
        let weight = live_weight(vs);
        let threshold = vs.quorum.threshold(vs.quorum_up);
        let gained = !vs.quorum_up && weight >= threshold;
        let lost = (vs.quorum_up && (weight == 0 || weight < threshold))
            || (init && !vs.quorum_up && vs.sorry.is_some() && !vs.sorry_in);
        if !gained && !lost {
            return;
        }
        let id = vs.id.clone();
        let up = gained;
        self.vss[v].quorum_up = up;
        self.trace(
            Component::VirtualServer(id.clone()),
            EventKind::Quorum {
                up,
                weight: weight as u64,
                threshold,
                init,
            },
        );
        let vs = &mut self.vss[v];
        let mut swapped = None;
        if let Some(addr) = vs.sorry
            && vs.sorry_in == up
        {
            vs.sorry_in = !up;
            swapped = Some(addr);
        }
        if let Some(addr) = swapped {
            self.trace(
                Component::VirtualServer(id.clone()),
                EventKind::SorryServer { active: !up, addr },
            );
        }
        self.out.push(Output::Quorum(QuorumChange {
            vs: id,
            up,
            sorry_server: swapped,
        }));
        self.vs_notify(v, false);
    }

    fn mastership(&mut self, master: bool) {
        self.master = master;
        if self.phase != Phase::Running {
            return;
        }
        for c in 0..self.checks.len() {
            if self.checks[c].key.ha_suspend && self.checks[c].sched.set_enabled(master) {
                let label = self.checks[c].label.clone();
                self.trace(
                    Component::Checker(label),
                    EventKind::Suspended { suspended: !master },
                );
            }
        }
    }

    fn shutdown(&mut self) {
        if self.phase == Phase::Stopped {
            return;
        }
        let was_running = self.phase == Phase::Running;
        self.phase = Phase::Stopped;
        self.timers.clear();
        self.probes.clear();
        for c in &mut self.checks {
            c.sched.stop();
            c.in_flight = None;
        }
        if was_running {
            // keepalived's clear_services: with the default (no flush),
            // each server in the pool is removed and, with omega,
            // notified; then every virtual server says quorum down.
            for v in 0..self.vss.len() {
                if self.flush_on_stop == LvsFlushOnStop::No {
                    let vs = &self.vss[v];
                    let in_pool = vs.quorum_up || !vs.sorry_in;
                    for r in 0..self.vss[v].rss.len() {
                        if in_pool && self.vss[v].rss[r].alive {
                            self.vss[v].rss[r].alive = false;
                            if self.vss[v].omega {
                                self.rs_notify(v, r, true);
                            }
                        }
                    }
                }
                self.vss[v].quorum_up = false;
                self.vs_notify(v, true);
            }
        }
        self.trace(Component::Engine, EventKind::Stopped);
    }

    fn reload(&mut self, now: Instant, config: &Config) {
        if self.phase == Phase::Stopped {
            return;
        }
        self.flush_on_stop = config.global.lvs_flush_on_stop;
        let (mut checks, mut vss) = build(config, self.opts.ext, &self.file_values);
        let old_checks = std::mem::take(&mut self.checks);
        let old_vss = std::mem::take(&mut self.vss);

        // Checkers: matched by what they check and where, whatever their
        // timing (keepalived's compare functions).
        let mut by_identity: HashMap<(&CheckerKind, &Option<ConnectOpts>, bool), usize> =
            HashMap::new();
        for (i, c) in old_checks.iter().enumerate() {
            by_identity
                .entry((&c.key.kind, &c.key.conn, c.key.ha_suspend))
                .or_insert(i);
        }
        let mut used = vec![false; old_checks.len()];
        let mut kept = 0;
        for c in &mut checks {
            if let Some(&o) = by_identity.get(&(&c.key.kind, &c.key.conn, c.key.ha_suspend)) {
                c.sched.migrate_from(&old_checks[o].sched);
                c.last_failure = old_checks[o].last_failure;
                used[o] = true;
                kept += 1;
            }
        }
        let added = checks.len() - kept;
        let removed = used.iter().filter(|u| !**u).count();

        // Servers: carried over by identity; their failed-checker counts
        // follow the (migrated) checkers and the FILE_CHECKs, which take
        // their state from the files again.
        let mut old_alive: Vec<Vec<Option<(bool, i64, u32)>>> = Vec::with_capacity(vss.len());
        for vs in &mut vss {
            let old_vs = old_vss.iter().find(|o| o.id == vs.id);
            let mut row = Vec::with_capacity(vs.rss.len());
            if let Some(o) = old_vs {
                vs.quorum_up = o.quorum_up;
                vs.sorry_in = o.sorry_in && o.sorry == vs.sorry;
            }
            for rs in &mut vs.rss {
                for f in &mut rs.files {
                    f.init(self.file_values.get(&*f.file).copied().unwrap_or(0), true);
                }
                let (sched_failed, file_failed) = failed_of(&checks, rs);
                rs.num_failed = sched_failed + file_failed;
                let old_rs = old_vs.and_then(|o| o.rss.iter().find(|r| r.addr == rs.addr));
                match old_rs {
                    Some(o) => {
                        rs.alive = o.alive;
                        row.push(Some((o.alive, o.effective, sched_failed)));
                    }
                    None => {
                        rs.alive = rs.num_failed == 0;
                        row.push(None);
                    }
                }
            }
            old_alive.push(row);
        }
        self.checks = checks;
        self.vss = vss;
        for (v, row) in old_alive.iter().enumerate() {
            for (r, old) in row.iter().enumerate() {
                let eff = self.effective_weight(v, r);
                self.vss[v].rss[r].effective = eff;
                let Some((was_alive, old_eff, sched_failed)) = *old else {
                    continue;
                };
                let rs = &self.vss[v].rss[r];
                if rs.num_failed == 0 && !rs.alive {
                    self.set_alive(v, r, true, Cause::Reload, true);
                } else if rs.num_failed > 0 && rs.alive {
                    // keepalived only pulls it from the pool, no script,
                    // for a failed checker it carried over; a FILE_CHECK
                    // failing alone takes it down through
                    // perform_svr_state, which runs the script
                    // (check_file.c set_track_file_checkers_down).
                    let notify = sched_failed == 0;
                    self.set_alive(v, r, false, Cause::Reload, notify);
                } else if was_alive && real_weight(old_eff) != real_weight(eff) {
                    let (addr, inhibit) = (rs.addr, rs.inhibit);
                    self.out.push(Output::Verdict(RsVerdict {
                        vs: self.vss[v].id.clone(),
                        rs: addr,
                        alive: true,
                        weight: real_weight(eff),
                        inhibit,
                        cause: Cause::Reload,
                    }));
                }
            }
        }
        // Servers and virtual servers that are gone: keepalived runs
        // their down scripts.
        for o in &old_vss {
            let new_vs = self.vss.iter().find(|v| v.id == o.id);
            let in_pool = o.quorum_up || !o.sorry_in;
            for rs in &o.rss {
                let gone = new_vs.is_none_or(|v| v.rss.iter().all(|r| r.addr != rs.addr));
                if gone
                    && rs.alive
                    && in_pool
                    && let Some(command) = &rs.notify_down
                {
                    self.out.push(Output::Notify(Notify {
                        command: command.clone(),
                        event: NotifyEvent::RealServerDown {
                            vs: o.id.clone(),
                            rs: rs.addr,
                        },
                        stopping: false,
                    }));
                }
            }
            if new_vs.is_none()
                && o.quorum_up
                && let Some(command) = &o.quorum_down_cmd
            {
                self.out.push(Output::Notify(Notify {
                    command: command.clone(),
                    event: NotifyEvent::QuorumDown { vs: o.id.clone() },
                    stopping: false,
                }));
            }
        }
        self.trace(
            Component::Engine,
            EventKind::Reloaded {
                kept,
                added,
                removed,
            },
        );
        if self.phase == Phase::Running {
            self.arm_all(now);
            for v in 0..self.vss.len() {
                self.update_quorum(v, true);
            }
        }
    }
}
