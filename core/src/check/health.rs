//! The health the engine produces: per virtual server, whether quorum
//! holds, and per real server whether it is alive and at what weight.
//! This is what the IPVS table is built from.

use std::fmt;
use std::net::SocketAddr;

use crate::config::{Protocol, ServiceAddr, VirtualServer};

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
                    rs.weight,
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
    /// Effective weight (configured, or as `misc_dynamic` set it).
    pub weight: u32,
    /// `inhibit_on_failure`: kept with weight 0 while dead.
    pub inhibit: bool,
}

impl RsHealth {
    /// The weight it should have in the pool: its weight when alive, 0
    /// when dead but inhibited, `None` when it should be absent. (Quorum
    /// and the sorry server are the virtual server's business.)
    pub fn pool_weight(&self) -> Option<u32> {
        if self.alive {
            Some(self.weight)
        } else if self.inhibit {
            Some(0)
        } else {
            None
        }
    }
}

impl Health {
    /// The same health in `ipvs`'s own terms (config order is shared).
    pub fn to_ipvs(&self) -> crate::ipvs::Health {
        crate::ipvs::Health {
            virtual_servers: self
                .virtual_servers
                .iter()
                .map(|vs| crate::ipvs::VsHealth {
                    quorum_up: vs.quorum_up,
                    real_servers: vs
                        .real_servers
                        .iter()
                        .map(|rs| crate::ipvs::RsHealth {
                            alive: rs.alive,
                            weight: i64::from(rs.weight),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// Lets [`crate::ipvs::desired`] read the engine's health directly: the
/// entries are in config order, as `desired` indexes them.
impl crate::ipvs::HealthView for Health {
    fn quorum_up(&self, i: usize, vs: &VirtualServer) -> bool {
        match self.virtual_servers.get(i) {
            Some(h) => h.quorum_up,
            None => crate::ipvs::VsHealth::all_up(vs).quorum_up,
        }
    }

    fn real_server(
        &self,
        i: usize,
        _vs: &VirtualServer,
        j: usize,
        rs: &crate::config::RealServer,
    ) -> crate::ipvs::RsHealth {
        match self
            .virtual_servers
            .get(i)
            .and_then(|v| v.real_servers.get(j))
        {
            Some(h) => crate::ipvs::RsHealth {
                alive: h.alive,
                weight: i64::from(h.weight),
            },
            None => crate::ipvs::RsHealth {
                alive: true,
                weight: i64::from(rs.weight),
            },
        }
    }
}
