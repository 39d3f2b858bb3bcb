//! A client: requests the VIP at a fixed rate through whichever director
//! its ARP cache names, and keeps that cache from the gratuitous ARPs
//! and ARP replies that actually reach it.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use tokio::sync::{Notify, oneshot};
use turmoil::net::UdpSocket;
use vigil_core::harness;
use vigil_core::packet::MacAddr;
use vigil_core::packet::arp::{Arp, Operation};
use vigil_core::packet::frame::{self, Content};
use vigil_core::trace::Event;

use super::dr::Segment;
use super::net::{self, ARP_PORT, CLIENT_PORT};
use super::real_server::{parse_response, request};
use super::shared::{Shared, now};
use crate::record::tcp::{self, Flow, Shape};
use crate::record::{Outcome, Request};
use crate::scenario::Host;

/// How often an unresolved VIP is asked for again.
const ARP_RETRY: Duration = Duration::from_secs(1);

/// Client-local state shared by its tasks.
struct Local {
    /// Wakes requests waiting for the ARP entry.
    resolved: Notify,
    /// When the last ARP request went out.
    last_query: RefCell<Option<vigil_core::time::Instant>>,
    /// Service judgement per second of request start times.
    service: RefCell<ServiceJudge>,
    /// The socket client traffic goes out of and answers come back to.
    socket: UdpSocket,
    /// Requests waiting for an answer, by client port.
    waiting: RefCell<BTreeMap<u16, oneshot::Sender<Segment>>>,
}

/// Judges a client's service second by second, in request start order
/// (a request that times out completes after later ones).
#[derive(Default)]
struct ServiceJudge {
    /// Outcomes that completed ahead of earlier requests: sequence ->
    /// (start second, failure reason if failed).
    pending: BTreeMap<u64, (u64, Option<String>)>,
    /// The next request in start order.
    next: u64,
    /// The second being tallied: (second, ok, failed, first reason).
    bucket: Option<(u64, u64, u64, Option<String>)>,
    /// The state last reported.
    state: &'static str,
}

impl ServiceJudge {
    /// Adds request `n` (started in `second`) and returns the state
    /// changes it lets be judged.
    fn add(&mut self, n: u64, second: u64, failure: Option<String>) -> Vec<harness::Event> {
        self.pending.insert(n, (second, failure));
        let mut out = Vec::new();
        while let Some((sec, failure)) = self.pending.remove(&self.next) {
            self.next += 1;
            if let Some((b, ok, failed, reason)) = self.bucket.take() {
                if b == sec {
                    let reason = reason.or_else(|| failure.clone());
                    let (ok, failed) = if failure.is_some() {
                        (ok, failed + 1)
                    } else {
                        (ok + 1, failed)
                    };
                    self.bucket = Some((b, ok, failed, reason));
                    continue;
                }
                out.extend(self.close(b, ok, failed, reason));
            }
            self.bucket = Some((
                sec,
                u64::from(failure.is_none()),
                u64::from(failure.is_some()),
                failure,
            ));
        }
        out
    }

    fn close(
        &mut self,
        second: u64,
        ok: u64,
        failed: u64,
        reason: Option<String>,
    ) -> Option<harness::Event> {
        let state = match (ok, failed) {
            (_, 0) => "up",
            (0, _) => "down",
            _ => "degraded",
        };
        let first = self.state.is_empty();
        if state == self.state || (first && state == "up") {
            self.state = state;
            return None;
        }
        self.state = state;
        Some(harness::Event::Service {
            state,
            since: vigil_core::time::Instant::from_secs(second),
            ok,
            failed,
            reason: if failed > 0 { reason } else { None },
        })
    }
}

/// The host future of client `idx`.
pub async fn run(shared: Shared, idx: usize) -> turmoil::Result {
    let (rate, target) = {
        let w = shared.borrow();
        let c = &w.scenario.clients[idx];
        (c.rate, c.target)
    };
    let arp = Rc::new(UdpSocket::bind(("0.0.0.0", ARP_PORT)).await?);
    arp.set_broadcast(true)?;
    let socket = UdpSocket::bind(("0.0.0.0", CLIENT_PORT)).await?;
    let local = Rc::new(Local {
        socket,
        waiting: RefCell::new(BTreeMap::new()),
        resolved: Notify::new(),
        last_query: RefCell::new(None),
        service: RefCell::new(ServiceJudge::default()),
    });
    tokio::task::spawn_local(listen_arp(shared.clone(), idx, arp.clone(), local.clone()));
    tokio::task::spawn_local(listen_answers(shared.clone(), idx, local.clone()));
    let period = Duration::from_secs_f64(1.0 / rate);
    let start = tokio::time::Instant::now();
    for n in 0u64.. {
        tokio::time::sleep_until(start + period.mul_f64(n as f64)).await;
        tokio::task::spawn_local(one_request(
            shared.clone(),
            idx,
            target,
            arp.clone(),
            local.clone(),
            n,
        ));
    }
    Ok(())
}

