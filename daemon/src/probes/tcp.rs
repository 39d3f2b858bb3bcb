//! TCP_CHECK: a connect within the timeout, then a close by reset, with
//! `bindto`, `bind_port`, `bind_if` and `fwmark` applied.
//!
//! keepalived closes a TCP_CHECK connection normally (FIN both ways, a
//! TIME_WAIT socket per check). vigild closes it with a reset (SO_LINGER
//! 0), as HAProxy does for its checks: one packet instead of four and no
//! TIME_WAIT, which at thousands of checks per second is most of the
//! kernel's work and would fill the TIME_WAIT table.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, Socket, Type};
use tokio::net::{TcpSocket, TcpStream};
use vigil_core::check::{NetError, ProbeResult, ProbeTarget};

use super::net_error;

/// Connects to the target as its options say; the connected stream.
pub async fn connect(target: &ProbeTarget, timeout: Duration) -> Result<TcpStream, NetError> {
    let ProbeTarget::Remote {
        dst,
        bind_ip,
        bind_port,
        bind_if,
        fwmark,
    } = target
    else {
        return Err(NetError::Other);
    };
    let sock = socket(*dst, *bind_ip, *bind_port, bind_if.as_deref(), *fwmark)
        .map_err(|e| net_error(&e))?;
    match tokio::time::timeout(timeout, sock.connect(*dst)).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(net_error(&e)),
        Err(_) => Err(NetError::TimedOut),
    }
}

fn socket(
    dst: SocketAddr,
    bind_ip: Option<std::net::IpAddr>,
    bind_port: Option<u16>,
    bind_if: Option<&str>,
    fwmark: Option<u32>,
) -> io::Result<TcpSocket> {
    let s = Socket::new(Domain::for_address(dst), Type::STREAM, None)?;
    s.set_nonblocking(true)?;
    s.set_cloexec(true)?;
    if let Some(i) = bind_if {
        s.bind_device(Some(i.as_bytes()))?;
    }
    if let Some(m) = fwmark {
        s.set_mark(m)?;
    }
    if bind_ip.is_some() || bind_port.is_some() {
        let ip = bind_ip.unwrap_or(match dst {
            SocketAddr::V4(_) => std::net::Ipv4Addr::UNSPECIFIED.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::UNSPECIFIED.into(),
        });
        s.set_reuse_address(true)?;
        s.bind(&SocketAddr::new(ip, bind_port.unwrap_or(0)).into())?;
    }
    Ok(TcpSocket::from_std_stream(s.into()))
}

/// TCP_CHECK.
pub async fn check(target: &ProbeTarget, timeout: Duration) -> ProbeResult {
    match connect(target, timeout).await {
        Ok(stream) => {
            let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
            ProbeResult::Connected
        }
        Err(e) => ProbeResult::Net(e),
    }
}
