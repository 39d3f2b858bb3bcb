//! The VRRP side of vigild: core's [`Router`] on raw sockets, VIPs through
//! rtnetlink, announcements on AF_PACKET, link and script trackers,
//! notify scripts. Runs on its own thread and runtime, so that checks
//! never delay an advert.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use futures::StreamExt;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use vigil_core::config::Config;
use vigil_core::packet::{Family, ip};
use vigil_core::vrrp::{self, Input, Instance, InstanceConfig, Output, Router, State};

use crate::announce::{self, Announcer};
use crate::clock::Clock;
use crate::log;
use crate::netlink::{Link, Net, VIGIL_ADDR_PROTO};
use crate::notify::Notifier;
use crate::reload::{self, Slot};
use crate::script::Policy;
use crate::track::{TrackChange, Trackers};
use crate::vrrp_socket::{Received, VrrpSocket};

/// What the daemon tells the VRRP side.
#[derive(Debug)]
pub enum Command {
    /// Apply a new configuration; the answer says whether it was applied
    /// (an error leaves the old one running).
    Reload(Arc<Config>, oneshot::Sender<Result<(), String>>),
    /// Stop: priority-0 adverts, VIPs removed, notify_stop; answered when
    /// done.
    Shutdown {
        /// Leave the VIPs in place (`--dont-release-vrrp`).
        keep_vips: bool,
        /// Answered when everything is done.
        done: oneshot::Sender<()>,
    },
}

/// The interfaces and addresses an instance set needs, resolved.
struct Resolved {
    configs: Vec<InstanceConfig>,
    links: HashMap<String, Link>,
}

type SocketKey = (String, Family);

/// The VRRP side's state.
pub struct Vrrp {
    cfg: Arc<Config>,
    policy: Policy,
    router: Router,
    net: Net,
    links: HashMap<String, Link>,
    sockets: HashMap<SocketKey, (Arc<VrrpSocket>, JoinHandle<()>)>,
    pkt_tx: mpsc::UnboundedSender<(String, Received)>,
    announcer: Announcer,
    notifier: Notifier,
    trackers: Trackers,
    clock: Clock,
    master_tx: watch::Sender<bool>,
    keep_vips_on_stop: bool,
}

/// Starts the VRRP side on the current runtime: resolves interfaces,
/// removes VIPs an earlier crash left, opens sockets, starts instances.
/// Returns when it is running (or why it cannot run); then
/// [`Vrrp::run`] drives it.
pub async fn setup(
    cfg: Arc<Config>,
    clock: Clock,
    master_tx: watch::Sender<bool>,
) -> Result<(Vrrp, Channels), String> {
    let net = Net::connect().map_err(|e| format!("rtnetlink: {e}"))?;
    let resolved = resolve(&net, &cfg).await?;
    cleanup_stale_vips(&net, &cfg, &resolved).await;
    let announcer = Announcer::open().map_err(|e| format!("AF_PACKET socket: {e}"))?;
    let (pkt_tx, pkt_rx) = mpsc::unbounded_channel();
    let (track_tx, track_rx) = mpsc::unbounded_channel();
    let links_rx =
        crate::netlink::monitor_links().map_err(|e| format!("rtnetlink monitor: {e}"))?;
    let policy = Policy::of(&cfg);
    let mut v = Vrrp {
        policy: policy.clone(),
        router: Router::default(),
        net,
        links: resolved.links.clone(),
        sockets: HashMap::new(),
        pkt_tx,
        announcer,
        notifier: Notifier::spawn(),
        trackers: Trackers::new(track_tx),
        clock,
        master_tx,
        keep_vips_on_stop: false,
        cfg: cfg.clone(),
    };
    v.open_sockets(&resolved.configs)?;
    v.trackers.apply(&cfg, &policy);
    let instances: Vec<Instance> = resolved.configs.into_iter().map(Instance::new).collect();
    v.router = Router::new(instances);
    let now = v.clock.now();
    for i in 0..v.router.instances().len() {
        v.prime(i, now);
    }
    let outs: Vec<_> = v.router.start(now).collect();
    v.act(outs).await;
    Ok((
        v,
        Channels {
            pkt_rx,
            track_rx,
            links_rx,
        },
    ))
}

