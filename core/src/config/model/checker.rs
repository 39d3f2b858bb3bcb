//! Health checkers inside a `real_server`: TCP_CHECK, HTTP_GET, SSL_GET,
//! MISC_CHECK, PING_CHECK, UDP_CHECK, DNS_CHECK, SMTP_CHECK, FILE_CHECK.

use std::fmt;
use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::time::Duration;

use super::common::Command;
use crate::config::span::Span;

/// One checker of a real server, with its timing fully resolved
/// (checker, else real server, else virtual server, else keepalived's
/// per-checker default).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Checker {
    /// What it checks and how.
    pub kind: CheckerKind,
    /// When and how often.
    pub timing: CheckTiming,
    /// Where it connects (None for MISC_CHECK and FILE_CHECK).
    pub conn: Option<ConnectOpts>,
    /// Where the checker block was written.
    pub span: Span,
}

/// Scheduling of a checker (keepalived's semantics: a check every
/// `delay_loop`; after a failure, up to `retry` re-checks spaced by
/// `delay_before_retry` before the server is declared down).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CheckTiming {
    /// `delay_loop`: interval between checks.
    pub delay_loop: Duration,
    /// `retry` / `nb_get_retry`: re-checks after a failure (default 1;
    /// 0 for MISC_CHECK; 3 for DNS_CHECK).
    pub retry: u32,
    /// `delay_before_retry` (default 1 s; 3 s for HTTP_GET/SSL_GET; the
    /// delay_loop for DNS_CHECK).
    pub delay_before_retry: Duration,
    /// `warmup`: random delay up to this before the first check
    /// (default: the delay_loop).
    pub warmup: Duration,
    /// `alpha`: the server starts down until this checker passes.
    pub alpha: bool,
    /// `log_all_failures`.
    pub log_all_failures: bool,
}

/// Connection options of a network checker.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConnectOpts {
    /// `connect_ip` (default: the real server's address).
    pub connect_ip: IpAddr,
    /// `connect_port` (default: the real server's port).
    pub connect_port: u16,
    /// `bindto`: source address.
    pub bindto: Option<IpAddr>,
    /// `bind_port`: source port.
    pub bind_port: Option<u16>,
    /// `bind_if`: source interface (needed for link-local IPv6).
    pub bind_if: Option<String>,
    /// `connect_timeout` (default: the real server's, else 5 s).
    pub connect_timeout: Duration,
    /// `fwmark`: SO_MARK on the probe socket.
    pub fwmark: Option<u32>,
}

/// The kind of a checker and its own settings.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CheckerKind {
    /// `TCP_CHECK`: a TCP connect succeeds.
    Tcp,
    /// `HTTP_GET`: fetch URLs over HTTP, check status/digest/regex.
    Http(HttpCheck),
    /// `SSL_GET`: the same over TLS.
    Ssl(HttpCheck),
    /// `MISC_CHECK`: run a script; exit 0 = up.
    Misc(MiscCheck),
    /// `PING_CHECK`: ICMP echo.
    Ping,
    /// `UDP_CHECK`: send a datagram, optionally require a reply.
    Udp(UdpCheck),
    /// `DNS_CHECK`: a DNS query gets an answer.
    Dns(DnsCheck),
    /// `SMTP_CHECK`: an SMTP greeting and HELO exchange.
    Smtp(SmtpCheck),
    /// `FILE_CHECK`: weight from a `track_file` (event driven; the timing
    /// is unused).
    File(FileCheck),
}

impl CheckerKind {
    /// keepalived's block keyword: `TCP_CHECK`, `HTTP_GET`, ...
    pub fn keyword(&self) -> &'static str {
        match self {
            CheckerKind::Tcp => "TCP_CHECK",
            CheckerKind::Http(_) => "HTTP_GET",
            CheckerKind::Ssl(_) => "SSL_GET",
            CheckerKind::Misc(_) => "MISC_CHECK",
            CheckerKind::Ping => "PING_CHECK",
            CheckerKind::Udp(_) => "UDP_CHECK",
            CheckerKind::Dns(_) => "DNS_CHECK",
            CheckerKind::Smtp(_) => "SMTP_CHECK",
            CheckerKind::File(_) => "FILE_CHECK",
        }
    }

    /// The health-check layer: 3 (ICMP), 4 (TCP/UDP connect) or 5
    /// (application, scripts, files).
    pub fn layer(&self) -> u8 {
        match self {
            CheckerKind::Ping => 3,
            CheckerKind::Tcp | CheckerKind::Udp(_) => 4,
            _ => 5,
        }
    }
}

/// HTTP version an HTTP/SSL check speaks (`http_protocol`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum HttpProtocol {
    /// `1.0` (default).
    #[default]
    Http10,
    /// `1.0C`: 1.0 with `Connection: close`.
    Http10Close,
    /// `1.1`.
    Http11,
}

impl fmt::Display for HttpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HttpProtocol::Http10 => "1.0",
            HttpProtocol::Http10Close => "1.0C",
            HttpProtocol::Http11 => "1.1",
        })
    }
}

/// HTTP_GET / SSL_GET settings.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HttpCheck {
    /// `url { ... }` blocks (at least one).
    pub urls: Vec<Url>,
    /// Host header: the checker's `virtualhost`, else the real server's,
    /// else the virtual server's (a url's own overrides it).
    pub virtualhost: Option<String>,
    /// `http_protocol` (default 1.0).
    pub http_protocol: HttpProtocol,
    /// `enable_sni` (SSL_GET).
    pub enable_sni: bool,
    /// `fast_recovery`.
    pub fast_recovery: bool,
}

