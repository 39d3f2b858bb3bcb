//! The health of the balanced pool: per virtual server whether quorum
//! holds, per real server whether it is alive and at what weight. The
//! check engine produces it; [`crate::ipvs::desired`] builds the table
//! from it. Quorum has hysteresis, so it is state the engine keeps; the
//! rules it follows (keepalived's `set_quorum_states` and
//! `update_quorum_state`) are here so both sides agree.

use std::fmt;
use std::net::SocketAddr;

use crate::config::{Config, Protocol, RealServer, ServiceAddr, VirtualServer};

/// Names a virtual server across reloads, as keepalived matches them:
/// by what the service is and its protocol.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VsId {
    /// Address and port, firewall mark or group.
    pub service: ServiceAddr,
    /// The protocol.
    pub protocol: Protocol,
}

impl VsId {
    /// The id of a configured virtual server.
    pub fn of(vs: &VirtualServer) -> VsId {
        VsId {
            service: vs.service.clone(),
            protocol: vs.protocol,
        }
    }
}

impl fmt::Display for VsId {
    /// `172.17.1.160:80/tcp`, `fwmark:1/tcp`, `group:NAME/udp`: one word.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let proto = match self.protocol {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        };
        match &self.service {
            ServiceAddr::Addr(a) => write!(f, "{a}/{proto}"),
            ServiceAddr::Fwmark(m) => write!(f, "fwmark:{m}/{proto}"),
            ServiceAddr::Group(g) => write!(f, "group:{g}/{proto}"),
        }
    }
}

/// The health of every virtual server, in configuration order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Health {
    /// One entry per `virtual_server`.
    pub virtual_servers: Vec<VsHealth>,
}

impl Health {
    /// The entry of the virtual server `id`.
    pub fn virtual_server(&self, id: &VsId) -> Option<&VsHealth> {
        self.virtual_servers.iter().find(|v| v.id == *id)
    }

    /// The entry of real server `rs` of virtual server `vs`.
    pub fn real_server(&self, vs: &VsId, rs: SocketAddr) -> Option<&RsHealth> {
        self.virtual_server(vs)?
            .real_servers
            .iter()
            .find(|r| r.addr == rs)
    }
}

impl fmt::Display for Health {
    /// One line per virtual server, then one per real server:
    /// `vs 172.17.1.160:80/tcp quorum=up` /
    /// `  rs 172.17.1.152:80 alive weight=1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for vs in &self.virtual_servers {
            write!(
                f,
                "vs {} quorum={}",
                vs.id,
                if vs.quorum_up { "up" } else { "down" }
            )?;
            if let Some(s) = vs.sorry_server {
                write!(
                    f,
                    " sorry={s}{}",
                    if vs.sorry_active() { "(active)" } else { "" }
                )?;
            }
            writeln!(f)?;
            for rs in &vs.real_servers {
                writeln!(
                    f,
                    "  rs {} {} weight={}{}",
                    rs.addr,
                    if rs.alive { "alive" } else { "dead" },
                    real_weight(rs.weight),
                    if rs.inhibit { " inhibit" } else { "" }
                )?;
            }
        }
        Ok(())
    }
}

/// The health of one virtual server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VsHealth {
    /// Which virtual server.
    pub id: VsId,
    /// Whether the live weight meets the quorum (with hysteresis).
    pub quorum_up: bool,
    /// The configured sorry server, if any.
    pub sorry_server: Option<SocketAddr>,
    /// Its real servers, in configuration order.
    pub real_servers: Vec<RsHealth>,
}

impl VsHealth {
    /// Whether the sorry server replaces the pool: quorum is lost and
    /// there is one. (Without a sorry server, losing quorum only runs the
    /// `quorum_down` script; live servers stay.)
    pub fn sorry_active(&self) -> bool {
        !self.quorum_up && self.sorry_server.is_some()
    }
}

/// The health of one real server of one virtual server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RsHealth {
    /// Address and port.
    pub addr: SocketAddr,
    /// Whether every checker of it is up.
    pub alive: bool,
    /// Its effective weight: the configured one, as `misc_dynamic`
    /// changed it (keepalived keeps it signed; IPVS gets [`real_weight`]).
    pub weight: i64,
    /// `inhibit_on_failure`: kept with weight 0 while dead.
    pub inhibit: bool,
}