/// The event sources of the VRRP loop.
pub struct Channels {
    pkt_rx: mpsc::UnboundedReceiver<(String, Received)>,
    track_rx: mpsc::UnboundedReceiver<TrackChange>,
    links_rx: futures::channel::mpsc::UnboundedReceiver<Link>,
}

/// Resolves every instance's interface and primary address.
async fn resolve(net: &Net, cfg: &Config) -> Result<Resolved, String> {
    let mut links = HashMap::new();
    let mut configs = Vec::new();
    for inst in &cfg.vrrp_instances {
        let ifname = inst
            .interface
            .clone()
            .or_else(|| cfg.global.default_interface.clone())
            .unwrap_or_else(|| vrrp::DEFAULT_INTERFACE.to_string());
        let mut devs = vec![ifname.clone()];
        devs.extend(inst.virtual_ipaddress.iter().filter_map(|v| v.dev.clone()));
        devs.extend(
            inst.virtual_ipaddress_excluded
                .iter()
                .filter_map(|v| v.dev.clone()),
        );
        devs.extend(inst.track_interfaces.iter().map(|t| t.name.clone()));
        for d in devs {
            if links.contains_key(&d) {
                continue;
            }
            match net.link(&d).await? {
                Some(l) => {
                    links.insert(d, l);
                }
                None => {
                    return Err(format!(
                        "vrrp_instance {} ({}): interface {d} does not exist",
                        inst.name, inst.span
                    ));
                }
            }
        }
        let link = &links[&ifname];
        let ipv6 = inst.family == vigil_core::config::Family::V6;
        let vips: Vec<IpAddr> = inst.virtual_ipaddress.iter().map(|v| v.addr).collect();
        let primary = match net.primary(link.index, ipv6, &vips).await? {
            Some(a) => a,
            None => {
                return Err(format!(
                    "vrrp_instance {}: interface {ifname} has no {} address to send adverts from",
                    inst.name,
                    if ipv6 { "IPv6 link-local" } else { "IPv4" }
                ));
            }
        };
        if inst.use_vmac.is_some() {
            tracing::warn!(
                "vrrp_instance {}: use_vmac is not supported by vigild; running on {ifname} itself",
                inst.name
            );
        }
        configs.push(InstanceConfig::from_config(cfg, inst, primary));
    }
    Ok(Resolved { configs, links })
}

/// Removes VIPs left on our interfaces by an earlier vigild that did not
/// stop cleanly: addresses tagged with [`VIGIL_ADDR_PROTO`], and
/// configured VIPs of non-owner instances that are present.
async fn cleanup_stale_vips(net: &Net, cfg: &Config, r: &Resolved) {
    let mut configured: BTreeSet<(String, IpAddr)> = BTreeSet::new();
    for (inst, ic) in cfg.vrrp_instances.iter().zip(&r.configs) {
        if ic.is_owner() {
            continue;
        }
        for v in ic.vips.iter().chain(&ic.excluded_vips) {
            let dev = v.dev.clone().unwrap_or_else(|| ic.interface.clone());
            configured.insert((dev, v.addr));
        }
        let _ = inst;
    }
    for link in r.links.values() {
        let Ok(addrs) = net.addresses(link.index).await else {
            continue;
        };
        for a in addrs {
            let ours = a.proto == Some(VIGIL_ADDR_PROTO);
            if ours || configured.contains(&(link.name.clone(), a.addr)) {
                match net.del_addr(link.index, a.addr).await {
                    Ok(true) => tracing::info!(
                        "vip-cleanup addr={}/{} dev={} reason={}",
                        a.addr,
                        a.prefix_len,
                        link.name,
                        if ours {
                            "left-by-earlier-vigild"
                        } else {
                            "configured-vip-present-at-start"
                        }
                    ),
                    Ok(false) => {}
                    Err(e) => tracing::warn!(
                        "vip-cleanup addr={} dev={} error=\"{e}\"",
                        a.addr,
                        link.name
                    ),
                }
            }
        }
    }
}

