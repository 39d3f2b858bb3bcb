//! The VRRP half's state as keepalived 2.2.7 writes it on request, for
//! operators and tools that read keepalived's files: the data dump
//! (SIGUSR1, `keepalived.data`), the statistics (SIGUSR2,
//! `keepalived.stats`) and the JSON dump (SIGRTMIN+2, `keepalived.json`).
//! The statistics and the JSON keys are keepalived's; the data dump has
//! keepalived's section header and field labels for what Vigil holds.

use std::fmt::Write as _;

use super::Vrrp;
use crate::vrrp::{Instance, State, TrackerId};

/// keepalived's name of a state (`get_state_str`).
fn state_name(s: State) -> &'static str {
    match s {
        State::Initialize => "INIT",
        State::Backup => "BACKUP",
        State::Master => "MASTER",
        State::Fault => "FAULT",
    }
}

/// keepalived's number of a state (`VRRP_STATE_*`), as its JSON has it.
fn state_number(s: State) -> u8 {
    match s {
        State::Initialize => 0,
        State::Backup => 1,
        State::Master => 2,
        State::Fault => 3,
    }
}

/// The state an instance wants (keepalived's `wantstate`).
fn want(i: &Instance) -> State {
    match i.state() {
        State::Backup if i.wants_master() => State::Master,
        s => s,
    }
}

/// An address as keepalived's format_ipaddress writes it: the prefix
/// only when not a host address, `brd`, `dev`, `scope`, `label`,
/// `no_track`, IPv6's lifetime, and `set` while it is held.
fn vip_text(ip: &crate::vrrp::Vip, c: &crate::vrrp::InstanceConfig, held: bool) -> String {
    let host = if ip.addr.is_ipv4() { 32 } else { 128 };
    let mut s = if ip.prefix_len == host {
        ip.addr.to_string()
    } else {
        format!("{}/{}", ip.addr, ip.prefix_len)
    };
    if let Some(b) = ip.broadcast {
        let _ = write!(s, " brd {b}");
    }
    let _ = write!(s, " dev {}", ip.dev.as_deref().unwrap_or(&c.interface));
    let _ = write!(s, " scope {}", ip.scope.as_deref().unwrap_or("global"));
    if let Some(l) = &ip.label {
        let _ = write!(s, " label {l}");
    }
    if c.untracked_vips.contains(&ip.addr) {
        s.push_str(" no_track");
    }
    if ip.addr.is_ipv6() {
        s.push_str(" preferred_lft forever");
    }
    if held {
        s.push_str(" set");
    }
    s
}

/// The data dump (`keepalived.data`): the VRRP topology, one block per
/// instance.
pub fn data(v: &Vrrp) -> String {
    let mut s = String::from("------< VRRP Topology >------\n");
    for i in v.instances() {
        let c = i.config();
        let cfg = v.config().vrrp_instance(&c.name);
        let _ = writeln!(s, " VRRP Instance = {}", c.name);
        let _ = writeln!(s, "   VRRP Version = {}", c.version().number());
        if let Some(g) = v
            .config()
            .sync_groups
            .iter()
            .find(|g| g.instances.contains(&c.name))
        {
            let _ = writeln!(s, "   Sync group = {}", g.name);
        }
        if c.src.is_ipv6() {
            s.push_str("   Using Native IPv6\n");
        }
        let _ = writeln!(s, "   State = {}", state_name(i.state()));
        if i.state() == State::Backup
            && let Some((addr, prio)) = i.master()
        {
            let _ = writeln!(s, "   Master router = {addr}");
            let _ = writeln!(s, "   Master priority = {prio}");
        }
        let _ = writeln!(s, "   Wantstate = {}", state_name(want(i)));
        let _ = writeln!(s, "   Interface = {}", c.interface);
        let _ = writeln!(s, "   Using src_ip = {}", c.src);
        if !c.is_unicast() {
            let _ = writeln!(s, "   Multicast address {}", c.group);
        }
        let _ = writeln!(s, "   Virtual Router ID = {}", c.vrid);
        let _ = writeln!(s, "   Priority = {}", c.priority);
        let _ = writeln!(s, "   Effective priority = {}", i.priority());
        let _ = writeln!(
            s,
            "   Advert interval = {} milli-sec",
            c.interval.as_duration().as_millis()
        );
        let _ = writeln!(
            s,
            "   Master advert interval = {} milli-sec",
            i.master_interval().as_duration().as_millis()
        );
        let accept = cfg.map(|x| x.accept).unwrap_or(true);
        let _ = writeln!(
            s,
            "   Accept = {}",
            if accept { "enabled" } else { "disabled" }
        );
        let _ = writeln!(
            s,
            "   Preempt = {}",
            if c.preempt { "enabled" } else { "disabled" }
        );
        if !c.preempt_delay.is_zero() {
            let _ = writeln!(
                s,
                "   Preempt delay = {} secs",
                c.preempt_delay.as_secs_f64()
            );
        }
        let _ = writeln!(
            s,
            "   Authentication type = {}",
            match (c.ah_key.is_some(), c.auth.kind()) {
                (true, _) => "IPSEC_AH",
                (false, 1) => "SIMPLE_PASSWORD",
                _ => "none",
            }
        );
        let _ = writeln!(s, "   Virtual IP ({}):", c.vips.len());
        for ip in &c.vips {
            let _ = writeln!(s, "     {}", vip_text(ip, c, i.holds_vips()));
        }
        if !c.excluded_vips.is_empty() {
            s.push_str("   Virtual IP Excluded :\n");
            for ip in &c.excluded_vips {
                let _ = writeln!(s, "     {}", vip_text(ip, c, i.holds_vips()));
            }
        }
        if c.is_unicast() {
            s.push_str("   Unicast Peer :\n");
            for p in &c.unicast_peers {
                let _ = writeln!(s, "     {p}");
            }
        }
        trackers(&mut s, c);
    }
    s
}

