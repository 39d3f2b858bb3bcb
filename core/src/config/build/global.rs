//! `global_defs` (core/global_parser.c).

use std::net::IpAddr;
use std::time::Duration;

use super::super::model::{
    GlobalDefs, LvsFlushOnStop, LvsSyncDaemon, NotifyFifo, NotifyFifos, ScriptUser, VrrpVersion,
};
use super::super::parser::Node;
use super::keywords::{Ctx, unhandled};
use super::values::Cx;

const MAX_SECS: u64 = u32::MAX as u64 / 1_000_000;
/// LVS_MAX_TIMEOUT: 31 days (include/global_data.h).
const LVS_MAX_TIMEOUT: u64 = 86400 * 31;

fn no_mail(cx: &mut Cx<'_>, n: &Node) {
    cx.diags.warning(
        &n.span,
        format!(
            "'{}' is recognised but Vigil does not act on it: Vigil sends no e-mail",
            n.keyword
        ),
    );
}

/// Applies one `global_defs` block to `g` (several blocks merge, as in
/// keepalived).
pub(crate) fn global_defs(cx: &mut Cx<'_>, node: &Node, g: &mut GlobalDefs) {
    g.span = node.span.clone();
    cx.at_most(node, 0);
    let mut lower_delay_set = false;
    let mut lower_rep_set = false;
    for n in cx.block(node) {
        match n.keyword.as_str() {
            "router_id" => g.router_id = cx.word(n, "a name").or(g.router_id.take()),
            "notification_email" => {
                no_mail(cx, n);
                cx.at_most(n, 0);
                for e in cx.block(n) {
                    g.notification.email.push(e.keyword.clone());
                    for a in &e.args {
                        g.notification.email.push(a.text.clone());
                    }
                }
            }
            "notification_email_from" => {
                no_mail(cx, n);
                g.notification.email_from = cx.word(n, "an address");
            }
            "smtp_server" => {
                no_mail(cx, n);
                cx.no_block(n);
                cx.at_most(n, 2);
                if let Some(h) = cx.need(n, 0, "a host") {
                    let port = match n.arg(1) {
                        Some(p) => cx.port_arg("smtp_server port", p, false),
                        None => Some(25),
                    };
                    if let Some(port) = port {
                        g.notification.smtp_server = Some((h.text.clone(), port));
                    }
                }
            }
            "smtp_helo_name" => {
                no_mail(cx, n);
                g.notification.smtp_helo_name = cx.word(n, "a name");
            }
            "smtp_connect_timeout" => {
                no_mail(cx, n);
                if let Some(d) = cx.whole_secs(n, 1, MAX_SECS) {
                    g.notification.smtp_connect_timeout = d;
                }
            }
            "smtp_alert" => {
                no_mail(cx, n);
                g.notification.smtp_alert = cx.flag(n);
            }
            "smtp_alert_vrrp" => {
                no_mail(cx, n);
                g.notification.smtp_alert_vrrp = cx.flag(n);
            }
            "smtp_alert_checker" => {
                no_mail(cx, n);
                g.notification.smtp_alert_checker = cx.flag(n);
            }
            "default_interface" => g.default_interface = cx.word(n, "an interface name"),
            "lvs_timeouts" => lvs_timeouts(cx, n, g),
            "lvs_flush" => {
                cx.bare(n);
                g.lvs_flush = true;
            }
            "lvs_flush_onstop" | "lvs_flush_on_stop" => {
                cx.no_block(n);
                cx.at_most(n, 1);
                g.lvs_flush_on_stop = match n.arg(0).map(|a| a.text.as_str()) {
                    None | Some("VS") => LvsFlushOnStop::VirtualServers,
                    Some("RS") => LvsFlushOnStop::RealServers,
                    Some(other) => {
                        cx.diags.error(
                            &n.args[0].span,
                            format!("{} '{other}' must be VS or RS", n.keyword),
                        );
                        g.lvs_flush_on_stop
                    }
                };
            }
            "lvs_sync_daemon" => lvs_sync_daemon(cx, n, g),
            "vrrp_mcast_group4" => match cx.ip(n) {
                Some(IpAddr::V4(a)) if a.is_multicast() => g.vrrp_mcast_group4 = a,
                Some(a) => cx.diags.error(
                    &n.span,
                    format!("vrrp_mcast_group4 '{a}' is not an IPv4 multicast address"),
                ),
                None => {}
            },
            "vrrp_mcast_group6" => match cx.ip(n) {
                Some(IpAddr::V6(a)) if a.is_multicast() => g.vrrp_mcast_group6 = a,
                Some(a) => cx.diags.error(
                    &n.span,
                    format!("vrrp_mcast_group6 '{a}' is not an IPv6 multicast address"),
                ),
                None => {}
            },
            "vrrp_garp_master_delay" => {
                if let Some(d) = cx.whole_secs(n, 0, MAX_SECS) {
                    g.garp.master_delay = d;
                }
            }
            "vrrp_garp_master_repeat" => {
                if let Some(v) = cx.uint(n, 1, u64::from(u32::MAX)) {
                    g.garp.master_repeat = v as u32;
                }
            }
            "vrrp_garp_master_refresh" => {
                if let Some(v) = cx.uint(n, 0, u64::from(u32::MAX)) {
                    g.garp.master_refresh = (v > 0).then(|| Duration::from_secs(v));
                }
            }
            "vrrp_garp_master_refresh_repeat" => {
                if let Some(v) = cx.uint(n, 1, u64::from(u32::MAX)) {
                    g.garp.master_refresh_repeat = v as u32;
                }
            }
            "vrrp_garp_lower_prio_delay" => {
                if let Some(d) = cx.whole_secs(n, 0, MAX_SECS) {
                    g.garp.lower_prio_delay = d;
                    lower_delay_set = true;
                }
            }
            "vrrp_garp_lower_prio_repeat" => {
                if let Some(v) = cx.uint(n, 0, u64::from(u32::MAX)) {
                    g.garp.lower_prio_repeat = v as u32;
                    lower_rep_set = true;
                }
            }
            "vrrp_garp_interval" => {
                if let Some(d) = cx.secs(n, Duration::from_micros(1), Duration::from_secs(MAX_SECS))
                {
                    g.garp.interval = d;
                }
            }
            "vrrp_gna_interval" => {
                if let Some(d) = cx.secs(n, Duration::from_micros(1), Duration::from_secs(MAX_SECS))
                {
                    g.garp.gna_interval = d;
                }
            }
            "vrrp_lower_prio_no_advert" => {
                if let Some(b) = cx.flag(n) {
                    g.garp.lower_prio_no_advert = b;
                }
            }
            "vrrp_higher_prio_send_advert" => {
                if let Some(b) = cx.flag(n) {
                    g.garp.higher_prio_send_advert = b;
                }
            }
            "vrrp_version" => match cx.uint(n, 2, 3) {
                Some(2) => g.vrrp_version = VrrpVersion::V2,
                Some(_) => g.vrrp_version = VrrpVersion::V3,
                None => {}
            },
            "vrrp_strict" => {
                cx.bare(n);
                g.vrrp_strict = true;
            }
            "script_user" => {
                cx.no_block(n);
                cx.at_most(n, 2);
                if let Some(u) = cx.need(n, 0, "a user name") {
                    g.script_user = Some(ScriptUser {
                        user: u.text.clone(),
                        group: n.arg(1).map(|a| a.text.clone()),
                    });
                }
            }
            "enable_script_security" => {
                cx.bare(n);
                g.enable_script_security = true;
            }
            "notify_fifo" | "vrrp_notify_fifo" | "lvs_notify_fifo" => fifo_path(cx, n, g),
            "notify_fifo_script" | "vrrp_notify_fifo_script" | "lvs_notify_fifo_script" => {
                fifo_script(cx, n, g)
            }
            "vrrp_notify_priority_changes" => {
                if let Some(b) = cx.flag(n) {
                    g.fifos.priority_changes = b;
                }
            }
            _ => unhandled(cx, n, Ctx::Global),
        }
    }
    fifos_settled(cx, node, &mut g.fifos);
    // vrrp.c: unset lower-priority GARP settings follow the master ones.
    if !lower_delay_set {
        g.garp.lower_prio_delay = g.garp.master_delay;
    }
    if !lower_rep_set {
        g.garp.lower_prio_repeat = g.garp.master_repeat;
    }
}