impl Vrrp {
    fn open_sockets(&mut self, configs: &[InstanceConfig]) -> Result<(), String> {
        let wanted: BTreeSet<SocketKey> = configs
            .iter()
            .map(|c| (c.interface.clone(), c.family()))
            .collect();
        self.sockets.retain(|k, (_, task)| {
            let keep = wanted.contains(k);
            if !keep {
                task.abort();
            }
            keep
        });
        for key in wanted {
            if self.sockets.contains_key(&key) {
                continue;
            }
            let link = self
                .links
                .get(&key.0)
                .ok_or_else(|| format!("interface {} unknown", key.0))?;
            let group = match key.1 {
                Family::V4 => IpAddr::V4(self.cfg.global.vrrp_mcast_group4),
                Family::V6 => IpAddr::V6(self.cfg.global.vrrp_mcast_group6),
            };
            let sock = Arc::new(
                VrrpSocket::open(&key.0, link.index, group)
                    .map_err(|e| format!("VRRP socket on {} ({}): {e}", key.0, key.1))?,
            );
            let (s2, tx, name) = (sock.clone(), self.pkt_tx.clone(), key.0.clone());
            let task = tokio::spawn(async move {
                loop {
                    match s2.recv().await {
                        Ok(r) => {
                            if tx.send((name.clone(), r)).is_err() {
                                return;
                            }
                        }
                        Err(e) => {
                            tracing::warn!("vrrp receive on {name}: {e}");
                            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        }
                    }
                }
            });
            self.sockets.insert(key, (sock, task));
        }
        Ok(())
    }

    /// Tells instance `i` (not yet started) the link and tracker states
    /// known now.
    fn prime(&mut self, i: usize, now: vigil_core::time::Instant) {
        let cfg = self.router.instances()[i].config().clone();
        let mut inputs: Vec<(String, bool)> = Vec::new();
        for t in &cfg.trackers {
            if let Some(name) = t.id.strip_prefix("if:") {
                if let Some(l) = self.links.get(name) {
                    inputs.push((t.id.clone(), l.up));
                }
            } else if let Some(&up) = self.trackers.states.get(&t.id) {
                inputs.push((t.id.clone(), up));
            }
        }
        let dont_track = self
            .cfg
            .vrrp_instance(&cfg.name)
            .is_some_and(|c| c.dont_track_primary);
        let link_up = self.links.get(&cfg.interface).is_none_or(|l| l.up) || dont_track;
        let mut outs: Vec<_> = Vec::new();
        for (id, up) in inputs {
            outs.extend(self.router.handle(now, i, Input::Track { id: &id, up }));
        }
        if !link_up {
            outs.extend(self.router.handle(now, i, Input::Link { up: false }));
        }
        // Not started yet: nothing but trace can come out.
        for (_, o) in outs {
            if let Output::Trace(e) = o {
                log::event(&e);
            }
        }
    }

