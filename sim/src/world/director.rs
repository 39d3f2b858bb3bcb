//! A director: core's VRRP router, health checks and IPVS model on a
//! simulated host. Adverts travel as UDP multicast (payload: the IP
//! datagram core built), gratuitous ARPs as UDP broadcast (payload: the
//! Ethernet frame), and client connections are forwarded to the real
//! server the IPVS model picks while this director holds the VIP.

use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use turmoil::net::UdpSocket;
use vigil_core::packet::arp::{Arp, Operation};
use vigil_core::packet::frame::{self, Content};
use vigil_core::packet::ip;
use vigil_core::trace::Event;
use vigil_core::vrrp::{self, Input, InstanceConfig, Output, Router, State};

use super::balancer::{Balancer, ProbeDone};
use super::clock::Clock;
use super::dr::Segment;
use super::net::{self, ARP_PORT, CLIENT_PORT, VRRP_PORT};
use super::shared::{DirectorControl, Shared, now};
use crate::record::StateChange;
use crate::scenario::Host;

/// State the director's tasks share.
pub struct Node {
    /// Director index.
    pub idx: usize,
    /// Host name.
    pub name: String,
    /// The shared world.
    pub shared: Shared,
    /// Whether it holds the VIPs (forwarding allowed).
    pub holds_vips: bool,
    /// The VIPs it holds now.
    pub vips: Vec<IpAddr>,
    /// Load balancing and health checks.
    pub balancer: Balancer,
    /// Its clock (drift applies to checks and flows too).
    pub clock: Clock,
}