/// The FIFO slot keyword `kw` (`notify_fifo…`, `vrrp_…`, `lvs_…`) fills.
fn fifo_slot<'g>(g: &'g mut GlobalDefs, kw: &str) -> &'g mut Option<NotifyFifo> {
    if kw.starts_with("vrrp_") {
        &mut g.fifos.vrrp
    } else if kw.starts_with("lvs_") {
        &mut g.fifos.lvs
    } else {
        &mut g.fifos.global
    }
}

/// `[vrrp_|lvs_]notify_fifo PATH [USER [GROUP]]`; a second one of a kind
/// is ignored, as keepalived ignores it.
fn fifo_path(cx: &mut Cx<'_>, n: &Node, g: &mut GlobalDefs) {
    cx.no_block(n);
    cx.at_most(n, 3);
    let Some(path) = cx.need(n, 0, "a FIFO path").map(|a| a.text.clone()) else {
        return;
    };
    let owner = n.arg(1).map(|u| ScriptUser {
        user: u.text.clone(),
        group: n.arg(2).map(|a| a.text.clone()),
    });
    let slot = fifo_slot(g, &n.keyword);
    match slot {
        Some(f) if !f.path.is_empty() => cx.diags.warning(
            &n.span,
            format!(
                "{} already given ({}); keepalived ignores {path}",
                n.keyword, f.path
            ),
        ),
        Some(f) => {
            f.path = path;
            f.owner = owner;
        }
        None => {
            *slot = Some(NotifyFifo {
                path,
                owner,
                script: None,
            })
        }
    }
}

