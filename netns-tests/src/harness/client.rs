//! Clients: request loops bounded in count and time, on threads inside
//! the client's namespace, that record every request's outcome.
//!
//! - [`ClientMode::Reach`] (a kernel without IPVS): ICMP echo to the VIP
//!   through the bridge. The director holding the VIP answers; this is
//!   what is real without IPVS (an LVS-DR director cannot forward).
//! - [`ClientMode::Http`] (a kernel with IPVS, the VM lane): HTTP GET to
//!   the virtual service; outcomes as the simulator records them.
//!
//! Which director a request went through is the one whose MAC the
//! client's neighbour entry for the VIP names (`ip monitor neigh`).

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use vigil_core::packet::MacAddr;
use vigil_sim::record::{Outcome, Request};

/// How clients request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientMode {
    /// ICMP echo to the VIP.
    Reach,
    /// HTTP GET through the virtual service.
    Http,
}

/// One ICMP echo to the VIP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    /// Client index.
    pub client: usize,
    /// Sent.
    pub start: SystemTime,
    /// Answered or given up.
    pub end: SystemTime,
    /// The director the client's neighbour entry named when it ended.
    pub via: Option<usize>,
    /// Whether an echo reply came back in time.
    pub answered: bool,
}

/// What a client needs to know.
#[derive(Clone, Debug)]
pub struct ClientSpec {
    /// Index.
    pub idx: usize,
    /// Its namespace.
    pub netns: String,
    /// Requests per second.
    pub rate: f64,
    /// The virtual service.
    pub target: SocketAddr,
    /// Per-request timeout.
    pub timeout: Duration,
    /// How many requests at most.
    pub count: u64,
    /// The real servers' pages (index = real server).
    pub pages: Vec<String>,
}

/// The MAC the client's neighbour entry for the VIP holds now, and the
/// director it belongs to.
pub type Neigh = Arc<Mutex<Option<(MacAddr, Option<usize>)>>>;

/// A running client; stops on drop.
pub struct Client {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Where results go.
#[derive(Clone, Default)]
pub struct Results {
    /// Echo probes (reach mode).
    pub probes: Arc<Mutex<Vec<Probe>>>,
    /// HTTP requests (http mode), with wall-clock start and end.
    pub requests: Arc<Mutex<Vec<(SystemTime, SystemTime, Request)>>>,
}

impl Client {
    /// Starts client `spec` in `mode`, from now.
    pub fn start(spec: ClientSpec, mode: ClientMode, neigh: Neigh, out: Results) -> Client {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let netns = spec.netns.clone();
        let thread = crate::ns::spawn_in(&netns, move || match mode {
            ClientMode::Reach => reach(&spec, &neigh, &out, &s),
            ClientMode::Http => http(&spec, &neigh, &out, &s),
        });
        Client {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops sending; waits for the requests in flight.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.stop();
    }
}

fn via(neigh: &Neigh) -> Option<usize> {
    neigh.lock().expect("not poisoned").and_then(|(_, d)| d)
}

/// The internet checksum of `b`.
fn checksum(b: &[u8]) -> u16 {
    let mut sum = 0u32;
    for c in b.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], 0])
        };
        sum += u32::from(w);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An ICMP echo request.
pub fn echo_request(id: u16, seq: u16) -> Vec<u8> {
    let mut p = vec![8, 0, 0, 0];
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(b"vigil-netns-reach");
    let c = checksum(&p);
    p[2..4].copy_from_slice(&c.to_be_bytes());
    p
}

/// The (id, seq) of an ICMP echo reply inside an IPv4 datagram from `src`.
pub fn echo_reply(datagram: &[u8]) -> Option<(IpAddr, u16, u16)> {
    let ihl = usize::from(datagram.first()? & 0x0f) * 4;
    if datagram.len() < ihl + 8 || datagram[9] != 1 {
        return None;
    }
    let src = IpAddr::from([datagram[12], datagram[13], datagram[14], datagram[15]]);
    let icmp = &datagram[ihl..];
    if icmp[0] != 0 {
        return None;
    }
    Some((
        src,
        u16::from_be_bytes([icmp[4], icmp[5]]),
        u16::from_be_bytes([icmp[6], icmp[7]]),
    ))
}

