//! What the directors' configs declare that the scenario's hosts must
//! agree with: virtual addresses no host may have, the virtual servers
//! clients may request, and the real and sorry servers a `[[real_server]]`
//! must be one of.

use std::net::{IpAddr, SocketAddr};

use vigil_core::config::{Config, ServiceAddr, VsgEntry};

use super::Director;

/// The directors' configs, searched together.
pub struct Declared<'a> {
    directors: &'a [Director],
}

impl<'a> Declared<'a> {
    /// The configs of `directors`.
    pub fn new(directors: &'a [Director]) -> Declared<'a> {
        Declared { directors }
    }

    /// The config paths searched, each once, in director order.
    pub fn paths(&self) -> String {
        let mut v: Vec<&str> = Vec::new();
        for d in self.directors {
            if !v.contains(&d.config_path.as_str()) {
                v.push(&d.config_path);
            }
        }
        v.join(", ")
    }

    /// Why no host may have `addr`, if some config uses it as a virtual
    /// address: a VIP (`virtual_ipaddress`, `virtual_ipaddress_excluded`)
    /// or the address of a virtual server (or of a member of a
    /// `virtual_server_group`).
    pub fn virtual_use(&self, addr: IpAddr) -> Option<String> {
        for d in self.directors {
            let vip = d.config.vrrp_instances.iter().find(|i| {
                i.virtual_ipaddress
                    .iter()
                    .chain(&i.virtual_ipaddress_excluded)
                    .any(|v| v.addr == addr)
            });
            if let Some(i) = vip {
                return Some(format!(
                    "{addr} is a VIP (virtual_ipaddress of vrrp_instance {} in {})",
                    i.name, d.config_path
                ));
            }
        }
        for d in self.directors {
            if let Some(s) = services(&d.config).find(|s| s.covers_ip(addr)) {
                return Some(format!(
                    "{addr} is a virtual server address ({} in {})",
                    s.text, d.config_path
                ));
            }
        }
        None
    }

    /// Whether some config has a virtual server for `target`.
    pub fn serves(&self, target: SocketAddr) -> bool {
        self.directors
            .iter()
            .any(|d| services(&d.config).any(|s| s.covers(target)))
    }

    /// Every virtual server of every config, each once (for messages).
    pub fn services(&self) -> String {
        let mut v: Vec<String> = Vec::new();
        for d in self.directors {
            for s in services(&d.config) {
                if !v.contains(&s.text) {
                    v.push(s.text);
                }
            }
        }
        if v.is_empty() {
            "none".into()
        } else {
            v.join(", ")
        }
    }

    /// Whether some config has `addr` as a `real_server` or `sorry_server`
    /// (port 0, a firewall-mark service's, matches any port).
    pub fn backs(&self, addr: SocketAddr) -> bool {
        let same =
            |a: SocketAddr| a.ip() == addr.ip() && (a.port() == addr.port() || a.port() == 0);
        self.directors.iter().any(|d| {
            d.config.virtual_servers.iter().any(|vs| {
                vs.real_servers.iter().any(|r| same(r.addr))
                    || vs.sorry_server.as_ref().is_some_and(|s| same(s.addr))
            })
        })
    }
}

/// A virtual service clients can address: an address range on a port
/// (port 0: any).
struct Service {
    first: IpAddr,
    last: IpAddr,
    port: u16,
    text: String,
}

impl Service {
    fn covers_ip(&self, a: IpAddr) -> bool {
        self.first <= a && a <= self.last && self.first.is_ipv4() == a.is_ipv4()
    }

    fn covers(&self, t: SocketAddr) -> bool {
        self.covers_ip(t.ip()) && (self.port == t.port() || self.port == 0)
    }
}

/// The addressable virtual services of `c`: `virtual_server IP PORT`, and
/// the address entries of the groups `virtual_server group NAME` names.
fn services(c: &Config) -> impl Iterator<Item = Service> + '_ {
    c.virtual_servers.iter().flat_map(move |vs| {
        let v: Vec<Service> = match &vs.service {
            ServiceAddr::Addr(a) => vec![Service {
                first: a.ip(),
                last: a.ip(),
                port: a.port(),
                text: a.to_string(),
            }],
            ServiceAddr::Group(g) => c
                .virtual_server_group(g)
                .map(|g| {
                    g.entries
                        .iter()
                        .filter_map(|e| match e {
                            VsgEntry::Range {
                                first, last, port, ..
                            } => Some(Service {
                                first: *first,
                                last: *last,
                                port: *port,
                                text: format!("group {} {first}-{last} port {port}", g.name),
                            }),
                            VsgEntry::Fwmark { .. } => None,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            ServiceAddr::Fwmark(_) => Vec::new(),
        };
        v
    })
}
