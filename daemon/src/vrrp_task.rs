//! The VRRP side of vigild: core's [`director::Vrrp`] on raw sockets, VIPs
//! through rtnetlink, announcements on AF_PACKET, link and script
//! trackers, notify scripts. It carries out what the director asks and
//! feeds it what happens; it decides nothing. Runs on its own thread and
//! runtime, so that checks never delay an advert.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use futures::StreamExt;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use vigil_core::config::Config;
use vigil_core::director::{self, Host, Input, Output};
use vigil_core::packet::ah::PROTOCOL_AH;
use vigil_core::packet::vrrp::PROTOCOL;
use vigil_core::packet::{Family, ip};
use vigil_core::vrrp::TrackerId;

use crate::announce::{self, Announcer};
use crate::clock::Clock;
use crate::events::Events;
use crate::log;
use crate::netlink::{Link, Net, VIGIL_ADDR_PROTO};
use crate::notify::Notifier;
use crate::script::Policy;
use crate::track::{TrackChange, TrackState, Trackers};
use crate::vrrp_socket::{Received, VrrpSocket};

/// What the daemon tells the VRRP side.
#[derive(Debug)]
pub enum Command {
    /// Apply a new configuration; the answer says whether it was applied
    /// (an error leaves the old one running).
    Reload(Arc<Config>, oneshot::Sender<Result<(), String>>),
    /// Write one of keepalived's dump files (`keepalived.data`,
    /// `keepalived.stats`, `keepalived.json`) in `TMPDIR` (absolute) or
    /// /tmp, as keepalived does on SIGUSR1, SIGUSR2, SIGRTMIN+2 and
    /// SIGRTMAX-1 (statistics, then zeroed).
    Dump(Dump),
    /// Stop: priority-0 adverts, VIPs removed, notify_stop; answered when
    /// done.
    Shutdown {
        /// Leave the VIPs in place (`--dont-release-vrrp`).
        keep_vips: bool,
        /// Answered when everything is done.
        done: oneshot::Sender<()>,
    },
}

/// Which dump file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dump {
    /// `keepalived.data` (SIGUSR1).
    Data,
    /// `keepalived.stats` (SIGUSR2).
    Stats,
    /// `keepalived.stats`, then the counters zeroed (SIGRTMAX-1).
    StatsClear,
    /// `keepalived.json` (SIGRTMIN+2).
    Json,
}

/// keepalived's directory for its dump files: `TMPDIR` when it is an
/// absolute path, else /tmp.
pub fn dump_dir() -> std::path::PathBuf {
    match std::env::var_os("TMPDIR") {
        Some(d) if std::path::Path::new(&d).is_absolute() => d.into(),
        _ => "/tmp".into(),
    }
}

/// Interface, family and IP protocol (112, or 51 to hear IPsec-AH
/// adverts; every advert goes out on the protocol-112 socket, whose
/// `IP_HDRINCL` header says which protocol it is).
type SocketKey = (String, Family, u8);

/// The VRRP side's state.
pub struct Vrrp {
    cfg: Arc<Config>,
    policy: Policy,
    director: director::Vrrp,
    net: Net,
    links: HashMap<String, Link>,
    sockets: HashMap<SocketKey, (Arc<VrrpSocket>, JoinHandle<()>)>,
    pkt_tx: mpsc::UnboundedSender<(String, Received)>,
    announcer: Announcer,
    notifier: Notifier,
    trackers: Trackers,
    clock: Clock,
    master_tx: watch::Sender<bool>,
    events: Events,
}

/// Reads the host's interfaces that `cfg` names from the kernel: their
/// link state and addresses (without the VIPs vigild added).
async fn host(net: &Net, cfg: &Config) -> Result<(Host, HashMap<String, Link>), String> {
    let mut h = Host::default();
    let mut links = HashMap::new();
    for name in director::host::interfaces(cfg) {
        let Some(link) = net.link(&name).await? else {
            continue;
        };
        let addrs = net
            .addresses(link.index)
            .await?
            .into_iter()
            .filter(|a| a.proto != Some(VIGIL_ADDR_PROTO))
            .map(|a| a.addr)
            .collect();
        h.interfaces
            .insert(name.clone(), director::Interface { up: link.up, addrs });
        links.insert(name, link);
    }
    Ok((h, links))
}

