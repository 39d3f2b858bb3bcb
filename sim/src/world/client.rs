//! A client: requests the VIP at a fixed rate through whichever director
//! its ARP cache names, and keeps that cache from the gratuitous ARPs
//! and ARP replies that actually reach it.
//!
//! One event loop per client (no task per request): requests start on a
//! fixed schedule, wait for ARP resolution if needed, go out as LVS-DR
//! segments, and end with an answer, a reset or their timeout.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use turmoil::net::UdpSocket;
use vigil_core::harness;
use vigil_core::packet::MacAddr;
use vigil_core::packet::arp::{Arp, Operation};
use vigil_core::packet::frame::{self, Content};
use vigil_core::time::Instant;
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

/// One request in flight.
struct InFlight {
    /// Its sequence number (start order).
    n: u64,
    /// When it started.
    start: Instant,
    /// When its first segment left (after ARP resolution).
    sent: Option<Instant>,
    /// The director its ARP entry named.
    via: Option<usize>,
    /// When it gives up.
    deadline: Instant,
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
    let (rate, target, timeout, me, name) = {
        let w = shared.borrow();
        let c = &w.scenario.clients[idx];
        (c.rate, c.target, c.timeout, c.address, c.name.clone())
    };
    let arp = UdpSocket::bind(("0.0.0.0", ARP_PORT)).await?;
    arp.set_broadcast(true)?;
    let socket = UdpSocket::bind(("0.0.0.0", CLIENT_PORT)).await?;
    let period = Duration::from_secs_f64(1.0 / rate);
    let origin = tokio::time::Instant::now();
    let req = request(&target.ip().to_string(), "/");
    let mut judge = ServiceJudge::default();
    let mut inflight: BTreeMap<u16, InFlight> = BTreeMap::new();
    let mut unresolved: VecDeque<u16> = VecDeque::new();
    let mut deadlines: BTreeSet<(Instant, u16)> = BTreeSet::new();
    let mut last_query: Option<Instant> = None;
    let mut next_n = 0u64;
    let mut buf = vec![0u8; 65_536];
    let mut arp_buf = [0u8; 256];
    // One timer, kept across iterations and moved only when the next
    // wake-up (a start or a time-out) changes.
    let origin_core = now();
    let to_tokio = |t: Instant| origin + (t - origin_core);
    let timer = tokio::time::sleep_until(origin);
    tokio::pin!(timer);
    let mut armed = origin;
    loop {
        let next_start = origin + period.mul_f64(next_n as f64);
        let wake = deadlines
            .first()
            .map_or(next_start, |d| next_start.min(to_tokio(d.0)));
        if wake != armed {
            timer.as_mut().reset(wake);
            armed = wake;
        }
        tokio::select! {
            biased;
            r = arp.recv_from(&mut arp_buf) => {
                let (n, from) = r?;
                if learn_arp(&shared, idx, me, from, &arp_buf[..n]) {
                    // The VIP resolved: send what waited for it.
                    while let Some(port) = unresolved.pop_front() {
                        send(&shared, idx, &socket, &mut inflight, port, target, &req).await;
                    }
                }
            }
            r = socket.recv_from(&mut buf) => {
                let (n, from) = r?;
                if shared.borrow_mut().lost(from.ip(), me) {
                    continue;
                }
                let (port, answer) = match Segment::parse(&buf[..n]) {
                    Some(Segment::Response { client_port, http }) => (client_port, Some(http)),
                    Some(Segment::Reset { client_port }) => (client_port, None),
                    _ => continue,
                };
                let Some(f) = inflight.remove(&port) else { continue };
                deadlines.remove(&(f.deadline, port));
                let outcome = match &answer {
                    None => Outcome::Refused,
                    Some(reply) => judge_reply(&shared, reply),
                };
                finish(&shared, idx, &socket, &mut judge, &name, port, f, outcome, answer.unwrap_or_default(), target, &req).await;
            }
            _ = &mut timer => {
                let t = now();
                // Time-outs due.
                while let Some(&(at, port)) = deadlines.first() {
                    if at > t {
                        break;
                    }
                    deadlines.pop_first();
                    unresolved.retain(|p| *p != port);
                    if let Some(f) = inflight.remove(&port) {
                        finish(&shared, idx, &socket, &mut judge, &name, port, f, Outcome::Timeout, Vec::new(), target, &req).await;
                    }
                }
                // A request due.
                if tokio::time::Instant::now() >= next_start {
                    let port = 49152 + (next_n % 16_000) as u16;
                    let f = InFlight { n: next_n, start: t, sent: None, via: None, deadline: t + timeout };
                    next_n += 1;
                    deadlines.insert((f.deadline, port));
                    inflight.insert(port, f);
                    if shared.borrow().arp[idx].contains_key(&target.ip()) {
                        send(&shared, idx, &socket, &mut inflight, port, target, &req).await;
                    } else {
                        unresolved.push_back(port);
                    }
                }
                // Unresolved: ask (again, once per retry period).
                if !unresolved.is_empty() && last_query.is_none_or(|q| t - q >= ARP_RETRY) {
                    last_query = Some(t);
                    query_arp(&shared, idx, &arp, me, target.ip()).await;
                }
                // Nothing else due: sleep again (the timer is re-armed at
                // the top of the loop, even to the same instant).
                armed = origin;
            }
        }
    }
}

