//! Probes as data: what the engine asks a driver to do ([`ProbeKind`],
//! [`ProbeTarget`]) and what the driver reports back ([`ProbeResult`]).
//!
//! A driver answers every probe it is given exactly once; a timeout is an
//! answer ([`NetError::TimedOut`], [`ScriptExit::TimedOut`]).

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use crate::config::{Command, DnsType, HttpProtocol};

/// Names one probe request; echoed back in [`super::Input::ProbeDone`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProbeId(pub(crate) u64);

impl ProbeId {
    /// The raw number (unique within one engine).
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The probe id with raw number `n` (for drivers that store ids).
    pub const fn from_raw(n: u64) -> ProbeId {
        ProbeId(n)
    }
}

impl fmt::Display for ProbeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a probe goes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ProbeTarget {
    /// A remote endpoint (every network checker).
    Remote {
        /// Destination address and port (`connect_ip`, `connect_port`).
        dst: SocketAddr,
        /// `bindto`: source address.
        bind_ip: Option<IpAddr>,
        /// `bind_port`: source port.
        bind_port: Option<u16>,
        /// `bind_if`: source interface.
        bind_if: Option<String>,
        /// `fwmark`: SO_MARK of the probe socket.
        fwmark: Option<u32>,
    },
    /// Nothing remote: a script run on this director (MISC_CHECK).
    Local,
}

/// Where checker `ch` of real server `rs` sends its probes:
/// `connect_ip`:`connect_port` when given, else the real server itself.
pub fn destination(ch: &crate::config::Checker, rs: &crate::config::RealServer) -> SocketAddr {
    ch.conn
        .as_ref()
        .map_or(rs.addr, |c| SocketAddr::new(c.connect_ip, c.connect_port))
}

impl ProbeTarget {
    /// The destination, for remote probes.
    pub fn dst(&self) -> Option<SocketAddr> {
        match self {
            ProbeTarget::Remote { dst, .. } => Some(*dst),
            ProbeTarget::Local => None,
        }
    }
}

impl fmt::Display for ProbeTarget {
    /// `172.17.1.152:80`, `[2001:db8::1]:80`, or `local`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeTarget::Remote { dst, .. } => write!(f, "{dst}"),
            ProbeTarget::Local => f.write_str("local"),
        }
    }
}

/// One HTTP GET of an HTTP_GET / SSL_GET checker: the URL currently
/// checked and how to ask for it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HttpGet {
    /// Request path.
    pub path: String,
    /// The `Host` header value: the virtualhost, else `ip:port` of the
    /// destination (`[ip]:port` for IPv6).
    pub host: String,
    /// HTTP version and `Connection: close`.
    pub protocol: HttpProtocol,
    /// SSL_GET: the SNI name to send, if any.
    pub sni: Option<String>,
    /// Index of the URL within the checker's `url` blocks.
    pub url_index: usize,
}

impl HttpGet {
    /// The request bytes exactly as keepalived 2.2.7 sends them
    /// (`GET path HTTP/1.x`, `User-Agent: KeepAliveClient`, an optional
    /// `Connection: close`, `Host`).
    pub fn request(&self) -> String {
        let minor = match self.protocol {
            HttpProtocol::Http11 => 1,
            _ => 0,
        };
        let close = match self.protocol {
            HttpProtocol::Http10 => "",
            HttpProtocol::Http10Close | HttpProtocol::Http11 => "Connection: close\r\n",
        };
        format!(
            "GET {} HTTP/1.{minor}\r\nUser-Agent: KeepAliveClient\r\n{close}Host: {}\r\n\r\n",
            self.path, self.host
        )
    }
}