/// Starts the VRRP side on the current runtime: reads the interfaces,
/// removes VIPs an earlier crash left, opens sockets, starts instances.
/// Returns when it is running (or why it cannot run); then
/// [`Vrrp::run`] drives it.
pub async fn setup(
    cfg: Arc<Config>,
    clock: Clock,
    master_tx: watch::Sender<bool>,
    events: Events,
) -> Result<(Vrrp, Channels), String> {
    let net = Net::connect().map_err(|e| format!("rtnetlink: {e}"))?;
    let (facts, links) = host(&net, &cfg).await?;
    let director = director::Vrrp::new(cfg.clone(), &facts, director::Options::default())?;
    for inst in &cfg.vrrp_instances {
        if inst.use_vmac.is_some() {
            tracing::warn!(
                "vrrp_instance {}: use_vmac is not supported by vigild; running on its interface itself",
                inst.name
            );
        }
    }
    cleanup_stale_vips(&net, &director, &links).await;
    let announcer = Announcer::open().map_err(|e| format!("AF_PACKET socket: {e}"))?;
    let (pkt_tx, pkt_rx) = mpsc::unbounded_channel();
    let (track_tx, track_rx) = mpsc::unbounded_channel();
    let links_rx =
        crate::netlink::monitor_links().map_err(|e| format!("rtnetlink monitor: {e}"))?;
    let removed_rx = crate::netlink::monitor_removed_addresses()
        .map_err(|e| format!("rtnetlink address monitor: {e}"))?;
    let policy = Policy::of(&cfg);
    let mut v = Vrrp {
        policy: policy.clone(),
        director,
        net,
        links,
        sockets: HashMap::new(),
        pkt_tx,
        announcer,
        notifier: Notifier::spawn(),
        trackers: Trackers::new(track_tx),
        clock,
        master_tx,
        events,
        cfg: cfg.clone(),
    };
    v.open_sockets()?;
    v.trackers.apply(&cfg, &policy, false);
    let known: Vec<(TrackerId, TrackState)> = v
        .trackers
        .states
        .iter()
        .map(|(k, s)| (k.clone(), *s))
        .collect();
    let now = v.clock.now();
    for (id, state) in &known {
        let outs: Vec<_> = v.director.handle(now, tracker_input(id, *state)).collect();
        v.act(outs).await;
    }
    let outs: Vec<_> = v.director.handle(now, Input::Start).collect();
    v.act(outs).await;
    Ok((
        v,
        Channels {
            pkt_rx,
            track_rx,
            links_rx,
            removed_rx,
        },
    ))
}

/// The director's input for a tracker's state.
fn tracker_input(id: &TrackerId, state: TrackState) -> Input<'_> {
    match state {
        TrackState::Up(up) => Input::Tracker { id, up },
        TrackState::Value(value) => Input::TrackerValue { id, value },
    }
}

/// The event sources of the VRRP loop.
pub struct Channels {
    pkt_rx: mpsc::UnboundedReceiver<(String, Received)>,
    track_rx: mpsc::UnboundedReceiver<TrackChange>,
    links_rx: futures::channel::mpsc::UnboundedReceiver<Link>,
    removed_rx: futures::channel::mpsc::UnboundedReceiver<(u32, IpAddr)>,
}