/// The data dump's tracker sections, in keepalived's order: each kind's
/// label, then `NAME weight N [reverse]` per tracker of that kind; a kind
/// without trackers is left out.
fn trackers(s: &mut String, c: &crate::vrrp::InstanceConfig) {
    for label in [
        "Tracked interfaces",
        "Tracked scripts",
        "Tracked files",
        "Tracked processes",
    ] {
        let lines: Vec<String> = c
            .trackers
            .iter()
            .filter_map(|t| {
                let (kind, name) = tracker_kind(&t.id);
                (kind == label).then(|| {
                    let reverse = if t.reverse { " reverse" } else { "" };
                    format!("     {name} weight {}{reverse}\n", t.weight)
                })
            })
            .collect();
        if !lines.is_empty() {
            let _ = writeln!(s, "   {label} :");
            s.push_str(&lines.concat());
        }
    }
}

/// The data dump's label of `id`'s kind, and the name it tracks.
fn tracker_kind(id: &TrackerId) -> (&'static str, &str) {
    match id {
        TrackerId::Interface(n) => ("Tracked interfaces", n),
        TrackerId::Script(n) => ("Tracked scripts", n),
        TrackerId::File(n) => ("Tracked files", n),
        TrackerId::Process(n) => ("Tracked processes", n),
    }
}

/// The statistics (`keepalived.stats`), in keepalived's layout.
pub fn stats(v: &Vrrp) -> String {
    let mut s = String::new();
    for i in v.instances() {
        let st = i.stats();
        let _ = write!(
            s,
            "VRRP Instance: {}\n  Advertisements:\n    Received: {}\n    Sent: {}\n  \
             Became master: {}\n  Released master: {}\n  Packet Errors:\n    Length: {}\n    \
             TTL: {}\n    Invalid Type: {}\n    Advertisement Interval: {}\n    \
             Address List: {}\n  Authentication Errors:\n    Invalid Type: {}\n    \
             Type Mismatch: {}\n    Failure: {}\n  Priority Zero:\n    Received: {}\n    \
             Sent: {}\n",
            i.name(),
            st.adverts_received,
            st.adverts_sent,
            st.become_master,
            st.release_master,
            st.packet_length_errors,
            st.ttl_errors,
            st.invalid_type,
            st.interval_errors,
            st.address_list_errors,
            st.invalid_auth_type,
            st.auth_type_mismatch,
            st.auth_failures,
            st.priority_zero_received,
            st.priority_zero_sent,
        );
    }
    s
}

