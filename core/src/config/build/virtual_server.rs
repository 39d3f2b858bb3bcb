//! `virtual_server`, `real_server` and `virtual_server_group` blocks
//! (check/check_parser.c, check/check_data.c alloc_* and
//! validate_check_config for defaults, inheritance and port fix-ups).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use super::super::diag::did_you_mean;
use super::super::model::{
    Command, Config, Family, Forwarding, Granularity, Protocol, RealServer, SchedFlags, Scheduler,
    ServiceAddr, SorryServer, TunnelCsum, TunnelType, VirtualServer, VirtualServerGroup, VsgEntry,
};
use super::super::parser::Node;
use super::super::span::Span;
use super::checker::{Inherit, RawChecker, checker, resolve};
use super::keywords::{Ctx, unhandled};
use super::script::block_name;
use super::values::{Cx, parse_uint};

const MAX_SECS: u64 = u32::MAX as u64 / 1_000_000;
/// IPVS_WEIGHT_MAX (include/ip_vs.h).
const WEIGHT_MAX: u64 = i32::MAX as u64;
/// IPVS_SVC_PERSISTENT_TIMEOUT (include/libipvs.h).
const PERSISTENT_TIMEOUT: Duration = Duration::from_secs(360);
/// LVS_MAX_TIMEOUT.
const LVS_MAX_TIMEOUT: u64 = 86400 * 31;

fn addr_port(cx: &mut Cx<'_>, what: &str, n: &Node, ip_idx: usize) -> Option<SocketAddr> {
    let a = cx.need(n, ip_idx, "an address")?;
    let Ok(ip) = a.text.parse::<IpAddr>() else {
        cx.diags.error(
            &a.span,
            format!("{what}: '{}' is not an IP address", a.text),
        );
        return None;
    };
    let port = match n.arg(ip_idx + 1) {
        Some(p) => match parse_uint(&p.text) {
            Some(v) if v <= 65535 => v as u16,
            _ => {
                cx.diags
                    .error(&p.span, format!("{what}: invalid port '{}'", p.text));
                return None;
            }
        },
        None => 0,
    };
    cx.at_most(n, ip_idx + 2);
    Some(SocketAddr::new(ip, port))
}

/// `lb_kind` / `lvs_method` / `sorry_server_lvs_method` value.
fn forwarding(cx: &mut Cx<'_>, n: &Node) -> Option<Forwarding> {
    cx.no_block(n);
    let a = cx.need(n, 0, "NAT, DR or TUN")?;
    let f = match a.text.as_str() {
        "NAT" => Forwarding::Nat,
        "DR" => Forwarding::Dr,
        "TUN" => {
            let mut ty = TunnelType::Ipip;
            let mut csum = TunnelCsum::NoCsum;
            let mut port: Option<u16> = None;
            let mut gue = false;
            let mut i = 1;
            while i < n.args.len() {
                let o = &n.args[i];
                match o.text.as_str() {
                    "type" => {
                        match n.arg(i + 1).map(|a| a.text.as_str()) {
                            Some("ipip") => {}
                            Some("gue") => gue = true,
                            Some("gre") => ty = TunnelType::Gre,
                            Some(t) => cx.diags.error(
                                &n.args[i + 1].span,
                                format!("unknown tunnel type '{t}' (ipip, gue, gre)"),
                            ),
                            None => cx
                                .diags
                                .error(&o.span, "tunnel 'type' needs ipip, gue or gre"),
                        }
                        i += 1;
                    }
                    "port" => {
                        match n.arg(i + 1) {
                            Some(p) => port = cx.port_arg("tunnel port", p, false),
                            None => cx.diags.error(&o.span, "tunnel 'port' needs a value"),
                        }
                        i += 1;
                    }
                    "nocsum" => csum = TunnelCsum::NoCsum,
                    "csum" => csum = TunnelCsum::Csum,
                    "remcsum" => csum = TunnelCsum::RemCsum,
                    t => cx
                        .diags
                        .error(&o.span, format!("unknown tunnel option '{t}'")),
                }
                i += 1;
            }
            if gue {
                match port {
                    Some(p) => ty = TunnelType::Gue(p),
                    None => {
                        cx.diags.error(&n.span, "gue tunnels need 'port N'");
                        return None;
                    }
                }
            } else if port.is_some() {
                cx.diags.error(&n.span, "only gue tunnels take a port");
                return None;
            }
            if ty == TunnelType::Ipip && csum != TunnelCsum::NoCsum {
                cx.diags
                    .error(&n.span, "ipip tunnels do not support checksum options");
                return None;
            }
            if ty == TunnelType::Gre && csum == TunnelCsum::RemCsum {
                cx.diags
                    .error(&n.span, "gre tunnels do not support remcsum");
                return None;
            }
            return Some(Forwarding::Tun(ty, csum));
        }
        other => {
            let hint = did_you_mean(other, ["NAT", "DR", "TUN"])
                .map(|s| format!("; did you mean '{s}'?"))
                .unwrap_or_default();
            cx.diags.error(
                &a.span,
                format!("unknown {} '{other}' (NAT, DR or TUN){hint}", n.keyword),
            );
            return None;
        }
    };
    cx.at_most(n, 1);
    Some(f)
}