impl RsHealth {
    /// The weight it should have in the pool: its weight when alive, 0
    /// when dead but inhibited, `None` when it should be absent. (Quorum
    /// and the sorry server are the virtual server's business.)
    pub fn pool_weight(&self) -> Option<u32> {
        if self.alive {
            Some(real_weight(self.weight))
        } else if self.inhibit {
            Some(0)
        } else {
            None
        }
    }
}

/// keepalived's `real_weight`: the effective weight clamped to
/// `0..=i32::MAX`, the weight IPVS gets.
pub fn real_weight(effective: i64) -> u32 {
    effective.clamp(0, i32::MAX as i64) as u32
}

impl RsHealth {
    /// Real server `rs` alive or not at its configured weight.
    pub fn configured(rs: &RealServer, alive: bool) -> RsHealth {
        RsHealth {
            addr: rs.addr,
            alive,
            weight: i64::from(rs.weight),
            inhibit: rs.inhibit_on_failure,
        }
    }
}

impl VsHealth {
    /// Every real server of `vs` alive at its configured weight, quorum as
    /// keepalived sets it at start-up.
    pub fn all_up(vs: &VirtualServer) -> VsHealth {
        VsHealth::with_alive(vs, |_| true)
    }

    /// keepalived's start-up state: a real server with an `alpha` checker
    /// starts down, the others up; quorum from that.
    pub fn initial(vs: &VirtualServer) -> VsHealth {
        VsHealth::with_alive(vs, |rs| !rs.checkers.iter().any(|c| c.timing.alpha))
    }

    fn with_alive(vs: &VirtualServer, alive: impl Fn(&RealServer) -> bool) -> VsHealth {
        let real_servers = vs
            .real_servers
            .iter()
            .map(|rs| RsHealth::configured(rs, alive(rs)))
            .collect();
        let mut h = VsHealth {
            id: VsId::of(vs),
            quorum_up: false,
            sorry_server: vs.sorry_server.as_ref().map(|s| s.addr),
            real_servers,
        };
        h.quorum_up = initial_quorum(vs, h.live_weight());
        h
    }

    /// keepalived's `weigh_live_realservers`: the summed real weight of the
    /// alive real servers.
    pub fn live_weight(&self) -> i64 {
        self.real_servers
            .iter()
            .filter(|r| r.alive)
            .map(|r| real_weight(r.weight) as i64)
            .sum()
    }
}

/// keepalived's `set_quorum_states` for `vs` (see [`crate::config::Quorum`]).
pub fn initial_quorum(vs: &VirtualServer, live_weight: i64) -> bool {
    vs.quorum_rule().initial(live_weight)
}

/// keepalived's `update_quorum_state` for `vs` (see [`crate::config::Quorum`]).
pub fn next_quorum(vs: &VirtualServer, quorum_up: bool, live_weight: i64) -> bool {
    vs.quorum_rule().next(quorum_up, live_weight)
}

impl Health {
    /// Every real server alive at its configured weight.
    pub fn all_up(config: &Config) -> Health {
        Health {
            virtual_servers: config
                .virtual_servers
                .iter()
                .map(VsHealth::all_up)
                .collect(),
        }
    }

    /// keepalived's start-up state (`alpha` real servers down).
    pub fn initial(config: &Config) -> Health {
        Health {
            virtual_servers: config
                .virtual_servers
                .iter()
                .map(VsHealth::initial)
                .collect(),
        }
    }

    /// Real server `rs` of virtual server `vs` (indices in config order).
    pub fn rs_mut(&mut self, vs: usize, rs: usize) -> Option<&mut RsHealth> {
        self.virtual_servers.get_mut(vs)?.real_servers.get_mut(rs)
    }

    /// Whether virtual server `vs` (index `i` in config order) has quorum;
    /// one this health has no entry for has its start-up quorum.
    pub fn quorum_up_at(&self, i: usize, vs: &VirtualServer) -> bool {
        self.virtual_servers
            .get(i)
            .map_or_else(|| VsHealth::all_up(vs).quorum_up, |h| h.quorum_up)
    }

