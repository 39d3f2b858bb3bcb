//! Pure verdict logic: given what came back from a probe, did it pass?
//!
//! One file per probe kind, each a function over plain data, with
//! keepalived 2.2.7's rules. [`judge`] picks the right one for a checker's
//! compiled [`Rules`].

use std::fmt;

use super::probe::{NetError, ProbeResult};

pub mod dns;
pub mod http;
pub mod icmp;
pub mod misc;
pub mod smtp;
pub mod tcp;
pub mod udp;

/// Whether one probe passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// It passed.
    Pass {
        /// MISC_CHECK with `misc_dynamic`: the weight the exit status asks
        /// for (status - 2); `None` keeps the configured weight.
        weight: Option<u32>,
    },
    /// It failed, and why.
    Fail(Failure),
}

impl Verdict {
    /// A pass that does not touch the weight.
    pub const PASS: Verdict = Verdict::Pass { weight: None };

    /// Whether it passed.
    pub fn passed(self) -> bool {
        matches!(self, Verdict::Pass { .. })
    }
}

impl fmt::Display for Verdict {
    /// `pass`, `pass weight=N` or the failure's name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Pass { weight: None } => f.write_str("pass"),
            Verdict::Pass { weight: Some(w) } => write!(f, "pass weight={w}"),
            Verdict::Fail(r) => r.fmt(f),
        }
    }
}

/// Why a probe failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Failure {
    /// The network exchange failed.
    Net(NetError),
    /// HTTP: no complete header came back (keepalived: "no data received").
    NoData,
    /// HTTP: the status code is not accepted (0: no valid status line).
    Status(u16),
    /// HTTP: the MD5 digest of the body differs.
    Digest,
    /// HTTP: the regex did not match (or matched, with `regex_no_match`).
    Regex,
    /// UDP: the reply's length or content does not fit.
    ReplyMismatch,
    /// DNS: malformed reply (too short, not a response, wrong id).
    BadReply,
    /// DNS: the reply's RCODE is not 0.
    Rcode(u8),
    /// SMTP: the greeting code is not 220.
    Greeting(u16),
    /// SMTP: the HELO reply code is not 250.
    Helo(u16),
    /// MISC: the command exited with a failing status.
    Exit(u8),
    /// MISC: the command was killed by a signal.
    Signal(i32),
    /// MISC: the command ran past its timeout.
    ScriptTimeout,
    /// MISC: the command could not be started.
    NotStarted,
    /// The driver reported a result of another probe kind.
    Unexpected,
}

impl fmt::Display for Failure {
    /// Stable kebab-case: `refused`, `status-404`, `exit-1`, ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Net(e) => e.fmt(f),
            Failure::NoData => f.write_str("no-data"),
            Failure::Status(c) => write!(f, "status-{c}"),
            Failure::Digest => f.write_str("digest-mismatch"),
            Failure::Regex => f.write_str("regex-mismatch"),
            Failure::ReplyMismatch => f.write_str("reply-mismatch"),
            Failure::BadReply => f.write_str("bad-reply"),
            Failure::Rcode(c) => write!(f, "rcode-{c}"),
            Failure::Greeting(c) => write!(f, "greeting-{c}"),
            Failure::Helo(c) => write!(f, "helo-{c}"),
            Failure::Exit(c) => write!(f, "exit-{c}"),
            Failure::Signal(s) => write!(f, "signal-{s}"),
            Failure::ScriptTimeout => f.write_str("script-timeout"),
            Failure::NotStarted => f.write_str("not-started"),
            Failure::Unexpected => f.write_str("unexpected-result"),
        }
    }
}

/// A checker's pass/fail rules, compiled once (regexes built).
#[derive(Clone, Debug)]
pub enum Rules {
    /// PING_CHECK.
    Icmp,
    /// TCP_CHECK.
    Tcp,
    /// HTTP_GET / SSL_GET: one rule per `url`.
    Http(Vec<http::UrlRule>),
    /// MISC_CHECK.
    Misc {
        /// `misc_dynamic`.
        dynamic: bool,
    },
    /// UDP_CHECK.
    Udp(udp::UdpRule),
    /// DNS_CHECK.
    Dns,
    /// SMTP_CHECK.
    Smtp,
}

/// Judges `result` by `rules`; `url` is the URL index for HTTP checks.
pub fn judge(rules: &Rules, url: usize, result: &ProbeResult) -> Verdict {
    if let ProbeResult::Net(e) = result {
        // A UDP check without `require_reply` only fails on an error, and
        // a timeout there means silence.
        if let Rules::Udp(rule) = rules {
            return udp::judge(rule, result);
        }
        return Verdict::Fail(Failure::Net(*e));
    }
    match rules {
        Rules::Icmp => icmp::judge(result),
        Rules::Tcp => tcp::judge(result),
        Rules::Http(urls) => match (urls.get(url), result) {
            (Some(rule), ProbeResult::Http(raw)) => http::judge(rule, raw),
            _ => Verdict::Fail(Failure::Unexpected),
        },
        Rules::Misc { dynamic } => match result {
            ProbeResult::Exit(e) => misc::judge(*e, *dynamic),
            _ => Verdict::Fail(Failure::Unexpected),
        },
        Rules::Udp(rule) => udp::judge(rule, result),
        Rules::Dns => match result {
            ProbeResult::Datagram(d) => dns::judge(d, None),
            _ => Verdict::Fail(Failure::Unexpected),
        },
        Rules::Smtp => match result {
            ProbeResult::Smtp { greeting, helo } => smtp::judge(*greeting, *helo),
            _ => Verdict::Fail(Failure::Unexpected),
        },
    }
}