/// `[vrrp_|lvs_]notify_fifo_script COMMAND [USER [GROUP]]`.
fn fifo_script(cx: &mut Cx<'_>, n: &Node, g: &mut GlobalDefs) {
    let Some(c) = cx.command(n, true) else {
        return;
    };
    let slot = fifo_slot(g, &n.keyword);
    let f = slot.get_or_insert_with(|| NotifyFifo {
        path: String::new(),
        owner: None,
        script: None,
    });
    if f.script.is_some() {
        cx.diags.warning(
            &n.span,
            format!("{} already given; keepalived ignores this one", n.keyword),
        );
    } else {
        f.script = Some(c);
    }
}

/// keepalived's rules once `global_defs` is read: a FIFO script without
/// its FIFO is never run; a VRRP or LVS FIFO naming the global one is
/// dropped; of an LVS and a VRRP FIFO on one path with a script each, the
/// LVS script is dropped.
fn fifos_settled(cx: &mut Cx<'_>, node: &Node, f: &mut NotifyFifos) {
    for (kw, slot) in [
        ("notify_fifo", &mut f.global),
        ("vrrp_notify_fifo", &mut f.vrrp),
        ("lvs_notify_fifo", &mut f.lvs),
    ] {
        if slot.as_ref().is_some_and(|x| x.path.is_empty()) {
            cx.diags.warning(
                &node.span,
                format!("{kw}_script without {kw}: keepalived never runs it"),
            );
            *slot = None;
        }
    }
    let global = f.global.as_ref().map(|x| x.path.clone());
    for (kw, slot) in [
        ("vrrp_notify_fifo", &mut f.vrrp),
        ("lvs_notify_fifo", &mut f.lvs),
    ] {
        if slot.as_ref().map(|x| &x.path) == global.as_ref() && global.is_some() {
            cx.diags.warning(
                &node.span,
                format!(
                    "{kw} is notify_fifo's path: keepalived ignores it (the global FIFO gets those lines)"
                ),
            );
            *slot = None;
        }
    }
    if f.lvs.is_some() {
        cx.diags.warning(
            &node.span,
            "lvs_notify_fifo: Vigil opens it (and starts its script) but writes no checker lines (VS, RS UP/DOWN) yet",
        );
    }
    if let (Some(v), Some(l)) = (&f.vrrp, &mut f.lvs)
        && v.path == l.path
        && v.script.is_some()
        && l.script.is_some()
    {
        cx.diags.warning(
            &node.span,
            "lvs_notify_fifo is vrrp_notify_fifo's path: keepalived runs only the VRRP FIFO's script",
        );
        l.script = None;
    }
}