impl Node {
    /// Records a trace event at the true simulated time.
    pub fn trace(&self, event: Event) {
        self.shared.borrow_mut().trace(now(), &self.name, event);
    }
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

/// One run of the daemon, until it is stopped.
async fn daemon(
    shared: Shared,
    idx: usize,
    control: &mut watch::Receiver<DirectorControl>,
) -> turmoil::Result {
    let (name, addr, config) = {
        let w = shared.borrow();
        let d = &w.scenario.directors[idx];
        (d.name.clone(), d.address, d.config.clone())
    };
    let IpAddr::V4(_) = addr else {
        return Err("the simulator runs IPv4 directors only".into());
    };
    let vrrp_sock = UdpSocket::bind(("0.0.0.0", VRRP_PORT)).await?;
    vrrp_sock.join_multicast_v4(config.global.vrrp_mcast_group4, Ipv4Addr::UNSPECIFIED)?;
    let arp_sock = UdpSocket::bind(("0.0.0.0", ARP_PORT)).await?;
    arp_sock.set_broadcast(true)?;

    let ctl = control.borrow().clone();
    let mut clock = Clock::new(now().since_origin(), ctl.drift);
    let mut link_up = ctl.link_up;
    let mut reloads = ctl.reloads;

    let instances = config
        .vrrp_instances
        .iter()
        .map(|i| vrrp::Instance::new(InstanceConfig::from_config(&config, i, addr)))
        .collect();
    let mut router = Router::new(instances);
    let (probe_tx, mut probe_rx) = mpsc::unbounded_channel::<ProbeDone>();
    let node = Rc::new(RefCell::new(Node {
        idx,
        name: name.clone(),
        shared: shared.clone(),
        holds_vips: false,
        vips: Vec::new(),
        balancer: Balancer::new(&config, shared.clone(), idx, probe_tx),
        clock,
    }));
    shared.borrow_mut().views[idx].running = true;

    // Tasks of this run of the daemon end with it (a stopped daemon
    // releases its ports).
    let mut tasks = Tasks(Vec::new());
    let ports = node.borrow().balancer.ports();
    for port in ports {
        let sock = UdpSocket::bind(("0.0.0.0", port)).await?;
        tasks.0.push(tokio::task::spawn_local(serve(
            node.clone(),
            sock,
            control.clone(),
        )));
    }

    fn own(clock: &Clock) -> vigil_core::time::Instant {
        clock.own(now().since_origin())
    }
    if !link_up {
        let outs: Vec<_> = router
            .broadcast(own(&clock), Input::Link { up: false })
            .collect();
        act(&node, &vrrp_sock, &arp_sock, outs, own(&clock)).await;
    }
    let outs: Vec<_> = router.start(own(&clock)).collect();
    act(&node, &vrrp_sock, &arp_sock, outs, own(&clock)).await;
    node.borrow_mut().balancer.start(own(&clock));

    let mut buf = vec![0u8; 2048];
    let mut arp_buf = vec![0u8; 256];
    let timer = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(timer);
    let mut armed = tokio::time::Instant::now();
    loop {
        let deadline = [
            router.next_deadline(),
            node.borrow().balancer.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min();
        let wait = deadline.map_or(Duration::from_secs(3600), |d| {
            clock.wait(now().since_origin(), d)
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
                if ctl.drift != clock.factor() {
                    clock.set_factor(now().since_origin(), ctl.drift);
                    node.borrow_mut().clock = clock;
                }
                if ctl.link_up != link_up {
                    link_up = ctl.link_up;
                    let outs: Vec<_> = router.broadcast(own(&clock), Input::Link { up: link_up }).collect();
                    act(&node, &vrrp_sock, &arp_sock, outs, own(&clock)).await;
                }
                if ctl.reloads != reloads {
                    // SIGHUP with the same config: every instance is
                    // unchanged and keeps its state; checkers keep theirs.
                    reloads = ctl.reloads;
                    node.borrow_mut().balancer.reload(own(&clock), &config);
                }
                if ctl.stopped {
                    let outs: Vec<_> = router.broadcast(own(&clock), Input::Shutdown).collect();
                    act(&node, &vrrp_sock, &arp_sock, outs, own(&clock)).await;
                    let mut w = shared.borrow_mut();
                    w.views[idx].running = false;
                    return Ok(());
                }
            }
            r = vrrp_sock.recv_from(&mut buf) => {
                let (n, from) = r?;
                if from.ip() == addr || !link_up || shared.borrow_mut().lost(from.ip(), addr) {
                    continue;
                }
                let interface = interface_of(&router);
                let t = own(&clock);
                let outs: Vec<_> = match router.receive_datagram(t, &interface, &buf[..n]) {
                    Ok(o) => o.collect(),
                    Err(_) => Vec::new(),
                };
                act(&node, &vrrp_sock, &arp_sock, outs, own(&clock)).await;
            }
            r = arp_sock.recv_from(&mut arp_buf) => {
                let (n, from) = r?;
                if from.ip() == addr || !link_up || shared.borrow_mut().lost(from.ip(), addr) {
                    continue;
                }
                answer_arp(&node, &arp_sock, &arp_buf[..n], from).await;
            }
            done = probe_rx.recv() => {
                if let Some(done) = done {
                    node.borrow_mut().balancer.probe_done(own(&clock), done);
                }
            }
            _ = &mut timer => {
                armed = tokio::time::Instant::now() - Duration::from_nanos(1);
                let t = own(&clock);
                let outs: Vec<_> = router.timer(t).collect();
                act(&node, &vrrp_sock, &arp_sock, outs, t).await;
                node.borrow_mut().balancer.timer(t);
            }
        }
    }
}

fn interface_of(router: &Router) -> String {
    router
        .instances()
        .first()
        .map_or_else(|| "eth0".to_string(), |i| i.config().interface.clone())
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

/// Carries out a router's outputs.
async fn act(
    node: &Rc<RefCell<Node>>,
    vrrp_sock: &UdpSocket,
    arp_sock: &UdpSocket,
    outs: Vec<(usize, Output)>,
    own_now: vigil_core::time::Instant,
) {
    for (_, out) in outs {
        match out {
            Output::Send(t) => {
                let datagram = ip::datagram(t.src, t.dst, &t.message);
                let (idx, shared) = {
                    let n = node.borrow();
                    (n.idx, n.shared.clone())
                };
                let dst_mac = match net::host_of_addr(&shared.borrow().scenario, t.dst) {
                    Some(h) => net::mac(h),
                    None => vigil_core::packet::MacAddr::BROADCAST,
                };
                shared.borrow_mut().rec.frame(now(), || {
                    frame::vrrp(
                        net::mac(Host::Director(idx)),
                        dst_mac,
                        t.src,
                        t.dst,
                        &t.message,
                    )
                });
                let _ = vrrp_sock
                    .send_to(&datagram, SocketAddr::new(t.dst, VRRP_PORT))
                    .await;
            }
            Output::AddVip(v) => {
                let mut n = node.borrow_mut();
                n.vips.push(v.addr);
                set_holds(&mut n, true);
            }
            Output::DelVip(v) => {
                let mut n = node.borrow_mut();
                n.vips.retain(|a| *a != v.addr);
                let holds = !n.vips.is_empty();
                set_holds(&mut n, holds);
            }
            Output::Announce { addr, .. } => {
                let (idx, shared) = {
                    let n = node.borrow();
                    (n.idx, n.shared.clone())
                };
                let bytes = frame::announcement(net::mac(Host::Director(idx)), addr, false);
                shared.borrow_mut().rec.frame(now(), || bytes.clone());
                let _ = arp_sock
                    .send_to(&bytes, ("255.255.255.255", ARP_PORT))
                    .await;
            }
            Output::Notify(_) => {}
            Output::Trace(e) => {
                let mut n = node.borrow_mut();
                if let Event::Vrrp(vrrp::Event {
                    instance,
                    kind: vrrp::EventKind::State { to, .. },
                }) = &e
                {
                    let to = *to;
                    let (idx, shared) = (n.idx, n.shared.clone());
                    let mut w = shared.borrow_mut();
                    w.views[idx].states.insert(instance.clone(), to);
                    w.rec.states.push(StateChange {
                        at: now(),
                        director: idx,
                        instance: instance.clone(),
                        to,
                    });
                    drop(w);
                    n.balancer.mastership(own_now, to == State::Master);
                }
                n.trace(e);
            }
        }
    }
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
        if !n.holds_vips || !n.vips.contains(&IpAddr::V4(a.target_ip)) {
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
                    if !n.holds_vips || !n.vips.contains(&vip.ip()) {
                        None
                    } else {
                        let t = n.clock.own(now().since_origin());
                        n.balancer.pick(vip, client, t)
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
                n.balancer.conn_closed(client, t);
            }
            _ => {}
        }
    }
}
