//! Synthesized frames of one client request as LVS-DR puts them on the
//! segment: client -> VIP to the director's MAC, the same packets
//! director -> real server's MAC, and the real server's answers from the
//! VIP straight to the client.
//!
//! The simulator forwards requests through the director (turmoil carries
//! streams, not packets); these frames show what the same exchange looks
//! like on a real LVS-DR segment, with consistent sequence numbers and
//! checksums so that tshark decodes them cleanly.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use etherparse::PacketBuilder;
use vigil_core::packet::MacAddr;
use vigil_core::time::Instant;

/// The endpoints of one request.
#[derive(Clone, Copy, Debug)]
pub struct Flow {
    /// Client address and MAC.
    pub client: (Ipv4Addr, MacAddr),
    /// Client port.
    pub client_port: u16,
    /// The VIP and service port.
    pub vip: (Ipv4Addr, u16),
    /// The director's MAC (the client's ARP entry).
    pub director: MacAddr,
    /// The real server's MAC, when the request was forwarded.
    pub server: Option<MacAddr>,
}

#[derive(Clone, Copy)]
enum Dir {
    /// Client to VIP, as sent to the director.
    Up,
    /// Client to VIP, forwarded by the director to the real server.
    Forwarded,
    /// VIP (the real server) to client.
    Down,
}

struct Builder {
    flow: Flow,
    frames: Vec<(Instant, Vec<u8>)>,
    seq_c: u32,
    seq_s: u32,
}

impl Builder {
    fn push(&mut self, at: Instant, dir: Dir, flags: &str, payload: &[u8]) {
        let f = self.flow;
        let (src_mac, dst_mac, src_ip, dst_ip, sp, dp, seq, ack) = match dir {
            Dir::Up => (
                f.client.1,
                f.director,
                f.client.0,
                f.vip.0,
                f.client_port,
                f.vip.1,
                self.seq_c,
                self.seq_s,
            ),
            Dir::Forwarded => {
                let Some(s) = f.server else { return };
                (
                    f.director,
                    s,
                    f.client.0,
                    f.vip.0,
                    f.client_port,
                    f.vip.1,
                    self.seq_c,
                    self.seq_s,
                )
            }
            Dir::Down => {
                let Some(s) = f.server else { return };
                (
                    s,
                    f.client.1,
                    f.vip.0,
                    f.client.0,
                    f.vip.1,
                    f.client_port,
                    self.seq_s,
                    self.seq_c,
                )
            }
        };
        let mut b = PacketBuilder::ethernet2(src_mac.0, dst_mac.0)
            .ipv4(src_ip.octets(), dst_ip.octets(), 64)
            .tcp(sp, dp, seq, 64240);
        for c in flags.chars() {
            b = match c {
                'S' => b.syn(),
                'A' => b.ack(ack),
                'P' => b.psh(),
                'F' => b.fin(),
                'R' => b.rst(),
                _ => b,
            };
        }
        let mut out = Vec::with_capacity(b.size(payload.len()));
        if b.write(&mut out, payload).is_ok() {
            self.frames.push((at, out));
        }
    }

    /// Sends from the client: the frame to the director, then (DR) the
    /// same packet forwarded to the real server.
    fn up(&mut self, at: Instant, flags: &str, payload: &[u8], hop: Duration) {
        self.push(at, Dir::Up, flags, payload);
        self.push(at + hop, Dir::Forwarded, flags, payload);
    }
}

/// How the request went, as far as the wire shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Connection answered: full exchange with request and response.
    Answered,
    /// The director did not hold the VIP: SYN, then RST from the VIP.
    Refused,
    /// SYN (and request) sent, no answer.
    Unanswered,
}

/// The frames of one request from `start` to `end`, one-way latency `hop`.
pub fn request(
    flow: Flow,
    shape: Shape,
    start: Instant,
    end: Instant,
    hop: Duration,
    request: &[u8],
    response: &[u8],
) -> Vec<(Instant, Vec<u8>)> {
    let isn_c = u32::from(flow.client_port).wrapping_mul(2_654_435_761);
    let isn_s = isn_c.rotate_left(16) ^ 0x5a5a_5a5a;
    let mut b = Builder {
        flow,
        frames: Vec::new(),
        seq_c: isn_c,
        seq_s: isn_s,
    };
    match shape {
        Shape::Refused => {
            // The director without the VIP answers with a reset.
            b.push(start, Dir::Up, "S", &[]);
            let rst = PacketBuilder::ethernet2(flow.director.0, flow.client.1.0)
                .ipv4(flow.vip.0.octets(), flow.client.0.octets(), 64)
                .tcp(flow.vip.1, flow.client_port, 0, 0)
                .rst()
                .ack(isn_c.wrapping_add(1));
            let mut out = Vec::new();
            if rst.write(&mut out, &[]).is_ok() {
                b.frames.push((start + hop, out));
            }
        }
        Shape::Unanswered => {
            b.push(start, Dir::Up, "S", &[]);
        }
        Shape::Answered => {
            let t = |n: u32| start + hop * n;
            b.up(t(0), "S", &[], hop);
            b.seq_c = b.seq_c.wrapping_add(1);
            b.push(t(2), Dir::Down, "SA", &[]);
            b.seq_s = b.seq_s.wrapping_add(1);
            b.up(t(3), "A", &[], hop);
            b.up(t(3), "PA", request, hop);
            b.seq_c = b.seq_c.wrapping_add(request.len() as u32);
            let reply_at = end.max(t(5)) - hop;
            b.push(reply_at, Dir::Down, "PA", response);
            b.seq_s = b.seq_s.wrapping_add(response.len() as u32);
            b.push(reply_at, Dir::Down, "FA", &[]);
            b.seq_s = b.seq_s.wrapping_add(1);
            b.up(reply_at + hop, "FA", &[], hop);
            b.seq_c = b.seq_c.wrapping_add(1);
            b.push(reply_at + hop * 2, Dir::Down, "A", &[]);
        }
    }
    b.frames
}

/// The IPv4 address inside `a`, if it is one.
pub fn v4(a: IpAddr) -> Option<Ipv4Addr> {
    match a {
        IpAddr::V4(v) => Some(v),
        IpAddr::V6(_) => None,
    }
}
