//! Carrying out a health-check probe over the simulated network: TCP
//! connects and HTTP GETs are real turmoil connections to the real
//! server; ICMP echo is an echo datagram that partitions, loss and
//! crashes affect like any other.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use turmoil::net::{TcpStream, UdpSocket};
use vigil_core::check::{NetError, ProbeKind, ProbeResult, ProbeTarget, ScriptExit};

use super::net::ECHO_PORT;
use super::shared::Shared;

/// Performs one probe and says what came back (a timeout is an answer).
pub async fn perform(
    shared: &Shared,
    me: std::net::IpAddr,
    kind: &ProbeKind,
    target: &ProbeTarget,
    timeout: Duration,
) -> ProbeResult {
    let Some(dst) = target.dst() else {
        // Local probes (MISC_CHECK scripts) cannot run in the simulator.
        return ProbeResult::Exit(ScriptExit::NotStarted);
    };
    let attempt = async {
        match kind {
            ProbeKind::Tcp => match TcpStream::connect(dst).await {
                Ok(_) => ProbeResult::Connected,
                Err(_) => ProbeResult::Net(NetError::Refused),
            },
            ProbeKind::Http(get) | ProbeKind::Ssl(get) => http(dst, get.request().as_bytes()).await,
            ProbeKind::Icmp => echo(shared, me, dst).await,
            ProbeKind::Udp { .. } | ProbeKind::Dns { .. } => ProbeResult::Silence,
            ProbeKind::Smtp { .. } => match TcpStream::connect(dst).await {
                Ok(_) => ProbeResult::Net(NetError::Reset),
                Err(_) => ProbeResult::Net(NetError::Refused),
            },
            ProbeKind::Misc { .. } => ProbeResult::Exit(ScriptExit::NotStarted),
        }
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(r) => r,
        Err(_) => match kind {
            ProbeKind::Udp { .. } | ProbeKind::Dns { .. } => ProbeResult::Silence,
            _ => ProbeResult::Net(NetError::TimedOut),
        },
    }
}

async fn http(dst: SocketAddr, request: &[u8]) -> ProbeResult {
    let mut s = match TcpStream::connect(dst).await {
        Ok(s) => s,
        Err(_) => return ProbeResult::Net(NetError::Refused),
    };
    if s.write_all(request).await.is_err() {
        return ProbeResult::Net(NetError::Reset);
    }
    let mut reply = Vec::new();
    match s.read_to_end(&mut reply).await {
        Ok(_) if !reply.is_empty() => ProbeResult::Http(reply),
        _ => ProbeResult::Net(NetError::Reset),
    }
}

async fn echo(shared: &Shared, me: std::net::IpAddr, dst: SocketAddr) -> ProbeResult {
    let Ok(sock) = UdpSocket::bind(("0.0.0.0", 0)).await else {
        return ProbeResult::Net(NetError::Other);
    };
    if sock
        .send_to(b"vigil-echo", (dst.ip(), ECHO_PORT))
        .await
        .is_err()
    {
        return ProbeResult::Net(NetError::Unreachable);
    }
    let mut buf = [0u8; 64];
    loop {
        match sock.recv_from(&mut buf).await {
            Ok((_, from)) if from.ip() == dst.ip() => {
                // The request and the reply each cross the lossy link.
                let mut w = shared.borrow_mut();
                if w.lost(me, dst.ip()) || w.lost(dst.ip(), me) {
                    continue;
                }
                return ProbeResult::EchoReply;
            }
            Ok(_) => continue,
            Err(_) => return ProbeResult::Net(NetError::Other),
        }
    }
}
