//! The services a real server host runs for its checkers besides its
//! HTTP port: a UDP service answering each UDP_CHECK as a healthy one
//! would (the reply its `require_reply` pattern expects, else the
//! payload back), a DNS service (NOERROR, or NXDOMAIN in `dns-nxdomain`
//! mode) and an SMTP service (220 greeting, 250 to HELO). Which services a
//! host runs, and on which ports, comes from the directors' checkers
//! whose probes go to its address.

use std::net::IpAddr;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use turmoil::net::TcpStream;
use vigil_core::check::probe::destination;
use vigil_core::config::{CheckerKind, UdpCheck};

use crate::scenario::{RsServices, Scenario};

/// A datagram service on one port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Datagram {
    /// UDP_CHECK: the reply a healthy service gives (`None`: the payload
    /// back).
    Udp(Option<Vec<u8>>),
    /// DNS_CHECK: a DNS server.
    Dns,
}

/// The services of the host at `addr`: datagram services by UDP port,
/// and the SMTP ports.
pub fn of_host(s: &Scenario, addr: IpAddr) -> (Vec<(u16, Datagram)>, Vec<u16>) {
    let mut udp: Vec<(u16, Datagram)> = Vec::new();
    let mut smtp: Vec<u16> = Vec::new();
    for d in &s.directors {
        for vs in &d.config.virtual_servers {
            for rs in &vs.real_servers {
                for ch in &rs.checkers {
                    let dst = destination(ch, rs);
                    if dst.ip() != addr {
                        continue;
                    }
                    let svc = match &ch.kind {
                        CheckerKind::Udp(u) => Datagram::Udp(healthy_reply(u)),
                        CheckerKind::Dns(_) => Datagram::Dns,
                        CheckerKind::Smtp(_) => {
                            if !smtp.contains(&dst.port()) {
                                smtp.push(dst.port());
                            }
                            continue;
                        }
                        _ => continue,
                    };
                    if !udp.iter().any(|(p, _)| *p == dst.port()) {
                        udp.push((dst.port(), svc));
                    }
                }
            }
        }
    }
    (udp, smtp)
}

/// What a healthy service answers a UDP_CHECK with: its expected reply
/// (wildcard nibbles 0), padded to the least length; `None` to echo.
fn healthy_reply(u: &UdpCheck) -> Option<Vec<u8>> {
    let mut r = u.require_reply.as_ref()?.data.clone();
    if r.len() < usize::from(u.min_reply_length) {
        r.resize(usize::from(u.min_reply_length), 0);
    }
    Some(r)
}

/// The answer of service `svc` in state `st` to datagram `payload`, if
/// it answers.
pub fn answer(svc: &Datagram, st: &RsServices, payload: &[u8]) -> Option<Vec<u8>> {
    match svc {
        Datagram::Udp(_) if st.udp_silent => None,
        Datagram::Udp(Some(r)) => Some(r.clone()),
        Datagram::Udp(None) => Some(payload.to_vec()),
        Datagram::Dns => dns_reply(payload, if st.dns_nxdomain { 3 } else { 0 }),
    }
}

/// A DNS response to `query` with `rcode`: its id and question, QR, RD
/// and RA set, no records. `None` for what is not a query.
fn dns_reply(query: &[u8], rcode: u8) -> Option<Vec<u8>> {
    if query.len() < 12 || query[2] & 0x80 != 0 {
        return None;
    }
    let mut r = query.to_vec();
    r[2] = 0x80 | (query[2] & 0x01); // QR, RD as asked
    r[3] = 0x80 | (rcode & 0x0f); // RA, RCODE
    r[6..12].fill(0); // no answer, authority or additional records
    Some(r)
}

/// One SMTP session as a healthy server holds it: the greeting, 250 to
/// HELO/EHLO, 221 to QUIT, 250 to anything else.
pub async fn smtp_session(stream: TcpStream, name: &str) {
    let (rd, mut wr) = tokio::io::split(stream);
    let mut lines = BufReader::new(rd).lines();
    if wr
        .write_all(format!("220 {name} ESMTP vigil-sim\r\n").as_bytes())
        .await
        .is_err()
    {
        return;
    }
    while let Ok(Some(line)) = lines.next_line().await {
        let verb = line
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply = match verb.as_str() {
            "QUIT" => {
                let _ = wr.write_all(b"221 Bye\r\n").await;
                return;
            }
            "HELO" | "EHLO" => format!("250 {name}\r\n"),
            _ => "250 OK\r\n".to_string(),
        };
        if wr.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_core::check::verdict::dns;
    use vigil_core::config::DnsType;

    #[test]
    fn dns_answers_the_query_with_its_id_and_rcode() {
        let q = dns::query(0x4242, DnsType::A, "www.example.com");
        let ok = dns_reply(&q, 0).unwrap();
        assert_eq!(
            dns::judge(&ok, Some(0x4242)),
            vigil_core::check::verdict::Verdict::PASS
        );
        let nx = dns_reply(&q, 3).unwrap();
        assert_ne!(
            dns::judge(&nx, Some(0x4242)),
            vigil_core::check::verdict::Verdict::PASS
        );
        assert_eq!(dns_reply(&ok, 0), None, "a response is not answered");
        assert_eq!(dns_reply(&q[..5], 0), None);
    }

    #[test]
    fn udp_answers_what_its_check_expects_or_the_payload() {
        let st = RsServices::default();
        assert_eq!(
            answer(&Datagram::Udp(None), &st, b"ping"),
            Some(b"ping".to_vec())
        );
        assert_eq!(
            answer(&Datagram::Udp(Some(b"pong".to_vec())), &st, b"x"),
            Some(b"pong".to_vec())
        );
        let silent = RsServices {
            udp_silent: true,
            ..RsServices::default()
        };
        assert_eq!(answer(&Datagram::Udp(None), &silent, b"ping"), None);
    }
}
