//! A real server: an HTTP server on a thread inside the real server's
//! namespace, set up for LVS-DR as the seed's `lvsrsdr` does (the VIP on
//! loopback, `arp_ignore=1`, `arp_announce=2`), whose behaviour the
//! timeline scripts (ok, hang, slow, status, body, refuse).

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use vigil_sim::scenario::RsMode;

use crate::ns::Netns;

/// The DR set-up of a real server's namespace: each VIP on `lo`, ARP
/// for them neither answered nor used as source.
pub fn setup_dr(ns: &Netns, vips: &[IpAddr]) {
    for v in vips {
        let a = match v {
            IpAddr::V4(_) => format!("{v}/32"),
            IpAddr::V6(_) => format!("{v}/128"),
        };
        ns.ip(&["addr", "add", &a, "dev", "lo"]);
    }
    for (k, v) in [
        ("net.ipv4.conf.lo.arp_ignore", "1"),
        ("net.ipv4.conf.lo.arp_announce", "2"),
        ("net.ipv4.conf.all.arp_ignore", "1"),
        ("net.ipv4.conf.all.arp_announce", "2"),
    ] {
        let out = ns.exec("sysctl", &["-q", "-w", &format!("{k}={v}")]);
        assert!(
            out.status.success(),
            "sysctl {k}={v} in {}: {}",
            ns.name(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// An HTTP/1.0 response with `status` and `body` (the simulator's).
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

/// What the server does now.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Mode {
    mode: RsMode,
    /// Host down (crashed): no listener.
    crashed: bool,
}

/// A running real server; stops on drop.
pub struct RealServer {
    mode: Arc<Mutex<Mode>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl RealServer {
    /// Starts serving `page` on `port` (every address) in namespace
    /// `netns`, as host `name`.
    pub fn start(netns: &str, port: u16, page: &str, name: &str) -> RealServer {
        let mode = Arc::new(Mutex::new(Mode {
            mode: RsMode::Ok,
            crashed: false,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (m, s, page, name) = (
            mode.clone(),
            stop.clone(),
            page.to_string(),
            name.to_string(),
        );
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread =
            crate::ns::spawn_in(netns, move || serve(port, &page, &name, &m, &s, ready_tx));
        let _ = ready_rx.recv_timeout(Duration::from_secs(5));
        RealServer {
            mode,
            stop,
            thread: Some(thread),
        }
    }

    /// Sets how it behaves.
    pub fn set(&self, mode: RsMode) {
        self.mode.lock().expect("not poisoned").mode = mode;
    }

    /// The host crashes (true) or comes back serving normally (false).
    pub fn crash(&self, crashed: bool) {
        let mut m = self.mode.lock().expect("not poisoned");
        m.crashed = crashed;
        if !crashed {
            m.mode = RsMode::Ok;
        }
    }
}

impl Drop for RealServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    port: u16,
    page: &str,
    name: &str,
    mode: &Mutex<Mode>,
    stop: &Arc<AtomicBool>,
    ready: std::sync::mpsc::Sender<()>,
) {
    let mut listener: Option<TcpListener> = None;
    let mut ready = Some(ready);
    while !stop.load(Ordering::Relaxed) {
        let m = mode.lock().expect("not poisoned").clone();
        let listening = !m.crashed && m.mode != RsMode::Refuse;
        if !listening {
            // Closed: connections are refused (or, crashed, never arrive).
            listener = None;
        } else if listener.is_none() {
            match TcpListener::bind(SocketAddr::new(IpAddr::from([0u8; 16]), port))
                .or_else(|_| TcpListener::bind(("0.0.0.0", port)))
            {
                Ok(l) => {
                    let _ = l.set_nonblocking(true);
                    listener = Some(l);
                }
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
            }
        }
        if let Some(tx) = ready.take() {
            let _ = tx.send(());
        }
        let Some(l) = &listener else {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        match l.accept() {
            Ok((stream, _)) => {
                let (page, name, stop) = (page.to_string(), name.to_string(), stop.clone());
                let mode = m.mode.clone();
                std::thread::spawn(move || answer(stream, mode, &page, &name, &stop));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(2)),
        }
    }
}

/// Reads one request head and answers it as `mode` says.
fn answer(mut stream: TcpStream, mode: RsMode, page: &str, name: &str, stop: &AtomicBool) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(_) => return,
        }
        if head.len() > 16 * 1024 {
            return;
        }
    }
    if head.is_empty() {
        return; // a TCP_CHECK connect: nothing to answer
    }
    let reply = match mode {
        // The other services' modes are refused before a run
        // (`check_supported`); the HTTP service serves its page.
        RsMode::Ok
        | RsMode::Refuse
        | RsMode::UdpSilent
        | RsMode::DnsNxdomain
        | RsMode::SmtpRefuse
        | RsMode::MiscExit(_) => response(200, page, name),
        RsMode::Hang => {
            // Accepted, never answered: hold the connection until the
            // peer gives up (or the run ends).
            let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
            let until = Instant::now() + Duration::from_secs(120);
            while !stop.load(Ordering::Relaxed) && Instant::now() < until {
                match stream.read(&mut buf) {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(_) => return,
                }
            }
            return;
        }
        RsMode::Slow(d) => {
            std::thread::sleep(d);
            response(200, page, name)
        }
        RsMode::Status(code) => response(code, page, name),
        RsMode::Body(body) => response(200, &body, name),
    };
    let _ = stream.write_all(&reply);
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_match_the_simulator() {
        let r = String::from_utf8(response(200, "yunweimao", "rs1")).unwrap();
        assert_eq!(
            r,
            "HTTP/1.0 200 OK\r\nServer: rs1\r\nContent-Type: text/html\r\nContent-Length: 9\r\nConnection: close\r\n\r\nyunweimao"
        );
        assert!(
            String::from_utf8(response(500, "x", "rs1"))
                .unwrap()
                .starts_with("HTTP/1.0 500 Internal Server Error\r\n")
        );
    }
}