/// Real server as written (before inheritance).
struct RawRs {
    addr: SocketAddr,
    weight: Option<u32>,
    forwarding: Option<Forwarding>,
    inhibit: Option<bool>,
    alpha: Option<bool>,
    retry: Option<u32>,
    connect_timeout: Option<Duration>,
    delay_loop: Option<Duration>,
    delay_before_retry: Option<Duration>,
    warmup: Option<Duration>,
    uthreshold: Option<u32>,
    lthreshold: Option<u32>,
    notify_up: Option<Command>,
    notify_down: Option<Command>,
    virtualhost: Option<String>,
    smtp_alert: Option<bool>,
    checkers: Vec<RawChecker>,
    span: Span,
}

fn real_server(cx: &mut Cx<'_>, config: &Config, node: &Node) -> Option<RawRs> {
    let addr = addr_port(cx, "real_server", node, 0)?;
    let mut rs = RawRs {
        addr,
        weight: None,
        forwarding: None,
        inhibit: None,
        alpha: None,
        retry: None,
        connect_timeout: None,
        delay_loop: None,
        delay_before_retry: None,
        warmup: None,
        uthreshold: None,
        lthreshold: None,
        notify_up: None,
        notify_down: None,
        virtualhost: None,
        smtp_alert: None,
        checkers: Vec::new(),
        span: node.span.clone(),
    };
    let children = match &node.block {
        Some(b) => b.children.as_slice(),
        None => &[],
    };
    for n in children {
        if let Some(c) = checker(cx, config, n) {
            rs.checkers.extend(c);
            continue;
        }
        match n.keyword.as_str() {
            "weight" => rs.weight = cx.uint(n, 0, WEIGHT_MAX).map(|v| v as u32).or(rs.weight),
            "lvs_method" => rs.forwarding = forwarding(cx, n).or(rs.forwarding),
            "inhibit_on_failure" => rs.inhibit = cx.flag(n).or(rs.inhibit),
            "alpha" => rs.alpha = cx.flag(n).or(rs.alpha),
            "retry" => {
                rs.retry = cx
                    .uint(n, 1, u64::from(u32::MAX))
                    .map(|v| v as u32)
                    .or(rs.retry)
            }
            "connect_timeout" => {
                rs.connect_timeout = cx
                    .secs(n, Duration::from_micros(1), Duration::from_secs(MAX_SECS))
                    .or(rs.connect_timeout)
            }
            "delay_loop" => {
                rs.delay_loop = cx
                    .secs(n, Duration::from_micros(1), Duration::from_secs(MAX_SECS))
                    .or(rs.delay_loop)
            }
            "delay_before_retry" => {
                rs.delay_before_retry = cx
                    .secs(n, Duration::ZERO, Duration::from_secs(MAX_SECS))
                    .or(rs.delay_before_retry)
            }
            "warmup" => {
                rs.warmup = cx
                    .secs(n, Duration::ZERO, Duration::from_secs(MAX_SECS))
                    .or(rs.warmup)
            }
            "uthreshold" => rs.uthreshold = cx.uint(n, 0, u64::from(u32::MAX)).map(|v| v as u32),
            "lthreshold" => rs.lthreshold = cx.uint(n, 0, u64::from(u32::MAX)).map(|v| v as u32),
            "notify_up" => rs.notify_up = cx.command(n, true).or(rs.notify_up.take()),
            "notify_down" => rs.notify_down = cx.command(n, true).or(rs.notify_down.take()),
            "virtualhost" => rs.virtualhost = cx.word(n, "a host name").or(rs.virtualhost.take()),
            "smtp_alert" => {
                cx.diags.warning(
                    &n.span,
                    "'smtp_alert' is recognised but Vigil does not act on it: Vigil sends no e-mail",
                );
                rs.smtp_alert = cx.flag(n).or(rs.smtp_alert);
            }
            _ => unhandled(cx, n, Ctx::RealServer),
        }
    }
    Some(rs)
}

