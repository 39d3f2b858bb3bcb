//! The VRRP half of a director: every `vrrp_instance` behind one
//! [`Router`], the links and trackers that move them, the notify scripts
//! they run, reload as keepalived 2.2.7 applies it, and the director's
//! mastership.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Options;
use super::fifo;
use super::host::{self, Host};
use super::io::{Input, Output, Run};
use crate::config::Config;
use crate::packet::ip;
use crate::time::Instant;
use crate::trace;
use crate::vrrp::{
    self, Instance, InstanceConfig, NotifyState, Router, RouterEvent as Event, State, TrackerId,
};

/// What the last reload did with the instances.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReloadSummary {
    /// Instances that carried on, state and all (changed in place or not).
    pub kept: usize,
    /// Instances started anew (new, or a change keepalived restarts for).
    pub started: usize,
    /// Instances stopped (removed, or replaced by a restart).
    pub stopped: usize,
}

/// The VRRP half of a director.
#[derive(Clone, Debug)]
pub struct Vrrp {
    last_reload: ReloadSummary,
    config: Arc<Config>,
    opts: Options,
    router: Router,
    /// Link state of every interface heard of (absent: up).
    links: BTreeMap<String, bool>,
    /// Last state of every script or file tracker reported.
    trackers: BTreeMap<TrackerId, bool>,
    /// Tracked files' values, for instances started later.
    values: BTreeMap<TrackerId, i64>,
    started: bool,
    stopping_keeps_vips: bool,
    master: bool,
    out: Vec<Output>,
}

impl Vrrp {
    /// The VRRP half for `config` on `host`, not yet started; or why an
    /// instance cannot run there.
    pub fn new(config: Arc<Config>, host: &Host, opts: Options) -> Result<Vrrp, String> {
        let cfgs = host::resolve(&config, host, &opts)?;
        let links = host
            .interfaces
            .iter()
            .map(|(n, i)| (n.clone(), i.up))
            .collect();
        Ok(Vrrp {
            last_reload: ReloadSummary::default(),
            router: router(&config, cfgs.into_iter().map(Instance::new).collect()),
            config,
            opts,
            links,
            trackers: BTreeMap::new(),
            values: BTreeMap::new(),
            started: false,
            stopping_keeps_vips: false,
            master: false,
            out: Vec::new(),
        })
    }

    /// The configuration it runs.
    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// The instances, in configuration order.
    pub fn instances(&self) -> &[Instance] {
        self.router.instances()
    }

    /// The router (its unrouted counters).
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// What the last reload did with the instances.
    pub fn last_reload(&self) -> ReloadSummary {
        self.last_reload
    }

    /// Zeroes the instances' counters (after a statistics dump that asked
    /// for it).
    pub fn clear_stats(&mut self) {
        self.router.clear_stats();
    }

    /// Whether some instance is master.
    pub fn is_master(&self) -> bool {
        self.master
    }

