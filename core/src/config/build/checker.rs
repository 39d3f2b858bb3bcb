//! Checker blocks inside `real_server` (check/check_tcp.c, check_http.c,
//! check_misc.c, check_ping.c, check_udp.c, check_dns.c, check_smtp.c,
//! check_file.c, and check_api.c for the common options). Checkers are
//! read into [`RawChecker`]s; their timing is resolved once the whole
//! virtual server is read (check_data.c validate_check_config).

use std::net::IpAddr;
use std::time::Duration;

use super::super::model::{
    CheckTiming, Checker, CheckerKind, Command, Config, ConnectOpts, DnsCheck, DnsType, FileCheck,
    HttpCheck, HttpProtocol, MiscCheck, ReplyPattern, ScriptUser, SmtpCheck, StatusCodes, UdpCheck,
    Url,
};
use super::super::parser::Node;
use super::super::span::Span;
use super::keywords::{Ctx, unhandled};
use super::values::Cx;

const MAX_SECS: u64 = u32::MAX as u64 / 1_000_000;

/// Timing options as written (unset = inherit).
#[derive(Clone, Debug, Default)]
pub(crate) struct RawTiming {
    pub(crate) delay_loop: Option<Duration>,
    pub(crate) retry: Option<u32>,
    pub(crate) delay_before_retry: Option<Duration>,
    pub(crate) warmup: Option<Duration>,
    pub(crate) alpha: Option<bool>,
    pub(crate) log_all_failures: bool,
}

/// Connection options as written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RawConn {
    pub(crate) connect_ip: Option<IpAddr>,
    pub(crate) connect_port: Option<u16>,
    pub(crate) bindto: Option<IpAddr>,
    pub(crate) bind_port: Option<u16>,
    pub(crate) bind_if: Option<String>,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) fwmark: Option<u32>,
}

/// A checker as written, before inheritance.
#[derive(Clone, Debug)]
pub(crate) struct RawChecker {
    pub(crate) kind: CheckerKind,
    pub(crate) timing: RawTiming,
    pub(crate) conn: Option<RawConn>,
    /// MISC_CHECK `misc_timeout`, when set.
    pub(crate) misc_timeout: Option<Duration>,
    pub(crate) span: Span,
}

/// What a checker inherits from its real and virtual server.
pub(crate) struct Inherit {
    pub(crate) rs_addr: std::net::SocketAddr,
    pub(crate) alpha: bool,
    pub(crate) retry: Option<u32>,
    pub(crate) connect_timeout: Duration,
    pub(crate) delay_loop: Duration,
    pub(crate) warmup: Option<Duration>,
    pub(crate) delay_before_retry: Option<Duration>,
    pub(crate) vs_delay_loop: Duration,
    pub(crate) virtualhost: Option<String>,
}

/// keepalived's per-kind defaults: (retry, delay_before_retry; None =
/// the delay_loop).
fn kind_defaults(kind: &CheckerKind) -> (u32, Option<Duration>) {
    match kind {
        CheckerKind::Http(_) | CheckerKind::Ssl(_) => (1, Some(Duration::from_secs(3))),
        CheckerKind::Misc(_) => (0, Some(Duration::from_secs(1))),
        CheckerKind::Dns(_) => (3, None),
        _ => (1, Some(Duration::from_secs(1))),
    }
}

/// The default timing a checker of `kind` would get from `inh`: what the
/// dump compares against to print only what differs.
pub(crate) fn inherited_timing(kind: &CheckerKind, inh: &Inherit) -> CheckTiming {
    resolve_timing(kind, &RawTiming::default(), inh)
}

fn resolve_timing(kind: &CheckerKind, t: &RawTiming, inh: &Inherit) -> CheckTiming {
    let (def_retry, def_dbr) = kind_defaults(kind);
    let delay_loop = t.delay_loop.unwrap_or(inh.delay_loop);
    CheckTiming {
        delay_loop,
        retry: t.retry.or(inh.retry).unwrap_or(def_retry),
        delay_before_retry: t
            .delay_before_retry
            .or(inh.delay_before_retry)
            .or(def_dbr)
            .unwrap_or(delay_loop),
        warmup: t.warmup.or(inh.warmup).unwrap_or(delay_loop),
        alpha: t.alpha.unwrap_or(inh.alpha),
        log_all_failures: t.log_all_failures,
    }
}