/// A `virtual_server` block, resolved; None when it cannot be used.
pub(crate) fn virtual_server(
    cx: &mut Cx<'_>,
    config: &Config,
    node: &Node,
) -> Option<VirtualServer> {
    let service = match node.arg(0).map(|a| a.text.as_str()) {
        Some("group") => {
            let name = cx.need(node, 1, "a virtual_server_group name")?;
            cx.at_most(node, 2);
            ServiceAddr::Group(name.text.clone())
        }
        Some("fwmark") => {
            let m = cx.need(node, 1, "a firewall mark")?;
            cx.at_most(node, 2);
            ServiceAddr::Fwmark(cx.uint_arg("fwmark", m, 0, u64::from(u32::MAX))? as u32)
        }
        Some(_) => ServiceAddr::Addr(addr_port(cx, "virtual_server", node, 0)?),
        None => {
            cx.diags.error(
                &node.span,
                "virtual_server needs IP PORT, 'fwmark N' or 'group NAME'",
            );
            return None;
        }
    };
    let mut family: Option<Family> = match &service {
        ServiceAddr::Addr(a) => Some(Family::of(&a.ip())),
        _ => None,
    };
    let mut protocol: Option<(Protocol, Span)> = None;
    let mut scheduler: Option<Scheduler> = None;
    let mut forwarding_v: Option<Forwarding> = None;
    let mut flags = SchedFlags::default();
    let mut sh_mh: Vec<(String, Span)> = Vec::new();
    let mut persistence_timeout: Option<Duration> = None;
    let mut granularity_arg: Option<(String, Span)> = None;
    let mut smtp_alert: Option<bool> = None;
    let mut sorry: Option<(SocketAddr, Span)> = None;
    let mut sorry_inhibit = false;
    let mut sorry_fwd: Option<Forwarding> = None;
    let mut raw_rs: Vec<RawRs> = Vec::new();
    let mut vs = VirtualServer {
        service,
        family: Family::V4,
        protocol: Protocol::Tcp,
        scheduler: Scheduler::Wlc,
        sched_flags: SchedFlags::default(),
        forwarding: Forwarding::Nat,
        persistence_timeout: None,
        persistence_granularity: None,
        persistence_engine: None,
        delay_loop: Duration::from_secs(60),
        connect_timeout: Duration::from_secs(5),
        retry: None,
        delay_before_retry: None,
        warmup: None,
        weight: 1,
        inhibit_on_failure: false,
        alpha: false,
        omega: false,
        quorum: 1,
        hysteresis: 0,
        quorum_up: None,
        quorum_down: None,
        ha_suspend: false,
        sorry_server: None,
        virtualhost: None,
        smtp_alert: false,
        real_servers: Vec::new(),
        span: node.span.clone(),
    };
    for n in cx.block(node) {
        match n.keyword.as_str() {
            "ip_family" => match cx.word(n, "inet or inet6").as_deref() {
                Some(f @ ("inet" | "inet6")) => {
                    let f = if f == "inet" { Family::V4 } else { Family::V6 };
                    match family {
                        Some(existing) if existing != f => cx.diags.error(
                            &n.span,
                            format!("ip_family {} conflicts with the virtual server's {existing} address", f.keyword()),
                        ),
                        _ => family = Some(f),
                    }
                }
                Some(o) => cx.diags.error(
                    &n.args[0].span,
                    format!("unknown ip_family '{o}' (inet or inet6)"),
                ),
                None => {}
            },
            "delay_loop" => {
                if let Some(d) = cx.secs(n, Duration::from_micros(1), Duration::from_secs(MAX_SECS))
                {
                    vs.delay_loop = d;
                }
            }
            "connect_timeout" => {
                if let Some(d) = cx.secs(n, Duration::from_micros(1), Duration::from_secs(MAX_SECS))
                {
                    vs.connect_timeout = d;
                }
            }
            "retry" => {
                vs.retry = cx
                    .uint(n, 1, u64::from(u32::MAX))
                    .map(|v| v as u32)
                    .or(vs.retry)
            }
            "delay_before_retry" => {
                vs.delay_before_retry = cx
                    .secs(n, Duration::ZERO, Duration::from_secs(MAX_SECS))
                    .or(vs.delay_before_retry)
            }
            "warmup" => {
                vs.warmup = cx
                    .secs(n, Duration::ZERO, Duration::from_secs(MAX_SECS))
                    .or(vs.warmup)
            }
            "lb_algo" | "lvs_sched" => {
                if let Some(s) = cx.word(n, "a scheduler name") {
                    match Scheduler::from_name(&s) {
                        Some(x) => scheduler = Some(x),
                        None => {
                            let hint =
                                did_you_mean(&s, Scheduler::KEEPALIVED.iter().map(|x| x.name()))
                                    .map(|x| format!("; did you mean '{x}'?"))
                                    .unwrap_or_default();
                            cx.diags.warning(
                                &n.args[0].span,
                                format!("unknown scheduler '{s}' (rr, wrr, lc, wlc, lblc, lblcr, sh, mh, dh, fo, ovf, sed, nq, twos){hint}; keepalived ignores it"),
                            );
                        }
                    }
                }
            }
            "hashed" => {
                cx.bare(n);
                cx.diags.warning(&n.span, "'hashed' is recognised but Vigil does not act on it: it has no effect in keepalived either");
            }
            "ops" => {
                cx.bare(n);
                flags.ops = true;
            }
            "flag-1" => {
                cx.bare(n);
                flags.flag1 = true;
            }
            "flag-2" => {
                cx.bare(n);
                flags.flag2 = true;
            }
            "flag-3" => {
                cx.bare(n);
                flags.flag3 = true;
            }
            "sh-port" | "sh-fallback" | "mh-port" | "mh-fallback" => {
                cx.bare(n);
                sh_mh.push((n.keyword.clone(), n.span.clone()));
            }
            "lb_kind" | "lvs_method" => forwarding_v = forwarding(cx, n).or(forwarding_v),
            "persistence_engine" => {
                vs.persistence_engine = cx
                    .word(n, "an engine name")
                    .or(vs.persistence_engine.take())
            }
            "persistence_timeout" => {
                cx.no_block(n);
                cx.at_most(n, 1);
                match n.arg(0) {
                    None => persistence_timeout = Some(PERSISTENT_TIMEOUT),
                    Some(a) => {
                        if let Some(v) = cx.uint_arg("persistence_timeout", a, 1, LVS_MAX_TIMEOUT) {
                            persistence_timeout = Some(Duration::from_secs(v));
                        }
                    }
                }
            }
            "persistence_granularity" => {
                if let Some(g) = cx.word(n, "a netmask or prefix length") {
                    granularity_arg = Some((g, n.args[0].span.clone()));
                }
            }
            "protocol" => {
                if let Some(p) = cx.word(n, "TCP, UDP or SCTP") {
                    match p.to_ascii_uppercase().as_str() {
                        "TCP" => protocol = Some((Protocol::Tcp, n.span.clone())),
                        "UDP" => protocol = Some((Protocol::Udp, n.span.clone())),
                        "SCTP" => protocol = Some((Protocol::Sctp, n.span.clone())),
                        _ => cx.diags.error(
                            &n.args[0].span,
                            format!("unknown protocol '{p}' (TCP, UDP or SCTP)"),
                        ),
                    }
                }
            }
            "ha_suspend" => {
                cx.bare(n);
                vs.ha_suspend = true;
            }
            "smtp_alert" => {
                cx.diags.warning(
                    &n.span,
                    "'smtp_alert' is recognised but Vigil does not act on it: Vigil sends no e-mail",
                );
                smtp_alert = cx.flag(n).or(smtp_alert);
            }
            "virtualhost" => vs.virtualhost = cx.word(n, "a host name").or(vs.virtualhost.take()),
            "alpha" => {
                cx.bare(n);
                vs.alpha = true;
            }
            "omega" => {
                cx.bare(n);
                vs.omega = true;
            }
            "quorum" => vs.quorum = cx.uint_or(n, 1, u64::from(u32::MAX), 1) as u32,
            "hysteresis" => {
                if let Some(h) = cx.uint(n, 0, u64::from(u32::MAX)) {
                    vs.hysteresis = h as u32;
                }
            }
            "quorum_up" => vs.quorum_up = cx.command(n, true).or(vs.quorum_up.take()),
            "quorum_down" => vs.quorum_down = cx.command(n, true).or(vs.quorum_down.take()),
            "weight" => {
                if let Some(w) = cx.uint(n, 1, WEIGHT_MAX) {
                    vs.weight = w as u32;
                }
            }
            "inhibit_on_failure" => {
                vs.inhibit_on_failure = cx.flag(n).unwrap_or(vs.inhibit_on_failure)
            }
            "sorry_server" => {
                cx.no_block(n);
                if let Some(a) = addr_port(cx, "sorry_server", n, 0) {
                    sorry = Some((a, n.span.clone()));
                }
            }
            "sorry_server_inhibit" => {
                cx.flag(n);
                if sorry.is_none() {
                    cx.diags.warning(
                        &n.span,
                        "sorry_server_inhibit before or without sorry_server is ignored",
                    );
                } else {
                    sorry_inhibit = true;
                }
            }
            "sorry_server_lvs_method" => {
                if sorry.is_none() {
                    cx.diags.warning(
                        &n.span,
                        "sorry_server_lvs_method before or without sorry_server is ignored",
                    );
                } else {
                    sorry_fwd = forwarding(cx, n).or(sorry_fwd);
                }
            }
            "real_server" => {
                if let Some(rs) = real_server(cx, config, n) {
                    raw_rs.push(rs);
                }
            }
            _ => unhandled(cx, n, Ctx::VirtualServer),
        }
    }

    // Family: address, ip_family, group entries, else the real servers
    // (check_parser.c vs_end_handler / rs_end_handler).
    let group = match &vs.service {
        ServiceAddr::Group(g) => {
            let found = config.virtual_server_group(g);
            if found.is_none() {
                let hint = did_you_mean(
                    g,
                    config.virtual_server_groups.iter().map(|x| x.name.as_str()),
                )
                .map(|x| format!("; did you mean '{x}'?"))
                .unwrap_or_default();
                cx.diags.error(
                    &node.span,
                    format!(
                        "virtual_server group '{g}': no virtual_server_group of that name{hint}"
                    ),
                );
                return None;
            }
            found
        }
        _ => None,
    };
    if family.is_none()
        && let Some(g) = group
    {
        family = g.entries.iter().find_map(|e| match e {
            VsgEntry::Range { first, .. } => Some(Family::of(first)),
            VsgEntry::Fwmark { family, .. } => *family,
        });
    }
    if family.is_none() {
        family = raw_rs
            .iter()
            .find(|r| !matches!(r.forwarding.or(forwarding_v), Some(Forwarding::Tun(..))))
            .or(raw_rs.first())
            .map(|r| Family::of(&r.addr.ip()));
    }
    vs.family = family.unwrap_or(Family::V4);

    let is_fwmark_only = match (&vs.service, group) {
        (ServiceAddr::Fwmark(_), _) => true,
        (ServiceAddr::Group(_), Some(g)) => g
            .entries
            .iter()
            .all(|e| matches!(e, VsgEntry::Fwmark { .. })),
        _ => false,
    };
    let has_addr = !is_fwmark_only;

    if raw_rs.is_empty() {
        cx.diags.warning(
            &node.span,
            format!(
                "virtual_server {} has no real servers; keepalived ignores it",
                vs.service
            ),
        );
        return None;
    }

    if vs.ha_suspend
        && (matches!(vs.service, ServiceAddr::Fwmark(_))
            || group.is_some_and(|g| {
                g.entries
                    .iter()
                    .any(|e| matches!(e, VsgEntry::Fwmark { .. }))
            }))
    {
        cx.diags.warning(
            &node.span,
            "ha_suspend cannot be used with fwmarks; it is cleared",
        );
        vs.ha_suspend = false;
    }

    vs.protocol = match protocol {
        Some((p, span)) => {
            if is_fwmark_only {
                cx.diags
                    .warning(&span, "protocol is ignored for a fwmark virtual server");
            }
            p
        }
        None if has_addr => {
            cx.diags.warning(
                &node.span,
                format!(
                    "virtual_server {}: no protocol set, keepalived defaults to UDP",
                    vs.service
                ),
            );
            Protocol::Udp
        }
        None => Protocol::Tcp,
    };
    if flags.ops && has_addr && vs.protocol != Protocol::Udp {
        cx.diags.warning(
            &node.span,
            "ops (one-packet scheduling) needs UDP; it is cleared",
        );
        flags.ops = false;
    }
    vs.scheduler = match scheduler {
        Some(s) => s,
        None => {
            cx.diags.warning(
                &node.span,
                format!(
                    "virtual_server {}: no lb_algo set, keepalived defaults to wlc",
                    vs.service
                ),
            );
            Scheduler::Wlc
        }
    };
    for (kw, span) in sh_mh {
        let (want, is_port) = match kw.as_str() {
            "sh-port" => (Scheduler::Sh, true),
            "sh-fallback" => (Scheduler::Sh, false),
            "mh-port" => (Scheduler::Mh, true),
            _ => (Scheduler::Mh, false),
        };
        if vs.scheduler != want {
            cx.diags.warning(
                &span,
                format!("{kw} only applies to the {want} scheduler; it is ignored"),
            );
        } else if is_port {
            flags.flag2 = true;
        } else {
            flags.flag1 = true;
        }
    }
    vs.sched_flags = flags;
    vs.forwarding = match forwarding_v {
        Some(f) => f,
        None => {
            if raw_rs.iter().any(|r| r.forwarding.is_none()) || sorry.is_some() {
                cx.diags.warning(
                    &node.span,
                    format!(
                        "virtual_server {}: no lb_kind set, keepalived defaults to NAT",
                        vs.service
                    ),
                );
            }
            Forwarding::Nat
        }
    };
    if let ServiceAddr::Addr(a) = &vs.service
        && a.port() == 0
        && persistence_timeout.is_none()
    {
        cx.diags.warning(
            &node.span,
            "port 0 is only valid for persistent services; persistence_timeout 360 is set",
        );
        persistence_timeout = Some(PERSISTENT_TIMEOUT);
    }
    if let Some(g) = group
        && persistence_timeout.is_none()
        && g.entries
            .iter()
            .any(|e| matches!(e, VsgEntry::Range { port: 0, .. }))
    {
        cx.diags.warning(
            &node.span,
            "a group entry without port is only valid for persistent services; persistence_timeout 360 is set",
        );
        persistence_timeout = Some(PERSISTENT_TIMEOUT);
    }
    if let Some((g, span)) = granularity_arg {
        let parsed = match vs.family {
            Family::V6 => parse_uint(&g)
                .filter(|v| (1..=128).contains(v))
                .map(|v| Granularity::V6(v as u8)),
            Family::V4 => g.parse::<Ipv4Addr>().ok().map(Granularity::V4),
        };
        match parsed {
            Some(p) => {
                vs.persistence_granularity = Some(p);
                if persistence_timeout.is_none() {
                    persistence_timeout = Some(PERSISTENT_TIMEOUT);
                }
            }
            None => cx.diags.error(
                &span,
                format!(
                    "invalid persistence_granularity '{g}' ({})",
                    if vs.family == Family::V6 {
                        "a prefix length 1..128"
                    } else {
                        "an IPv4 netmask"
                    }
                ),
            ),
        }
    }
    vs.persistence_timeout = persistence_timeout;
    vs.smtp_alert = smtp_alert
        .or(config.global.notification.smtp_alert_checker)
        .or(config.global.notification.smtp_alert)
        .unwrap_or(false);

    // Real servers: family, duplicates, inheritance, ports.
    let vs_port = match &vs.service {
        ServiceAddr::Addr(a) => Some(a.port()),
        _ => None,
    };
    let is_fwmark = matches!(vs.service, ServiceAddr::Fwmark(_));
    let mut weight_sum: u64 = 0;
    for raw in raw_rs {
        let fwd = raw.forwarding.unwrap_or(vs.forwarding);
        if Family::of(&raw.addr.ip()) != vs.family && !matches!(fwd, Forwarding::Tun(..)) {
            cx.diags.error(
                &raw.span,
                format!(
                    "real_server {} is {} but its virtual server is {}",
                    raw.addr.ip(),
                    Family::of(&raw.addr.ip()),
                    vs.family
                ),
            );
            continue;
        }
        let mut addr = raw.addr;
        if group.is_none() {
            if fwd == Forwarding::Nat {
                if !is_fwmark && addr.port() == 0 {
                    addr.set_port(vs_port.unwrap_or(0));
                }
            } else if is_fwmark {
                if addr.port() != 0 {
                    cx.diags.warning(
                        &raw.span,
                        format!(
                            "fwmark virtual server: real server {addr} has a port; it is cleared"
                        ),
                    );
                    addr.set_port(0);
                }
            } else if addr.port() == 0 {
                addr.set_port(vs_port.unwrap_or(0));
            } else if Some(addr.port()) != vs_port {
                cx.diags.warning(
                    &raw.span,
                    format!(
                        "real server port {} differs from the virtual server's {} with {}; keepalived resets it",
                        addr.port(),
                        vs_port.unwrap_or(0),
                        fwd.keyword()
                    ),
                );
                addr.set_port(vs_port.unwrap_or(0));
            }
        }
        if vs.real_servers.iter().any(|r| r.addr == addr) {
            cx.diags.warning(
                &raw.span,
                format!("real server {addr} is duplicated; the second one is removed"),
            );
            continue;
        }
        let inh = Inherit {
            rs_addr: addr,
            alpha: raw.alpha.unwrap_or(vs.alpha),
            retry: raw.retry.or(vs.retry),
            connect_timeout: raw.connect_timeout.unwrap_or(vs.connect_timeout),
            delay_loop: raw.delay_loop.unwrap_or(vs.delay_loop),
            warmup: raw.warmup.or(vs.warmup),
            delay_before_retry: raw.delay_before_retry.or(vs.delay_before_retry),
            vs_delay_loop: vs.delay_loop,
            virtualhost: raw.virtualhost.clone().or(vs.virtualhost.clone()),
        };
        let checkers = raw
            .checkers
            .into_iter()
            .map(|c| resolve(cx, c, &inh))
            .collect();
        let rs = RealServer {
            addr,
            weight: raw.weight.unwrap_or(vs.weight),
            forwarding: fwd,
            inhibit_on_failure: raw.inhibit.unwrap_or(vs.inhibit_on_failure),
            alpha: inh.alpha,
            retry: inh.retry,
            connect_timeout: inh.connect_timeout,
            delay_loop: inh.delay_loop,
            delay_before_retry: inh.delay_before_retry,
            warmup: inh.warmup,
            uthreshold: raw.uthreshold,
            lthreshold: raw.lthreshold,
            notify_up: raw.notify_up,
            notify_down: raw.notify_down,
            virtualhost: inh.virtualhost,
            smtp_alert: raw
                .smtp_alert
                .or(config.global.notification.smtp_alert_checker)
                .or(config.global.notification.smtp_alert)
                .unwrap_or(true),
            checkers,
            span: raw.span,
        };
        weight_sum += u64::from(rs.weight);
        vs.real_servers.push(rs);
    }
    if let Some((mut addr, span)) = sorry {
        let fwd = sorry_fwd.unwrap_or(vs.forwarding);
        if Family::of(&addr.ip()) != vs.family && !matches!(fwd, Forwarding::Tun(..)) {
            cx.diags.error(
                &span,
                format!(
                    "sorry_server {} is not {} like its virtual server",
                    addr.ip(),
                    vs.family
                ),
            );
        } else {
            if fwd != Forwarding::Nat && group.is_none() {
                if is_fwmark {
                    addr.set_port(0);
                } else if addr.port() == 0 || Some(addr.port()) != vs_port {
                    addr.set_port(vs_port.unwrap_or(0));
                }
            } else if fwd == Forwarding::Nat && !is_fwmark && addr.port() == 0 && group.is_none() {
                addr.set_port(vs_port.unwrap_or(0));
            }
            vs.sorry_server = Some(SorryServer {
                addr,
                forwarding: fwd,
                inhibit: sorry_inhibit,
            });
        }
    }
    // keepalived reduces quorum and hysteresis when it validates the
    // config; the model keeps what was written (so that a dump parses
    // back to it) and `quorum_rule` applies the reduction.
    let rule = vs.quorum_rule();
    if rule.quorum != vs.quorum {
        cx.diags.warning(
            &node.span,
            format!(
                "quorum {} exceeds the total weight {weight_sum} of the real servers; keepalived reduces it to {}",
                vs.quorum, rule.quorum
            ),
        );
    }
    if rule.hysteresis != vs.hysteresis {
        cx.diags.warning(
            &node.span,
            format!(
                "hysteresis {} >= quorum {}; keepalived sets it to {}{}",
                vs.hysteresis,
                rule.quorum,
                rule.hysteresis,
                if rule.quorum == 0 {
                    " (quorum - 1 wrapped around: this virtual server never gains quorum)"
                } else {
                    ""
                }
            ),
        );
    }
    Some(vs)
}