/// What kind of probe to run, with everything the driver needs to run it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ProbeKind {
    /// PING_CHECK: one ICMP (or ICMPv6) echo request; pass on a reply.
    Icmp,
    /// TCP_CHECK: a TCP connect; pass once connected (then close).
    Tcp,
    /// HTTP_GET: connect, send [`HttpGet::request`], read to EOF.
    Http(HttpGet),
    /// SSL_GET: the same over TLS (certificates are not verified).
    Ssl(HttpGet),
    /// MISC_CHECK: run a command; the exit status decides.
    Misc {
        /// The command and the user it runs as.
        command: Command,
        /// `misc_dynamic`: exit codes 2..=255 set the weight.
        dynamic: bool,
    },
    /// UDP_CHECK: send a datagram and wait for a reply or an ICMP error.
    Udp {
        /// The payload to send.
        payload: Vec<u8>,
        /// Whether a reply is required (without one, silence passes).
        require_reply: bool,
    },
    /// DNS_CHECK: one query; pass on a reply with RCODE 0.
    Dns {
        /// The query type.
        qtype: DnsType,
        /// The query name.
        name: String,
    },
    /// SMTP_CHECK: read the greeting, send `HELO`, read the reply, `QUIT`.
    Smtp {
        /// The `HELO` name.
        helo_name: String,
    },
}

impl ProbeKind {
    /// keepalived's checker keyword for this kind.
    pub fn keyword(&self) -> &'static str {
        match self {
            ProbeKind::Icmp => "PING_CHECK",
            ProbeKind::Tcp => "TCP_CHECK",
            ProbeKind::Http(_) => "HTTP_GET",
            ProbeKind::Ssl(_) => "SSL_GET",
            ProbeKind::Misc { .. } => "MISC_CHECK",
            ProbeKind::Udp { .. } => "UDP_CHECK",
            ProbeKind::Dns { .. } => "DNS_CHECK",
            ProbeKind::Smtp { .. } => "SMTP_CHECK",
        }
    }
}

/// Why a network exchange failed before a usable answer came back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NetError {
    /// Connection refused (TCP RST) or ICMP port unreachable.
    Refused,
    /// Nothing came back in time (connect, write or read).
    TimedOut,
    /// Host or network unreachable.
    Unreachable,
    /// The connection was reset or closed early.
    Reset,
    /// TLS handshake failed (SSL_GET).
    Tls,
    /// Any other local or remote error (socket, bind, send).
    Other,
}

impl NetError {
    /// Stable kebab-case name.
    pub const fn name(self) -> &'static str {
        match self {
            NetError::Refused => "refused",
            NetError::TimedOut => "timeout",
            NetError::Unreachable => "unreachable",
            NetError::Reset => "reset",
            NetError::Tls => "tls-error",
            NetError::Other => "error",
        }
    }
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a MISC_CHECK command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScriptExit {
    /// It exited with this status.
    Code(u8),
    /// It was killed by this signal (not by the timeout).
    Signal(i32),
    /// It ran past `misc_timeout` and was terminated.
    TimedOut,
    /// It could not be started.
    NotStarted,
}

/// What came back from a probe: plain data, judged by
/// [`super::verdict::judge`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ProbeResult {
    /// The exchange failed (any kind).
    Net(NetError),
    /// TCP_CHECK: the connection was established.
    Connected,
    /// PING_CHECK: an echo reply came back.
    EchoReply,
    /// HTTP_GET / SSL_GET: the bytes received until the server closed
    /// (status line, headers and body as sent). A driver may stop reading
    /// early when it wants to bound memory; the verdict then sees a
    /// shorter body.
    Http(Vec<u8>),
    /// UDP_CHECK / DNS_CHECK: the reply datagram.
    Datagram(Vec<u8>),
    /// UDP_CHECK: no reply and no ICMP error within the timeout.
    Silence,
    /// SMTP_CHECK: the reply codes of the greeting and of `HELO`
    /// (0 when the exchange stopped before that reply).
    Smtp {
        /// Greeting code (keepalived wants 220).
        greeting: u16,
        /// `HELO` reply code (keepalived wants 250).
        helo: u16,
    },
    /// MISC_CHECK: how the command ended.
    Exit(ScriptExit),
}

impl ProbeResult {
    /// An HTTP response with `status` and `body`, as a server using
    /// HTTP/1.0 with a `Content-Length` would send it (for simulators and
    /// tests).
    pub fn http_response(status: u16, body: &[u8]) -> ProbeResult {
        let mut raw = format!(
            "HTTP/1.0 {status} {}\r\nContent-Length: {}\r\n\r\n",
            if (200..300).contains(&status) {
                "OK"
            } else {
                "Status"
            },
            body.len()
        )
        .into_bytes();
        raw.extend_from_slice(body);
        ProbeResult::Http(raw)
    }
}
