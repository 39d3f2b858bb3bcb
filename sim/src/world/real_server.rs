//! A real server: a small HTTP server whose behaviour the timeline
//! scripts (crash, hang, slow, wrong status, wrong page, refuse), and an
//! echo service standing in for ICMP echo.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use turmoil::net::{TcpListener, TcpStream, UdpSocket};

use std::net::SocketAddr;
use std::rc::Rc;

use tokio::sync::watch;

use super::dr::Segment;
use super::net::{CLIENT_PORT, ECHO_PORT};
use super::shared::Shared;
use crate::scenario::RsMode;

/// The host future of real server `idx`.
pub async fn run(shared: Shared, idx: usize) -> turmoil::Result {
    let (port, page, name) = {
        let w = shared.borrow();
        let r = &w.scenario.real_servers[idx];
        (r.port, r.page.clone(), r.name.clone())
    };
    tokio::task::spawn_local(echo());
    let mut modes = shared.borrow().rs_watch[idx].subscribe();
    tokio::task::spawn_local(serve_dr(
        shared.clone(),
        idx,
        modes.clone(),
        page.clone(),
        name.clone(),
    ));
    loop {
        let mode = modes.borrow_and_update().clone();
        if mode == RsMode::Refuse {
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
                    if *modes.borrow() == RsMode::Refuse {
                        break;
                    }
                }
                conn = listener.accept() => {
                    if let Ok((stream, _)) = conn {
                        let mode = modes.borrow().clone();
                        tokio::task::spawn_local(serve(stream, mode, page.clone(), name.clone()));
                    }
                }
            }
        }
    }
}

/// Answers client requests forwarded by a director, straight back to the
/// client (direct routing).
async fn serve_dr(
    shared: Shared,
    idx: usize,
    modes: watch::Receiver<RsMode>,
    page: String,
    name: String,
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
            continue;
        };
        let to = SocketAddr::new(client.ip(), CLIENT_PORT);
        let client_port = client.port();
        let mode = modes.borrow().clone();
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
        RsMode::Ok | RsMode::Refuse => response(200, &page, &name),
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
