//! A director host: core's [`Director`] on a simulated host, and nothing
//! else deciding. Adverts travel as UDP multicast (payload: the IP
//! datagram core built), gratuitous ARPs as UDP broadcast (payload: the
//! Ethernet frame), probes as turmoil connections, IPVS ops program the
//! host's simulated kernel table, and client connections are forwarded
//! to the real server that table picks while this director holds the VIP.

use std::cell::RefCell;
use std::collections::{BTreeSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use turmoil::net::UdpSocket;
use vigil_core::check::{ProbeId, ProbeResult};
use vigil_core::director::{self, Director, Host as HostFacts, Input, Output};
use vigil_core::packet::arp::{Arp, Operation};
use vigil_core::packet::frame::{self, Content};
use vigil_core::packet::ip;
use vigil_core::trace::Event;
use vigil_core::vrrp;

use super::balancer::{Kernel, live_servers};
use super::clock::Clock;
use super::dr::Segment;
use super::net::{self, ARP_PORT, CLIENT_PORT, VRRP_PORT};
use super::shared::{DirectorControl, Shared, now};
use super::trackers::{self, Report};
use crate::record::{StateChange, TableChange};
use crate::scenario::Host;

/// A probe's answer, back from its task.
type ProbeDone = (ProbeId, ProbeResult);

/// State the director host's tasks share.
pub struct Node {
    /// Director index.
    pub idx: usize,
    /// Host name.
    pub name: String,
    /// The shared world.
    pub shared: Shared,
    /// The director.
    pub director: Director,
    /// Whether it holds the VIPs (forwarding allowed).
    pub holds_vips: bool,
    /// The VIPs it holds now, each with its interface.
    pub vips: Vec<(IpAddr, String)>,
    /// The host's kernel IPVS table and connections.
    pub kernel: Kernel,
    /// Its clock (drift applies to checks and flows too).
    pub clock: Clock,
    /// Interfaces whose link is down (nothing is sent or received there).
    pub down: BTreeSet<String>,
}

impl Node {
    /// Records a trace event at the true simulated time.
    pub fn trace(&self, event: Event) {
        self.shared.borrow_mut().trace(now(), &self.name, event);
    }

    /// Whether it holds virtual address `addr` now.
    fn holds(&self, addr: IpAddr) -> bool {
        self.vips.iter().any(|(a, _)| *a == addr)
    }

    fn own(&self) -> vigil_core::time::Instant {
        self.clock.own(now().since_origin())
    }
}

/// The sockets a director host sends on.
struct Sockets {
    vrrp: UdpSocket,
    arp: UdpSocket,
    probe_tx: mpsc::UnboundedSender<ProbeDone>,
}

/// The host future of director `idx`.
pub async fn run(shared: Shared, idx: usize) -> turmoil::Result {
    let mut control = shared.borrow().controls[idx].subscribe();
    loop {
        // A stopped daemon waits to be started again; a restart is a
        // fresh daemon with fresh state.
        while control.borrow_and_update().stopped {
            if control.changed().await.is_err() {
                return Ok(());
            }
        }
        daemon(shared.clone(), idx, &mut control).await?;
    }
}

/// The interfaces whose link is down under `ctl`: every one when the
/// host's link is, else those the timeline took down.
fn links_down(ctl: &DirectorControl, ifaces: &[String]) -> BTreeSet<String> {
    ifaces
        .iter()
        .filter(|i| !ctl.link_up || ctl.env.links_down.contains(*i))
        .cloned()
        .collect()
}

/// The host's interfaces: every one its config names, each carrying its
/// address (the scenario has one segment).
fn host_facts(
    config: &vigil_core::config::Config,
    addr: IpAddr,
    up: bool,
) -> (HostFacts, Vec<String>) {
    let names = director::host::interfaces(config);
    let mut h = HostFacts::default();
    for n in &names {
        h.interfaces.insert(
            n.clone(),
            director::Interface {
                up,
                addrs: vec![addr],
            },
        );
    }
    (h, names)
}

/// One run of the daemon, until it is stopped.
async fn daemon(
    shared: Shared,
    idx: usize,
    control: &mut watch::Receiver<DirectorControl>,
) -> turmoil::Result {
    let (name, addr, config, seed, planted) = {
        let w = shared.borrow();
        let d = &w.scenario.directors[idx];
        (
            d.name.clone(),
            d.address,
            Arc::new(d.config.clone()),
            w.seed ^ (idx as u64 + 1).wrapping_mul(0x9e37_79b9),
            w.planted,
        )
    };
    let IpAddr::V4(_) = addr else {
        return Err("the simulator runs IPv4 directors only".into());
    };
    let vrrp_sock = UdpSocket::bind(("0.0.0.0", VRRP_PORT)).await?;
    vrrp_sock.join_multicast_v4(config.global.vrrp_mcast_group4, Ipv4Addr::UNSPECIFIED)?;
    for inst in &config.vrrp_instances {
        if let Some(IpAddr::V4(g)) = inst.mcast_dst_ip
            && g != config.global.vrrp_mcast_group4
        {
            vrrp_sock.join_multicast_v4(g, Ipv4Addr::UNSPECIFIED)?;
        }
    }
    let arp_sock = UdpSocket::bind(("0.0.0.0", ARP_PORT)).await?;
    arp_sock.set_broadcast(true)?;

    let ctl = control.borrow().clone();
    let clock = Clock::new(now().since_origin(), ctl.drift);
    let mut reloads = ctl.reloads;
    let mut removals = ctl.vip_removals.len();
    let (facts, ifaces) = host_facts(&config, addr, true);
    let initially_down = links_down(&ctl, &ifaces);
    let opts = director::Options {
        seed,
        check: vigil_core::check::Options {
            trace_probes: false,
            ..vigil_core::check::Options::default()
        },
        resync: None,
        planted,
    };
    let d = Director::new(config.clone(), &facts, opts)?;
    let (probe_tx, mut probe_rx) = mpsc::unbounded_channel::<ProbeDone>();
    let node = Rc::new(RefCell::new(Node {
        idx,
        name: name.clone(),
        shared: shared.clone(),
        director: d,
        holds_vips: false,
        vips: Vec::new(),
        kernel: Kernel::new(),
        clock,
        down: initially_down.clone(),
    }));
    let socks = Sockets {
        vrrp: vrrp_sock,
        arp: arp_sock,
        probe_tx,
    };
    shared.borrow_mut().views[idx].running = true;

    // Tasks of this run of the daemon end with it (a stopped daemon
    // releases its ports).
    let mut tasks = Tasks(Vec::new());
    for port in service_ports(&config) {
        let sock = UdpSocket::bind(("0.0.0.0", port)).await?;
        tasks.0.push(tokio::task::spawn_local(serve(
            node.clone(),
            sock,
            control.clone(),
        )));
    }

    for i in &initially_down {
        feed(
            &node,
            &socks,
            Input::Link {
                iface: i,
                up: false,
            },
        )
        .await;
    }
    for r in trackers::initial(&config, &ctl.env) {
        feed_report(&node, &socks, &r).await;
    }
    let (track_tx, mut track_rx) = mpsc::unbounded_channel::<Report>();
    tasks.0.extend(trackers::spawn(&config, control, &track_tx));
    feed(&node, &socks, Input::Start).await;

    let mut buf = vec![0u8; 2048];
    let mut arp_buf = vec![0u8; 256];
    let timer = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(timer);
    let mut armed = tokio::time::Instant::now();
    loop {
        let deadline = node.borrow().director.next_deadline();
        let wait = deadline.map_or(Duration::from_secs(3600), |d| {
            node.borrow().clock.wait(now().since_origin(), d)
        });
        // One timer kept across iterations, moved only when the wake-up
        // changes (re-creating it per datagram is most of a tick's cost).
        let wake = tokio::time::Instant::now() + wait;
        if wake != armed {
            timer.as_mut().reset(wake);
            armed = wake;
        }
        tokio::select! {
            biased;
            changed = control.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
                let ctl = control.borrow_and_update().clone();
                let factor = node.borrow().clock.factor();
                if ctl.drift != factor {
                    node.borrow_mut().clock.set_factor(now().since_origin(), ctl.drift);
                }
                let down = links_down(&ctl, &ifaces);
                let was = std::mem::replace(&mut node.borrow_mut().down, down.clone());
                for i in &ifaces {
                    let up = !down.contains(i);
                    let was_up = !was.contains(i);
                    if up != was_up {
                        feed(&node, &socks, Input::Link { iface: i, up }).await;
                    }
                }
                // Addresses someone else deleted: gone from the host, and
                // the director told (if it held them).
                for addr in ctl.vip_removals[removals.min(ctl.vip_removals.len())..].iter().copied() {
                    let dev = {
                        let mut n = node.borrow_mut();
                        let dev = n.vips.iter().find(|(a, _)| *a == addr).map(|(_, d)| d.clone());
                        n.vips.retain(|(a, _)| *a != addr);
                        let holds = !n.vips.is_empty();
                        set_holds(&mut n, holds);
                        dev
                    };
                    if let Some(dev) = dev {
                        feed(&node, &socks, Input::AddressRemoved { dev: &dev, addr }).await;
                    }
                }
                removals = ctl.vip_removals.len();
                if ctl.reloads != reloads {
                    // SIGHUP with the same config.
                    reloads = ctl.reloads;
                    let (mut facts, _) = host_facts(&config, addr, true);
                    for (name, i) in facts.interfaces.iter_mut() {
                        i.up = !down.contains(name);
                    }
                    feed(&node, &socks, Input::Reload { config: config.clone(), host: &facts }).await;
                }
                if ctl.stopped {
                    feed(&node, &socks, Input::Shutdown { keep_vips: false, keep_ipvs: false }).await;
                    let mut w = shared.borrow_mut();
                    w.views[idx].running = false;
                    return Ok(());
                }
            }
            r = socks.vrrp.recv_from(&mut buf) => {
                let (n, from) = r?;
                if from.ip() == addr || !control.borrow().link_up || shared.borrow_mut().lost(from.ip(), addr) {
                    continue;
                }
                // Every interface is on the one segment: each one up hears it.
                for i in &ifaces {
                    if node.borrow().down.contains(i) {
                        continue;
                    }
                    feed(&node, &socks, Input::Datagram { iface: i, bytes: &buf[..n] }).await;
                }
            }
            report = track_rx.recv() => {
                if let Some(r) = report {
                    feed_report(&node, &socks, &r).await;
                }
            }
            r = socks.arp.recv_from(&mut arp_buf) => {
                let (n, from) = r?;
                if from.ip() == addr || !control.borrow().link_up || shared.borrow_mut().lost(from.ip(), addr) {
                    continue;
                }
                answer_arp(&node, &socks.arp, &arp_buf[..n], from).await;
            }
            done = probe_rx.recv() => {
                if let Some((id, result)) = done {
                    feed(&node, &socks, Input::ProbeDone { id, result }).await;
                }
            }
            _ = &mut timer => {
                armed = tokio::time::Instant::now() - Duration::from_nanos(1);
                feed(&node, &socks, Input::Timer).await;
            }
        }
    }
}