    /// Real server `rs` (index `j`) of virtual server `i`; one this health
    /// has no entry for is alive at its configured weight.
    pub fn real_server_at(&self, i: usize, j: usize, rs: &RealServer) -> RsHealth {
        self.virtual_servers
            .get(i)
            .and_then(|h| h.real_servers.get(j))
            .copied()
            .unwrap_or_else(|| RsHealth::configured(rs, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_str;

    fn vs(quorum: u32, hysteresis: u32) -> VirtualServer {
        let text = format!(
            "virtual_server 192.0.2.1 80 {{\n protocol TCP\n quorum {quorum}\n hysteresis {hysteresis}\n \
             real_server 198.51.100.1 80 {{ weight 2 }}\n real_server 198.51.100.2 80 {{ weight 3 }}\n}}\n"
        );
        let parsed = parse_str("t.conf", &text);
        parsed
            .config
            .unwrap_or_else(|| panic!("{:?}", parsed.diagnostics))
            .virtual_servers
            .remove(0)
    }

    #[test]
    fn real_weight_clamps() {
        assert_eq!(real_weight(-5), 0);
        assert_eq!(real_weight(7), 7);
        assert_eq!(real_weight(i64::MAX), i32::MAX as u32);
    }

    #[test]
    fn quorum_with_hysteresis() {
        let v = vs(4, 1);
        // Start: needs 4 + 1.
        assert!(initial_quorum(&v, 5));
        assert!(!initial_quorum(&v, 4));
        // Up: lost below 4 - 1.
        assert!(next_quorum(&v, true, 3));
        assert!(!next_quorum(&v, true, 2));
        assert!(!next_quorum(&v, true, 0));
        // Down: regained at 4 + 1.
        assert!(!next_quorum(&v, false, 4));
        assert!(next_quorum(&v, false, 5));
        let h = VsHealth::all_up(&v);
        assert_eq!(h.live_weight(), 5);
        assert!(h.quorum_up);
        let mut down = h.clone();
        down.real_servers[1].alive = false;
        assert_eq!(down.live_weight(), 2);
    }

    #[test]
    fn zero_live_weight_always_loses_quorum() {
        let v = vs(1, 5);
        assert!(!next_quorum(&v, true, 0));
    }

    /// keepalived 2.2.7 (check_data.c, check_parser.c): quorum above the
    /// total weight is reduced to it, hysteresis not below quorum becomes
    /// quorum - 1 (wrapping at quorum 0), `quorum 0` is read as 1; the
    /// config keeps what was written, so that its dump parses back.
    #[test]
    fn quorum_rule_as_keepalived_validates_it() {
        use crate::config::Quorum;
        let rule = |text: &str| {
            let p = parse_str("t.conf", text);
            let warnings: Vec<String> = p
                .diagnostics
                .iter()
                .map(|d| d.to_string())
                .filter(|d| d.contains("quorum") || d.contains("hysteresis"))
                .collect();
            let v = p.config.expect("no errors").virtual_servers.remove(0);
            (v.quorum, v.hysteresis, v.quorum_rule(), warnings)
        };
        let (q, h, r, w) = rule(
            "virtual_server 192.0.2.1 80 {\n protocol TCP\n quorum 9\n hysteresis 2\n \
             real_server 198.51.100.1 80 { weight 2 }\n real_server 198.51.100.2 80 { weight 3 }\n}\n",
        );
        assert_eq!((q, h), (9, 2));
        assert_eq!(
            r,
            Quorum {
                quorum: 5,
                hysteresis: 2
            }
        );
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("keepalived reduces it to 5"), "{w:?}");
        // The only real server has weight 0: quorum 0, hysteresis wraps,
        // and quorum is never gained (keepalived's unsigned arithmetic).
        let (q, h, r, w) = rule(
            "virtual_server 192.0.2.1 80 {
 protocol TCP
 real_server 198.51.100.1 80 { weight 0 }
}
",
        );
        assert_eq!((q, h), (1, 0));
        assert_eq!(
            r,
            Quorum {
                quorum: 0,
                hysteresis: u32::MAX
            }
        );
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(!r.initial(0) && !r.initial(i64::from(i32::MAX)));
        assert!(!r.next(false, 0) && !r.next(false, 1000));
        // `quorum 0` is a warning and quorum 1.
        let (q, _, _, w) = rule(
            "virtual_server 192.0.2.1 80 {
 protocol TCP
 quorum 0
 real_server 198.51.100.1 80 { weight 1 }
}
",
        );
        assert_eq!(q, 1);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("warning") && w[0].contains("keepalived uses 1"),
            "{w:?}"
        );
        // Hysteresis equal to quorum: quorum - 1.
        let (_, _, r, _) = rule(
            "virtual_server 192.0.2.1 80 {
 protocol TCP
 quorum 2
 hysteresis 2
 real_server 198.51.100.1 80 { weight 4 }
}
",
        );
        assert_eq!(
            r,
            Quorum {
                quorum: 2,
                hysteresis: 1
            }
        );
    }
}