/// Applies inheritance to a raw checker.
pub(crate) fn resolve(cx: &mut Cx<'_>, raw: RawChecker, inh: &Inherit) -> Checker {
    let timing = resolve_timing(&raw.kind, &raw.timing, inh);
    let conn = raw.conn.map(|c| {
        let port = c.connect_port.unwrap_or(inh.rs_addr.port());
        if port == 0 && !matches!(raw.kind, CheckerKind::Ping) {
            cx.diags.warning(
                &raw.span,
                format!(
                    "{} has no port to connect to (the real server has none); set connect_port",
                    raw.kind.keyword()
                ),
            );
        }
        ConnectOpts {
            connect_ip: c.connect_ip.unwrap_or(inh.rs_addr.ip()),
            connect_port: port,
            bindto: c.bindto,
            bind_port: c.bind_port,
            bind_if: c.bind_if,
            connect_timeout: c.connect_timeout.unwrap_or(inh.connect_timeout),
            fwmark: c.fwmark,
        }
    });
    let mut kind = raw.kind;
    match &mut kind {
        CheckerKind::Http(h) | CheckerKind::Ssl(h) if h.virtualhost.is_none() => {
            h.virtualhost = inh.virtualhost.clone();
        }
        CheckerKind::Misc(m) => {
            // check_misc.c: no misc_timeout means the virtual server's delay_loop.
            m.timeout = raw.misc_timeout.unwrap_or(inh.vs_delay_loop);
        }
        _ => {}
    }
    Checker {
        kind,
        timing,
        conn,
        span: raw.span,
    }
}

/// Reads a common or connection option; false when `n` is neither.
fn common(cx: &mut Cx<'_>, n: &Node, t: &mut RawTiming, conn: Option<&mut RawConn>) -> bool {
    match n.keyword.as_str() {
        "retry" | "nb_get_retry" => {
            t.retry = cx
                .uint(n, 0, u64::from(u32::MAX))
                .map(|v| v as u32)
                .or(t.retry)
        }
        "delay_before_retry" => {
            t.delay_before_retry = cx
                .secs(n, Duration::ZERO, Duration::from_secs(MAX_SECS))
                .or(t.delay_before_retry)
        }
        "warmup" => {
            t.warmup = cx
                .secs(n, Duration::ZERO, Duration::from_secs(MAX_SECS))
                .or(t.warmup)
        }
        "delay_loop" => {
            t.delay_loop = cx
                .secs(n, Duration::from_micros(1), Duration::from_secs(MAX_SECS))
                .or(t.delay_loop)
        }
        "alpha" => t.alpha = cx.flag(n).or(t.alpha),
        "log_all_failures" => t.log_all_failures = cx.flag(n).unwrap_or(t.log_all_failures),
        kw => {
            let Some(c) = conn else { return false };
            match kw {
                "connect_ip" => c.connect_ip = cx.ip(n).or(c.connect_ip),
                "connect_port" => {
                    cx.no_block(n);
                    cx.at_most(n, 1);
                    if let Some(a) = cx.need(n, 0, "a port") {
                        c.connect_port = cx.port_arg("connect_port", a, false).or(c.connect_port);
                    }
                }
                "bindto" => c.bindto = cx.ip(n).or(c.bindto),
                "bind_port" => {
                    cx.no_block(n);
                    cx.at_most(n, 1);
                    if let Some(a) = cx.need(n, 0, "a port") {
                        c.bind_port = cx.port_arg("bind_port", a, false).or(c.bind_port);
                    }
                }
                "bind_if" => c.bind_if = cx.word(n, "an interface name").or(c.bind_if.take()),
                "connect_timeout" => {
                    c.connect_timeout = cx
                        .secs(n, Duration::from_micros(1), Duration::from_secs(MAX_SECS))
                        .or(c.connect_timeout)
                }
                "fwmark" => {
                    c.fwmark = cx
                        .uint(n, 0, u64::from(u32::MAX))
                        .map(|v| v as u32)
                        .or(c.fwmark)
                }
                _ => return false,
            }
        }
    }
    true
}