/// A `virtual_server_group NAME { IP[-END|/LEN] [PORT] ... fwmark N ... }`
/// (check_data.c alloc_vsg_entry).
pub(crate) fn virtual_server_group(cx: &mut Cx<'_>, node: &Node) -> Option<VirtualServerGroup> {
    let name = block_name(cx, node)?;
    let mut g = VirtualServerGroup {
        name,
        entries: Vec::new(),
        span: node.span.clone(),
    };
    for e in cx.block(node) {
        cx.no_block(e);
        if e.keyword == "fwmark" {
            let Some(m) = cx.need(e, 0, "a mark") else {
                continue;
            };
            let Some(mark) = cx.uint_arg("fwmark", m, 0, u64::from(u32::MAX)) else {
                continue;
            };
            let family = match e.arg(1).map(|a| a.text.as_str()) {
                None => None,
                Some("inet") => Some(Family::V4),
                Some("inet6") => Some(Family::V6),
                Some(o) => {
                    cx.diags.error(
                        &e.args[1].span,
                        format!("unknown fwmark family '{o}' (inet or inet6)"),
                    );
                    continue;
                }
            };
            cx.at_most(e, 2);
            g.entries.push(VsgEntry::Fwmark {
                mark: mark as u32,
                family,
                span: e.span.clone(),
            });
            continue;
        }
        let port = match e.arg(0) {
            Some(p) => match parse_uint(&p.text) {
                Some(v) if v <= 65535 => v as u16,
                _ => {
                    cx.diags
                        .error(&p.span, format!("invalid port '{}'", p.text));
                    continue;
                }
            },
            None => 0,
        };
        cx.at_most(e, 1);
        match vsg_range(&e.keyword) {
            Ok((first, last)) => g.entries.push(VsgEntry::Range {
                first,
                last,
                port,
                span: e.span.clone(),
            }),
            Err(msg) => cx.diags.error(&e.span, msg),
        }
    }
    if g.entries.is_empty() {
        cx.diags.warning(
            &node.span,
            format!(
                "virtual_server_group {} has no entries; keepalived removes it",
                g.name
            ),
        );
    }
    let v4 = g.entries.iter().any(|e| {
        matches!(
            e,
            VsgEntry::Range {
                first: IpAddr::V4(_),
                ..
            } | VsgEntry::Fwmark {
                family: Some(Family::V4),
                ..
            }
        )
    });
    let v6 = g.entries.iter().any(|e| {
        matches!(
            e,
            VsgEntry::Range {
                first: IpAddr::V6(_),
                ..
            } | VsgEntry::Fwmark {
                family: Some(Family::V6),
                ..
            }
        )
    });
    if v4 && v6 {
        cx.diags.error(
            &node.span,
            format!(
                "virtual_server_group {} mixes IPv4 and IPv6 entries",
                g.name
            ),
        );
    }
    Some(g)
}