async fn listen_arp(
    shared: Shared,
    idx: usize,
    sock: Rc<UdpSocket>,
    local: Rc<Local>,
) -> turmoil::Result {
    let me = shared.borrow().scenario.clients[idx].address;
    let mut buf = [0u8; 256];
    loop {
        let (n, from) = sock.recv_from(&mut buf).await?;
        if from.ip() == me || shared.borrow_mut().lost(from.ip(), me) {
            continue;
        }
        let Ok(f) = frame::parse_ethernet(&buf[..n]) else {
            continue;
        };
        let Content::Arp(a) = f.content else { continue };
        // Gratuitous ARPs (requests or replies announcing the sender) and
        // replies both update the cache, as Linux does for entries it has.
        if !(a.is_gratuitous() || a.operation == Operation::Reply) {
            continue;
        }
        let mut w = shared.borrow_mut();
        let Some(Host::Director(d)) = net::host_of_mac(&w.scenario, a.sender_mac) else {
            continue;
        };
        let vip = IpAddr::V4(a.sender_ip);
        let previous = w.arp[idx].insert(vip, d);
        if previous != Some(d) {
            let holder = w.scenario.directors[d].name.clone();
            let previous = previous.map(|p| w.scenario.directors[p].name.clone());
            let name = w.scenario.clients[idx].name.clone();
            w.trace(
                now(),
                &name,
                Event::Harness(harness::Event::ArpCache {
                    vip,
                    holder,
                    previous,
                }),
            );
            local.resolved.notify_waiters();
        }
    }
}

/// Hands answers (from real servers, or resets) to the waiting requests.
async fn listen_answers(shared: Shared, idx: usize, local: Rc<Local>) -> turmoil::Result {
    let me = shared.borrow().scenario.clients[idx].address;
    let mut buf = vec![0u8; 65_536];
    loop {
        let (n, from) = local.socket.recv_from(&mut buf).await?;
        if shared.borrow_mut().lost(from.ip(), me) {
            continue;
        }
        let port = match Segment::parse(&buf[..n]) {
            Some(Segment::Response { client_port, .. }) | Some(Segment::Reset { client_port }) => {
                client_port
            }
            _ => continue,
        };
        if let Some(tx) = local.waiting.borrow_mut().remove(&port) {
            let _ = tx.send(Segment::parse(&buf[..n]).expect("parsed above"));
        }
    }
}

/// Finds the director for `vip`, asking by ARP when the cache has none.
async fn resolve(
    shared: &Shared,
    idx: usize,
    vip: IpAddr,
    arp: &UdpSocket,
    local: &Local,
) -> Option<usize> {
    loop {
        if let Some(d) = shared.borrow().arp[idx].get(&vip) {
            return Some(*d);
        }
        let t = now();
        let due = local.last_query.borrow().is_none_or(|q| t - q >= ARP_RETRY);
        if due {
            *local.last_query.borrow_mut() = Some(t);
            let (me, mac) = {
                let w = shared.borrow();
                (w.scenario.clients[idx].address, net::mac(Host::Client(idx)))
            };
            if let (IpAddr::V4(me4), IpAddr::V4(vip4)) = (me, vip) {
                let req = Arp {
                    operation: Operation::Request,
                    sender_mac: mac,
                    sender_ip: me4,
                    target_mac: MacAddr::default(),
                    target_ip: vip4,
                };
                let bytes = frame::ethernet(
                    MacAddr::BROADCAST,
                    mac,
                    None,
                    frame::ETHERTYPE_ARP,
                    &req.to_bytes(),
                );
                shared.borrow_mut().rec.frame(t, || bytes.clone());
                let _ = arp.send_to(&bytes, ("255.255.255.255", ARP_PORT)).await;
            }
        }
        // Wait for an answer, or the next retry.
        let _ = tokio::time::timeout(ARP_RETRY, local.resolved.notified()).await;
    }
}

