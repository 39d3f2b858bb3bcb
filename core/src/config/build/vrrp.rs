//! `vrrp_instance` and `vrrp_sync_group` blocks (vrrp/vrrp_parser.c,
//! vrrp/vrrp.c vrrp_complete_instance for defaults and corrections).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use super::super::model::{
    Authentication, Config, Family, Garp, InitialState, Notify, Scope, SyncGroup, TrackFileRef,
    TrackInterface, TrackProcessRef, TrackScript, VirtualIp, Vmac, VrrpInstance, VrrpVersion,
};
use super::super::parser::Node;
use super::super::span::Span;
use super::keywords::{Ctx, unhandled};
use super::script::one_name_or_skip;
use super::values::{Cx, fmt_secs, parse_decimal_secs};

const MAX_SECS: u64 = u32::MAX as u64 / 1_000_000;

/// What a tracking entry resolves against.
pub(crate) struct Tracked<'a> {
    pub(crate) config: &'a Config,
}

/// `NAME [weight N [reverse]]` lines of a track_* block.
fn track_entries(cx: &mut Cx<'_>, n: &Node) -> Vec<(String, Option<i32>, bool, Span)> {
    cx.at_most(n, 0);
    let mut out = Vec::new();
    for e in cx.block(n) {
        cx.no_block(e);
        let mut weight = None;
        let mut reverse = false;
        match e.arg(0).map(|a| a.text.as_str()) {
            None => {}
            Some("weight") => match e.arg(1) {
                Some(w) => {
                    weight = cx.int_arg("weight", w, -253, 253).map(|v| v as i32);
                    match e.arg(2).map(|a| a.text.as_str()) {
                        None | Some("noreverse") => {}
                        Some("reverse") => reverse = true,
                        Some(o) => cx.diags.warning(
                            &e.args[2].span,
                            format!(
                                "unknown {} weight option '{o}' (only 'reverse'); keepalived ignores it",
                                n.keyword
                            ),
                        ),
                    }
                    cx.at_most(e, 3);
                }
                None => cx.diags.warning(
                    &e.args[0].span,
                    format!(
                        "{}: 'weight' needs a value; keepalived ignores it",
                        n.keyword
                    ),
                ),
            },
            Some(o) => cx.diags.warning(
                &e.args[0].span,
                format!(
                    "unknown {} option '{o}' for {} (only 'weight N'); keepalived ignores it",
                    n.keyword, e.keyword
                ),
            ),
        }
        out.push((e.keyword.clone(), weight, reverse, e.span.clone()));
    }
    out
}

fn track_interfaces(cx: &mut Cx<'_>, n: &Node, out: &mut Vec<TrackInterface>) {
    for (name, weight, reverse, span) in track_entries(cx, n) {
        if out.iter().any(|t| t.name == name) {
            cx.diags.warning(
                &span,
                format!("duplicate track_interface {name} is ignored"),
            );
            continue;
        }
        out.push(TrackInterface {
            name,
            weight: weight.unwrap_or(0),
            reverse,
            span,
        });
    }
}

fn track_scripts(cx: &mut Cx<'_>, t: &Tracked<'_>, n: &Node, out: &mut Vec<TrackScript>) {
    for (name, weight, reverse, span) in track_entries(cx, n) {
        let Some(script) = t.config.vrrp_script(&name) else {
            let hint = super::super::diag::did_you_mean(
                &name,
                t.config.vrrp_scripts.iter().map(|s| s.name.as_str()),
            )
            .map(|s| format!("; did you mean '{s}'?"))
            .unwrap_or_default();
            cx.diags.warning(
                &span,
                format!("track_script: no vrrp_script named '{name}'{hint}; keepalived ignores it"),
            );
            continue;
        };
        if out.iter().any(|t| t.name == name) {
            cx.diags
                .warning(&span, format!("duplicate track_script {name} is ignored"));
            continue;
        }
        let (weight, reverse) = match weight {
            Some(w) => (w, reverse),
            None => (script.weight, script.weight_reverse),
        };
        out.push(TrackScript {
            name,
            weight,
            reverse,
            span,
        });
    }
}