/// `A`, `A-B` (B a last byte/hextet or a full address), or `A/LEN`.
fn vsg_range(s: &str) -> Result<(IpAddr, IpAddr), String> {
    if let Some((a, len)) = s.split_once('/') {
        let ip: IpAddr = a
            .parse()
            .map_err(|_| format!("'{a}' is not an IP address"))?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let len: u32 = len
            .parse()
            .ok()
            .filter(|l| (1..=max).contains(l))
            .ok_or_else(|| format!("invalid netmask in '{s}'"))?;
        return match ip {
            IpAddr::V4(v) => {
                let host = if len == 32 { 0 } else { u32::MAX >> len };
                if u32::from(v) & host != 0 {
                    return Err(format!("address mask bits not empty in '{s}'"));
                }
                Ok((ip, IpAddr::V4(Ipv4Addr::from(u32::from(v) | host))))
            }
            IpAddr::V6(v) => {
                let host = if len == 128 { 0 } else { u128::MAX >> len };
                if u128::from(v) & host != 0 {
                    return Err(format!("address mask bits not empty in '{s}'"));
                }
                Ok((ip, IpAddr::V6(Ipv6Addr::from(u128::from(v) | host))))
            }
        };
    }
    let Some((a, end)) = s.split_once('-') else {
        let ip: IpAddr = s
            .parse()
            .map_err(|_| format!("'{s}' is not an IP address"))?;
        return Ok((ip, ip));
    };
    let first: IpAddr = a
        .parse()
        .map_err(|_| format!("'{a}' is not an IP address"))?;
    let last: IpAddr = if end.contains(['.', ':']) {
        end.parse()
            .map_err(|_| format!("invalid range end '{end}'"))?
    } else {
        match first {
            IpAddr::V4(v) => {
                let b: u8 = end
                    .parse()
                    .map_err(|_| format!("invalid range end '{end}'"))?;
                let o = v.octets();
                IpAddr::V4(Ipv4Addr::new(o[0], o[1], o[2], b))
            }
            IpAddr::V6(v) => {
                let h = u16::from_str_radix(end, 16)
                    .map_err(|_| format!("invalid range end '{end}'"))?;
                let mut seg = v.segments();
                seg[7] = h;
                IpAddr::V6(Ipv6Addr::from(seg))
            }
        }
    };
    let ordered = match (first, last) {
        (IpAddr::V4(f), IpAddr::V4(l)) => u32::from(f) <= u32::from(l),
        (IpAddr::V6(f), IpAddr::V6(l)) => u128::from(f) <= u128::from(l),
        _ => return Err(format!("range '{s}' mixes address families")),
    };
    if !ordered {
        return Err(format!("range end is below range start in '{s}'"));
    }
    Ok((first, last))
}