async fn one_request(
    shared: Shared,
    idx: usize,
    target: SocketAddr,
    arp: Rc<UdpSocket>,
    local: Rc<Local>,
    n: u64,
) {
    let (timeout, me, name) = {
        let w = shared.borrow();
        let c = &w.scenario.clients[idx];
        (c.timeout, c.address, c.name.clone())
    };
    let start = now();
    // When the request left (after ARP resolution), for the capture.
    let connect_at = std::cell::Cell::new(start);
    let req = request(&target.ip().to_string(), "/");
    // The connection's client port, as the kernel would pick it.
    let port = 49152 + (n % 16_000) as u16;
    let client = SocketAddr::new(me, port);
    let director = std::cell::Cell::new(None);
    let attempt = async {
        let Some(d) = resolve(&shared, idx, target.ip(), &arp, &local).await else {
            return (None, Outcome::NoArp, Vec::new());
        };
        director.set(Some(d));
        let addr = shared.borrow().scenario.directors[d].address;
        connect_at.set(now());
        let (tx, rx) = oneshot::channel();
        local.waiting.borrow_mut().insert(port, tx);
        let seg = Segment::Request {
            client,
            vip: target,
            http: req.clone(),
        };
        let _ = local
            .socket
            .send_to(&seg.to_bytes(), (addr, target.port()))
            .await;
        let Ok(answer) = rx.await else {
            return (Some(d), Outcome::Reset, Vec::new());
        };
        let reply = match answer {
            Segment::Response { http, .. } => http,
            _ => return (Some(d), Outcome::Refused, Vec::new()),
        };
        let outcome = match parse_response(&reply) {
            Some((200, body)) => {
                let w = shared.borrow();
                match w
                    .scenario
                    .real_servers
                    .iter()
                    .position(|r| r.page.as_bytes() == body)
                {
                    Some(server) => Outcome::Ok { server },
                    None => Outcome::WrongPage,
                }
            }
            Some((code, _)) => Outcome::Status(code),
            None => Outcome::Reset,
        };
        (Some(d), outcome, reply)
    };
    let (via, outcome, reply) = match tokio::time::timeout(timeout, attempt).await {
        Ok(r) => r,
        Err(_) => {
            local.waiting.borrow_mut().remove(&port);
            (director.get(), Outcome::Timeout, Vec::new())
        }
    };
    // The closing segment passes the director, as in DR.
    if let Some(d) = director.get() {
        let addr = shared.borrow().scenario.directors[d].address;
        let _ = local
            .socket
            .send_to(
                &Segment::Close {
                    client,
                    vip: target,
                }
                .to_bytes(),
                (addr, target.port()),
            )
            .await;
    }
    let end = now();
    let mut w = shared.borrow_mut();
    let failure = if outcome.is_ok() {
        None
    } else {
        Some(outcome.name())
    };
    let second = start.since_origin().as_secs();
    for ev in local.service.borrow_mut().add(n, second, failure) {
        w.trace(end, &name, Event::Harness(ev));
    }
    if w.rec.capture
        && let (Some(d), Some(me4), Some(vip4)) = (via, tcp::v4(me), tcp::v4(target.ip()))
    {
        let server = match &outcome {
            Outcome::Ok { server } => Some(net::mac(Host::RealServer(*server))),
            _ => None,
        };
        let shape = match &outcome {
            Outcome::Ok { .. } | Outcome::Status(_) | Outcome::WrongPage => Shape::Answered,
            Outcome::Refused => Shape::Refused,
            _ => Shape::Unanswered,
        };
        let flow = Flow {
            client: (me4, net::mac(Host::Client(idx))),
            client_port: if port == 0 {
                49152 + (n % 16000) as u16
            } else {
                port
            },
            vip: (vip4, target.port()),
            director: net::mac(Host::Director(d)),
            server,
        };
        let hop = w.scenario.network.latency;
        for (at, bytes) in tcp::request(flow, shape, connect_at.get(), end, hop, &req, &reply) {
            w.rec.frame(at, || bytes);
        }
    }
    w.rec.requests.push(Request {
        client: idx,
        start,
        end,
        via,
        outcome,
    });
}
