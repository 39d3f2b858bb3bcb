//! PING_CHECK: one ICMP / ICMPv6 echo request, pass on the matching
//! reply. A ping socket (`SOCK_DGRAM`, `IPPROTO_ICMP`) when
//! `net.ipv4.ping_group_range` allows it, else a raw socket
//! (CAP_NET_RAW).

use std::io;
use std::mem::MaybeUninit;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::unix::AsyncFd;
use vigil_core::check::{NetError, ProbeResult, ProbeTarget};
use vigil_core::packet::checksum;

use super::net_error;

/// Sends echo requests; numbers them.
#[derive(Debug, Default)]
pub struct Pinger {
    seq: AtomicU16,
}

impl Pinger {
    /// A pinger.
    pub fn new() -> Pinger {
        Pinger::default()
    }

    /// One echo exchange with the target (its port is ignored).
    pub async fn ping(&self, target: &ProbeTarget, timeout: Duration) -> ProbeResult {
        let ProbeTarget::Remote {
            dst,
            bind_ip,
            bind_if,
            fwmark,
            ..
        } = target
        else {
            return ProbeResult::Net(NetError::Other);
        };
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let id = (std::process::id() as u16) ^ 0x5649;
        match tokio::time::timeout(
            timeout,
            echo(dst.ip(), *bind_ip, bind_if.as_deref(), *fwmark, id, seq),
        )
        .await
        {
            Ok(Ok(())) => ProbeResult::EchoReply,
            Ok(Err(e)) => ProbeResult::Net(net_error(&e)),
            Err(_) => ProbeResult::Net(NetError::TimedOut),
        }
    }
}

fn open(v6: bool) -> io::Result<(Socket, bool)> {
    let (d, p) = if v6 {
        (Domain::IPV6, Protocol::ICMPV6)
    } else {
        (Domain::IPV4, Protocol::ICMPV4)
    };
    match Socket::new(d, Type::DGRAM, Some(p)) {
        Ok(s) => Ok((s, false)),
        Err(_) => Ok((Socket::new(d, Type::RAW, Some(p))?, true)),
    }
}

async fn echo(
    dst: IpAddr,
    bind_ip: Option<IpAddr>,
    bind_if: Option<&str>,
    fwmark: Option<u32>,
    id: u16,
    seq: u16,
) -> io::Result<()> {
    let v6 = dst.is_ipv6();
    let (s, raw) = open(v6)?;
    s.set_nonblocking(true)?;
    s.set_cloexec(true)?;
    if let Some(i) = bind_if {
        s.bind_device(Some(i.as_bytes()))?;
    }
    if let Some(m) = fwmark {
        s.set_mark(m)?;
    }
    if let Some(ip) = bind_ip {
        s.bind(&SocketAddr::new(ip, 0).into())?;
    }
    let mut req = vec![if v6 { 128 } else { 8 }, 0, 0, 0];
    req.extend_from_slice(&id.to_be_bytes());
    req.extend_from_slice(&seq.to_be_bytes());
    req.extend_from_slice(b"vigil-ping-check");
    if !v6 {
        let c = checksum::compute(0, &req);
        req[2..4].copy_from_slice(&c.to_be_bytes());
    }
    // SAFETY: the socket owns its descriptor for as long as the AsyncFd holds it.
    let fd = unsafe { AsyncFd::register(s) }.map_err(|e| io::Error::other(e.to_string()))?;
    let to = SocketAddr::new(dst, 0).into();
    loop {
        let mut g = fd.writable().await?;
        match g.try_io(|s| s.get_ref().send_to(&req, &to)) {
            Ok(r) => {
                r?;
                break;
            }
            Err(_) => continue,
        }
    }
    let reply_type = if v6 { 129 } else { 0 };
    let mut buf = [MaybeUninit::<u8>::uninit(); 1500];
    loop {
        let mut g = fd.readable().await?;
        let (n, from) = match g.try_io(|s| s.get_ref().recv_from(&mut buf)) {
            Ok(r) => r?,
            Err(_) => continue,
        };
        // SAFETY: recv_from initialised the first n bytes.
        let bytes: &[u8] = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast(), n) };
        if from.as_socket().map(|a| a.ip()) != Some(dst) {
            continue;
        }
        // Raw IPv4 sockets deliver the IP header too.
        let icmp = if raw && !v6 {
            let ihl = usize::from(bytes.first().map_or(0, |b| b & 0x0f)) * 4;
            bytes.get(ihl..).unwrap_or(&[])
        } else {
            bytes
        };
        if icmp.len() < 8 || icmp[0] != reply_type {
            continue;
        }
        let rseq = u16::from_be_bytes([icmp[6], icmp[7]]);
        let rid = u16::from_be_bytes([icmp[4], icmp[5]]);
        // Ping sockets rewrite the id; the kernel demultiplexes for us.
        if rseq == seq && (!raw || rid == id) {
            return Ok(());
        }
    }
}
