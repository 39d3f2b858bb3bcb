//! The table a configuration asks for, given the current health: what
//! keepalived 2.2.7 would have put in the kernel.
//!
//! Per `virtual_server` (keepalived's `ipvs_cmd`, `ipvs_group_cmd`,
//! `init_service_rs`, `perform_svr_state`, `update_quorum_state`):
//! - one service for an address or fwmark; for a `virtual_server_group`,
//!   one service per address of each range entry and per fwmark entry
//!   (fwmark entries take their own family, else the virtual server's);
//! - scheduler, flags (`ops`, `flag-1..3` = `sh-/mh-fallback`,
//!   `sh-/mh-port`), persistence timeout, engine and granularity (the
//!   netmask). As in keepalived, group entries get the host netmask:
//!   `ipvs_group_range_cmd` resets the granularity;
//! - destinations: forwarding NAT/DR/TUN -> Masq/Route/Tunnel; the port of
//!   a DR or TUN destination is the service's (0 for fwmark services), a
//!   NAT destination keeps its own; thresholds as configured;
//! - a live real server at its effective weight ([`real_weight`]); a dead
//!   one is absent, or present at weight 0 with `inhibit_on_failure`;
//! - quorum lost with a `sorry_server`: the sorry server (weight 1, its own
//!   forwarding) replaces the pool, real servers with `inhibit_on_failure`
//!   stay at weight 0; with quorum, a `sorry_server_inhibit` sorry server
//!   stays at weight 0. Quorum lost without a sorry server changes nothing
//!   in the table;
//! - `alpha` only changes the start ([`Health::initial`]); `omega` only
//!   changes notifications at shutdown, where every owned service goes
//!   (see [`super::plan`] with the config's services retired).
//!
//! An address range is enumerated as consecutive addresses. keepalived
//! increments only the last IPv4 octet (the last 16 bits for IPv6), so it
//! never ends a range crossing that boundary; Vigil enumerates it, capped
//! at [`MAX_RANGE`] addresses per entry.

use std::net::{IpAddr, SocketAddr};

use super::dest::{Dest, DestKey, ForwardMethod};
use super::service::{Family, Netmask, Persistence, Service, ServiceFlags, ServiceKey};
use super::table::{ServiceEntry, Table};
use crate::config::{Config, Forwarding, Granularity, ServiceAddr, VirtualServer, VsgEntry};
use crate::health::{Health, real_weight};

/// The most addresses one group range entry expands to.
pub const MAX_RANGE: u32 = 65_536;

/// The IPVS table `config` asks for under `health`.
pub fn desired(config: &Config, health: &Health) -> Table {
    let mut table = Table::new();
    for (i, vs) in config.virtual_servers.iter().enumerate() {
        let service = service_params(vs);
        for (key, grouped) in service_keys(config, vs) {
            let mut svc = service.clone();
            if grouped && let Some(p) = &mut svc.persistence {
                p.netmask = Netmask::full(key.family());
            }
            let entry = match table.service_mut(&key) {
                Some(e) => e,
                None => {
                    table.insert(key, ServiceEntry::new(svc));
                    table.service_mut(&key).expect("just inserted")
                }
            };
            fill_pool(entry, &key, i, vs, health);
        }
    }
    table
}

