//! A real server: a small HTTP server whose behaviour the timeline
//! scripts (crash, hang, slow, wrong status, wrong page, refuse), an echo
//! service standing in for ICMP echo, and the UDP, DNS and SMTP services
//! its checkers talk to (see [`super::services`]).

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use turmoil::net::{TcpListener, TcpStream, UdpSocket};

use std::net::SocketAddr;
use std::rc::Rc;

use tokio::sync::watch;

use super::dr::Segment;
use super::net::{CLIENT_PORT, ECHO_PORT};
use super::services::{self, Datagram};
use super::shared::Shared;
use crate::scenario::{RsMode, RsServices};

/// The host future of real server `idx`.
pub async fn run(shared: Shared, idx: usize) -> turmoil::Result {
    let (port, page, name) = {
        let w = shared.borrow();
        let r = &w.scenario.real_servers[idx];
        (r.port, r.page.clone(), r.name.clone())
    };
    tokio::task::spawn_local(echo());
    let modes = shared.borrow().rs_watch[idx].subscribe();
    let (udp, smtp) = {
        let w = shared.borrow();
        services::of_host(&w.scenario, w.scenario.real_servers[idx].address)
    };
    // A UDP check on the service port is answered by the DR socket.
    let on_port = udp.iter().find(|(p, _)| *p == port).map(|(_, s)| s.clone());
    for (p, svc) in udp.into_iter().filter(|(p, _)| *p != port) {
        tokio::task::spawn_local(datagrams(shared.clone(), idx, p, svc, modes.clone()));
    }
    for p in smtp.into_iter().filter(|p| *p != port) {
        tokio::task::spawn_local(smtp_service(p, modes.clone(), name.clone()));
    }
    tokio::task::spawn_local(serve_dr(
        shared.clone(),
        idx,
        modes.clone(),
        page.clone(),
        name.clone(),
        on_port,
    ));
    let (page2, name2) = (page.clone(), name.clone());
    listen(
        port,
        modes,
        |st| st.http == RsMode::Refuse,
        move |stream, st| {
            tokio::task::spawn_local(serve(stream, st.http.clone(), page2.clone(), name2.clone()));
        },
    )
    .await
}

/// A TCP service on `port`: each connection handed to `serve` with the
/// services' state then; no listener (connections refused) while
/// `refusing` says so.
async fn listen(
    port: u16,
    mut modes: watch::Receiver<RsServices>,
    refusing: fn(&RsServices) -> bool,
    serve: impl Fn(TcpStream, &RsServices),
) -> turmoil::Result {
    loop {
        if refusing(&modes.borrow_and_update()) {
            // Server stopped, host up: connections are refused.
            if modes.changed().await.is_err() {
                return Ok(());
            }
            continue;
        }
        let listener = TcpListener::bind(("0.0.0.0", port)).await?;
        loop {
            tokio::select! {
                biased;
                changed = modes.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    if refusing(&modes.borrow()) {
                        break;
                    }
                }
                conn = listener.accept() => {
                    if let Ok((stream, _)) = conn {
                        serve(stream, &modes.borrow());
                    }
                }
            }
        }
    }
}

/// Answers a checker's datagrams on `port` as service `svc` does.
async fn datagrams(
    shared: Shared,
    idx: usize,
    port: u16,
    svc: Datagram,
    modes: watch::Receiver<RsServices>,
) -> turmoil::Result {
    let me = shared.borrow().scenario.real_servers[idx].address;
    let sock = UdpSocket::bind(("0.0.0.0", port)).await?;
    let mut buf = vec![0u8; 65_536];
    loop {
        let (n, from) = sock.recv_from(&mut buf).await?;
        if shared.borrow_mut().lost(from.ip(), me) {
            continue;
        }
        let reply = services::answer(&svc, &modes.borrow(), &buf[..n]);
        if let Some(r) = reply
            && !shared.borrow_mut().lost(me, from.ip())
        {
            let _ = sock.send_to(&r, from).await;
        }
    }
}

/// An SMTP service on `port`, refusing connections in `smtp-refuse` mode.
async fn smtp_service(
    port: u16,
    modes: watch::Receiver<RsServices>,
    name: String,
) -> turmoil::Result {
    listen(
        port,
        modes,
        |st| st.smtp_refuse,
        move |stream, _| {
            let name = name.clone();
            tokio::task::spawn_local(async move {
                services::smtp_session(stream, &name).await;
            });
        },
    )
    .await
}