/// Removes VIPs left on our interfaces by an earlier vigild that did not
/// stop cleanly: addresses tagged with [`VIGIL_ADDR_PROTO`], and
/// configured VIPs of non-owner instances that are present.
async fn cleanup_stale_vips(net: &Net, d: &director::Vrrp, links: &HashMap<String, Link>) {
    let mut configured: BTreeSet<(String, IpAddr)> = BTreeSet::new();
    for inst in d.instances() {
        let ic = inst.config();
        if ic.is_owner() {
            continue;
        }
        for v in ic.vips.iter().chain(&ic.excluded_vips) {
            let dev = v.dev.clone().unwrap_or_else(|| ic.interface.clone());
            configured.insert((dev, v.addr));
        }
    }
    for link in links.values() {
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
    /// The sockets the instances need: one per interface and family,
    /// joined to every group advertised to there.
    fn wanted_sockets(&self) -> HashMap<SocketKey, BTreeSet<IpAddr>> {
        let mut wanted: HashMap<SocketKey, BTreeSet<IpAddr>> = HashMap::new();
        for i in self.director.instances() {
            let c = i.config();
            let mut protos = vec![PROTOCOL];
            if c.ah_key.is_some() && c.family() == Family::V4 {
                protos.push(PROTOCOL_AH);
            }
            for p in protos {
                let groups = wanted
                    .entry((c.interface.clone(), c.family(), p))
                    .or_default();
                if !c.is_unicast() {
                    groups.insert(c.group);
                }
            }
        }
        wanted
    }

    /// Closes the sockets no instance runs on any more.
    fn prune_sockets(&mut self) {
        let wanted = self.wanted_sockets();
        self.sockets.retain(|k, (_, task)| {
            let keep = wanted.contains_key(k);
            if !keep {
                task.abort();
            }
            keep
        });
    }

    /// Opens (or joins to new groups) every socket the instances need.
    fn open_sockets(&mut self) -> Result<(), String> {
        for (key, groups) in self.wanted_sockets() {
            let link = self
                .links
                .get(&key.0)
                .ok_or_else(|| format!("interface {} unknown", key.0))?;
            if let Some((sock, _)) = self.sockets.get(&key) {
                for g in &groups {
                    sock.join(*g)
                        .map_err(|e| format!("VRRP group {g} on {}: {e}", key.0))?;
                }
                continue;
            }
            let default = match key.1 {
                Family::V4 => IpAddr::V4(self.cfg.global.vrrp_mcast_group4),
                Family::V6 => IpAddr::V6(self.cfg.global.vrrp_mcast_group6),
            };
            let first = groups.iter().next().copied().unwrap_or(default);
            let sock = Arc::new(
                VrrpSocket::open(&key.0, link.index, first, key.2)
                    .map_err(|e| format!("VRRP socket on {} ({}): {e}", key.0, key.1))?,
            );
            for g in groups.iter().skip(1) {
                sock.join(*g)
                    .map_err(|e| format!("VRRP group {g} on {}: {e}", key.0))?;
            }
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

    /// Runs until shut down.
    pub async fn run(mut self, mut ctl: mpsc::UnboundedReceiver<Command>, mut ch: Channels) {
        // VRRP deadlines to the microsecond (tokio's timer rounds up to the
        // next millisecond); tokio's timer only if no timerfd can be made.
        let precise = crate::precise_timer::PreciseTimer::new().ok();
        loop {
            let deadline = self
                .director
                .next_deadline()
                .map(|d| self.clock.to_tokio(d));
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
                    Some(Command::Dump(kind)) => self.dump(kind),
                    Some(Command::Shutdown { keep_vips, done }) => {
                        self.shutdown(keep_vips).await;
                        let _ = done.send(());
                        return;
                    }
                    None => {
                        self.shutdown(false).await;
                        return;
                    }
                },
                _ = sleep => {
                    let now = self.clock.now();
                    let outs: Vec<_> = self.director.handle(now, Input::Timer).collect();
                    self.act(outs).await;
                }
                Some((ifname, r)) = ch.pkt_rx.recv() => self.receive(&ifname, r).await,
                Some(link) = ch.links_rx.next() => self.link_changed(link).await,
                Some((index, addr)) = ch.removed_rx.next() => self.address_removed(index, addr).await,
                Some((id, state)) = ch.track_rx.recv() => {
                    self.trackers.states.insert(id.clone(), state);
                    let now = self.clock.now();
                    let outs: Vec<_> = self.director.handle(now, tracker_input(&id, state)).collect();
                    self.act(outs).await;
                }
            }
        }
    }

    /// Writes the dump file `kind` asks for.
    fn dump(&mut self, kind: Dump) {
        let (name, text) = match kind {
            Dump::Data => ("keepalived.data", director::dump::data(&self.director)),
            Dump::Stats | Dump::StatsClear => {
                ("keepalived.stats", director::dump::stats(&self.director))
            }
            Dump::Json => ("keepalived.json", director::dump::json(&self.director)),
        };
        let path = dump_dir().join(name);
        match std::fs::write(&path, text) {
            Ok(()) => tracing::info!("dump written: {}", path.display()),
            Err(e) => tracing::warn!("cannot write {}: {e}", path.display()),
        }
        if kind == Dump::StatsClear {
            self.director.clear_stats();
        }
    }

    async fn receive(&mut self, ifname: &str, r: Received) {
        let now = self.clock.now();
        let outs: Vec<_> = match &r {
            Received::Datagram(d) => self
                .director
                .handle(
                    now,
                    Input::Datagram {
                        iface: ifname,
                        bytes: d,
                    },
                )
                .collect(),
            Received::Message { meta, message } => self
                .director
                .handle(
                    now,
                    Input::Message {
                        iface: ifname,
                        meta: *meta,
                        message,
                    },
                )
                .collect(),
        };
        self.act(outs).await;
    }

    /// keepalived's reaction to one of its VIPs removed by someone else:
    /// the director decides (its own removals find it no longer master).
    async fn address_removed(&mut self, index: u32, addr: IpAddr) {
        let Some(dev) = self
            .links
            .values()
            .find(|l| l.index == index)
            .map(|l| l.name.clone())
        else {
            return;
        };
        let now = self.clock.now();
        let outs: Vec<_> = self
            .director
            .handle(now, Input::AddressRemoved { dev: &dev, addr })
            .collect();
        self.act(outs).await;
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
        let outs: Vec<_> = self
            .director
            .handle(
                now,
                Input::Link {
                    iface: &link.name,
                    up: link.up,
                },
            )
            .collect();
        self.act(outs).await;
    }

    /// Carries out the director's outputs, in order.
    async fn act(&mut self, outs: Vec<Output>) {
        for out in outs {
            self.events.output(&out);
            match out {
                Output::Send {
                    iface,
                    src,
                    dst,
                    message,
                    datagram,
                } => {
                    let fam = Family::of(&src);
                    let Some((sock, _)) = self.sockets.get(&(iface.clone(), fam, PROTOCOL)) else {
                        continue;
                    };
                    let r = match fam {
                        Family::V4 => {
                            let d = datagram.unwrap_or_else(|| ip::datagram(src, dst, &message));
                            sock.send(src, dst, &d).await
                        }
                        Family::V6 => sock.send(src, dst, &message).await,
                    };
                    if let Err(e) = r {
                        tracing::warn!("vrrp send on {iface} to {dst}: {e}");
                    }
                }
                Output::AddVip { dev, vip } => match self.links.get(&dev) {
                    Some(l) => {
                        if let Err(e) = self.net.add_vip(l.index, &vip).await {
                            tracing::error!("vip add {vip} dev={dev}: {e}");
                        }
                    }
                    None => tracing::error!("vip add {vip}: interface {dev} unknown"),
                },
                Output::DelVip { dev, vip } => {
                    if let Some(l) = self.links.get(&dev)
                        && let Err(e) = self.net.del_addr(l.index, vip.addr).await
                    {
                        tracing::error!("vip del {vip} dev={dev}: {e}");
                    }
                }
                Output::Announce { dev, addr } => {
                    let Some(l) = self.links.get(&dev) else {
                        continue;
                    };
                    let Some(mac) = l.mac else { continue };
                    let router = addr.is_ipv6() && announce::forwards_ipv6(&dev);
                    if let Err(e) = self.announcer.announce(l.index, mac, addr, router) {
                        tracing::warn!("announce {addr} on {dev}: {e}");
                    }
                }
                Output::Notify(run) => {
                    self.notifier
                        .run(run.command, run.args, run.what, &self.policy)
                }
                Output::FifoLine { path, line } => crate::fifo::write(&path, &line),
                Output::Mastership(m) => {
                    let _ = self.master_tx.send(m);
                }
                Output::ReloadRefused(why) => tracing::error!("reload refused: {why}"),
                Output::Trace(e) => log::event(&e),
                // The balancing half's requests never come from this half.
                Output::Probe { .. } | Output::Ipvs(_) | Output::IpvsDump => {}
            }
        }
    }

    /// Applies a new configuration as keepalived's reload does (the
    /// director keeps the state of instances still configured).
    async fn reload(&mut self, cfg: Arc<Config>) -> Result<(), String> {
        let (facts, links) = host(&self.net, &cfg).await?;
        for (name, l) in links {
            self.links.entry(name).or_insert(l);
        }
        let now = self.clock.now();
        let outs: Vec<Output> = self
            .director
            .handle(
                now,
                Input::Reload {
                    config: cfg.clone(),
                    host: &facts,
                },
            )
            .collect();
        if let Some(Output::ReloadRefused(why)) =
            outs.iter().find(|o| matches!(o, Output::ReloadRefused(_)))
        {
            return Err(why.clone());
        }
        self.cfg = cfg.clone();
        self.policy = Policy::of(&cfg);
        // New sockets before the outputs (a new instance's first advert),
        // old ones closed after them (a removed master's priority 0).
        let opened = self.open_sockets();
        self.act(outs).await;
        self.prune_sockets();
        opened?;
        self.trackers.apply(&cfg, &self.policy, true);
        let r = self.director.last_reload();
        tracing::info!(
            "reload vrrp kept={} started={} stopped={}",
            r.kept,
            r.started,
            r.stopped
        );
        Ok(())
    }

    async fn shutdown(&mut self, keep_vips: bool) {
        let now = self.clock.now();
        let outs: Vec<_> = self
            .director
            .handle(
                now,
                Input::Shutdown {
                    keep_vips,
                    keep_ipvs: true,
                },
            )
            .collect();
        self.act(outs).await;
        self.trackers.stop();
        self.notifier.flush().await;
        for (_, (_, task)) in self.sockets.drain() {
            task.abort();
        }
    }
}