fn reach(spec: &ClientSpec, neigh: &Neigh, out: &Results, stop: &AtomicBool) {
    let IpAddr::V4(vip) = spec.target.ip() else {
        return; // IPv6 reach probes: not needed by any scenario yet
    };
    // SAFETY: plain socket call.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP) };
    if fd < 0 {
        return;
    }
    let period = Duration::from_secs_f64(1.0 / spec.rate);
    // Wake for the next send at the latest (1 to 5 ms).
    let tv = libc::timeval {
        tv_sec: 0,
        tv_usec: period.as_micros().clamp(1_000, 5_000) as libc::suseconds_t,
    };
    // SAFETY: valid fd and option of the right size.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as u32,
        );
    }
    // SAFETY: sockaddr_in is plain data.
    let mut to: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    to.sin_family = libc::AF_INET as u16;
    to.sin_addr.s_addr = u32::from_ne_bytes(vip.octets());
    let id = (std::process::id() as u16) ^ (spec.idx as u16).wrapping_mul(7919);
    let start = SystemTime::now();
    let mut pending: std::collections::BTreeMap<u16, SystemTime> = Default::default();
    let mut sent: u64 = 0;
    let mut buf = [0u8; 2048];
    let done = |pending: &std::collections::BTreeMap<u16, SystemTime>, sent: u64| {
        pending.is_empty() && (sent >= spec.count || stop.load(Ordering::Relaxed))
    };
    while !done(&pending, sent) {
        let now = SystemTime::now();
        while sent < spec.count
            && !stop.load(Ordering::Relaxed)
            && now >= start + period.mul_f64(sent as f64)
        {
            let seq = sent as u16;
            let pkt = echo_request(id, seq);
            // SAFETY: valid buffer and address.
            unsafe {
                libc::sendto(
                    fd,
                    pkt.as_ptr().cast(),
                    pkt.len(),
                    0,
                    (&to as *const libc::sockaddr_in).cast(),
                    std::mem::size_of::<libc::sockaddr_in>() as u32,
                );
            }
            pending.insert(seq, now);
            sent += 1;
        }
        // SAFETY: valid buffer.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
        let now = SystemTime::now();
        if n > 0
            && let Some((src, rid, seq)) = echo_reply(&buf[..n as usize])
            && rid == id
            && src == IpAddr::V4(vip)
            && let Some(s) = pending.remove(&seq)
        {
            out.probes.lock().expect("not poisoned").push(Probe {
                client: spec.idx,
                start: s,
                end: now,
                via: via(neigh),
                answered: true,
            });
        }
        let expired: Vec<u16> = pending
            .iter()
            .filter(|(_, s)| now.duration_since(**s).unwrap_or_default() >= spec.timeout)
            .map(|(k, _)| *k)
            .collect();
        for k in expired {
            let s = pending.remove(&k).expect("listed");
            out.probes.lock().expect("not poisoned").push(Probe {
                client: spec.idx,
                start: s,
                end: s + spec.timeout,
                via: via(neigh),
                answered: false,
            });
        }
    }
    // SAFETY: closing the socket opened above.
    unsafe { libc::close(fd) };
}

/// Splits an HTTP response into status and body.
pub fn parse_response(bytes: &[u8]) -> Option<(u16, &[u8])> {
    let head_end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let status_line = std::str::from_utf8(&bytes[..head_end])
        .ok()?
        .lines()
        .next()?;
    let code = status_line.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, &bytes[head_end + 4..]))
}

/// One HTTP GET of `target` within `timeout`: its outcome.
pub fn get(target: SocketAddr, timeout: Duration, pages: &[String]) -> Outcome {
    let started = std::time::Instant::now();
    let mut s = match TcpStream::connect_timeout(&target, timeout) {
        Ok(s) => s,
        Err(e) => {
            return match e.kind() {
                std::io::ErrorKind::ConnectionRefused => Outcome::Refused,
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => Outcome::Timeout,
                std::io::ErrorKind::HostUnreachable => Outcome::NoArp,
                _ => Outcome::Reset,
            };
        }
    };
    let req = format!(
        "GET / HTTP/1.0\r\nHost: {}\r\nUser-Agent: vigil-netns\r\n\r\n",
        target.ip()
    );
    if s.write_all(req.as_bytes()).is_err() {
        return Outcome::Reset;
    }
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Outcome::Timeout;
        }
        let _ = s.set_read_timeout(Some(left));
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => reply.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Outcome::Timeout;
            }
            Err(_) => return Outcome::Reset,
        }
    }
    match parse_response(&reply) {
        Some((200, body)) => match pages.iter().position(|p| p.as_bytes() == body) {
            Some(server) => Outcome::Ok { server },
            None => Outcome::WrongPage,
        },
        Some((code, _)) => Outcome::Status(code),
        None => Outcome::Reset,
    }
}