    /// When to be called with [`Input::Timer`] next.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.router.next_deadline()
    }

    /// Processes `input` at `now`; the outputs, in the order to act on them.
    /// Inputs of the load-balancing half are ignored.
    pub fn handle(&mut self, now: Instant, input: Input<'_>) -> std::vec::Drain<'_, Output> {
        match input {
            Input::Start => self.start(now),
            Input::Timer => {
                let outs: Vec<_> = self
                    .router
                    .handle(now, Event::All(vrrp::Input::Timer))
                    .collect();
                self.act(outs);
            }
            Input::Datagram { iface, bytes } => {
                let datagram = Event::Datagram {
                    interface: iface,
                    bytes,
                };
                let outs: Vec<_> = self.router.handle(now, datagram).collect();
                self.act(outs);
            }
            Input::Message {
                iface,
                meta,
                message,
            } => {
                let datagram = Event::Message {
                    interface: iface,
                    datagram: ip::Datagram {
                        meta,
                        payload: message,
                        auth: None,
                    },
                };
                let outs: Vec<_> = self.router.handle(now, datagram).collect();
                self.act(outs);
            }
            Input::Link { iface, up } => self.link(now, iface, up),
            Input::AddressRemoved { dev, addr } => {
                let removed = vrrp::Input::AddressRemoved { addr, dev };
                let outs: Vec<_> = self.router.handle(now, Event::All(removed)).collect();
                self.act(outs);
            }
            Input::Tracker { id, up } => {
                self.trackers.insert(id.clone(), up);
                let outs: Vec<_> = self
                    .router
                    .handle(now, Event::All(vrrp::Input::Track { id, up }))
                    .collect();
                self.act(outs);
            }
            Input::TrackerValue { id, value } => {
                self.values.insert(id.clone(), value);
                let outs: Vec<_> = self
                    .router
                    .handle(now, Event::All(vrrp::Input::TrackValue { id, value }))
                    .collect();
                self.act(outs);
            }
            Input::Reload { config, host } => {
                if let Err(why) = self.reload(now, config, host) {
                    self.out.push(Output::ReloadRefused(why));
                }
            }
            Input::Shutdown { keep_vips, .. } => {
                self.stopping_keeps_vips = keep_vips;
                let outs: Vec<_> = self
                    .router
                    .handle(now, Event::All(vrrp::Input::Shutdown))
                    .collect();
                self.act(outs);
                self.started = false;
            }
            Input::Mastership(_)
            | Input::ProbeDone { .. }
            | Input::IpvsDumped(_)
            | Input::IpvsApplied { .. } => {}
        }
        self.mastership();
        self.out.drain(..)
    }

    fn start(&mut self, now: Instant) {
        if self.started {
            return;
        }
        self.started = true;
        for i in 0..self.router.instances().len() {
            self.prime(now, i);
        }
        let outs: Vec<_> = self
            .router
            .handle(now, Event::All(vrrp::Input::Start))
            .collect();
        self.act(outs);
    }

    /// Tells instance `i` (not started) the links and trackers known now.
    fn prime(&mut self, now: Instant, i: usize) {
        let cfg = self.router.instances()[i].config().clone();
        let mut outs = Vec::new();
        for t in &cfg.trackers {
            if let Some(&value) = self.values.get(&t.id) {
                let input = vrrp::Input::TrackValue { id: &t.id, value };
                outs.extend(self.router.handle(now, Event::One(i, input)));
                continue;
            }
            let up = match &t.id {
                TrackerId::Interface(n) => self.links.get(n).copied(),
                other => self.trackers.get(other).copied(),
            };
            if let Some(up) = up {
                outs.extend(
                    self.router
                        .handle(now, Event::One(i, vrrp::Input::Track { id: &t.id, up })),
                );
            }
        }
        if !self.primary_up(&cfg) {
            let down = Event::One(i, vrrp::Input::Link { up: false });
            outs.extend(self.router.handle(now, down));
        }
        self.act(outs);
    }

    /// Whether `cfg`'s own interface counts as up: it is, or the instance
    /// does not track it (`dont_track_primary`).
    fn primary_up(&self, cfg: &InstanceConfig) -> bool {
        self.links.get(&cfg.interface).copied().unwrap_or(true) || self.dont_track_primary(cfg)
    }

    fn dont_track_primary(&self, cfg: &InstanceConfig) -> bool {
        self.config
            .vrrp_instance(&cfg.name)
            .is_some_and(|c| c.dont_track_primary)
    }

    /// keepalived's link handling: `track_interface` entries follow the
    /// link; an instance's own interface puts it in FAULT while down,
    /// unless `dont_track_primary`.
    fn link(&mut self, now: Instant, iface: &str, up: bool) {
        if self.links.get(iface) == Some(&up) {
            return;
        }
        self.links.insert(iface.to_string(), up);
        let id = TrackerId::Interface(iface.to_string());
        let mut outs: Vec<_> = self
            .router
            .handle(now, Event::All(vrrp::Input::Track { id: &id, up }))
            .collect();
        for i in 0..self.router.instances().len() {
            let c = self.router.instances()[i].config();
            if c.interface == iface && !self.dont_track_primary(c) {
                let link = Event::One(i, vrrp::Input::Link { up });
                outs.extend(self.router.handle(now, link));
            }
        }
        self.act(outs);
    }

    /// keepalived 2.2.7's reload (`clear_diff_vrrp`): an old instance whose
    /// router is still configured (same VRID, family, interface, and for
    /// unicast the same source) keeps its state and takes its new settings
    /// in place ([`Instance::reconfigure`]); one that is gone stops (a
    /// master sends priority 0); a new one starts. Nothing changes for an
    /// unchanged config.
    fn reload(&mut self, now: Instant, config: Arc<Config>, host: &Host) -> Result<(), String> {
        let cfgs = host::resolve(&config, host, &self.opts)?;
        for (n, i) in &host.interfaces {
            self.links.entry(n.clone()).or_insert(i.up);
        }
        let mut old: Vec<Option<Instance>> = std::mem::take(&mut self.router)
            .into_instances()
            .into_iter()
            .map(Some)
            .collect();
        let mut taken = vec![false; old.len()];
        let matched: Vec<Option<usize>> = cfgs
            .iter()
            .map(|c| {
                let m = (0..old.len()).find(|&j| {
                    !taken[j] && old[j].as_ref().is_some_and(|o| same_router(o.config(), c))
                });
                if let Some(j) = m {
                    taken[j] = true;
                }
                m
            })
            .collect();
        // Gone: stopped, with the old config's scripts.
        let mut gone = Vec::new();
        for (j, o) in old.iter_mut().enumerate() {
            if !taken[j]
                && let Some(mut inst) = o.take()
            {
                let cfg = inst.config().clone();
                let was_fault = inst.state() == State::Fault;
                gone.extend(
                    inst.handle(now, vrrp::Input::Shutdown)
                        .map(|x| (x, cfg.clone(), was_fault))
                        .collect::<Vec<_>>(),
                );
            }
        }
        for (out, cfg, was_fault) in gone {
            match out {
                // keepalived's clear_diff_vrrp notifies a deleted instance
                // as DELETED, sent as FAULT (send_instance_notifies): the
                // generic `notify` only, not a stopping script, and
                // nothing for an instance already in FAULT.
                vrrp::Output::Notify(n) => {
                    if !was_fault {
                        self.out.extend(deleted_runs(&self.config, &n));
                        let line = fifo::line("INSTANCE", &n.instance, "FAULT", n.priority);
                        self.out.extend(fifo::vrrp_lines(&self.config, &line));
                    }
                }
                out => self.act_one(&cfg, out),
            }
        }
        self.config = config;
        let mut instances = Vec::new();
        let mut fresh = Vec::new();
        let mut outs = Vec::new();
        for (n, (c, m)) in cfgs.into_iter().zip(matched).enumerate() {
            match m.and_then(|j| old[j].take()) {
                Some(mut inst) => {
                    let changed = *inst.config() != c;
                    if changed {
                        outs.extend(inst.reconfigure(now, c).map(|o| (n, o)));
                    }
                    instances.push(inst);
                }
                None => {
                    fresh.push(n);
                    instances.push(Instance::new(c));
                }
            }
        }
        self.last_reload = ReloadSummary {
            kept: instances.len() - fresh.len(),
            started: fresh.len(),
            stopped: taken.iter().filter(|t| !**t).count(),
        };
        self.router = router(&self.config, instances);
        self.act(outs);
        if self.started {
            for n in fresh {
                self.prime(now, n);
                let outs: Vec<_> = self
                    .router
                    .handle(now, Event::One(n, vrrp::Input::Start))
                    .collect();
                self.act(outs);
            }
        }
        Ok(())
    }

    /// Carries out an instance's outputs (tagged with its index).
    fn act(&mut self, outs: Vec<(usize, vrrp::Output)>) {
        for (i, o) in outs {
            let cfg = self.router.instances()[i].config().clone();
            self.act_one(&cfg, o);
        }
    }

    fn act_one(&mut self, cfg: &InstanceConfig, o: vrrp::Output) {
        match o {
            // keepalived --dont-release-vrrp: no priority-0 advert on stop
            // (vrrp_terminate_phase1 skips restore_vrrp_interfaces).
            vrrp::Output::Send(_) if self.stopping_keeps_vips => {}
            vrrp::Output::Send(t) => self.out.push(Output::Send {
                iface: t.interface,
                src: t.src,
                dst: t.dst,
                message: t.message,
                datagram: t.datagram,
            }),
            vrrp::Output::AddVip(v) => self.out.push(Output::AddVip {
                dev: v.dev.clone().unwrap_or_else(|| cfg.interface.clone()),
                vip: v,
            }),
            vrrp::Output::DelVip(v) => {
                if !self.stopping_keeps_vips {
                    self.out.push(Output::DelVip {
                        dev: v.dev.clone().unwrap_or_else(|| cfg.interface.clone()),
                        vip: v,
                    });
                }
            }
            vrrp::Output::Announce { addr, interface } => self.out.push(Output::Announce {
                dev: interface,
                addr,
            }),
            vrrp::Output::Notify(n) => {
                for run in notify_runs(&self.config, &n) {
                    self.out.push(Output::Notify(run));
                }
                let line = fifo::line(
                    "INSTANCE",
                    &n.instance,
                    n.state.keepalived_name(),
                    n.priority,
                );
                self.out.extend(fifo::vrrp_lines(&self.config, &line));
            }
            vrrp::Output::GroupNotify { group, state } => {
                for run in group_notify_runs(&self.config, &group, state) {
                    self.out.push(Output::Notify(run));
                }
                let line = fifo::line("GROUP", &group, state.keepalived_name(), 0);
                self.out.extend(fifo::vrrp_lines(&self.config, &line));
            }
            vrrp::Output::Trace(e) => {
                if let trace::Event::Vrrp(vrrp::Event {
                    instance,
                    kind: vrrp::EventKind::Priority { to, .. },
                }) = &e
                    && fifo::priority_changes(&self.config, instance)
                    && let Some(state) = self
                        .router
                        .instances()
                        .iter()
                        .find(|i| i.config().name == *instance)
                        .map(|i| fifo::priority_state(i.state()))
                {
                    let line = fifo::line("INSTANCE", instance, state, *to);
                    self.out.extend(fifo::vrrp_lines(&self.config, &line));
                }
                self.out.push(Output::Trace(e));
            }
        }
    }

    fn mastership(&mut self) {
        let m = self
            .router
            .instances()
            .iter()
            .any(|i| i.state() == State::Master);
        if m != self.master {
            self.master = m;
            self.out.push(Output::Mastership(m));
        }
    }

    /// A trace event the half records itself.
    pub fn trace(&mut self, e: trace::Event) {
        self.out.push(Output::Trace(e));
    }
}

