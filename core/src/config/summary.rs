//! A one-paragraph, human summary of a [`Config`]: instances with their
//! state, priority and VIPs; virtual servers with their real servers and
//! checkers.

use super::build::fmt_secs;
use super::model::*;

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn checker(c: &Checker) -> String {
    let t = &c.timing;
    let mut s = c.kind.keyword().to_string();
    if let Some(co) = &c.conn {
        s.push_str(&format!(
            " {} timeout {}s",
            std::net::SocketAddr::new(co.connect_ip, co.connect_port),
            fmt_secs(co.connect_timeout)
        ));
    }
    match &c.kind {
        CheckerKind::Http(h) | CheckerKind::Ssl(h) => {
            let urls: Vec<String> = h
                .urls
                .iter()
                .map(|u| format!("{} -> {}", u.path, u.status_codes))
                .collect();
            s.push_str(&format!(" GET {}", urls.join(", ")));
        }
        CheckerKind::Misc(m) => s.push_str(&format!(" runs {}", m.command)),
        CheckerKind::Dns(d) => s.push_str(&format!(
            " {} {}",
            d.qtype.name(),
            if d.name.is_empty() { "." } else { &d.name }
        )),
        CheckerKind::File(f) => s.push_str(&format!(" {} weight {}", f.track_file, f.weight)),
        _ => {}
    }
    s.push_str(&format!(
        " every {}s, {} after {}s",
        fmt_secs(t.delay_loop),
        plural(t.retry as usize, "retry", "retries"),
        fmt_secs(t.delay_before_retry)
    ));
    s
}

/// The summary paragraph of `config`.
pub fn summary(config: &Config) -> String {
    let mut parts = Vec::new();
    let mut head = format!(
        "{} and {}",
        plural(
            config.vrrp_instances.len(),
            "VRRP instance",
            "VRRP instances"
        ),
        plural(
            config.virtual_servers.len(),
            "virtual server",
            "virtual servers"
        )
    );
    if let Some(r) = &config.global.router_id {
        head = format!("router {r}: {head}");
    }
    parts.push(head);
    for i in &config.vrrp_instances {
        let vips: Vec<String> = i
            .virtual_ipaddress
            .iter()
            .map(|v| format!("{}/{}", v.addr, v.prefix_len))
            .collect();
        let mut s = format!(
            "instance {} on {} (VRID {}, VRRPv{}, advert every {}s{}) starts {} with priority {}{}, holding {}",
            i.name,
            i.interface.as_deref().unwrap_or("(unicast)"),
            i.virtual_router_id,
            i.version,
            fmt_secs(i.advert_int),
            match &i.authentication {
                Some(Authentication::Pass(_)) => ", auth PASS",
                Some(Authentication::Ah(_)) => ", auth AH",
                None => "",
            },
            i.state,
            i.priority,
            if i.preempt { "" } else { ", nopreempt" },
            if vips.is_empty() {
                "no VIP".to_string()
            } else {
                vips.join(", ")
            }
        );
        if !i.track_scripts.is_empty() || !i.track_interfaces.is_empty() {
            let t: Vec<String> = i
                .track_interfaces
                .iter()
                .map(|t| format!("{} ({:+})", t.name, t.weight))
                .chain(
                    i.track_scripts
                        .iter()
                        .map(|t| format!("{} ({:+})", t.name, t.weight)),
                )
                .collect();
            s.push_str(&format!(", tracking {}", t.join(", ")));
        }
        parts.push(s);
    }
    for g in &config.sync_groups {
        parts.push(format!(
            "sync group {} ties {}",
            g.name,
            g.instances.join(", ")
        ));
    }
    for v in &config.virtual_servers {
        let svc = match &v.service {
            ServiceAddr::Addr(_) => format!("{} {}", v.protocol, v.service),
            _ => v.service.to_string(),
        };
        let rss: Vec<String> = v
            .real_servers
            .iter()
            .map(|r| {
                let checks: Vec<String> = r.checkers.iter().map(checker).collect();
                format!(
                    "{} weight {}{}",
                    r.addr,
                    r.weight,
                    if checks.is_empty() {
                        " (no checker)".to_string()
                    } else {
                        format!(" ({})", checks.join("; "))
                    }
                )
            })
            .collect();
        let mut s = format!(
            "virtual server {svc} ({} {}{}) balances {}: {}",
            v.scheduler,
            v.forwarding.keyword(),
            match v.persistence_timeout {
                Some(t) => format!(", persistent {}s", t.as_secs()),
                None => String::new(),
            },
            plural(v.real_servers.len(), "real server", "real servers"),
            rss.join(", ")
        );
        if let Some(so) = &v.sorry_server {
            s.push_str(&format!(", sorry server {}", so.addr));
        }
        parts.push(s);
    }
    format!("{}.", parts.join("; "))
}