/// The services of `config` (what it owns), without health.
pub fn owned_services(config: &Config) -> Vec<ServiceKey> {
    let mut keys: Vec<ServiceKey> = config
        .virtual_servers
        .iter()
        .flat_map(|vs| service_keys(config, vs))
        .map(|(k, _)| k)
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

fn forward(f: Forwarding) -> ForwardMethod {
    match f {
        Forwarding::Nat => ForwardMethod::Masq,
        Forwarding::Dr => ForwardMethod::Route,
        Forwarding::Tun(..) => ForwardMethod::Tunnel,
    }
}

/// keepalived's `ipvs_set_srule`.
fn service_params(vs: &VirtualServer) -> Service {
    let f = vs.sched_flags;
    let mut flags = ServiceFlags::NONE;
    for (on, bit) in [
        (f.ops, ServiceFlags::ONE_PACKET),
        (f.flag1, ServiceFlags::SCHED1),
        (f.flag2, ServiceFlags::SCHED2),
        (f.flag3, ServiceFlags::SCHED3),
    ] {
        if on {
            flags |= bit;
        }
    }
    let fam = vs.family;
    let persistence = vs
        .persistence_timeout
        .filter(|t| !t.is_zero())
        .map(|t| Persistence {
            timeout: t.as_secs().min(u32::MAX as u64) as u32,
            netmask: match vs.persistence_granularity {
                Some(Granularity::V4(m)) => Netmask::v4(m),
                Some(Granularity::V6(len)) => Netmask::prefix(Family::V6, len),
                None => Netmask::full(fam),
            },
            engine: vs.persistence_engine.clone(),
        });
    Service {
        scheduler: vs.scheduler,
        flags,
        persistence,
    }
}

/// The services a virtual server stands for, each with whether it comes
/// from a group entry.
fn service_keys(config: &Config, vs: &VirtualServer) -> Vec<(ServiceKey, bool)> {
    let proto = vs.protocol;
    match &vs.service {
        ServiceAddr::Addr(a) => vec![(ServiceKey::addr(proto, a.ip(), a.port()), false)],
        ServiceAddr::Fwmark(m) => vec![(ServiceKey::fwmark(*m, vs.family), false)],
        ServiceAddr::Group(name) => {
            let Some(g) = config.virtual_server_group(name) else {
                return Vec::new();
            };
            let mut out = Vec::new();
            for e in &g.entries {
                match e {
                    VsgEntry::Range {
                        first, last, port, ..
                    } => {
                        for addr in range(*first, *last) {
                            out.push((ServiceKey::addr(proto, addr, *port), true));
                        }
                    }
                    VsgEntry::Fwmark {
                        mark, family: f, ..
                    } => {
                        let fam = f.unwrap_or(vs.family);
                        out.push((ServiceKey::fwmark(*mark, fam), true));
                    }
                }
            }
            out
        }
    }
}

/// `first..=last`, consecutive, at most [`MAX_RANGE`] addresses.
fn range(first: IpAddr, last: IpAddr) -> Vec<IpAddr> {
    match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let (a, b) = (u32::from(a), u32::from(b));
            if b < a {
                return vec![first];
            }
            let n = (b - a).min(MAX_RANGE - 1);
            (0..=n).map(|i| IpAddr::V4((a + i).into())).collect()
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let (a, b) = (u128::from(a), u128::from(b));
            if b < a {
                return vec![first];
            }
            let n = (b - a).min(MAX_RANGE as u128 - 1);
            (0..=n).map(|i| IpAddr::V6((a + i).into())).collect()
        }
        _ => vec![first],
    }
}

/// The destination key of a real or sorry server on service `key`
/// (`ipvs_cmd` / `ipvs_group_cmd`): DR and TUN use the service's port.
fn dest_key(key: &ServiceKey, addr: SocketAddr, fwd: Forwarding) -> DestKey {
    let port = match fwd {
        Forwarding::Nat => addr.port(),
        Forwarding::Dr | Forwarding::Tun(..) => key.port(),
    };
    DestKey::new(addr.ip(), port)
}