fn track_processes(cx: &mut Cx<'_>, t: &Tracked<'_>, n: &Node, out: &mut Vec<TrackProcessRef>) {
    for (name, weight, reverse, span) in track_entries(cx, n) {
        let Some(p) = t.config.track_process(&name) else {
            cx.diags.warning(
                &span,
                format!(
                    "track_process: no vrrp_track_process named '{name}'; keepalived ignores it"
                ),
            );
            continue;
        };
        if out.iter().any(|t| t.name == name) {
            cx.diags
                .warning(&span, format!("duplicate track_process {name} is ignored"));
            continue;
        }
        let (weight, reverse) = match weight {
            Some(w) => (w, reverse),
            None => (p.weight, p.reverse),
        };
        out.push(TrackProcessRef {
            name,
            weight,
            reverse,
            span,
        });
    }
}

fn track_files(cx: &mut Cx<'_>, t: &Tracked<'_>, n: &Node, out: &mut Vec<TrackFileRef>) {
    for (name, weight, reverse, span) in track_entries(cx, n) {
        let Some(file) = t.config.track_file(&name) else {
            cx.diags.warning(
                &span,
                format!("track_file: no track_file named '{name}'; keepalived ignores it"),
            );
            continue;
        };
        let (weight, reverse) = match weight {
            Some(w) => (w, reverse),
            None => (file.weight, file.reverse),
        };
        out.push(TrackFileRef {
            name,
            weight,
            reverse,
            span,
        });
    }
}

fn notify(cx: &mut Cx<'_>, n: &Node, notify: &mut Notify) -> bool {
    let slot = match n.keyword.as_str() {
        "notify_master" => &mut notify.master,
        "notify_backup" => &mut notify.backup,
        "notify_fault" => &mut notify.fault,
        "notify_stop" => &mut notify.stop,
        "notify" => &mut notify.any,
        _ => return false,
    };
    if let Some(c) = cx.command(n, true) {
        *slot = Some(c);
    }
    true
}

fn no_mail(cx: &mut Cx<'_>, n: &Node) {
    cx.diags.warning(
        &n.span,
        format!(
            "'{}' is recognised but Vigil does not act on it: Vigil sends no e-mail",
            n.keyword
        ),
    );
}