/// Learns from an ARP frame; true when the VIP entry changed.
fn learn_arp(shared: &Shared, idx: usize, me: IpAddr, from: SocketAddr, bytes: &[u8]) -> bool {
    if from.ip() == me || shared.borrow_mut().lost(from.ip(), me) {
        return false;
    }
    let Ok(f) = frame::parse_ethernet(bytes) else {
        return false;
    };
    let Content::Arp(a) = f.content else {
        return false;
    };
    // Gratuitous ARPs (requests or replies announcing the sender) and
    // replies both update the cache, as Linux does for entries it has.
    if !(a.is_gratuitous() || a.operation == Operation::Reply) {
        return false;
    }
    let mut w = shared.borrow_mut();
    let Some(Host::Director(d)) = net::host_of_mac(&w.scenario, a.sender_mac) else {
        return false;
    };
    let vip = IpAddr::V4(a.sender_ip);
    let previous = w.arp[idx].insert(vip, d);
    if previous == Some(d) {
        return false;
    }
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
    true
}

/// Broadcasts "who has `vip`".
async fn query_arp(shared: &Shared, idx: usize, arp: &UdpSocket, me: IpAddr, vip: IpAddr) {
    let (IpAddr::V4(me4), IpAddr::V4(vip4)) = (me, vip) else {
        return;
    };
    let mac = net::mac(Host::Client(idx));
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
    shared.borrow_mut().rec.frame(now(), || bytes.clone());
    let _ = arp.send_to(&bytes, ("255.255.255.255", ARP_PORT)).await;
}

/// Sends request `port` to the director the ARP cache names.
async fn send(
    shared: &Shared,
    idx: usize,
    socket: &UdpSocket,
    inflight: &mut BTreeMap<u16, InFlight>,
    port: u16,
    target: SocketAddr,
    req: &[u8],
) {
    let (d, addr, me) = {
        let w = shared.borrow();
        let Some(&d) = w.arp[idx].get(&target.ip()) else {
            return;
        };
        (
            d,
            w.scenario.directors[d].address,
            w.scenario.clients[idx].address,
        )
    };
    let Some(f) = inflight.get_mut(&port) else {
        return;
    };
    f.via = Some(d);
    f.sent = Some(now());
    let seg = Segment::Request {
        client: SocketAddr::new(me, port),
        vip: target,
        http: req.to_vec(),
    };
    let _ = socket.send_to(&seg.to_bytes(), (addr, target.port())).await;
}

/// What an HTTP answer says.
fn judge_reply(shared: &Shared, reply: &[u8]) -> Outcome {
    match parse_response(reply) {
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
    }
}

/// Ends a request: the closing segment passes the director (as in DR), the
/// outcome is recorded, the service judged, the frames captured.
#[allow(clippy::too_many_arguments)]
async fn finish(
    shared: &Shared,
    idx: usize,
    socket: &UdpSocket,
    judge: &mut ServiceJudge,
    name: &str,
    port: u16,
    f: InFlight,
    outcome: Outcome,
    reply: Vec<u8>,
    target: SocketAddr,
    req: &[u8],
) {
    let me = shared.borrow().scenario.clients[idx].address;
    let client = SocketAddr::new(me, port);
    if let Some(d) = f.via {
        let addr = shared.borrow().scenario.directors[d].address;
        let _ = socket
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
    for ev in judge.add(f.n, f.start.since_origin().as_secs(), failure) {
        w.trace(end, name, Event::Harness(ev));
    }
    if w.rec.capture
        && let (Some(d), Some(me4), Some(vip4)) = (f.via, tcp::v4(me), tcp::v4(target.ip()))
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
            client_port: port,
            vip: (vip4, target.port()),
            director: net::mac(Host::Director(d)),
            server,
        };
        let hop = w.scenario.network.latency;
        for (at, bytes) in tcp::request(
            flow,
            shape,
            f.sent.unwrap_or(f.start),
            end,
            hop,
            req,
            &reply,
        ) {
            w.rec.frame(at, || bytes);
        }
    }
    w.rec.requests.push(Request {
        client: idx,
        start: f.start,
        end,
        via: f.via,
        outcome,
    });
}