/// A router running `instances` with `config`'s sync groups.
fn router(config: &Config, instances: Vec<Instance>) -> Router {
    let groups = config
        .sync_groups
        .iter()
        .map(|g| {
            let members = g
                .instances
                .iter()
                .filter_map(|n| instances.iter().position(|i| i.name() == n))
                .collect();
            (g.name.clone(), members)
        })
        .collect();
    Router::with_groups(instances, groups)
}

/// The scripts a `vrrp_sync_group` runs on entering `state`, as
/// keepalived's send_group_notifies runs them: the state's own script with
/// its configured arguments, then `notify` with `GROUP NAME STATE 0`.
pub fn group_notify_runs(cfg: &Config, group: &str, state: NotifyState) -> Vec<Run> {
    let Some(g) = cfg.sync_groups.iter().find(|g| g.name == group) else {
        return Vec::new();
    };
    let what = format!("group/{group} state={}", state.keepalived_name());
    let generic = generic_args("GROUP", group, state, 0);
    state_runs(&g.notify, state, what, Some(generic))
}

/// Whether two instance configs are the same router for a reload
/// (keepalived's `vrrp_exist`): VRID, family and interface, both unicast
/// or both multicast, and for unicast the same source address.
pub fn same_router(a: &InstanceConfig, b: &InstanceConfig) -> bool {
    a.vrid == b.vrid
        && a.family() == b.family()
        && a.interface == b.interface
        && a.is_unicast() == b.is_unicast()
        && (!a.is_unicast() || a.src == b.src)
}