fn fill_pool(
    entry: &mut ServiceEntry,
    key: &ServiceKey,
    i: usize,
    vs: &VirtualServer,
    health: &Health,
) {
    let sorry_active = vs.sorry_server.is_some() && !health.quorum_up_at(i, vs);
    for (j, rs) in vs.real_servers.iter().enumerate() {
        let h = health.real_server_at(i, j, rs);
        let weight = if sorry_active {
            rs.inhibit_on_failure.then_some(0)
        } else if h.alive {
            Some(real_weight(h.weight))
        } else {
            rs.inhibit_on_failure.then_some(0)
        };
        if let Some(weight) = weight {
            let d = Dest {
                forward: forward(rs.forwarding),
                weight,
                u_threshold: rs.uthreshold.unwrap_or(0),
                l_threshold: rs.lthreshold.unwrap_or(0),
            };
            entry.insert_dest(dest_key(key, rs.addr, rs.forwarding), d);
        }
    }
    if let Some(s) = &vs.sorry_server {
        let k = dest_key(key, s.addr, s.forwarding);
        let d = Dest::new(forward(s.forwarding), 1);
        if sorry_active {
            entry.insert_dest(k, d);
        } else if s.inhibit && entry.dest(&k).is_none() {
            entry.insert_dest(k, d.with_weight(0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_str;
    use crate::ipvs::{diff, ipvsadm_ln};

    fn config(text: &str) -> Config {
        let p = parse_str("t.conf", text);
        p.config.unwrap_or_else(|| panic!("{:#?}", p.diagnostics))
    }

    fn listing(t: &Table) -> String {
        ipvsadm_ln(t)
            .lines()
            .skip(3)
            .map(|l| l.trim_end().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }

    const SEED: &str = include_str!("../../../scenarios/seed/lb1.keepalived.conf");

    #[test]
    fn seed_all_up_is_the_article_table() {
        let c = config(SEED);
        let t = desired(&c, &Health::all_up(&c));
        assert_eq!(
            listing(&t),
            "TCP  172.17.1.160:80 rr\n  \
             -> 172.17.1.152:80              Route   1      0          0\n  \
             -> 172.17.1.153:80              Route   1      0          0"
        );
        assert_eq!(
            owned_services(&c),
            vec![ServiceKey::tcp("172.17.1.160".parse().unwrap(), 80)]
        );
    }

    #[test]
    fn seed_before_httpd_has_no_real_servers() {
        let c = config(SEED);
        let mut h = Health::all_up(&c);
        for j in 0..2 {
            h.rs_mut(0, j).unwrap().alive = false;
        }
        assert_eq!(listing(&desired(&c, &h)), "TCP  172.17.1.160:80 rr");
    }

    #[test]
    fn failed_server_goes_or_is_inhibited_and_comes_back() {
        let c = config(SEED);
        let up = desired(&c, &Health::all_up(&c));
        let mut h = Health::all_up(&c);
        h.rs_mut(0, 1).unwrap().alive = false;
        let down = desired(&c, &h);
        let ops: Vec<String> = diff(&up, &down).iter().map(|o| o.to_string()).collect();
        assert_eq!(ops, ["del-dest svc=tcp/172.17.1.160:80 rs=172.17.1.153:80"]);
        let back: Vec<String> = diff(&down, &up).iter().map(|o| o.to_string()).collect();
        assert_eq!(
            back,
            ["add-dest svc=tcp/172.17.1.160:80 rs=172.17.1.153:80 fwd=route weight=1"]
        );

        let inhibit = config(&SEED.replace("lb_kind DR", "lb_kind DR\ninhibit_on_failure"));
        let t = desired(&inhibit, &h);
        let ops: Vec<String> = diff(&desired(&inhibit, &Health::all_up(&inhibit)), &t)
            .iter()
            .map(|o| o.to_string())
            .collect();
        assert_eq!(
            ops,
            ["edit-dest svc=tcp/172.17.1.160:80 rs=172.17.1.153:80 fwd=route weight=0"]
        );
    }

    const QUORUM: &str = "virtual_server 192.0.2.1 80 {
    protocol TCP
    lb_algo wlc
    lb_kind NAT
    quorum 3
    hysteresis 1
    sorry_server 192.0.2.200 8080
    sorry_server_lvs_method DR
    real_server 198.51.100.1 8080 {
        weight 2
    }
    real_server 198.51.100.2 8080 {
        weight 2
        inhibit_on_failure
    }
}
";

    #[test]
    fn quorum_lost_swaps_in_the_sorry_server() {
        let c = config(QUORUM);
        let mut h = Health::all_up(&c);
        assert!(h.virtual_servers[0].quorum_up);
        assert_eq!(
            listing(&desired(&c, &h)),
            "TCP  192.0.2.1:80 wlc\n  \
             -> 198.51.100.1:8080            Masq    2      0          0\n  \
             -> 198.51.100.2:8080            Masq    2      0          0"
        );
        // rs1 fails: live weight 2 < 3 - 1? No (2 >= 2): quorum holds, rs1 just goes.
        h.rs_mut(0, 0).unwrap().alive = false;
        let v = &c.virtual_servers[0];
        h.virtual_servers[0].quorum_up =
            crate::health::next_quorum(v, true, h.virtual_servers[0].live_weight());
        assert!(h.virtual_servers[0].quorum_up);
        assert_eq!(
            listing(&desired(&c, &h)),
            "TCP  192.0.2.1:80 wlc\n  -> 198.51.100.2:8080            Masq    2      0          0"
        );
        // rs2 fails too: quorum lost; the sorry server (DR: service port) replaces
        // the pool, inhibited rs2 stays at weight 0.
        h.rs_mut(0, 1).unwrap().alive = false;
        h.virtual_servers[0].quorum_up =
            crate::health::next_quorum(v, true, h.virtual_servers[0].live_weight());
        assert!(!h.virtual_servers[0].quorum_up);
        assert_eq!(
            listing(&desired(&c, &h)),
            "TCP  192.0.2.1:80 wlc\n  \
             -> 192.0.2.200:80               Route   1      0          0\n  \
             -> 198.51.100.2:8080            Masq    0      0          0"
        );
        // rs2 back alone (weight 2 < 3 + 1): still no quorum, still the sorry server.
        h.rs_mut(0, 1).unwrap().alive = true;
        h.virtual_servers[0].quorum_up =
            crate::health::next_quorum(v, false, h.virtual_servers[0].live_weight());
        assert!(!h.virtual_servers[0].quorum_up);
        assert!(listing(&desired(&c, &h)).contains("192.0.2.200:80"));
        // Both back: quorum regained, sorry server out.
        h.rs_mut(0, 0).unwrap().alive = true;
        h.virtual_servers[0].quorum_up =
            crate::health::next_quorum(v, false, h.virtual_servers[0].live_weight());
        assert!(h.virtual_servers[0].quorum_up);
        assert!(!listing(&desired(&c, &h)).contains("192.0.2.200"));
    }

    #[test]
    fn sorry_server_inhibit_stays_at_weight_zero() {
        let c = config(&QUORUM.replace(
            "sorry_server_lvs_method DR",
            "sorry_server_lvs_method DR\nsorry_server_inhibit",
        ));
        let t = desired(&c, &Health::all_up(&c));
        assert!(
            listing(&t).contains("  -> 192.0.2.200:80               Route   0      0          0"),
            "{}",
            listing(&t)
        );
    }

    #[test]
    fn groups_expand_ranges_and_fwmarks() {
        let c = config(
            "virtual_server_group web {
    192.0.2.1-3 80
    192.0.2.9 443
    fwmark 7
}
virtual_server group web {
    protocol TCP
    lb_algo sh
    lb_kind DR
    sh-port
    persistence_timeout 600
    persistence_granularity 255.255.255.0
    real_server 198.51.100.1 8080 {
        weight 3
        uthreshold 100
        lthreshold 50
    }
}
",
        );
        let t = desired(&c, &Health::all_up(&c));
        let out = listing(&t);
        assert_eq!(
            out,
            "TCP  192.0.2.1:80 sh (sh-port) persistent 600\n  \
             -> 198.51.100.1:80              Route   3      0          0\n\
             TCP  192.0.2.2:80 sh (sh-port) persistent 600\n  \
             -> 198.51.100.1:80              Route   3      0          0\n\
             TCP  192.0.2.3:80 sh (sh-port) persistent 600\n  \
             -> 198.51.100.1:80              Route   3      0          0\n\
             TCP  192.0.2.9:443 sh (sh-port) persistent 600\n  \
             -> 198.51.100.1:443             Route   3      0          0\n\
             FWM  7 sh (sh-port) persistent 600\n  \
             -> 198.51.100.1:0               Route   3      0          0"
        );
        let e = t.service(&ServiceKey::fwmark(7, Family::V4)).unwrap();
        assert_eq!(e.dests()[0].1.u_threshold, 100);
        assert_eq!(e.dests()[0].1.l_threshold, 50);
    }

    #[test]
    fn persistence_granularity_and_fwmark_service() {
        let c = config(
            "virtual_server fwmark 3 {
    protocol UDP
    lb_algo rr
    lb_kind TUN
    ops
    persistence_timeout 50
    persistence_granularity 255.255.0.0
    real_server 198.51.100.9 53 { weight 4 }
}
",
        );
        let t = desired(&c, &Health::all_up(&c));
        assert_eq!(
            listing(&t),
            "FWM  3 rr persistent 50 mask 255.255.0.0 ops\n  -> 198.51.100.9:0               Tunnel  4      0          0"
        );
    }

    #[test]
    fn effective_weights_are_clamped() {
        let c = config(SEED);
        let mut h = Health::all_up(&c);
        h.rs_mut(0, 0).unwrap().weight = -3;
        h.rs_mut(0, 1).unwrap().weight = 40;
        let t = desired(&c, &h);
        let ws: Vec<u32> = t
            .iter()
            .next()
            .unwrap()
            .1
            .dests()
            .iter()
            .map(|(_, d)| d.weight)
            .collect();
        assert_eq!(ws, [0, 40]);
    }

    #[test]
    fn alpha_servers_start_down() {
        let c = config(&SEED.replacen("weight 1", "weight 1\nalpha", 1));
        let h = Health::initial(&c);
        assert!(!h.virtual_servers[0].real_servers[0].alive);
        assert!(h.virtual_servers[0].real_servers[1].alive);
        assert_eq!(desired(&c, &h).dest_count(), 1);
    }

    #[test]
    fn ranges_are_consecutive_and_capped() {
        let a = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(range(a("10.0.0.254"), a("10.0.1.1")).len(), 4);
        assert_eq!(
            range(a("10.0.0.0"), a("10.255.255.255")).len(),
            MAX_RANGE as usize
        );
        assert_eq!(range(a("2001:db8::ffff"), a("2001:db8::1:1")).len(), 3);
        assert_eq!(range(a("10.0.0.5"), a("10.0.0.1")), vec![a("10.0.0.5")]);
    }
}
