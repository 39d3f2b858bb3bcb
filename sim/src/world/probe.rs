//! Carrying out a health-check probe over the simulated network: TCP
//! connects, HTTP GETs and SMTP sessions are real turmoil connections to
//! the real server; ICMP echo, UDP_CHECK and DNS_CHECK are datagrams that
//! partitions, loss and crashes affect like any other. A MISC_CHECK
//! script exits with the status the timeline gave its real server
//! (`misc-exit`), or 1 while that server's host is crashed (the script
//! cannot reach it).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::AsyncBufReadExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use turmoil::net::{TcpStream, UdpSocket};
use vigil_core::check::verdict::dns;
use vigil_core::check::{NetError, ProbeId, ProbeKind, ProbeResult, ProbeTarget, ScriptExit};
use vigil_core::config::{CheckerKind, Command};

use super::net::ECHO_PORT;
use super::shared::Shared;

/// Performs probe `id` of director `director` and says what came back
/// (a timeout is an answer).
pub async fn perform(
    shared: &Shared,
    director: usize,
    id: ProbeId,
    kind: &ProbeKind,
    target: &ProbeTarget,
    timeout: Duration,
) -> ProbeResult {
    let me = shared.borrow().scenario.directors[director].address;
    let Some(dst) = target.dst() else {
        let ProbeKind::Misc { command, .. } = kind else {
            return ProbeResult::Exit(ScriptExit::NotStarted);
        };
        return ProbeResult::Exit(ScriptExit::Code(misc_exit(shared, director, command)));
    };
    let attempt = async {
        match kind {
            ProbeKind::Tcp => match TcpStream::connect(dst).await {
                Ok(_) => ProbeResult::Connected,
                Err(_) => ProbeResult::Net(NetError::Refused),
            },
            ProbeKind::Http(get) | ProbeKind::Ssl(get) => http(dst, get.request().as_bytes()).await,
            ProbeKind::Icmp => echo(shared, me, dst).await,
            ProbeKind::Udp { payload, .. } => datagram(shared, me, dst, payload, |_| true).await,
            ProbeKind::Dns { qtype, name } => {
                // The probe id as the query id: unique, and the same on
                // every run with the same seed.
                let qid = id.get() as u16;
                let q = dns::query(qid, *qtype, name);
                datagram(shared, me, dst, &q, |r| {
                    r.len() >= 12 && u16::from_be_bytes([r[0], r[1]]) == qid && r[2] & 0x80 != 0
                })
                .await
            }
            ProbeKind::Smtp { helo_name } => smtp(dst, helo_name).await,
            ProbeKind::Misc { .. } => ProbeResult::Exit(ScriptExit::NotStarted),
        }
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(r) => r,
        Err(_) => match kind {
            ProbeKind::Udp { .. } => ProbeResult::Silence,
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

/// The exit status of MISC_CHECK `command` of `director`: what the
/// timeline gave the real server the check is written for (1 while its
/// host is crashed or when the scenario has no such host).
fn misc_exit(shared: &Shared, director: usize, command: &Command) -> u8 {
    let w = shared.borrow();
    let s = &w.scenario;
    let rs = s.directors[director]
        .config
        .virtual_servers
        .iter()
        .flat_map(|vs| &vs.real_servers)
        .find(|rs| {
            rs.checkers
                .iter()
                .any(|c| matches!(&c.kind, CheckerKind::Misc(m) if m.command == *command))
        })
        .map(|rs| rs.addr);
    let Some(r) = rs.and_then(|a| {
        s.real_servers
            .iter()
            .position(|r| r.address == a.ip() && r.port == a.port())
    }) else {
        return 1;
    };
    if w.rs_down[r] {
        1
    } else {
        w.rs_watch[r].borrow().misc_exit
    }
}

/// Sends `payload` to `dst` and waits for a reply `accept` takes (from
/// `dst`, through loss both ways): `Silence` when none comes.
async fn datagram(
    shared: &Shared,
    me: std::net::IpAddr,
    dst: SocketAddr,
    payload: &[u8],
    accept: impl Fn(&[u8]) -> bool,
) -> ProbeResult {
    if down_host(shared, dst.ip()) {
        // A crashed host answers no ARP: the kernel says unreachable.
        return ProbeResult::Net(NetError::Unreachable);
    }
    let Ok(sock) = UdpSocket::bind(("0.0.0.0", 0)).await else {
        return ProbeResult::Net(NetError::Other);
    };
    if shared.borrow_mut().lost(me, dst.ip()) {
        return std::future::pending().await;
    }
    if sock.send_to(payload, dst).await.is_err() {
        return ProbeResult::Net(NetError::Unreachable);
    }
    let mut buf = vec![0u8; 65_536];
    loop {
        match sock.recv_from(&mut buf).await {
            Ok((n, from)) if from == dst && accept(&buf[..n]) => {
                return ProbeResult::Datagram(buf[..n].to_vec());
            }
            Ok(_) => continue,
            Err(_) => return ProbeResult::Net(NetError::Other),
        }
    }
}

/// Whether `addr` is a real server whose host is crashed.
fn down_host(shared: &Shared, addr: std::net::IpAddr) -> bool {
    let w = shared.borrow();
    w.scenario
        .real_servers
        .iter()
        .position(|r| r.address == addr)
        .is_some_and(|r| w.rs_down[r])
}

/// An SMTP_CHECK session: the greeting's code, `HELO`, its reply's code,
/// `QUIT`.
async fn smtp(dst: SocketAddr, helo_name: &str) -> ProbeResult {
    let stream = match TcpStream::connect(dst).await {
        Ok(s) => s,
        Err(_) => return ProbeResult::Net(NetError::Refused),
    };
    let (rd, mut wr) = tokio::io::split(stream);
    let mut lines = tokio::io::BufReader::new(rd).lines();
    let code = |l: Option<String>| -> u16 {
        l.and_then(|l| l.get(..3).and_then(|c| c.parse().ok()))
            .unwrap_or(0)
    };
    let greeting = code(lines.next_line().await.ok().flatten());
    if greeting == 0 {
        return ProbeResult::Net(NetError::Reset);
    }
    if wr
        .write_all(format!("HELO {helo_name}\r\n").as_bytes())
        .await
        .is_err()
    {
        return ProbeResult::Smtp { greeting, helo: 0 };
    }
    let helo = code(lines.next_line().await.ok().flatten());
    let _ = wr.write_all(b"QUIT\r\n").await;
    ProbeResult::Smtp { greeting, helo }
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