/// The scripts an instance removed by a reload runs: the generic
/// `notify` with `INSTANCE NAME FAULT PRIORITY` (keepalived's default for
/// a deleted instance).
fn deleted_runs(cfg: &Config, n: &vrrp::Notify) -> Vec<Output> {
    let Some(c) = cfg
        .vrrp_instance(&n.instance)
        .and_then(|i| i.notify.any.as_ref())
    else {
        return Vec::new();
    };
    vec![Output::Notify(Run {
        command: c.clone(),
        args: generic_args("INSTANCE", &n.instance, NotifyState::Fault, n.priority),
        what: format!("vrrp/{} state=FAULT", n.instance),
        stopping: false,
    })]
}

/// The scripts a VRRP notification runs, as keepalived's
/// `notify_instance_exec` runs them: the state's own script
/// (`notify_master`, `notify_backup`, `notify_fault`, `notify_stop`) with
/// its configured arguments, then `notify` with `INSTANCE NAME STATE
/// PRIORITY` appended.
pub fn notify_runs(cfg: &Config, n: &vrrp::Notify) -> Vec<Run> {
    let Some(inst) = cfg.vrrp_instance(&n.instance) else {
        return Vec::new();
    };
    let what = format!("vrrp/{} state={}", n.instance, n.state.keepalived_name());
    let generic = (n.state != NotifyState::MasterRxLowerPri)
        .then(|| generic_args("INSTANCE", &n.instance, n.state, n.priority));
    state_runs(&inst.notify, n.state, what, generic)
}