/// Answers client requests forwarded by a director, straight back to the
/// client (direct routing); other datagrams on the port go to the
/// checker's service there (`on_port`), if any.
async fn serve_dr(
    shared: Shared,
    idx: usize,
    modes: watch::Receiver<RsServices>,
    page: String,
    name: String,
    on_port: Option<Datagram>,
) -> turmoil::Result {
    let (me, port) = {
        let w = shared.borrow();
        (
            w.scenario.real_servers[idx].address,
            w.scenario.real_servers[idx].port,
        )
    };
    let sock = Rc::new(UdpSocket::bind(("0.0.0.0", port)).await?);
    let mut buf = vec![0u8; 65_536];
    loop {
        let (n, from) = sock.recv_from(&mut buf).await?;
        if shared.borrow_mut().lost(from.ip(), me) {
            continue;
        }
        let Some(Segment::Request { client, .. }) = Segment::parse(&buf[..n]) else {
            let reply = on_port
                .as_ref()
                .and_then(|svc| services::answer(svc, &modes.borrow(), &buf[..n]));
            if let Some(r) = reply
                && !shared.borrow_mut().lost(me, from.ip())
            {
                let _ = sock.send_to(&r, from).await;
            }
            continue;
        };
        let to = SocketAddr::new(client.ip(), CLIENT_PORT);
        let client_port = client.port();
        let mode = modes.borrow().http.clone();
        let answer = |status: u16, body: &str| Segment::Response {
            client_port,
            http: response(status, body, &name),
        };
        let seg = match mode {
            RsMode::Ok => answer(200, &page),
            RsMode::Status(code) => answer(code, &page),
            RsMode::Body(body) => answer(200, &body),
            RsMode::Refuse => Segment::Reset { client_port },
            RsMode::Hang => continue,
            // Not HTTP modes (`RsServices::http` never holds them).
            RsMode::UdpSilent | RsMode::DnsNxdomain | RsMode::SmtpRefuse | RsMode::MiscExit(_) => {
                answer(200, &page)
            }
            RsMode::Slow(d) => {
                let sock = sock.clone();
                let bytes = answer(200, &page).to_bytes();
                tokio::task::spawn_local(async move {
                    tokio::time::sleep(d).await;
                    let _ = sock.send_to(&bytes, to).await;
                });
                continue;
            }
        };
        let _ = sock.send_to(&seg.to_bytes(), to).await;
    }
}

async fn echo() -> turmoil::Result {
    let sock = UdpSocket::bind(("0.0.0.0", ECHO_PORT)).await?;
    let mut buf = [0u8; 512];
    loop {
        let (n, from) = sock.recv_from(&mut buf).await?;
        let _ = sock.send_to(&buf[..n], from).await;
    }
}

/// Reads one request head (up to the blank line, or EOF).
pub async fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return if head.is_empty() { None } else { Some(head) };
        }
        head.extend_from_slice(&buf[..n]);
        if head.len() > 16 * 1024 {
            return None;
        }
    }
    Some(head)
}

/// An HTTP/1.0 response with `status` and `body`.
pub fn response(status: u16, body: &str, server: &str) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };
    format!(
        "HTTP/1.0 {status} {reason}\r\nServer: {server}\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

async fn serve(mut stream: TcpStream, mode: RsMode, page: String, name: String) {
    if read_head(&mut stream).await.is_none() {
        return;
    }
    let reply = match mode {
        RsMode::Ok
        | RsMode::Refuse
        | RsMode::UdpSilent
        | RsMode::DnsNxdomain
        | RsMode::SmtpRefuse
        | RsMode::MiscExit(_) => response(200, &page, &name),
        RsMode::Hang => {
            // Accepted, never answered: hold the connection until the
            // peer gives up.
            let mut buf = [0u8; 64];
            while let Ok(n) = stream.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
            return;
        }
        RsMode::Slow(d) => {
            tokio::time::sleep(d).await;
            response(200, &page, &name)
        }
        RsMode::Status(code) => response(code, &page, &name),
        RsMode::Body(body) => response(200, &body, &name),
    };
    let _ = stream.write_all(&reply).await;
    let _ = stream.shutdown().await;
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

/// The request line clients and checkers send.
pub fn request(host: &str, path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: vigil-sim\r\n\r\n").into_bytes()
}