/// The ports of the virtual services (what clients connect to).
fn service_ports(config: &vigil_core::config::Config) -> Vec<u16> {
    let mut v: Vec<u16> = config
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

/// Aborts the tasks it holds when dropped.
struct Tasks(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// Gives the director a tracker's report.
async fn feed_report(node: &Rc<RefCell<Node>>, socks: &Sockets, r: &Report) {
    match r {
        Report::Up(id, up) => feed(node, socks, Input::Tracker { id, up: *up }).await,
        Report::Value(id, value) => {
            feed(node, socks, Input::TrackerValue { id, value: *value }).await
        }
    }
}

/// Gives the director `input` and carries out what it asks for; answers
/// to its requests (IPVS applied or dumped) are fed back at once, their
/// outputs acted on before the rest.
async fn feed(node: &Rc<RefCell<Node>>, socks: &Sockets, input: Input<'_>) {
    let mut queue: VecDeque<Output> = {
        let mut n = node.borrow_mut();
        let t = n.own();
        n.director.handle(t, input).collect()
    };
    while let Some(out) = queue.pop_front() {
        let answer = act(node, socks, out).await;
        if let Some(input) = answer {
            let more: Vec<Output> = {
                let mut n = node.borrow_mut();
                let t = n.own();
                n.director.handle(t, input).collect()
            };
            for o in more.into_iter().rev() {
                queue.push_front(o);
            }
        }
    }
}

/// Carries out one output; the answer the director asked for, if any.
async fn act(node: &Rc<RefCell<Node>>, socks: &Sockets, out: Output) -> Option<Input<'static>> {
    let (idx, shared) = {
        let n = node.borrow();
        (n.idx, n.shared.clone())
    };
    match out {
        Output::Send { ref iface, .. } | Output::Announce { dev: ref iface, .. }
            if node.borrow().down.contains(iface) =>
        {
            // Nothing leaves through an interface whose link is down.
        }
        Output::Send {
            src,
            dst,
            message,
            datagram,
            ..
        } => {
            let datagram = datagram.unwrap_or_else(|| ip::datagram(src, dst, &message));
            let dst_mac = match net::host_of_addr(&shared.borrow().scenario, dst) {
                Some(h) => net::mac(h),
                None => vigil_core::packet::MacAddr::BROADCAST,
            };
            shared.borrow_mut().rec.frame(now(), || {
                frame::datagram(net::mac(Host::Director(idx)), dst_mac, dst, &datagram)
            });
            let _ = socks
                .vrrp
                .send_to(&datagram, SocketAddr::new(dst, VRRP_PORT))
                .await;
        }
        Output::AddVip { vip, dev } => {
            let mut n = node.borrow_mut();
            n.vips.push((vip.addr, dev));
            set_holds(&mut n, true);
        }
        Output::DelVip { vip, .. } => {
            let mut n = node.borrow_mut();
            n.vips.retain(|(a, _)| *a != vip.addr);
            let holds = !n.vips.is_empty();
            set_holds(&mut n, holds);
        }
        Output::Announce { addr, .. } => {
            let bytes = frame::announcement(net::mac(Host::Director(idx)), addr, false);
            shared.borrow_mut().rec.frame(now(), || bytes.clone());
            let _ = socks
                .arp
                .send_to(&bytes, ("255.255.255.255", ARP_PORT))
                .await;
        }
        Output::Probe {
            id,
            kind,
            target,
            timeout,
        } => {
            let tx = socks.probe_tx.clone();
            tokio::task::spawn_local(async move {
                let result = super::probe::perform(&shared, idx, id, &kind, &target, timeout).await;
                let _ = tx.send((id, result));
            });
        }
        Output::Ipvs(ops) => {
            let refused = {
                let mut n = node.borrow_mut();
                let refused = n.kernel.apply(&ops);
                let live = live_servers(n.kernel.table());
                let weights = super::balancer::weights(n.kernel.table());
                let mut w = shared.borrow_mut();
                w.views[idx].live_servers = live.clone();
                w.rec.tables.push(TableChange {
                    at: now(),
                    director: idx,
                    live,
                    weights,
                });
                refused
            };
            return Some(Input::IpvsApplied { refused });
        }
        Output::IpvsDump => {
            let t = node.borrow().kernel.table().clone();
            return Some(Input::IpvsDumped(Ok(t)));
        }
        // Scripts do not run in the simulator: each call is recorded.
        Output::Notify(run) => {
            let argv: Vec<String> = run.command.args.iter().chain(&run.args).cloned().collect();
            let n = node.borrow();
            n.shared
                .borrow_mut()
                .rec
                .notifies
                .push((now(), idx, argv.clone()));
            n.trace(Event::Harness(vigil_core::harness::Event::Notify { argv }));
        }
        // The simulator has no FIFOs: each line is recorded.
        Output::FifoLine { path, line } => {
            node.borrow()
                .trace(Event::Harness(vigil_core::harness::Event::FifoLine {
                    path,
                    line,
                }));
        }
        Output::Mastership(_) => {}
        Output::ReloadRefused(why) => {
            node.borrow()
                .trace(Event::Harness(vigil_core::harness::Event::Fault {
                    action: "reload-refused".into(),
                    detail: format!("error=\"{why}\""),
                }));
        }
        Output::Trace(e) => {
            let n = node.borrow();
            // Observation: the record of state changes the verdict reads.
            if let Event::Vrrp(vrrp::Event {
                instance,
                kind: vrrp::EventKind::Priority { to, .. },
            }) = &e
            {
                n.shared
                    .borrow_mut()
                    .rec
                    .priorities
                    .push((now(), n.idx, instance.clone(), *to));
            }
            if let Event::Vrrp(vrrp::Event {
                instance,
                kind: vrrp::EventKind::State { to, priority, .. },
            }) = &e
            {
                let mut w = n.shared.borrow_mut();
                w.rec
                    .priorities
                    .push((now(), n.idx, instance.clone(), *priority));
                w.views[n.idx].states.insert(instance.clone(), *to);
                w.rec.states.push(StateChange {
                    at: now(),
                    director: n.idx,
                    instance: instance.clone(),
                    to: *to,
                });
            }
            n.trace(e);
        }
    }
    None
}

fn set_holds(n: &mut Node, holds: bool) {
    if n.holds_vips != holds {
        n.holds_vips = holds;
        let mut w = n.shared.borrow_mut();
        w.views[n.idx].holds_vips = holds;
        w.rec.vips.push((now(), n.idx, holds));
    }
}

/// Answers ARP requests for the VIPs this director holds.
async fn answer_arp(node: &Rc<RefCell<Node>>, sock: &UdpSocket, bytes: &[u8], from: SocketAddr) {
    let Ok(f) = frame::parse_ethernet(bytes) else {
        return;
    };
    let Content::Arp(a) = f.content else { return };
    if a.operation != Operation::Request || a.is_gratuitous() {
        return;
    }
    let reply = {
        let n = node.borrow();
        if !n.holds_vips || !n.holds(IpAddr::V4(a.target_ip)) {
            return;
        }
        let mac = net::mac(Host::Director(n.idx));
        let r = Arp {
            operation: Operation::Reply,
            sender_mac: mac,
            sender_ip: a.target_ip,
            target_mac: a.sender_mac,
            target_ip: a.sender_ip,
        };
        let bytes = frame::ethernet(a.sender_mac, mac, None, frame::ETHERTYPE_ARP, &r.to_bytes());
        n.shared.borrow_mut().rec.frame(now(), || bytes.clone());
        bytes
    };
    let _ = sock
        .send_to(&reply, SocketAddr::new(from.ip(), ARP_PORT))
        .await;
}

/// Serves client traffic for a virtual service port: requests are
/// forwarded to the real server the IPVS model picks while this director
/// holds the VIP (the answer goes from the real server to the client);
/// otherwise they are reset. Closing segments update connection counts.
async fn serve(node: Rc<RefCell<Node>>, sock: UdpSocket, link: watch::Receiver<DirectorControl>) {
    let mut buf = vec![0u8; 65_536];
    let me = node.borrow().shared.borrow().scenario.directors[node.borrow().idx].address;
    while let Ok((n, from)) = sock.recv_from(&mut buf).await {
        let shared = node.borrow().shared.clone();
        if !link.borrow().link_up || shared.borrow_mut().lost(from.ip(), me) {
            continue;
        }
        match Segment::parse(&buf[..n]) {
            Some(Segment::Request { client, vip, .. }) => {
                let pick = {
                    let mut n = node.borrow_mut();
                    if !n.holds_vips || !n.holds(vip.ip()) {
                        None
                    } else {
                        let t = n.clock.own(now().since_origin());
                        let dest = n.kernel.connect(vip, client, t);
                        if let Some(dest) = dest {
                            let mut w = n.shared.borrow_mut();
                            w.rec.forwards.push((now(), n.idx, dest));
                        }
                        dest
                    }
                };
                match pick {
                    Some(dest) => {
                        let _ = sock.send_to(&buf[..n], dest).await;
                    }
                    None => {
                        let rst = Segment::Reset {
                            client_port: client.port(),
                        }
                        .to_bytes();
                        let _ = sock
                            .send_to(&rst, SocketAddr::new(client.ip(), CLIENT_PORT))
                            .await;
                    }
                }
            }
            Some(Segment::Close { client, .. }) => {
                let mut n = node.borrow_mut();
                let t = n.clock.own(now().since_origin());
                n.kernel.closed(client, t);
            }
            _ => {}
        }
    }
}