fn lvs_timeouts(cx: &mut Cx<'_>, n: &Node, g: &mut GlobalDefs) {
    cx.no_block(n);
    if n.args.len() < 2 {
        cx.diags.error(
            &n.span,
            "lvs_timeouts needs at least one of tcp N, tcpfin N, udp N",
        );
        return;
    }
    let mut i = 0;
    while i < n.args.len() {
        let name = &n.args[i];
        let Some(val) = n.args.get(i + 1) else {
            cx.diags.error(
                &name.span,
                format!("lvs_timeouts {} needs a value", name.text),
            );
            break;
        };
        let v = cx
            .uint_arg("lvs_timeouts", val, 0, LVS_MAX_TIMEOUT)
            .map(Duration::from_secs);
        match name.text.as_str() {
            "tcp" => g.lvs_timeouts.tcp = v,
            "tcpfin" => g.lvs_timeouts.tcp_fin = v,
            "udp" => g.lvs_timeouts.udp = v,
            other => cx.diags.error(
                &name.span,
                format!("unknown lvs_timeouts option '{other}' (tcp, tcpfin or udp)"),
            ),
        }
        i += 2;
    }
}

fn lvs_sync_daemon(cx: &mut Cx<'_>, n: &Node, g: &mut GlobalDefs) {
    cx.no_block(n);
    let Some(ifname) = cx.need(n, 0, "an interface") else {
        return;
    };
    let mut d = LvsSyncDaemon {
        interface: ifname.text.clone(),
        instance: None,
        id: None,
        maxlen: None,
        port: None,
        ttl: None,
        group: None,
    };
    let mut i = 1;
    while i < n.args.len() {
        let opt = &n.args[i];
        let val = n.args.get(i + 1);
        match (opt.text.as_str(), val) {
            ("inst", Some(v)) => d.instance = Some(v.text.clone()),
            ("id", Some(v)) => {
                d.id = cx
                    .uint_arg("lvs_sync_daemon id", v, 0, 255)
                    .map(|x| x as u8)
            }
            ("maxlen", Some(v)) => {
                d.maxlen = cx
                    .uint_arg("lvs_sync_daemon maxlen", v, 1, 65535 - 20 - 8)
                    .map(|x| x as u16)
            }
            ("port", Some(v)) => d.port = cx.port_arg("lvs_sync_daemon port", v, false),
            ("ttl", Some(v)) => {
                d.ttl = cx
                    .uint_arg("lvs_sync_daemon ttl", v, 1, 255)
                    .map(|x| x as u8)
            }
            ("group", Some(v)) => match cx.ip_arg("lvs_sync_daemon group", v) {
                Some(a) if a.is_multicast() => d.group = Some(a),
                Some(a) => cx.diags.error(
                    &v.span,
                    format!("lvs_sync_daemon group {a} is not multicast"),
                ),
                None => {}
            },
            // Old form: lvs_sync_daemon IFACE INSTANCE [SYNCID].
            (_, _) if i == 1 => {
                d.instance = Some(opt.text.clone());
                i += 1;
                continue;
            }
            (_, _) if i == 2 && d.id.is_none() => {
                d.id = cx
                    .uint_arg("lvs_sync_daemon id", opt, 0, 255)
                    .map(|x| x as u8);
                i += 1;
                continue;
            }
            (o, None) => {
                cx.diags
                    .error(&opt.span, format!("lvs_sync_daemon {o} needs a value"));
            }
            (o, Some(_)) => cx
                .diags
                .error(&opt.span, format!("unknown lvs_sync_daemon option '{o}'")),
        }
        i += 2;
    }
    g.lvs_sync_daemon = Some(d);
}
