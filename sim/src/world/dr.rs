//! Client traffic in LVS-DR fashion: a request travels client -> director
//! (which holds the VIP) -> real server, and the answer goes from the real
//! server straight back to the client, as direct routing does. Each hop is
//! one datagram carrying a small envelope and the HTTP bytes; the client's
//! closing segment also passes the director (it updates the connection
//! counts the schedulers use), as in DR.

use std::net::SocketAddr;

/// What a datagram of client traffic is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// The client's request (SYN + data), to the VIP.
    Request {
        /// The client's address and port (the connection's identity).
        client: SocketAddr,
        /// The virtual service addressed.
        vip: SocketAddr,
        /// The HTTP request.
        http: Vec<u8>,
    },
    /// The answer of a real server, to the client.
    Response {
        /// The client's port it answers.
        client_port: u16,
        /// The HTTP response.
        http: Vec<u8>,
    },
    /// A reset: the director without the VIP, or a server not listening.
    Reset {
        /// The client's port.
        client_port: u16,
    },
    /// The client closes (after an answer, or on giving up).
    Close {
        /// The client's address and port.
        client: SocketAddr,
        /// The virtual service.
        vip: SocketAddr,
    },
}

impl Segment {
    /// Encodes the segment.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Segment::Request { client, vip, http } => {
                let mut b = format!("REQ {client} {vip}\n").into_bytes();
                b.extend_from_slice(http);
                b
            }
            Segment::Response { client_port, http } => {
                let mut b = format!("RSP {client_port}\n").into_bytes();
                b.extend_from_slice(http);
                b
            }
            Segment::Reset { client_port } => format!("RST {client_port}\n").into_bytes(),
            Segment::Close { client, vip } => format!("FIN {client} {vip}\n").into_bytes(),
        }
    }

    /// Decodes a segment; `None` for anything else.
    pub fn parse(bytes: &[u8]) -> Option<Segment> {
        let nl = bytes.iter().position(|&b| b == b'\n')?;
        let head = std::str::from_utf8(&bytes[..nl]).ok()?;
        let rest = bytes[nl + 1..].to_vec();
        let mut w = head.split(' ');
        let kind = w.next()?;
        let a = w.next()?;
        let b = w.next();
        Some(match kind {
            "REQ" => Segment::Request {
                client: a.parse().ok()?,
                vip: b?.parse().ok()?,
                http: rest,
            },
            "RSP" => Segment::Response {
                client_port: a.parse().ok()?,
                http: rest,
            },
            "RST" => Segment::Reset {
                client_port: a.parse().ok()?,
            },
            "FIN" => Segment::Close {
                client: a.parse().ok()?,
                vip: b?.parse().ok()?,
            },
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let c: SocketAddr = "172.17.1.200:49152".parse().unwrap();
        let v: SocketAddr = "172.17.1.160:80".parse().unwrap();
        for s in [
            Segment::Request {
                client: c,
                vip: v,
                http: b"GET / HTTP/1.0\r\n\r\n".to_vec(),
            },
            Segment::Response {
                client_port: 49152,
                http: b"HTTP/1.0 200 OK\r\n\r\nx".to_vec(),
            },
            Segment::Reset { client_port: 7 },
            Segment::Close { client: c, vip: v },
        ] {
            assert_eq!(Segment::parse(&s.to_bytes()), Some(s));
        }
        assert_eq!(Segment::parse(b"garbage"), None);
        assert_eq!(Segment::parse(b"REQ x y\n"), None);
    }
}