fn check_families(cx: &mut Cx<'_>, c: &RawConn, span: &Span) {
    if let (Some(a), Some(b)) = (c.connect_ip, c.bindto)
        && a.is_ipv4() != b.is_ipv4()
    {
        cx.diags.error(
            span,
            format!("connect_ip {a} and bindto {b} are of different address families"),
        );
    }
}

/// The checkers of one checker block (none when keepalived ignores it;
/// several for an SMTP_CHECK with `host` blocks), or None for a keyword
/// that is not a checker.
pub(crate) fn checker(cx: &mut Cx<'_>, config: &Config, node: &Node) -> Option<Vec<RawChecker>> {
    let kw = node.keyword.as_str();
    if !matches!(
        kw,
        "TCP_CHECK"
            | "HTTP_GET"
            | "SSL_GET"
            | "MISC_CHECK"
            | "PING_CHECK"
            | "UDP_CHECK"
            | "DNS_CHECK"
            | "SMTP_CHECK"
            | "FILE_CHECK"
    ) {
        return None;
    }
    cx.at_most(node, 0);
    let mut timing = RawTiming::default();
    let mut conn = RawConn::default();
    let mut hosts: Vec<RawConn> = Vec::new();
    let span = node.span.clone();
    let children = cx.block(node);
    let raw = match kw {
        "TCP_CHECK" | "PING_CHECK" => {
            let ctx = if kw == "TCP_CHECK" {
                Ctx::Tcp
            } else {
                Ctx::Ping
            };
            for n in children {
                if !common(cx, n, &mut timing, Some(&mut conn)) {
                    unhandled(cx, n, ctx);
                }
            }
            let kind = if kw == "TCP_CHECK" {
                CheckerKind::Tcp
            } else {
                CheckerKind::Ping
            };
            Some((kind, true, None))
        }
        "HTTP_GET" | "SSL_GET" => {
            let mut h = HttpCheck {
                urls: Vec::new(),
                virtualhost: None,
                http_protocol: HttpProtocol::Http10,
                enable_sni: false,
                fast_recovery: false,
            };
            for n in children {
                if common(cx, n, &mut timing, Some(&mut conn)) {
                    continue;
                }
                match n.keyword.as_str() {
                    "virtualhost" => {
                        h.virtualhost = cx.word(n, "a host name").or(h.virtualhost.take())
                    }
                    "http_protocol" => match cx.word(n, "1.0, 1.0C or 1.1").as_deref() {
                        Some("1.0") => h.http_protocol = HttpProtocol::Http10,
                        Some("1.0C" | "1.0c") => h.http_protocol = HttpProtocol::Http10Close,
                        Some("1.1") => h.http_protocol = HttpProtocol::Http11,
                        Some(o) => cx.diags.error(
                            &n.args[0].span,
                            format!("unknown http_protocol '{o}' (1.0, 1.0C or 1.1)"),
                        ),
                        None => {}
                    },
                    "enable_sni" => h.enable_sni = cx.flag(n).unwrap_or(h.enable_sni),
                    "fast_recovery" => h.fast_recovery = cx.flag(n).unwrap_or(h.fast_recovery),
                    "url" => {
                        if let Some(u) = url(cx, n) {
                            h.urls.push(u);
                        }
                    }
                    _ => unhandled(cx, n, Ctx::Http),
                }
            }
            if h.urls.is_empty() {
                cx.diags.warning(
                    &span,
                    format!("{kw} has no url {{ path ... }}; keepalived ignores the checker"),
                );
                return Some(Vec::new());
            }
            let kind = if kw == "HTTP_GET" {
                CheckerKind::Http(h)
            } else {
                CheckerKind::Ssl(h)
            };
            Some((kind, true, None))
        }
        "MISC_CHECK" => {
            let mut command: Option<Command> = None;
            let mut user: Option<ScriptUser> = None;
            let mut timeout = None;
            let mut dynamic = false;
            for n in children {
                if common(cx, n, &mut timing, None) {
                    continue;
                }
                match n.keyword.as_str() {
                    "misc_path" => command = cx.command(n, false).or(command),
                    "misc_timeout" => timeout = cx.whole_secs(n, 0, MAX_SECS).or(timeout),
                    "misc_dynamic" => {
                        cx.bare(n);
                        dynamic = true;
                    }
                    "user" => {
                        cx.no_block(n);
                        cx.at_most(n, 2);
                        if let Some(u) = cx.need(n, 0, "a user name") {
                            user = Some(ScriptUser {
                                user: u.text.clone(),
                                group: n.arg(1).map(|a| a.text.clone()),
                            });
                        }
                    }
                    _ => unhandled(cx, n, Ctx::Misc),
                }
            }
            let Some(mut command) = command else {
                cx.diags.warning(
                    &span,
                    "MISC_CHECK has no misc_path; keepalived ignores the checker",
                );
                return Some(Vec::new());
            };
            command.user = user;
            let timeout = timeout.filter(|d: &Duration| !d.is_zero());
            Some((
                CheckerKind::Misc(MiscCheck {
                    command,
                    timeout: Duration::ZERO,
                    dynamic,
                }),
                false,
                timeout,
            ))
        }
        "UDP_CHECK" => {
            let mut u = UdpCheck::default();
            for n in children {
                if common(cx, n, &mut timing, Some(&mut conn)) {
                    continue;
                }
                match n.keyword.as_str() {
                    "payload" => {
                        cx.no_block(n);
                        match hex(&n.raw_args, false) {
                            Some((d, _)) if !d.is_empty() => u.payload = d,
                            _ => cx
                                .diags
                                .error(&n.span, "UDP_CHECK payload needs a hex string"),
                        }
                    }
                    "require_reply" => {
                        cx.no_block(n);
                        if n.args.is_empty() {
                            u.require_reply = Some(ReplyPattern::default());
                        } else {
                            match hex(&n.raw_args, true) {
                                Some((data, mask)) if !data.is_empty() => {
                                    u.require_reply = Some(ReplyPattern { data, mask })
                                }
                                _ => cx.diags.error(&n.span, "require_reply: invalid hex string"),
                            }
                        }
                    }
                    "min_reply_length" => {
                        if let Some(v) = cx.uint(n, 0, 65535) {
                            u.min_reply_length = v as u16;
                        }
                    }
                    "max_reply_length" => {
                        if let Some(v) = cx.uint(n, 0, 65535) {
                            u.max_reply_length = v as u16;
                        }
                    }
                    _ => unhandled(cx, n, Ctx::Udp),
                }
            }
            if u.max_reply_length != 0 && u.min_reply_length > u.max_reply_length {
                cx.diags.warning(
                    &span,
                    "UDP_CHECK min_reply_length > max_reply_length: the check will always fail",
                );
            }
            Some((CheckerKind::Udp(u), true, None))
        }
        "DNS_CHECK" => {
            let mut d = DnsCheck::default();
            let mut name_set = false;
            for n in children {
                if common(cx, n, &mut timing, Some(&mut conn)) {
                    continue;
                }
                match n.keyword.as_str() {
                    "type" => {
                        if let Some(t) = cx.word(n, "a query type") {
                            match DnsType::ALL
                                .iter()
                                .find(|x| x.name().eq_ignore_ascii_case(&t))
                            {
                                Some(x) => d.qtype = *x,
                                None => cx.diags.error(
                                    &n.args[0].span,
                                    format!("unknown DNS_CHECK type '{t}'"),
                                ),
                            }
                        }
                    }
                    "name" => {
                        if name_set {
                            cx.diags.warning(
                                &n.span,
                                "DNS_CHECK name already given; this one is ignored",
                            );
                        } else if let Some(v) = cx.word(n, "a domain name") {
                            if v.contains("..") || (v.starts_with('.') && v.len() > 1) {
                                cx.diags.error(
                                    &n.args[0].span,
                                    format!("DNS_CHECK name '{v}' has an empty label"),
                                );
                            } else {
                                d.name = v;
                                name_set = true;
                            }
                        }
                    }
                    _ => unhandled(cx, n, Ctx::Dns),
                }
            }
            Some((CheckerKind::Dns(d), true, None))
        }
        "SMTP_CHECK" => {
            let mut s = SmtpCheck {
                helo_name: "smtpchecker.keepalived.org".to_string(),
            };
            for n in children {
                if common(cx, n, &mut timing, Some(&mut conn)) {
                    continue;
                }
                match n.keyword.as_str() {
                    "helo_name" => {
                        if let Some(h) = cx.word(n, "a name") {
                            s.helo_name = h;
                        }
                    }
                    "host" => {
                        cx.at_most(n, 0);
                        let mut h = RawConn::default();
                        let mut ignored = RawTiming::default();
                        for c in cx.block(n) {
                            if !common(cx, c, &mut ignored, Some(&mut h)) {
                                unhandled(cx, c, Ctx::Smtp);
                            }
                        }
                        hosts.push(h);
                    }
                    _ => unhandled(cx, n, Ctx::Smtp),
                }
            }
            if !hosts.is_empty() {
                cx.diags.warning(
                    &span,
                    "the SMTP_CHECK host block is deprecated; keepalived runs one checker per host (so does Vigil): define several SMTP_CHECKs instead",
                );
            }
            Some((CheckerKind::Smtp(s), true, None))
        }
        _ => {
            // FILE_CHECK
            let mut name: Option<(String, Span)> = None;
            let mut weight: Option<(i32, bool)> = None;
            for n in children {
                match n.keyword.as_str() {
                    "track_file" => {
                        if let Some(w) = cx.word(n, "a track_file name") {
                            name = Some((w, n.span.clone()));
                        }
                    }
                    "weight" => {
                        cx.no_block(n);
                        cx.at_most(n, 2);
                        if let Some(a) = cx.need(n, 0, "a weight")
                            && let Some(w) =
                                cx.int_arg("weight", a, -i64::from(i32::MAX), i64::from(i32::MAX))
                        {
                            let reverse = match n.arg(1).map(|a| a.text.as_str()) {
                                None | Some("noreverse") => false,
                                Some("reverse") => true,
                                Some(o) => {
                                    cx.diags.error(
                                        &n.args[1].span,
                                        format!("unknown weight option '{o}' (only 'reverse')"),
                                    );
                                    false
                                }
                            };
                            weight = Some((w as i32, reverse));
                        }
                    }
                    _ => unhandled(cx, n, Ctx::File),
                }
            }
            let Some((name, nspan)) = name else {
                cx.diags.warning(
                    &span,
                    "FILE_CHECK has no track_file; keepalived ignores the checker",
                );
                return Some(Vec::new());
            };
            let Some(tf) = config.track_file(&name) else {
                cx.diags.warning(
                    &nspan,
                    format!(
                        "FILE_CHECK: no track_file named '{name}'; keepalived ignores the checker"
                    ),
                );
                return Some(Vec::new());
            };
            let (weight, reverse) = weight.unwrap_or((tf.weight, tf.reverse));
            Some((
                CheckerKind::File(FileCheck {
                    track_file: name,
                    weight,
                    reverse,
                }),
                false,
                None,
            ))
        }
    };
    let (kind, has_conn, misc_timeout) = raw?;
    if has_conn {
        check_families(cx, &conn, &span);
    }
    for h in &hosts {
        check_families(cx, h, &span);
    }
    // keepalived's smtp_check_end_handler: the checker's own connection
    // when it set any of it (or has no host), then one checker per host;
    // otherwise the first host's connection is the checker's.
    let conns = if hosts.is_empty() || conn != RawConn::default() {
        std::iter::once(conn).chain(hosts).collect()
    } else {
        hosts
    };
    Some(
        conns
            .into_iter()
            .map(|c| RawChecker {
                kind: kind.clone(),
                timing: timing.clone(),
                conn: has_conn.then_some(c),
                misc_timeout,
                span: span.clone(),
            })
            .collect(),
    )
}