/// One `virtual_ipaddress` line (vrrp/vrrp_ipaddress.c alloc_ipaddress).
fn virtual_ip(cx: &mut Cx<'_>, e: &Node) -> Option<VirtualIp> {
    cx.no_block(e);
    let text = e.keyword.as_str();
    let (addr_text, len_text) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let Ok(addr) = addr_text.parse::<IpAddr>() else {
        cx.diags.warning(
            &e.span,
            format!("'{text}' is not an IP address; keepalived skips it"),
        );
        return None;
    };
    let max_len = if addr.is_ipv4() { 32 } else { 128 };
    let prefix_len = match len_text {
        None => max_len,
        Some(l) => match l.parse::<u8>() {
            Ok(v) if v <= max_len => v,
            _ => {
                cx.diags.error(
                    &e.span,
                    format!("invalid prefix length '/{l}' for {addr} (0..{max_len})"),
                );
                return None;
            }
        },
    };
    let mut vip = VirtualIp {
        addr,
        prefix_len,
        brd: None,
        dev: None,
        scope: None,
        label: None,
        no_track: false,
        span: e.span.clone(),
    };
    let mut i = 0;
    while i < e.args.len() {
        let opt = &e.args[i];
        let value = e.args.get(i + 1);
        let takes_value = matches!(
            opt.text.as_str(),
            "dev"
                | "scope"
                | "brd"
                | "broadcast"
                | "label"
                | "peer"
                | "preferred_lft"
                | "track_group"
        );
        if takes_value && value.is_none() {
            cx.diags.error(
                &opt.span,
                format!("'{}' needs a value for {text}", opt.text),
            );
            break;
        }
        match (opt.text.as_str(), value) {
            ("dev", Some(v)) => vip.dev = Some(v.text.clone()),
            ("label", Some(v)) => {
                if v.text.len() > 15 {
                    cx.diags.error(
                        &v.span,
                        format!("label '{}' is longer than 15 characters", v.text),
                    );
                }
                vip.label = Some(v.text.clone());
            }
            ("scope", Some(v)) => {
                vip.scope = match v.text.as_str() {
                    "global" | "universe" => Some(Scope::Global),
                    "site" => Some(Scope::Site),
                    "link" => Some(Scope::Link),
                    "host" => Some(Scope::Host),
                    "nowhere" => Some(Scope::Nowhere),
                    s => match s.parse::<u8>() {
                        Ok(n) => Some(match n {
                            0 => Scope::Global,
                            200 => Scope::Site,
                            253 => Scope::Link,
                            254 => Scope::Host,
                            255 => Scope::Nowhere,
                            n => Scope::Other(n),
                        }),
                        Err(_) => {
                            cx.diags.error(&v.span, format!("invalid scope '{s}'"));
                            None
                        }
                    },
                }
            }
            ("brd" | "broadcast", Some(v)) => match (addr, v.text.as_str()) {
                (IpAddr::V6(_), _) => cx.diags.error(
                    &v.span,
                    format!("broadcast address for IPv6 address {addr}"),
                ),
                (IpAddr::V4(a), "+") => {
                    let mask = if prefix_len == 0 {
                        0
                    } else {
                        u32::MAX << (32 - u32::from(prefix_len))
                    };
                    vip.brd = Some(Ipv4Addr::from(u32::from(a) | !mask));
                }
                (IpAddr::V4(_), "-") => vip.brd = None,
                (IpAddr::V4(_), s) => match s.parse::<Ipv4Addr>() {
                    Ok(b) => vip.brd = Some(b),
                    Err(_) => cx
                        .diags
                        .error(&v.span, format!("invalid broadcast address '{s}'")),
                },
            },
            ("no_track", _) => {
                vip.no_track = true;
                i += 1;
                continue;
            }
            ("peer" | "preferred_lft" | "track_group", Some(_)) => cx.diags.warning(
                &opt.span,
                format!(
                    "VIP option '{}' is recognised but Vigil does not act on it",
                    opt.text
                ),
            ),
            ("home" | "-nodad" | "mngtmpaddr" | "noprefixroute" | "autojoin" | "use_vmac", _) => {
                cx.diags.warning(
                    &opt.span,
                    format!(
                        "VIP option '{}' is recognised but Vigil does not act on it",
                        opt.text
                    ),
                );
                i += 1;
                continue;
            }
            (o, _) => {
                let hint = super::super::diag::did_you_mean(
                    o,
                    ["dev", "scope", "brd", "label", "no_track"],
                )
                .map(|s| format!("; did you mean '{s}'?"))
                .unwrap_or_default();
                cx.diags.error(
                    &opt.span,
                    format!("unknown option '{o}' for address {text}{hint}"),
                );
                break;
            }
        }
        i += 2;
    }
    if addr.is_ipv6() {
        if vip.scope.is_some() {
            cx.diags
                .warning(&e.span, format!("scope is ignored for IPv6 address {addr}"));
            vip.scope = None;
        }
        if vip.label.is_some() {
            cx.diags
                .warning(&e.span, format!("label is ignored for IPv6 address {addr}"));
            vip.label = None;
        }
    }
    Some(vip)
}

fn vips(cx: &mut Cx<'_>, n: &Node, out: &mut Vec<VirtualIp>) {
    cx.at_most(n, 0);
    for e in cx.block(n) {
        if let Some(v) = virtual_ip(cx, e) {
            out.push(v);
        }
    }
}