/// A JSON string literal.
fn js(text: &str) -> String {
    let mut o = String::from("\"");
    for ch in text.chars() {
        match ch {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// The JSON dump (`keepalived.json`): an array with one object per
/// instance, `data` and `stats`, with keepalived's keys for what Vigil
/// holds.
pub fn json(v: &Vrrp) -> String {
    let mut items = Vec::new();
    for i in v.instances() {
        let c = i.config();
        let cfg = v.config().vrrp_instance(&c.name);
        let st = i.stats();
        let vips: Vec<String> = c
            .vips
            .iter()
            .map(|ip| js(&vip_text(ip, c, i.holds_vips())))
            .collect();
        let evips: Vec<String> = c
            .excluded_vips
            .iter()
            .map(|ip| js(&vip_text(ip, c, i.holds_vips())))
            .collect();
        let track_ifp: Vec<String> = c
            .trackers
            .iter()
            .filter_map(|t| match &t.id {
                TrackerId::Interface(n) => Some(js(n)),
                _ => None,
            })
            .collect();
        let mut d = vec![
            format!("\"iname\":{}", js(&c.name)),
            format!(
                "\"dont_track_primary\":{}",
                u8::from(cfg.is_some_and(|x| x.dont_track_primary))
            ),
            format!(
                "\"strict_mode\":{}",
                u8::from(cfg.is_some_and(|x| x.strict_mode))
            ),
            format!("\"ifp_ifname\":{}", js(&c.interface)),
            format!("\"master_priority\":{}", i.master().map_or(0, |m| m.1)),
            format!("\"garp_rep\":{}", c.garp.master_repeat),
            format!("\"garp_lower_prio_rep\":{}", c.garp.lower_prio_repeat),
            format!(
                "\"lower_prio_no_advert\":{}",
                u8::from(c.lower_prio_no_advert)
            ),
            format!(
                "\"higher_prio_send_advert\":{}",
                u8::from(c.higher_prio_send_advert)
            ),
            format!("\"vrid\":{}", c.vrid),
            format!("\"base_priority\":{}", c.priority),
            format!("\"effective_priority\":{}", i.priority()),
            format!("\"vipset\":{}", i.holds_vips()),
            format!(
                "\"adver_int\":{:.6}",
                c.interval.as_duration().as_secs_f64()
            ),
            format!(
                "\"master_adver_int\":{:.6}",
                i.master_interval().as_duration().as_secs_f64()
            ),
            format!("\"nopreempt\":{}", !c.preempt),
            format!("\"preempt_delay\":{}", c.preempt_delay.as_secs()),
            format!("\"state\":{}", state_number(i.state())),
            format!("\"wantstate\":{}", state_number(want(i))),
            format!("\"version\":{}", c.version().number()),
        ];
        if !vips.is_empty() {
            d.push(format!("\"vips\":[{}]", vips.join(",")));
        }
        if !evips.is_empty() {
            d.push(format!("\"evips\":[{}]", evips.join(",")));
        }
        if !track_ifp.is_empty() {
            d.push(format!("\"track_ifp\":[{}]", track_ifp.join(",")));
        }
        d.push(format!(
            "\"auth_type\":{}",
            if c.ah_key.is_some() { 2 } else { c.auth.kind() }
        ));
        let stats = [
            ("advert_rcvd", st.adverts_received),
            ("advert_sent", st.adverts_sent),
            ("become_master", st.become_master),
            ("release_master", st.release_master),
            ("packet_len_err", st.packet_length_errors),
            ("advert_interval_err", st.interval_errors),
            ("ip_ttl_err", st.ttl_errors),
            ("invalid_type_rcvd", st.invalid_type),
            ("addr_list_err", st.address_list_errors),
            ("invalid_authtype", st.invalid_auth_type),
            ("authtype_mismatch", st.auth_type_mismatch),
            ("auth_failure", st.auth_failures),
            ("pri_zero_rcvd", st.priority_zero_received),
            ("pri_zero_sent", st.priority_zero_sent),
        ]
        .iter()
        .map(|(k, n)| format!("\"{k}\":{n}"))
        .collect::<Vec<_>>()
        .join(",");
        items.push(format!(
            "{{\"data\":{{{}}},\"stats\":{{{stats}}}}}",
            d.join(",")
        ));
    }
    format!("[{}]\n", items.join(","))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::director::{Host, Input, Options};
    use crate::time::Instant;

    fn running() -> Vrrp {
        let text = "vrrp_instance web {\n interface eth0\n virtual_router_id 51\n priority 255\n \
                    virtual_ipaddress { 192.0.2.160 }\n}\n";
        let p = crate::config::parse_str("t.conf", text);
        let cfg = Arc::new(p.config.expect("parses"));
        let host = Host::single("eth0", vec!["192.0.2.150".parse().unwrap()]);
        let mut v = Vrrp::new(cfg, &host, Options::default()).expect("runs");
        let _ = v.handle(Instant::ZERO, Input::Start).count();
        v
    }

    #[test]
    fn data_stats_and_json_say_what_keepalived_says() {
        let v = running();
        let d = data(&v);
        assert!(
            d.starts_with("------< VRRP Topology >------\n VRRP Instance = web\n"),
            "{d}"
        );
        assert!(d.contains("   State = MASTER\n"), "{d}");
        assert!(d.contains("   Effective priority = 255\n"), "{d}");
        assert!(
            d.contains("   Virtual IP (1):\n     192.0.2.160 dev eth0 scope global set\n"),
            "{d}"
        );
        let s = stats(&v);
        assert!(s.starts_with("VRRP Instance: web\n  Advertisements:\n    Received: 0\n    Sent: 1\n  Became master: 1\n"), "{s}");
        let j = json(&v);
        assert!(j.starts_with("[{\"data\":{\"iname\":\"web\","), "{j}");
        assert!(
            j.contains("\"state\":2,") && j.contains("\"effective_priority\":255,"),
            "{j}"
        );
        assert!(
            j.contains("\"vips\":[\"192.0.2.160 dev eth0 scope global set\"]"),
            "{j}"
        );
        assert!(
            j.contains("\"stats\":{\"advert_rcvd\":0,\"advert_sent\":1,"),
            "{j}"
        );
        assert_eq!(js("a\"b\\\n"), "\"a\\\"b\\\\\\u000a\"");
    }
}
