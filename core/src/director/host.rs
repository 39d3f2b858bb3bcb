//! What a director knows of its host: its interfaces, their link state and
//! addresses, and from them every `vrrp_instance` resolved to what it runs
//! (its interface, its source address, keepalived's defaults).
//!
//! The one place that resolves an instance's interface (`interface`, else
//! `global_defs { default_interface }`, else `eth0`) and its primary
//! address (the first IPv4 address of the interface, or its IPv6
//! link-local address, that is not one of the instance's VIPs).

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::config::{Config, Family, VrrpInstance};
use crate::vrrp::{DEFAULT_INTERFACE, InstanceConfig};

use super::Options;

/// One interface of the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    /// Whether its link is up.
    pub up: bool,
    /// Its addresses in the kernel's order, without the VIPs a director
    /// added (vigild tags those).
    pub addrs: Vec<IpAddr>,
}

/// The host's interfaces, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Host {
    /// Interfaces by name.
    pub interfaces: BTreeMap<String, Interface>,
}

impl Host {
    /// A host with one interface `name` (up) carrying `addrs`.
    pub fn single(name: &str, addrs: Vec<IpAddr>) -> Host {
        let mut h = Host::default();
        h.interfaces
            .insert(name.to_string(), Interface { up: true, addrs });
        h
    }

    /// The address adverts on `iface` come from for `family`: its first
    /// IPv4 address, or its first IPv6 link-local address (any IPv6
    /// address when it has no link-local one: simulated hosts), skipping
    /// `exclude`.
    pub fn primary(&self, iface: &str, family: Family, exclude: &[IpAddr]) -> Option<IpAddr> {
        let i = self.interfaces.get(iface)?;
        let candidates = || i.addrs.iter().copied().filter(|a| !exclude.contains(a));
        match family {
            Family::V4 => candidates().find(IpAddr::is_ipv4),
            Family::V6 => candidates()
                .find(|a| matches!(a, IpAddr::V6(v) if v.segments()[0] & 0xffc0 == 0xfe80))
                .or_else(|| candidates().find(IpAddr::is_ipv6)),
        }
    }
}

/// The interface `inst` runs on: its `interface`, else `default_interface`,
/// else [`DEFAULT_INTERFACE`].
pub fn instance_interface(cfg: &Config, inst: &VrrpInstance) -> String {
    inst.interface
        .clone()
        .or_else(|| cfg.global.default_interface.clone())
        .unwrap_or_else(|| DEFAULT_INTERFACE.to_string())
}

/// Every interface `cfg` names for its VRRP instances: theirs, those of
/// VIPs with `dev`, tracked ones. Drivers look these up to build a [`Host`].
pub fn interfaces(cfg: &Config) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for inst in &cfg.vrrp_instances {
        let mut add = |n: String| {
            if !v.contains(&n) {
                v.push(n);
            }
        };
        add(instance_interface(cfg, inst));
        for vip in inst
            .virtual_ipaddress
            .iter()
            .chain(&inst.virtual_ipaddress_excluded)
        {
            if let Some(d) = &vip.dev {
                add(d.clone());
            }
        }
        for t in &inst.track_interfaces {
            add(t.name.clone());
        }
    }
    v
}

/// Every instance of `cfg` resolved on `host`, or why one cannot run (an
/// interface the host lacks, no address to send from).
pub fn resolve(cfg: &Config, host: &Host, opts: &Options) -> Result<Vec<InstanceConfig>, String> {
    let mut out = Vec::new();
    for name in interfaces(cfg) {
        if !host.interfaces.contains_key(&name) {
            let users: Vec<&str> = cfg
                .vrrp_instances
                .iter()
                .filter(|i| {
                    instance_interface(cfg, i) == name
                        || i.track_interfaces.iter().any(|t| t.name == name)
                        || i.virtual_ipaddress
                            .iter()
                            .chain(&i.virtual_ipaddress_excluded)
                            .any(|v| v.dev.as_deref() == Some(name.as_str()))
                })
                .map(|i| i.name.as_str())
                .collect();
            return Err(format!(
                "interface {name} does not exist (used by vrrp_instance {})",
                users.join(", ")
            ));
        }
    }
    for inst in &cfg.vrrp_instances {
        let iface = instance_interface(cfg, inst);
        let vips: Vec<IpAddr> = inst.virtual_ipaddress.iter().map(|v| v.addr).collect();
        let explicit = inst.unicast_src_ip.or(inst.mcast_src_ip);
        let primary = match explicit {
            Some(a) => a,
            None => host.primary(&iface, inst.family, &vips).ok_or_else(|| {
                format!(
                    "vrrp_instance {}: interface {iface} has no {} address to send adverts from",
                    inst.name,
                    match inst.family {
                        Family::V4 => "IPv4",
                        Family::V6 => "IPv6 link-local",
                    }
                )
            })?,
        };
        let mut c = InstanceConfig::from_config(cfg, inst, primary);
        c.interface = iface;
        c.planted = opts.planted;
        out.push(c);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Config {
        let p = crate::config::parse_str("t.conf", text);
        p.config.unwrap_or_else(|| panic!("{:?}", p.diagnostics))
    }

    #[test]
    fn interfaces_of_instances_vips_and_trackers() {
        let c = cfg("vrrp_instance a { interface eth0\n virtual_router_id 1\n \
             virtual_ipaddress { 192.0.2.9 dev eth2 }\n track_interface { eth3 } }\n\
             vrrp_instance b { interface eth1\n virtual_router_id 2\n virtual_ipaddress { 192.0.2.8 } }\n");
        assert_eq!(interfaces(&c), ["eth0", "eth2", "eth3", "eth1"]);
    }

    #[test]
    fn primary_skips_vips_and_prefers_link_local() {
        let h = Host::single(
            "eth0",
            vec![
                "192.0.2.160".parse().unwrap(),
                "192.0.2.150".parse().unwrap(),
                "2001:db8::1".parse().unwrap(),
                "fe80::1".parse().unwrap(),
            ],
        );
        let vip: IpAddr = "192.0.2.160".parse().unwrap();
        assert_eq!(
            h.primary("eth0", Family::V4, &[vip]),
            Some("192.0.2.150".parse().unwrap())
        );
        assert_eq!(
            h.primary("eth0", Family::V6, &[]),
            Some("fe80::1".parse().unwrap())
        );
        assert_eq!(h.primary("eth1", Family::V4, &[]), None);
    }

    #[test]
    fn a_missing_interface_names_its_instances() {
        let c = cfg(
            "vrrp_instance a { interface eth9\n virtual_router_id 1\n virtual_ipaddress { 192.0.2.9 } }\n",
        );
        let h = Host::single("eth0", vec!["192.0.2.1".parse().unwrap()]);
        let e = resolve(&c, &h, &Options::default()).unwrap_err();
        assert_eq!(e, "interface eth9 does not exist (used by vrrp_instance a)");
    }
}