/// A `vrrp_instance NAME { ... }`, resolved against `global_defs`, the
/// scripts and track files.
pub(crate) fn vrrp_instance(cx: &mut Cx<'_>, t: &Tracked<'_>, node: &Node) -> Option<VrrpInstance> {
    let name = one_name_or_skip(cx, node)?;
    let g = &t.config.global;
    let mut state: Option<InitialState> = None;
    let mut vrid: Option<u8> = None;
    let mut advert: Option<(Duration, Span, String)> = None;
    let mut version: Option<(VrrpVersion, Span)> = None;
    let mut auth_type: Option<(bool, Span)> = None; // true = AH
    let mut auth_pass: Option<Vec<u8>> = None;
    let mut nopreempt = false;
    let mut priority_set = false;
    let mut preempt_delay = Duration::ZERO;
    let mut strict: Option<bool> = None;
    let mut accept: Option<bool> = None;
    let mut smtp_alert: Option<bool> = None;
    let mut garp_lower_delay: Option<Duration> = None;
    let mut garp_lower_rep: Option<u32> = None;
    let mut lower_prio_no_advert: Option<bool> = None;
    let mut higher_prio_send_advert: Option<bool> = None;
    let mut i = VrrpInstance {
        name,
        state: InitialState::Backup,
        interface: None,
        virtual_router_id: 0,
        priority: 100,
        advert_int: Duration::from_secs(1),
        version: g.vrrp_version,
        family: Family::V4,
        preempt: true,
        preempt_delay: Duration::ZERO,
        authentication: None,
        virtual_ipaddress: Vec::new(),
        virtual_ipaddress_excluded: Vec::new(),
        mcast_src_ip: None,
        mcast_dst_ip: None,
        unicast_src_ip: None,
        unicast_peers: Vec::new(),
        track_interfaces: Vec::new(),
        track_scripts: Vec::new(),
        track_files: Vec::new(),
        track_processes: Vec::new(),
        dont_track_primary: false,
        garp: Garp {
            master_delay: g.garp.master_delay,
            master_repeat: g.garp.master_repeat,
            master_refresh: g.garp.master_refresh,
            master_refresh_repeat: g.garp.master_refresh_repeat,
            lower_prio_delay: g.garp.lower_prio_delay,
            lower_prio_repeat: g.garp.lower_prio_repeat,
            lower_prio_no_advert: g.garp.lower_prio_no_advert,
            higher_prio_send_advert: g.garp.higher_prio_send_advert,
        },
        notify: Notify::default(),
        smtp_alert: false,
        notify_priority_changes: None,
        use_vmac: None,
        accept: true,
        strict_mode: false,
        span: node.span.clone(),
    };
    for n in cx.block(node) {
        if notify(cx, n, &mut i.notify) {
            continue;
        }
        match n.keyword.as_str() {
            "state" => match cx.word(n, "MASTER or BACKUP").as_deref() {
                Some("MASTER") => state = Some(InitialState::Master),
                Some("BACKUP") => {
                    if state == Some(InitialState::Master) {
                        cx.diags
                            .warning(&n.span, "state was already MASTER; BACKUP is ignored");
                    } else {
                        state = Some(InitialState::Backup);
                    }
                }
                Some(s) => {
                    let hint = super::super::diag::did_you_mean(s, ["MASTER", "BACKUP"])
                        .map(|x| format!("; did you mean '{x}'?"))
                        .unwrap_or_default();
                    cx.diags.warning(
                        &n.args[0].span,
                        format!(
                            "unknown state '{s}' (MASTER or BACKUP){hint}; keepalived uses BACKUP"
                        ),
                    );
                    state = Some(InitialState::Backup);
                }
                None => {}
            },
            "interface" => i.interface = cx.word(n, "an interface name").or(i.interface.take()),
            "virtual_router_id" => {
                vrid = cx.uint(n, 1, 255).map(|v| v as u8).or(vrid);
            }
            "priority" => {
                // keepalived resets an invalid priority to its default.
                i.priority = cx.uint_or(n, 1, 255, 100) as u8;
                priority_set = true;
            }
            "advert_int" => {
                cx.no_block(n);
                cx.at_most(n, 1);
                if let Some(a) = cx.need(n, 0, "an interval in seconds") {
                    match parse_decimal_secs(&a.text) {
                        // keepalived reads it in 0.01..255 s.
                        Some(d)
                            if d >= Duration::from_millis(10) && d <= Duration::from_secs(255) =>
                        {
                            advert = Some((d, a.span.clone(), a.text.clone()))
                        }
                        _ => cx.diags.warning(
                            &a.span,
                            format!(
                                "advert_int '{}' is not in 0.01..255 s; keepalived ignores it",
                                a.text
                            ),
                        ),
                    }
                }
            }
            "version" => match cx.uint(n, 2, 3) {
                Some(2) => version = Some((VrrpVersion::V2, n.span.clone())),
                Some(_) => version = Some((VrrpVersion::V3, n.span.clone())),
                None => {}
            },
            "nopreempt" => {
                cx.bare(n);
                nopreempt = true;
            }
            "preempt" => {
                cx.bare(n);
                nopreempt = false;
            }
            "preempt_delay" => {
                // keepalived reads 0..1000 s and ignores anything else.
                if let Some(d) = cx.secs(n, Duration::ZERO, Duration::from_secs(1000)) {
                    preempt_delay = d;
                }
            }
            "authentication" => {
                cx.at_most(n, 0);
                for a in cx.block(n) {
                    match a.keyword.as_str() {
                        "auth_type" => match cx.word(a, "PASS or AH").as_deref() {
                            Some("PASS") => auth_type = Some((false, a.span.clone())),
                            Some("AH") => auth_type = Some((true, a.span.clone())),
                            Some(o) => cx.diags.warning(
                                &a.args[0].span,
                                format!(
                                    "unknown auth_type '{o}' (PASS or AH); keepalived ignores it"
                                ),
                            ),
                            None => {}
                        },
                        "auth_pass" => {
                            if let Some(p) = cx.word(a, "a password") {
                                let mut bytes = p.into_bytes();
                                if bytes.len() > 8 {
                                    cx.diags.warning(
                                        &a.args[0].span,
                                        "auth_pass is longer than 8 bytes; keepalived truncates it to 8",
                                    );
                                    bytes.truncate(8);
                                }
                                auth_pass = Some(bytes);
                            }
                        }
                        _ => unhandled(cx, a, Ctx::Auth),
                    }
                }
            }
            "virtual_ipaddress" => vips(cx, n, &mut i.virtual_ipaddress),
            "virtual_ipaddress_excluded" => vips(cx, n, &mut i.virtual_ipaddress_excluded),
            "mcast_src_ip" => i.mcast_src_ip = cx.ip(n).or(i.mcast_src_ip),
            "mcast_dst_ip" => mcast_dst_ip(cx, n, &mut i),
            "unicast_src_ip" => i.unicast_src_ip = cx.ip(n).or(i.unicast_src_ip),
            "unicast_peer" => {
                cx.at_most(n, 0);
                for p in cx.block(n) {
                    cx.no_block(p);
                    match p.keyword.parse::<IpAddr>() {
                        Ok(a) => i.unicast_peers.push(a),
                        Err(_) => cx.diags.warning(
                            &p.span,
                            format!(
                                "unicast_peer '{}' is not an IP address; keepalived skips it",
                                p.keyword
                            ),
                        ),
                    }
                    if let Some(a) = p.arg(0) {
                        cx.diags.warning(
                            &a.span,
                            format!("unicast_peer option '{}' is recognised but Vigil does not act on it", a.text),
                        );
                    }
                }
            }
            "track_interface" => track_interfaces(cx, n, &mut i.track_interfaces),
            "track_script" => track_scripts(cx, t, n, &mut i.track_scripts),
            "track_file" => track_files(cx, t, n, &mut i.track_files),
            "track_process" => track_processes(cx, t, n, &mut i.track_processes),
            "dont_track_primary" => {
                cx.bare(n);
                i.dont_track_primary = true;
            }
            "garp_master_delay" => {
                if let Some(d) = cx.whole_secs(n, 0, MAX_SECS) {
                    i.garp.master_delay = d;
                }
            }
            "garp_master_repeat" => {
                if let Some(v) = cx.uint(n, 1, u64::from(u32::MAX)) {
                    i.garp.master_repeat = v as u32;
                }
            }
            "garp_master_refresh" => {
                if let Some(v) = cx.uint(n, 0, u64::from(u32::MAX)) {
                    i.garp.master_refresh = (v > 0).then(|| Duration::from_secs(v));
                }
            }
            "garp_master_refresh_repeat" => {
                if let Some(v) = cx.uint(n, 1, u64::from(u32::MAX)) {
                    i.garp.master_refresh_repeat = v as u32;
                }
            }
            "garp_lower_prio_delay" => {
                garp_lower_delay = cx.whole_secs(n, 0, MAX_SECS).or(garp_lower_delay)
            }
            "garp_lower_prio_repeat" => {
                garp_lower_rep = cx
                    .uint(n, 0, u64::from(u32::MAX))
                    .map(|v| v as u32)
                    .or(garp_lower_rep)
            }
            "lower_prio_no_advert" => lower_prio_no_advert = cx.flag(n).or(lower_prio_no_advert),
            "higher_prio_send_advert" => {
                higher_prio_send_advert = cx.flag(n).or(higher_prio_send_advert)
            }
            "smtp_alert" => {
                no_mail(cx, n);
                smtp_alert = cx.flag(n).or(smtp_alert);
            }
            "notify_priority_changes" => {
                i.notify_priority_changes = cx.flag(n).or(i.notify_priority_changes)
            }
            "use_vmac" => {
                cx.no_block(n);
                cx.at_most(n, 2);
                let mut v = Vmac::default();
                for a in &n.args {
                    if a.text.contains(':') {
                        v.mac = Some(a.text.clone());
                    } else {
                        v.name = Some(a.text.clone());
                    }
                }
                i.use_vmac = Some(v);
            }
            "accept" => {
                cx.bare(n);
                accept = Some(true);
            }
            "no_accept" => {
                cx.bare(n);
                accept = Some(false);
            }
            "strict_mode" => strict = cx.flag(n).or(strict),
            _ => unhandled(cx, n, Ctx::Instance),
        }
    }

    // Resolution and checks (vrrp.c vrrp_complete_instance).
    // keepalived's vrrp_complete_instance: an unset priority follows the
    // state (MASTER: 255, the owner), an unset state the priority.
    if !priority_set && state == Some(InitialState::Master) {
        i.priority = 255;
    }
    i.state = state.unwrap_or(if i.priority == 255 {
        InitialState::Master
    } else {
        InitialState::Backup
    });
    match vrid {
        Some(v) => i.virtual_router_id = v,
        // keepalived's chk_min_cfg: the VRRP process refuses to start.
        None => cx.diags.error(
            &node.span,
            format!(
                "vrrp_instance {} has no valid virtual_router_id (1..255); keepalived refuses to run it",
                i.name
            ),
        ),
    }
    if let Some(first) = i.virtual_ipaddress.first() {
        i.family = first.family();
        let fam = i.family;
        for v in i.virtual_ipaddress.iter().skip(1) {
            if v.family() != fam {
                cx.diags.error(
                    &v.span,
                    format!(
                        "{} address {} in an {fam} instance: one address family per instance (split it into two instances)",
                        v.family(),
                        v.addr
                    ),
                );
            }
        }
    } else if let Some(first) = i.virtual_ipaddress_excluded.first() {
        i.family = first.family();
    } else {
        cx.diags.warning(
            &node.span,
            format!("vrrp_instance {} has no virtual_ipaddress", i.name),
        );
    }
    i.version = match version {
        Some((VrrpVersion::V2, span)) if i.family == Family::V6 => {
            cx.diags.error(
                &span,
                "VRRP version 2 cannot carry IPv6 addresses; use version 3",
            );
            VrrpVersion::V3
        }
        Some((v, _)) => v,
        None if i.family == Family::V6 => VrrpVersion::V3,
        None => g.vrrp_version,
    };
    if i.virtual_ipaddress.is_empty() && i.version == VrrpVersion::V3 {
        cx.diags.error(
            &node.span,
            format!(
                "vrrp_instance {}: VRRPv3 requires a virtual_ipaddress; keepalived refuses to run it",
                i.name
            ),
        );
    }
    if let Some((d, span, text)) = advert {
        // keepalived's vrrp_complete_instance: clamp to what the version
        // carries, round half up to its unit.
        let (unit, max) = match i.version {
            VrrpVersion::V2 => (Duration::from_secs(1), Duration::from_secs(255)),
            VrrpVersion::V3 => (Duration::from_millis(10), Duration::from_millis(40950)),
        };
        let units = (d.as_nanos() + unit.as_nanos() / 2) / unit.as_nanos();
        let rounded = unit * u32::try_from(units.max(1)).unwrap_or(u32::MAX);
        let used = rounded.min(max);
        if used != d {
            cx.diags.warning(
                &span,
                format!(
                    "advert_int {text} is not a VRRP{} interval ({}..{} s in steps of {} s); keepalived uses {}",
                    match i.version {
                        VrrpVersion::V2 => "v2",
                        VrrpVersion::V3 => "v3",
                    },
                    fmt_secs(unit),
                    fmt_secs(max),
                    fmt_secs(unit),
                    fmt_secs(used)
                ),
            );
        }
        i.advert_int = used;
    }
    for p in &i.unicast_peers {
        if Family::of(p) != i.family {
            cx.diags.error(
                &node.span,
                format!(
                    "unicast_peer {p} is not {} like the instance's addresses",
                    i.family
                ),
            );
        }
    }
    if i.interface.is_none() && i.unicast_peers.is_empty() {
        cx.diags.error(
            &node.span,
            format!("vrrp_instance {} has no interface", i.name),
        );
    }
    i.authentication = match (auth_type, auth_pass) {
        (None, None) => None,
        (None, Some(_)) => {
            cx.diags
                .warning(&node.span, "auth_pass without auth_type is ignored");
            None
        }
        (Some((_, span)), None) => {
            cx.diags.warning(
                &span,
                "auth_type without auth_pass; keepalived runs without authentication",
            );
            None
        }
        (Some((ah, _)), Some(p)) => Some(if ah {
            Authentication::Ah(p)
        } else {
            Authentication::Pass(p)
        }),
    };
    if i.authentication.is_some() && i.version == VrrpVersion::V3 {
        cx.diags.warning(
            &node.span,
            "authentication is not part of VRRPv3 (RFC 5798) and is ignored",
        );
        i.authentication = None;
    }
    if i.priority == 255 && nopreempt {
        cx.diags.warning(
            &node.span,
            "nopreempt is incompatible with priority 255; it is cleared",
        );
        nopreempt = false;
    }
    if i.state == InitialState::Master {
        if nopreempt {
            cx.diags.warning(
                &node.span,
                "nopreempt does not work with state MASTER; keepalived clears it (use state BACKUP on every node)",
            );
            nopreempt = false;
        }
        if !preempt_delay.is_zero() {
            cx.diags.warning(
                &node.span,
                "preempt_delay does not work with state MASTER; it is cleared",
            );
            preempt_delay = Duration::ZERO;
        }
    }
    i.strict_mode = strict.unwrap_or(g.vrrp_strict);
    if i.strict_mode {
        strict_mode(cx, node, &mut i);
    }
    if !preempt_delay.is_zero() && (i.strict_mode || nopreempt) {
        cx.diags.warning(
            &node.span,
            "preempt_delay is incompatible with strict mode and nopreempt; it is cleared",
        );
        preempt_delay = Duration::ZERO;
    }
    i.preempt = !nopreempt;
    i.preempt_delay = preempt_delay;
    i.accept = accept.unwrap_or(i.priority == 255 || !i.strict_mode);
    if i.accept && i.priority != 255 && i.strict_mode && i.version == VrrpVersion::V2 {
        cx.diags.warning(
            &node.span,
            "accept mode with VRRPv2 in strict mode breaks RFC 3768; it is cleared",
        );
        i.accept = false;
    }
    i.garp.lower_prio_repeat = match garp_lower_rep {
        Some(r) if i.strict_mode && r > 0 => {
            cx.diags.warning(
                &node.span,
                "strict mode requires garp_lower_prio_repeat 0; it is reset",
            );
            0
        }
        Some(r) => r,
        None if i.strict_mode => 0,
        None => g.garp.lower_prio_repeat,
    };
    i.garp.lower_prio_delay = match garp_lower_delay {
        Some(d) if i.strict_mode && !d.is_zero() => {
            cx.diags.warning(
                &node.span,
                "strict mode requires garp_lower_prio_delay 0; it is reset",
            );
            Duration::ZERO
        }
        Some(d) => d,
        None if i.strict_mode => Duration::ZERO,
        None => g.garp.lower_prio_delay,
    };
    i.garp.lower_prio_no_advert = match lower_prio_no_advert {
        Some(false) if i.strict_mode => true,
        Some(b) => b,
        None => i.strict_mode || g.garp.lower_prio_no_advert,
    };
    i.garp.higher_prio_send_advert = match higher_prio_send_advert {
        Some(_) if i.strict_mode => false,
        Some(b) => b,
        None => !i.strict_mode && g.garp.higher_prio_send_advert,
    };
    i.smtp_alert = smtp_alert
        .or(g.notification.smtp_alert_vrrp)
        .or(g.notification.smtp_alert)
        .unwrap_or(false);
    Some(i)
}