/// Status codes a URL accepts, as sorted, merged inclusive ranges
/// (default 200-299).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StatusCodes(pub Vec<RangeInclusive<u16>>);

impl StatusCodes {
    /// 200-299, keepalived's default.
    pub fn default_2xx() -> StatusCodes {
        StatusCodes(vec![200..=299])
    }

    /// Whether `code` is accepted.
    pub fn contains(&self, code: u16) -> bool {
        self.0.iter().any(|r| r.contains(&code))
    }

    /// Builds the normalised set from arbitrary ranges.
    pub fn from_ranges(mut ranges: Vec<RangeInclusive<u16>>) -> StatusCodes {
        ranges.sort_by_key(|r| (*r.start(), *r.end()));
        let mut out: Vec<RangeInclusive<u16>> = Vec::new();
        for r in ranges {
            if let Some(last) = out.last_mut()
                && *r.start() <= last.end().saturating_add(1)
            {
                if r.end() > last.end() {
                    *last = *last.start()..=*r.end();
                }
                continue;
            }
            out.push(r);
        }
        StatusCodes(out)
    }
}

impl fmt::Display for StatusCodes {
    /// `200-299 404`: keepalived's `status_code` syntax.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            if r.start() == r.end() {
                write!(f, "{}", r.start())?;
            } else {
                write!(f, "{}-{}", r.start(), r.end())?;
            }
        }
        Ok(())
    }
}

/// One `url { path ...; status_code ...; digest ...; regex ... }`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Url {
    /// `path` (required).
    pub path: String,
    /// `status_code` (default 200-299).
    pub status_codes: StatusCodes,
    /// `digest`: MD5 of the body.
    pub digest: Option<[u8; 16]>,
    /// `regex`: the body must match (or, with `regex_no_match`, not).
    pub regex: Option<String>,
    /// `regex_no_match`.
    pub regex_no_match: bool,
    /// `virtualhost` for this URL only.
    pub virtualhost: Option<String>,
    /// Where it was written.
    pub span: Span,
}

/// MISC_CHECK settings.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MiscCheck {
    /// `misc_path` (its `user` is in `command.user`).
    pub command: Command,
    /// `misc_timeout` (default: the virtual server's delay_loop).
    pub timeout: Duration,
    /// `misc_dynamic`: exit status 2..255 sets weight status-2.
    pub dynamic: bool,
}

/// UDP_CHECK settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct UdpCheck {
    /// `payload HEX`: datagram to send (empty when absent).
    pub payload: Vec<u8>,
    /// `require_reply [HEX]`: a reply is needed; with a pattern, the
    /// reply must match it (`mask` bit 1 = compare).
    pub require_reply: Option<ReplyPattern>,
    /// `min_reply_length` (default 0).
    pub min_reply_length: u16,
    /// `max_reply_length` (default 0 = no limit).
    pub max_reply_length: u16,
}

/// An expected reply prefix, with `X` nibbles as wildcards.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ReplyPattern {
    /// Expected bytes (wildcard nibbles are 0).
    pub data: Vec<u8>,
    /// Per-byte mask: 1 bits are compared.
    pub mask: Vec<u8>,
}

/// DNS query types a DNS_CHECK can ask for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DnsType {
    /// A.
    A,
    /// NS.
    Ns,
    /// CNAME.
    Cname,
    /// SOA (default).
    #[default]
    Soa,
    /// MX.
    Mx,
    /// TXT.
    Txt,
    /// AAAA.
    Aaaa,
    /// RRSIG.
    Rrsig,
    /// DNSKEY.
    Dnskey,
}

impl DnsType {
    /// Every type, in keepalived's order.
    pub const ALL: [DnsType; 9] = [
        DnsType::A,
        DnsType::Ns,
        DnsType::Cname,
        DnsType::Soa,
        DnsType::Mx,
        DnsType::Txt,
        DnsType::Aaaa,
        DnsType::Rrsig,
        DnsType::Dnskey,
    ];

    /// The mnemonic: `A`, `SOA`, ...
    pub fn name(self) -> &'static str {
        match self {
            DnsType::A => "A",
            DnsType::Ns => "NS",
            DnsType::Cname => "CNAME",
            DnsType::Soa => "SOA",
            DnsType::Mx => "MX",
            DnsType::Txt => "TXT",
            DnsType::Aaaa => "AAAA",
            DnsType::Rrsig => "RRSIG",
            DnsType::Dnskey => "DNSKEY",
        }
    }

    /// The RR type number.
    pub fn code(self) -> u16 {
        match self {
            DnsType::A => 1,
            DnsType::Ns => 2,
            DnsType::Cname => 5,
            DnsType::Soa => 6,
            DnsType::Mx => 15,
            DnsType::Txt => 16,
            DnsType::Aaaa => 28,
            DnsType::Rrsig => 46,
            DnsType::Dnskey => 48,
        }
    }
}

/// DNS_CHECK settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct DnsCheck {
    /// `type` (default SOA).
    pub qtype: DnsType,
    /// `name` (default the root, "").
    pub name: String,
}

/// SMTP_CHECK settings.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SmtpCheck {
    /// `helo_name` (default `smtpchecker.keepalived.org`).
    pub helo_name: String,
}

/// FILE_CHECK settings.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FileCheck {
    /// `track_file NAME` (checked to exist).
    pub track_file: String,
    /// `weight N [reverse]` (default: the track_file's).
    pub weight: i32,
    /// `reverse`.
    pub reverse: bool,
}