fn url(cx: &mut Cx<'_>, node: &Node) -> Option<Url> {
    cx.at_most(node, 0);
    let mut path: Option<String> = None;
    let mut codes: Vec<std::ops::RangeInclusive<u16>> = Vec::new();
    let mut u = Url {
        path: String::new(),
        status_codes: StatusCodes::default_2xx(),
        digest: None,
        regex: None,
        regex_no_match: false,
        virtualhost: None,
        span: node.span.clone(),
    };
    for n in cx.block(node) {
        match n.keyword.as_str() {
            "path" => path = cx.word(n, "a path").or(path),
            "digest" => {
                if let Some(d) = cx.word(n, "an MD5 digest (32 hex digits)") {
                    if u.digest.is_some() {
                        cx.diags.warning(&n.span, "duplicate digest is ignored");
                        continue;
                    }
                    match parse_digest(&d) {
                        Some(b) => u.digest = Some(b),
                        None => cx.diags.error(
                            &n.args[0].span,
                            format!("digest '{d}' must be 32 hex digits (an MD5 sum)"),
                        ),
                    }
                }
            }
            "status_code" => {
                cx.no_block(n);
                if n.args.is_empty() {
                    cx.diags
                        .error(&n.span, "'status_code' needs at least one code");
                }
                for a in &n.args {
                    let (lo, hi) = match a.text.split_once('-') {
                        Some((l, h)) => (l, h),
                        None => (a.text.as_str(), a.text.as_str()),
                    };
                    match (lo.parse::<u16>(), hi.parse::<u16>()) {
                        (Ok(l), Ok(h))
                            if (100..=599).contains(&l) && (100..=599).contains(&h) && l <= h =>
                        {
                            codes.push(l..=h)
                        }
                        _ => cx.diags.error(
                            &a.span,
                            format!(
                                "invalid status_code '{}' (100..599, or a range like 200-299)",
                                a.text
                            ),
                        ),
                    }
                }
            }
            "virtualhost" => u.virtualhost = cx.word(n, "a host name").or(u.virtualhost.take()),
            "regex" => {
                cx.no_block(n);
                match super::super::lexer::split_quoted_escaped(&n.raw_args) {
                    Ok(w) if w.len() == 1 => match regex::Regex::new(&w[0]) {
                        Ok(_) => u.regex = Some(w[0].clone()),
                        Err(e) => cx.diags.error(
                            &n.span,
                            format!(
                                "invalid regex: {}",
                                e.to_string().lines().last().unwrap_or("")
                            ),
                        ),
                    },
                    _ => cx
                        .diags
                        .error(&n.span, "'regex' needs exactly one pattern (quote it)"),
                }
            }
            "regex_no_match" => {
                cx.bare(n);
                u.regex_no_match = true;
            }
            _ => unhandled(cx, n, Ctx::Url),
        }
    }
    let Some(path) = path else {
        cx.diags.error(&node.span, "url has no path");
        return None;
    };
    u.path = path;
    if !codes.is_empty() {
        u.status_codes = StatusCodes::from_ranges(codes);
    }
    if u.regex_no_match && u.regex.is_none() {
        cx.diags
            .warning(&node.span, "regex_no_match without regex is ignored");
        u.regex_no_match = false;
    }
    Some(u)
}

fn parse_digest(s: &str) -> Option<[u8; 16]> {
    if s.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// A hex string (blanks allowed between digits); with `wild`, `X`
/// nibbles are wildcards: returns (data, mask).
fn hex(s: &str, wild: bool) -> Option<(Vec<u8>, Vec<u8>)> {
    let digits: Vec<char> = s.chars().filter(|c| !c.is_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    let mut data = Vec::new();
    let mut mask = Vec::new();
    for pair in digits.chunks(2) {
        let mut d = 0u8;
        let mut m = 0u8;
        for c in pair {
            d <<= 4;
            m <<= 4;
            if let Some(v) = c.to_digit(16) {
                d |= v as u8;
                m |= 0xf;
            } else if !(wild && (*c == 'x' || *c == 'X')) {
                return None;
            }
        }
        data.push(d);
        mask.push(m);
    }
    Some((data, mask))
}
