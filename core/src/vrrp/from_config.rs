//! From the typed keepalived.conf ([`crate::config`]) to what an
//! instance runs ([`InstanceConfig`]).

use std::net::IpAddr;
use std::time::Duration;

use super::config::{GarpConfig, InitialState, InstanceConfig, TrackSpec, TrackerId};
use super::vip::Vip;
use crate::config::{self, Authentication, SyncGroup, TrackRef, VrrpInstance, VrrpVersion};
use crate::packet::Family;
use crate::packet::vrrp::{Auth, Interval};

/// Interface name used when a `vrrp_instance` names none (keepalived
/// requires one; `default_interface` in `global_defs` otherwise).
pub const DEFAULT_INTERFACE: &str = "eth0";

impl InstanceConfig {
    /// The instance `inst` of `cfg`, run by a router whose primary
    /// address on the instance's interface is `primary` (overridden by
    /// `unicast_src_ip` / `mcast_src_ip`).
    pub fn from_config(
        cfg: &config::Config,
        inst: &VrrpInstance,
        primary: IpAddr,
    ) -> InstanceConfig {
        let interface = inst
            .interface
            .clone()
            .or_else(|| cfg.global.default_interface.clone())
            .unwrap_or_else(|| DEFAULT_INTERFACE.to_string());
        let vips = inst.virtual_ipaddress.iter().map(vip).collect();
        let mut c = InstanceConfig::new(
            &inst.name,
            &interface,
            inst.virtual_router_id,
            primary,
            vips,
        );
        c.excluded_vips = inst.virtual_ipaddress_excluded.iter().map(vip).collect();
        c.src = inst.unicast_src_ip.or(inst.mcast_src_ip).unwrap_or(primary);
        c.priority = inst.priority;
        c.interval = interval(inst.version, inst.advert_int);
        c.auth = match &inst.authentication {
            None => Auth::None,
            Some(Authentication::Pass(p)) => Auth::pass(&String::from_utf8_lossy(p)),
            // keepalived's IPsec-AH: type 2 in the header, zero data; the
            // key signs the datagram (packet::ah).
            Some(Authentication::Ah(p)) => {
                let mut key = [0u8; 8];
                let n = p.len().min(8);
                key[..n].copy_from_slice(&p[..n]);
                c.ah_key = Some(key);
                Auth::Other {
                    kind: 2,
                    data: [0; 8],
                }
            }
        };
        if c.version() == crate::packet::vrrp::Version::V3 || c.family() == Family::V6 {
            c.auth = Auth::None;
            c.ah_key = None;
        }
        c.unicast_peers = inst.unicast_peers.clone();
        c.group = inst
            .mcast_dst_ip
            .filter(|g| g.is_ipv6() == c.src.is_ipv6())
            .unwrap_or(if c.src.is_ipv6() {
                IpAddr::V6(cfg.global.vrrp_mcast_group6)
            } else {
                IpAddr::V4(cfg.global.vrrp_mcast_group4)
            });
        c.initial = match inst.state {
            config::InitialState::Master => InitialState::Master,
            config::InitialState::Backup => InitialState::Backup,
        };
        c.preempt = inst.preempt;
        c.preempt_delay = inst.preempt_delay;
        let g = &inst.garp;
        let ipv6 = c.src.is_ipv6();
        c.garp = GarpConfig {
            master_delay: g.master_delay,
            master_repeat: g.master_repeat,
            master_refresh: g.master_refresh.unwrap_or(Duration::ZERO),
            master_refresh_repeat: g.master_refresh_repeat,
            lower_prio_delay: g.lower_prio_delay,
            lower_prio_repeat: g.lower_prio_repeat,
            interval: if ipv6 {
                cfg.global.garp.gna_interval
            } else {
                cfg.global.garp.interval
            },
        };
        c.lower_prio_no_advert = g.lower_prio_no_advert;
        c.higher_prio_send_advert = g.higher_prio_send_advert;
        // keepalived's sync_group_tracking_init: the group's trackers
        // are every member's too, with their own weights.
        let group = cfg
            .sync_groups
            .iter()
            .find(|g| g.instances.contains(&inst.name));
        c.trackers = specs::<config::TrackInterface>(inst, group, TrackerId::Interface)
            .chain(specs::<config::TrackScript>(inst, group, TrackerId::Script))
            .chain(specs::<config::TrackFileRef>(inst, group, TrackerId::File))
            .chain(specs::<config::TrackProcessRef>(
                inst,
                group,
                TrackerId::Process,
            ))
            .collect();
        // keepalived's vrrp_complete_instance: the interface of every VIP
        // and excluded VIP is tracked unweighted (FAULT while it is down)
        // unless the address says `no_track`; its own interface is the
        // instance's link.
        let vip_devs: Vec<TrackSpec> = inst
            .virtual_ipaddress
            .iter()
            .chain(&inst.virtual_ipaddress_excluded)
            .filter(|v| !v.no_track)
            .filter_map(|v| v.dev.clone())
            .filter(|d| *d != interface)
            .map(|d| TrackSpec {
                id: TrackerId::Interface(d),
                weight: 0,
                reverse: false,
            })
            .collect();
        c.trackers = merge_interfaces(c.trackers.into_iter().chain(vip_devs));
        c.untracked_vips = inst
            .virtual_ipaddress
            .iter()
            .chain(&inst.virtual_ipaddress_excluded)
            .filter(|v| v.no_track)
            .map(|v| v.addr)
            .collect();
        c
    }
}

/// The trackers of kind `T` of `inst` then of its sync group `group`,
/// each named by `id`.
fn specs<'a, T: TrackRef + 'a>(
    inst: &'a VrrpInstance,
    group: Option<&'a SyncGroup>,
    id: fn(String) -> TrackerId,
) -> impl Iterator<Item = TrackSpec> + 'a {
    let of_group = group.map_or(&[][..], T::of_group);
    T::of_instance(inst)
        .iter()
        .chain(of_group)
        .map(move |t| TrackSpec {
            id: id(t.name().to_string()),
            weight: t.weight(),
            reverse: t.reverse(),
        })
}

/// keepalived's add_vrrp_to_interface: an interface tracked twice (by
/// the instance and its sync group, or by `track_interface` and a VIP's
/// `dev`) is one tracker; a weighted one takes the later entry's weight,
/// an unweighted one stays unweighted.
fn merge_interfaces(all: impl Iterator<Item = TrackSpec>) -> Vec<TrackSpec> {
    let mut out: Vec<TrackSpec> = Vec::new();
    for t in all {
        let same = out
            .iter_mut()
            .find(|o| matches!(o.id, TrackerId::Interface(_)) && o.id == t.id);
        match same {
            Some(o) => {
                if o.weight != 0 {
                    o.weight = t.weight;
                    o.reverse = t.reverse;
                }
            }
            None => out.push(t),
        }
    }
    out
}

/// The advert interval in the unit of `version` (v2 whole seconds, v3
/// centiseconds), clamped into what the wire can carry.
pub fn interval(version: VrrpVersion, d: Duration) -> Interval {
    match version {
        VrrpVersion::V2 => Interval::Seconds(d.as_secs().clamp(1, 255) as u8),
        VrrpVersion::V3 => Interval::Centiseconds((d.as_millis() / 10).clamp(1, 4095) as u16),
    }
}

fn vip(v: &config::VirtualIp) -> Vip {
    Vip {
        addr: v.addr,
        prefix_len: v.prefix_len,
        dev: v.dev.clone(),
        label: v.label.clone(),
        broadcast: v.brd.map(IpAddr::V4),
        scope: v.scope.map(|s| s.to_string()),
    }
}