fn http(spec: &ClientSpec, neigh: &Neigh, out: &Results, stop: &AtomicBool) {
    let period = Duration::from_secs_f64(1.0 / spec.rate);
    let start = SystemTime::now();
    let mut inflight = Vec::new();
    for n in 0..spec.count {
        let due = start + period.mul_f64(n as f64);
        while SystemTime::now() < due {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let left = due.duration_since(SystemTime::now()).unwrap_or_default();
            std::thread::sleep(left.min(Duration::from_millis(20)));
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let (spec2, neigh, out) = (spec.clone(), neigh.clone(), out.clone());
        let netns = spec.netns.clone();
        inflight.push(crate::ns::spawn_in(&netns, move || {
            let s = SystemTime::now();
            let outcome = get(spec2.target, spec2.timeout, &spec2.pages);
            let e = SystemTime::now();
            let req = Request {
                client: spec2.idx,
                start: vigil_core::time::Instant::ZERO,
                end: vigil_core::time::Instant::ZERO,
                via: via(&neigh),
                outcome,
            };
            out.requests.lock().expect("not poisoned").push((s, e, req));
        }));
        inflight.retain(|t| !t.is_finished());
    }
    for t in inflight {
        let _ = t.join();
    }
}

/// `(address, MAC or None when unresolved)` of an `ip monitor neigh` line
/// such as `192.0.2.160 dev eth0 lladdr 02:00:00:00:00:01 REACHABLE`.
pub fn parse_neigh(line: &str) -> Option<(IpAddr, Option<MacAddr>)> {
    let line = line.trim_start();
    let line = line.strip_prefix("Deleted ").unwrap_or(line);
    let mut words = line.split_whitespace();
    let addr: IpAddr = words.next()?.parse().ok()?;
    let rest: Vec<&str> = words.collect();
    let mac = rest
        .iter()
        .position(|w| *w == "lladdr")
        .and_then(|i| rest.get(i + 1))
        .and_then(|m| parse_mac(m));
    Some((addr, mac))
}

/// `02:00:00:00:00:01` as a MAC address.
pub fn parse_mac(s: &str) -> Option<MacAddr> {
    let v: Vec<u8> = s
        .split(':')
        .map(|b| u8::from_str_radix(b, 16).ok())
        .collect::<Option<_>>()?;
    let a: [u8; 6] = v.try_into().ok()?;
    Some(MacAddr(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_packets() {
        let p = echo_request(0x1234, 7);
        assert_eq!(checksum(&p), 0, "a packet with its checksum sums to zero");
        let mut d = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0, 192, 0, 2, 160, 192, 0, 2, 200,
        ];
        let mut reply = p.clone();
        reply[0] = 0;
        d.extend_from_slice(&reply);
        assert_eq!(
            echo_reply(&d),
            Some(("192.0.2.160".parse().unwrap(), 0x1234, 7))
        );
        d[20] = 8;
        assert_eq!(echo_reply(&d), None);
    }

    #[test]
    fn neighbour_lines() {
        assert_eq!(
            parse_neigh("192.0.2.160 dev eth0 lladdr 02:00:00:00:00:01 REACHABLE"),
            Some(("192.0.2.160".parse().unwrap(), Some(MacAddr::local(1))))
        );
        assert_eq!(
            parse_neigh("192.0.2.160 dev eth0  FAILED"),
            Some(("192.0.2.160".parse().unwrap(), None))
        );
        assert_eq!(parse_neigh("garbage"), None);
    }

    #[test]
    fn http_responses() {
        let r = b"HTTP/1.0 500 Internal Server Error\r\nA: b\r\n\r\nbody";
        assert_eq!(parse_response(r), Some((500, &b"body"[..])));
        assert_eq!(parse_response(b"HTTP/1.0 200"), None);
    }
}