    /// Runs until shut down.
    pub async fn run(mut self, mut ctl: mpsc::UnboundedReceiver<Command>, mut ch: Channels) {
        // VRRP deadlines to the microsecond (tokio's timer rounds up to the
        // next millisecond); tokio's timer only if no timerfd can be made.
        let precise = crate::precise_timer::PreciseTimer::new().ok();
        loop {
            let deadline = self.router.next_deadline().map(|d| self.clock.to_tokio(d));
            if let (Some(t), Some(d)) = (&precise, deadline)
                && t.set(d.into_std()).is_err()
            {
                tracing::warn!(
                    "timerfd could not be armed; VRRP timers fall back to millisecond precision"
                );
            }
            let sleep = async {
                match (deadline, &precise) {
                    (Some(_), Some(t)) => {
                        let _ = t.wait().await;
                    }
                    (Some(d), None) => tokio::time::sleep_until(d).await,
                    (None, _) => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                cmd = ctl.recv() => match cmd {
                    Some(Command::Reload(cfg, reply)) => {
                        let r = self.reload(cfg).await;
                        let _ = reply.send(r);
                    }
                    Some(Command::Shutdown { keep_vips, done }) => {
                        self.keep_vips_on_stop = keep_vips;
                        self.shutdown().await;
                        let _ = done.send(());
                        return;
                    }
                    None => {
                        self.shutdown().await;
                        return;
                    }
                },
                _ = sleep => {
                    let now = self.clock.now();
                    let outs: Vec<_> = self.router.timer(now).collect();
                    self.act(outs).await;
                }
                Some((ifname, r)) = ch.pkt_rx.recv() => self.receive(&ifname, r).await,
                Some(link) = ch.links_rx.next() => self.link_changed(link).await,
                Some((id, up)) = ch.track_rx.recv() => {
                    self.trackers.states.insert(id.clone(), up);
                    let now = self.clock.now();
                    let outs: Vec<_> = self.router.broadcast(now, Input::Track { id: &id, up }).collect();
                    self.act(outs).await;
                }
            }
        }
    }

    async fn receive(&mut self, ifname: &str, r: Received) {
        let now = self.clock.now();
        let res = match &r {
            Received::Datagram(d) => self
                .router
                .receive_datagram(now, ifname, d)
                .map(|o| o.collect::<Vec<_>>()),
            Received::Message { meta, message } => self
                .router
                .receive(now, ifname, *meta, message)
                .map(|o| o.collect::<Vec<_>>()),
        };
        match res {
            Ok(outs) => self.act(outs).await,
            Err(e) => tracing::debug!("vrrp unrouted on {ifname}: {e:?}"),
        }
    }

    async fn link_changed(&mut self, link: Link) {
        let Some(old) = self.links.get_mut(&link.name) else {
            return;
        };
        let changed = old.up != link.up;
        *old = Link {
            mac: link.mac.or(old.mac),
            ..link.clone()
        };
        if !changed {
            return;
        }
        tracing::info!("link {} {}", link.name, if link.up { "up" } else { "down" });
        let now = self.clock.now();
        let id = format!("if:{}", link.name);
        let mut outs: Vec<_> = self
            .router
            .broadcast(
                now,
                Input::Track {
                    id: &id,
                    up: link.up,
                },
            )
            .collect();
        for i in 0..self.router.instances().len() {
            let c = self.router.instances()[i].config();
            let dont_track = self
                .cfg
                .vrrp_instance(&c.name)
                .is_some_and(|x| x.dont_track_primary);
            if c.interface == link.name && !dont_track {
                outs.extend(self.router.handle(now, i, Input::Link { up: link.up }));
            }
        }
        self.act(outs).await;
    }

    /// Carries out the router's outputs, in order.
    async fn act(&mut self, outs: Vec<(usize, Output)>) {
        let was_master = self.any_master();
        for (i, out) in outs {
            match out {
                Output::Send(t) => {
                    let fam = Family::of(&t.src);
                    let Some((sock, _)) = self.sockets.get(&(t.interface.clone(), fam)) else {
                        continue;
                    };
                    let r = match fam {
                        Family::V4 => {
                            sock.send(t.src, t.dst, &ip::datagram(t.src, t.dst, &t.message))
                                .await
                        }
                        Family::V6 => sock.send(t.src, t.dst, &t.message).await,
                    };
                    if let Err(e) = r {
                        tracing::warn!("vrrp send on {} to {}: {e}", t.interface, t.dst);
                    }
                }
                Output::AddVip(v) => {
                    let dev = self.vip_dev(i, &v);
                    match self.links.get(&dev) {
                        Some(l) => {
                            if let Err(e) = self.net.add_vip(l.index, &v).await {
                                tracing::error!("vip add {v} dev={dev}: {e}");
                            }
                        }
                        None => tracing::error!("vip add {v}: interface {dev} unknown"),
                    }
                }
                Output::DelVip(v) => {
                    if self.keep_vips_on_stop {
                        continue;
                    }
                    let dev = self.vip_dev(i, &v);
                    if let Some(l) = self.links.get(&dev)
                        && let Err(e) = self.net.del_addr(l.index, v.addr).await
                    {
                        tracing::error!("vip del {v} dev={dev}: {e}");
                    }
                }
                Output::Announce { addr, interface } => {
                    let Some(l) = self.links.get(&interface) else {
                        continue;
                    };
                    let Some(mac) = l.mac else { continue };
                    let router = addr.is_ipv6() && announce::forwards_ipv6(&interface);
                    if let Err(e) = self.announcer.announce(l.index, mac, addr, router) {
                        tracing::warn!("announce {addr} on {interface}: {e}");
                    }
                }
                Output::Notify(n) => self.notifier.vrrp(&self.cfg, &n, &self.policy),
                Output::Trace(e) => log::event(&e),
            }
        }
        let master = self.any_master();
        if master != was_master {
            let _ = self.master_tx.send(master);
        }
    }

    fn vip_dev(&self, i: usize, v: &vrrp::Vip) -> String {
        v.dev.clone().unwrap_or_else(|| {
            self.router
                .instances()
                .get(i)
                .map_or_else(String::new, |x| x.config().interface.clone())
        })
    }

    fn any_master(&self) -> bool {
        self.router
            .instances()
            .iter()
            .any(|i| i.state() == State::Master)
    }

    /// Applies a new configuration as a diff (see [`reload`]).
    async fn reload(&mut self, cfg: Arc<Config>) -> Result<(), String> {
        let resolved = resolve(&self.net, &cfg).await?;
        for (name, l) in &resolved.links {
            self.links.entry(name.clone()).or_insert_with(|| l.clone());
        }
        self.open_sockets(&resolved.configs)?;
        let old_cfgs: Vec<InstanceConfig> = self
            .router
            .instances()
            .iter()
            .map(|i| i.config().clone())
            .collect();
        let plan = reload::plan_instances(&old_cfgs, resolved.configs);
        let now = self.clock.now();
        // Stop what goes (with the old config's notify scripts).
        let mut outs = Vec::new();
        for &i in &plan.stop {
            outs.extend(self.router.handle(now, i, Input::Shutdown));
        }
        self.act(outs).await;
        self.cfg = cfg.clone();
        self.policy = Policy::of(&cfg);
        self.trackers.apply(&cfg, &self.policy);
        let mut old: Vec<Option<Instance>> = std::mem::take(&mut self.router)
            .into_instances()
            .into_iter()
            .map(Some)
            .collect();
        let mut fresh = Vec::new();
        let mut instances = Vec::new();
        let (mut kept, mut started) = (0, 0);
        for (n, slot) in plan.slots.into_iter().enumerate() {
            match slot {
                Slot::Keep(i) => {
                    kept += 1;
                    instances.push(old[i].take().expect("each old instance kept once"));
                }
                Slot::Start(c) => {
                    started += 1;
                    fresh.push(n);
                    instances.push(Instance::new(*c));
                }
            }
        }
        self.router = Router::new(instances);
        let mut outs = Vec::new();
        for &n in &fresh {
            self.prime(n, now);
            outs.extend(self.router.handle(now, n, Input::Start));
        }
        self.act(outs).await;
        tracing::info!(
            "reload vrrp kept={kept} started={started} stopped={}",
            plan.stop.len()
        );
        Ok(())
    }

    async fn shutdown(&mut self) {
        let now = self.clock.now();
        let outs: Vec<_> = self.router.broadcast(now, Input::Shutdown).collect();
        self.act(outs).await;
        self.trackers.stop();
        self.notifier.flush().await;
        for (_, (_, task)) in self.sockets.drain() {
            task.abort();
        }
    }
}