/// keepalived 2.2.7's strict mode (`vrrp_strict` or `strict_mode`,
/// vrrp.c vrrp_complete_instance), each change a warning: no
/// authentication, `state MASTER` exactly for the address owner. (Its
/// preempt_delay, accept and
/// GARP/advert rules are applied where those are resolved; an instance
/// without a VIP is refused.)
fn strict_mode(cx: &mut Cx<'_>, node: &Node, i: &mut VrrpInstance) {
    if i.authentication.take().is_some() {
        cx.diags.warning(
            &node.span,
            format!(
                "vrrp_instance {}: strict mode does not support authentication; keepalived ignores it (a peer without strict mode that keeps it will reject these adverts)",
                i.name
            ),
        );
    }
    let owner = i.priority == 255;
    if (i.state == InitialState::Master) != owner {
        let state = if owner {
            InitialState::Master
        } else {
            InitialState::Backup
        };
        cx.diags.warning(
            &node.span,
            format!(
                "vrrp_instance {}: in strict mode state MASTER must match being the address owner (priority 255); keepalived uses {}",
                i.name,
                if owner { "MASTER" } else { "BACKUP" }
            ),
        );
        i.state = state;
    }
    if i.virtual_ipaddress.is_empty() && i.version == VrrpVersion::V2 {
        cx.diags.error(
            &node.span,
            format!(
                "vrrp_instance {}: strict mode requires a virtual_ipaddress; keepalived refuses to run it",
                i.name
            ),
        );
    }
}

