//! UDP_CHECK and DNS_CHECK: one datagram out on a connected UDP socket
//! (so an ICMP port unreachable reads as refused), one reply back.

use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, Socket, Type};
use tokio::net::UdpSocket;
use vigil_core::check::verdict::dns;
use vigil_core::check::{NetError, ProbeResult, ProbeTarget};
use vigil_core::config::DnsType;

use super::net_error;

fn socket(target: &ProbeTarget) -> std::io::Result<(UdpSocket, SocketAddr)> {
    let ProbeTarget::Remote {
        dst,
        bind_ip,
        bind_port,
        bind_if,
        fwmark,
    } = target
    else {
        return Err(std::io::Error::other("no destination"));
    };
    let s = Socket::new(Domain::for_address(*dst), Type::DGRAM, None)?;
    s.set_nonblocking(true)?;
    s.set_cloexec(true)?;
    if let Some(i) = bind_if {
        s.bind_device(Some(i.as_bytes()))?;
    }
    if let Some(m) = fwmark {
        s.set_mark(*m)?;
    }
    if bind_ip.is_some() || bind_port.is_some() {
        let ip = bind_ip.unwrap_or(match dst {
            SocketAddr::V4(_) => std::net::Ipv4Addr::UNSPECIFIED.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::UNSPECIFIED.into(),
        });
        s.bind(&SocketAddr::new(ip, bind_port.unwrap_or(0)).into())?;
    }
    Ok((UdpSocket::from_std(s.into())?, *dst))
}

/// Sends `payload` and waits for a datagram `accept` takes; `silence` is
/// the answer when none comes in time.
async fn exchange(
    target: &ProbeTarget,
    payload: &[u8],
    timeout: Duration,
    accept: impl Fn(&[u8]) -> bool,
    silence: ProbeResult,
) -> ProbeResult {
    let (s, dst) = match socket(target) {
        Ok(x) => x,
        Err(e) => return ProbeResult::Net(net_error(&e)),
    };
    if let Err(e) = s.connect(dst).await {
        return ProbeResult::Net(net_error(&e));
    }
    if let Err(e) = s.send(payload).await {
        return ProbeResult::Net(net_error(&e));
    }
    let wait = async {
        let mut buf = vec![0u8; 65536];
        loop {
            match s.recv(&mut buf).await {
                Ok(n) if accept(&buf[..n]) => return ProbeResult::Datagram(buf[..n].to_vec()),
                Ok(_) => continue,
                Err(e) => return ProbeResult::Net(net_error(&e)),
            }
        }
    };
    tokio::time::timeout(timeout, wait).await.unwrap_or(silence)
}

/// UDP_CHECK.
pub async fn udp(target: &ProbeTarget, payload: &[u8], timeout: Duration) -> ProbeResult {
    exchange(target, payload, timeout, |_| true, ProbeResult::Silence).await
}

/// DNS_CHECK: waits for the response with the query's id (keepalived
/// ignores the others).
pub async fn dns(
    target: &ProbeTarget,
    qtype: DnsType,
    name: &str,
    timeout: Duration,
) -> ProbeResult {
    let id = (std::process::id() as u16) ^ (rand_u16());
    let q = dns::query(id, qtype, name);
    exchange(
        target,
        &q,
        timeout,
        |r| r.len() >= 12 && u16::from_be_bytes([r[0], r[1]]) == id && r[2] & 0x80 != 0,
        ProbeResult::Net(NetError::TimedOut),
    )
    .await
}

fn rand_u16() -> u16 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (t.subsec_nanos() ^ (t.subsec_nanos() >> 16)) as u16
}
