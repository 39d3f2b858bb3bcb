//! Real probes for the check engine's [`ProbeKind`]s: TCP connect,
//! HTTP/HTTPS GET, ICMP echo, MISC_CHECK scripts. Each answers exactly
//! once, a timeout being an answer.

pub mod http;
pub mod icmp;
pub mod misc;
pub mod tcp;

use std::io;
use std::time::Duration;

use vigil_core::check::{NetError, ProbeKind, ProbeResult, ProbeTarget};

use crate::script::Policy;

/// Runs one probe to completion.
pub async fn run(
    kind: &ProbeKind,
    target: &ProbeTarget,
    timeout: Duration,
    policy: &Policy,
    icmp: &icmp::Pinger,
) -> ProbeResult {
    match (kind, target) {
        (ProbeKind::Misc { command, .. }, _) => misc::run(command, timeout, policy).await,
        (_, ProbeTarget::Local) => ProbeResult::Net(NetError::Other),
        (ProbeKind::Tcp, ProbeTarget::Remote { .. }) => tcp::check(target, timeout).await,
        (ProbeKind::Http(get), ProbeTarget::Remote { .. }) => {
            http::get(target, get, false, timeout).await
        }
        (ProbeKind::Ssl(get), ProbeTarget::Remote { .. }) => {
            http::get(target, get, true, timeout).await
        }
        (ProbeKind::Icmp, ProbeTarget::Remote { .. }) => icmp.ping(target, timeout).await,
        // UDP_CHECK, DNS_CHECK, SMTP_CHECK: not run by this vigild yet.
        _ => ProbeResult::Net(NetError::Other),
    }
}

/// The probe failure an I/O error stands for.
pub fn net_error(e: &io::Error) -> NetError {
    use io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => NetError::Refused,
        K::TimedOut | K::WouldBlock => NetError::TimedOut,
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
            NetError::Reset
        }
        K::HostUnreachable | K::NetworkUnreachable => NetError::Unreachable,
        _ => match e.raw_os_error() {
            Some(libc::EHOSTUNREACH) | Some(libc::ENETUNREACH) => NetError::Unreachable,
            _ => NetError::Other,
        },
    }
}