/// A `vrrp_sync_group NAME { group { ... } ... }`.
pub(crate) fn sync_group(cx: &mut Cx<'_>, t: &Tracked<'_>, node: &Node) -> Option<SyncGroup> {
    let name = one_name_or_skip(cx, node)?;
    let mut s = SyncGroup {
        name,
        instances: Vec::new(),
        track_interfaces: Vec::new(),
        track_scripts: Vec::new(),
        track_files: Vec::new(),
        track_processes: Vec::new(),
        notify: Notify::default(),
        smtp_alert: false,
        notify_priority_changes: None,
        global_tracking: false,
        tracking_weight: false,
        span: node.span.clone(),
    };
    let mut smtp: Option<bool> = None;
    for n in cx.block(node) {
        if notify(cx, n, &mut s.notify) {
            continue;
        }
        match n.keyword.as_str() {
            "group" => {
                cx.at_most(n, 0);
                for e in cx.block(n) {
                    cx.no_block(e);
                    s.instances.push(e.keyword.clone());
                    s.instances.extend(e.args.iter().map(|a| a.text.clone()));
                }
            }
            "track_interface" => track_interfaces(cx, n, &mut s.track_interfaces),
            "track_script" => track_scripts(cx, t, n, &mut s.track_scripts),
            "track_file" => track_files(cx, t, n, &mut s.track_files),
            "track_process" => track_processes(cx, t, n, &mut s.track_processes),
            "smtp_alert" => {
                no_mail(cx, n);
                smtp = cx.flag(n).or(smtp);
            }
            "notify_priority_changes" => {
                s.notify_priority_changes = cx.flag(n).or(s.notify_priority_changes)
            }
            "sync_group_tracking_weight" => {
                cx.bare(n);
                s.tracking_weight = true;
            }
            "global_tracking" => {
                cx.diags.warning(
                    &n.span,
                    "global_tracking is deprecated in keepalived; tracking is per instance",
                );
                cx.bare(n);
                s.global_tracking = true;
            }
            _ => unhandled(cx, n, Ctx::SyncGroup),
        }
    }
    s.smtp_alert = smtp
        .or(t.config.global.notification.smtp_alert_vrrp)
        .or(t.config.global.notification.smtp_alert)
        .unwrap_or(false);
    if s.instances.is_empty() {
        cx.diags.warning(
            &node.span,
            format!(
                "vrrp_sync_group {} has no group {{ }} of instances; keepalived removes it",
                s.name
            ),
        );
        return None;
    }
    Some(s)
}