/// The scripts of `nt` for entering `state`, each run named `what`: the
/// state's own script with its configured arguments, then `notify` with
/// `generic` appended (not run without them).
fn state_runs(
    nt: &crate::config::Notify,
    state: NotifyState,
    what: String,
    generic: Option<Vec<String>>,
) -> Vec<Run> {
    let own = match state {
        NotifyState::Master => nt.master.as_ref(),
        NotifyState::Backup => nt.backup.as_ref(),
        NotifyState::Fault => nt.fault.as_ref(),
        NotifyState::Stop => nt.stop.as_ref(),
        NotifyState::MasterRxLowerPri => None,
    };
    let stopping = state == NotifyState::Stop;
    let mut out = Vec::new();
    if let Some(c) = own {
        out.push(Run {
            command: c.clone(),
            args: Vec::new(),
            what: what.clone(),
            stopping,
        });
    }
    if let (Some(c), Some(args)) = (&nt.any, generic) {
        out.push(Run {
            command: c.clone(),
            args,
            what,
            stopping,
        });
    }
    out
}

/// What keepalived appends for the generic `notify` script: `KIND NAME
/// STATE PRIORITY` (`INSTANCE` or `GROUP`; a group's priority is 0).
fn generic_args(kind: &str, name: &str, state: NotifyState, priority: u8) -> Vec<String> {
    vec![
        kind.to_string(),
        name.to_string(),
        state.keepalived_name().to_string(),
        priority.to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_runs_specific_then_generic_with_four_arguments() {
        let text = "vrrp_instance apache {\n interface eth0\n virtual_router_id 51\n \
                    notify_master \"/bin/echo m 'a b'\"\n notify /bin/n.sh\n \
                    virtual_ipaddress { 192.0.2.160 }\n}\n";
        let p = crate::config::parse_str("t.conf", text);
        let cfg = p.config.unwrap_or_else(|| panic!("{:?}", p.diagnostics));
        let n = vrrp::Notify {
            instance: "apache".into(),
            state: NotifyState::Master,
            priority: 100,
        };
        let runs = notify_runs(&cfg, &n);
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].command.args, vec!["/bin/echo", "m", "a b"]);
        assert!(runs[0].args.is_empty());
        assert_eq!(runs[1].command.args, vec!["/bin/n.sh"]);
        assert_eq!(runs[1].args, vec!["INSTANCE", "apache", "MASTER", "100"]);
        assert_eq!(runs[1].what, "vrrp/apache state=MASTER");
        let b = vrrp::Notify {
            state: NotifyState::Backup,
            ..n
        };
        assert_eq!(notify_runs(&cfg, &b).len(), 1);
    }
}