/// `mcast_dst_ip ADDRESS` (vrrp_parser.c vrrp_mcast_dstip_handler): an IPv4
/// multicast or IPv6 link-local multicast address; anything else is
/// skipped with a warning, as keepalived does.
fn mcast_dst_ip(cx: &mut Cx<'_>, n: &Node, i: &mut VrrpInstance) {
    cx.no_block(n);
    let Some(a) = cx.need(n, 0, "a multicast address") else {
        return;
    };
    cx.at_most(n, 1);
    let addr = match a.text.parse::<IpAddr>() {
        Ok(addr) => addr,
        Err(_) => {
            cx.diags.warning(
                &a.span,
                format!("malformed mcast_dst_ip '{}'; keepalived skips it", a.text),
            );
            return;
        }
    };
    let ok = match addr {
        IpAddr::V4(v) => v.is_multicast(),
        // ff02::/16: link-local scope multicast.
        IpAddr::V6(v) => v.segments()[0] & 0xff0f == 0xff02,
    };
    if !ok {
        cx.diags.warning(
            &a.span,
            format!(
                "mcast_dst_ip {addr} is not{} multicast; keepalived skips it",
                if addr.is_ipv6() { " link-local" } else { "" }
            ),
        );
        return;
    }
    i.mcast_dst_ip = Some(addr);
}
