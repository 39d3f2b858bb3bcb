//! `vrrp_instance` and `vrrp_sync_group`: the VRRP side of the config.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use super::common::{Command, Family};
use crate::config::span::Span;

/// The VRRP protocol version an instance speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VrrpVersion {
    /// VRRPv2 (RFC 3768): IPv4 only, advert interval in whole seconds.
    V2,
    /// VRRPv3 (RFC 5798): IPv4 and IPv6, advert interval in centiseconds.
    V3,
}

impl VrrpVersion {
    /// The version number on the wire: 2 or 3.
    pub fn number(self) -> u8 {
        match self {
            VrrpVersion::V2 => 2,
            VrrpVersion::V3 => 3,
        }
    }
}

impl fmt::Display for VrrpVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number())
    }
}

/// The state an instance starts in (`state MASTER|BACKUP`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InitialState {
    /// `state MASTER`: becomes master at once (unless a higher priority
    /// master is heard).
    Master,
    /// `state BACKUP` (the default): waits for the master-down timer.
    Backup,
}

impl InitialState {
    /// keepalived's spelling.
    pub fn keyword(self) -> &'static str {
        match self {
            InitialState::Master => "MASTER",
            InitialState::Backup => "BACKUP",
        }
    }
}

impl fmt::Display for InitialState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// The `authentication` block.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Authentication {
    /// `auth_type PASS`: the password travels in clear in every advert
    /// (RFC 2338 simple text; up to 8 bytes, zero-padded on the wire).
    Pass(Vec<u8>),
    /// `auth_type AH`: IPsec AH (up to 8 bytes of key).
    Ah(Vec<u8>),
}

impl Authentication {
    /// The password or key bytes (at most 8).
    pub fn secret(&self) -> &[u8] {
        match self {
            Authentication::Pass(p) | Authentication::Ah(p) => p,
        }
    }
}

/// An address scope, as `ip addr add ... scope S` takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `global` (0).
    Global,
    /// `site` (200).
    Site,
    /// `link` (253).
    Link,
    /// `host` (254).
    Host,
    /// `nowhere` (255).
    Nowhere,
    /// Any other number.
    Other(u8),
}

impl Scope {
    /// The numeric scope (rtnetlink `RT_SCOPE_*`).
    pub fn number(self) -> u8 {
        match self {
            Scope::Global => 0,
            Scope::Site => 200,
            Scope::Link => 253,
            Scope::Host => 254,
            Scope::Nowhere => 255,
            Scope::Other(n) => n,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Global => f.write_str("global"),
            Scope::Site => f.write_str("site"),
            Scope::Link => f.write_str("link"),
            Scope::Host => f.write_str("host"),
            Scope::Nowhere => f.write_str("nowhere"),
            Scope::Other(n) => write!(f, "{n}"),
        }
    }
}

/// One line of `virtual_ipaddress` / `virtual_ipaddress_excluded`:
/// `ADDR[/LEN] [brd ADDR] [dev IFACE] [scope SCOPE] [label LABEL]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VirtualIp {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length (default 32 for IPv4, 128 for IPv6).
    pub prefix_len: u8,
    /// `brd ADDR` (IPv4 only).
    pub brd: Option<Ipv4Addr>,
    /// `dev IFACE`: the interface to add it to; the instance's when absent.
    pub dev: Option<String>,
    /// `scope SCOPE` (IPv4 only; global when absent).
    pub scope: Option<Scope>,
    /// `label LABEL` (IPv4 only), e.g. `eth0:1`.
    pub label: Option<String>,
    /// `no_track`: the instance does not go to FAULT if `dev` goes down.
    pub no_track: bool,
    /// Where it was written.
    pub span: Span,
}

impl VirtualIp {
    /// The address family.
    pub fn family(&self) -> Family {
        Family::of(&self.addr)
    }
}

/// `track_interface { IFACE [weight N [reverse]] }` entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TrackInterface {
    /// Interface name.
    pub name: String,
    /// Priority change while the interface is down (0: go to FAULT).
    pub weight: i32,
    /// `reverse`: apply the weight while the interface is up instead.
    pub reverse: bool,
    /// Where it was written.
    pub span: Span,
}

/// `track_script { NAME [weight N [reverse]] }` entry, with the weight
/// already resolved (the script's own weight when the entry sets none).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TrackScript {
    /// The `vrrp_script` it refers to (checked to exist).
    pub name: String,
    /// Priority change: added while the script succeeds when positive,
    /// subtracted while it fails when negative; 0 means failure = FAULT.
    pub weight: i32,
    /// `reverse`: invert the sense of the weight.
    pub reverse: bool,
    /// Where it was written.
    pub span: Span,
}

/// `track_process { NAME [weight N [reverse]] }` entry, weight resolved.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TrackProcessRef {
    /// The `vrrp_track_process` it refers to (checked to exist).
    pub name: String,
    /// Priority change while the quorum holds (positive) or is lost
    /// (negative); 0 means a lost quorum is a FAULT.
    pub weight: i32,
    /// `reverse`.
    pub reverse: bool,
    /// Where it was written.
    pub span: Span,
}

/// `track_file { NAME [weight N [reverse]] }` entry, weight resolved.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TrackFileRef {
    /// The `track_file` it refers to (checked to exist).
    pub name: String,
    /// Weight multiplied by the number in the file.
    pub weight: i32,
    /// `reverse`.
    pub reverse: bool,
    /// Where it was written.
    pub span: Span,
}

/// Gratuitous ARP / NA knobs of one instance (its own `garp_*` keywords,
/// else the `vrrp_garp_*` globals, else keepalived's defaults).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Garp {
    /// `garp_master_delay` (default 5 s): delay of the second burst.
    pub master_delay: Duration,
    /// `garp_master_repeat` (default 5): GARPs per burst.
    pub master_repeat: u32,
    /// `garp_master_refresh` (default none): periodic refresh interval.
    pub master_refresh: Option<Duration>,
    /// `garp_master_refresh_repeat` (default 1).
    pub master_refresh_repeat: u32,
    /// `garp_lower_prio_delay` (default: master delay).
    pub lower_prio_delay: Duration,
    /// `garp_lower_prio_repeat` (default: master repeat; 0 in strict mode).
    pub lower_prio_repeat: u32,
    /// `lower_prio_no_advert`.
    pub lower_prio_no_advert: bool,
    /// `higher_prio_send_advert`.
    pub higher_prio_send_advert: bool,
}

/// Notify scripts of an instance or sync group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Notify {
    /// `notify_master`.
    pub master: Option<Command>,
    /// `notify_backup`.
    pub backup: Option<Command>,
    /// `notify_fault`.
    pub fault: Option<Command>,
    /// `notify_stop`.
    pub stop: Option<Command>,
    /// `notify`: called on every transition with TYPE NAME STATE PRIORITY.
    pub any: Option<Command>,
}

impl Notify {
    /// True when no script is set.
    pub fn is_empty(&self) -> bool {
        self.master.is_none()
            && self.backup.is_none()
            && self.fault.is_none()
            && self.stop.is_none()
            && self.any.is_none()
    }
}

/// `use_vmac [NAME] [MAC]`: run the instance on a macvlan carrying the
/// virtual router MAC.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Vmac {
    /// Interface name (keepalived: `vrrp.VRID` when absent).
    pub name: Option<String>,
    /// Explicit MAC address, as written.
    pub mac: Option<String>,
}

/// A `vrrp_instance`, fully resolved: defaults from keepalived and
/// `global_defs` applied, script weights looked up.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VrrpInstance {
    /// Instance name (`vrrp_instance NAME`).
    pub name: String,
    /// `state` (default BACKUP).
    pub state: InitialState,
    /// `interface`: where adverts go and VIPs live by default.
    pub interface: Option<String>,
    /// `virtual_router_id` (1..255, required).
    pub virtual_router_id: u8,
    /// `priority` (1..255, default 100; 255 = address owner).
    pub priority: u8,
    /// `advert_int` (default 1 s), exact: whole seconds for v2,
    /// centiseconds for v3.
    pub advert_int: Duration,
    /// `version`, else `global_defs` `vrrp_version`; IPv6 forces 3.
    pub version: VrrpVersion,
    /// The address family of the VIPs (and adverts).
    pub family: Family,
    /// False with `nopreempt`.
    pub preempt: bool,
    /// `preempt_delay` (default 0).
    pub preempt_delay: Duration,
    /// `authentication { auth_type ...; auth_pass ... }` (v2 only).
    pub authentication: Option<Authentication>,
    /// `virtual_ipaddress` (carried in adverts).
    pub virtual_ipaddress: Vec<VirtualIp>,
    /// `virtual_ipaddress_excluded` (managed, not advertised).
    pub virtual_ipaddress_excluded: Vec<VirtualIp>,
    /// `mcast_src_ip`: advert source address.
    pub mcast_src_ip: Option<IpAddr>,
    /// `mcast_dst_ip`: the multicast group of this instance's adverts
    /// (default: `vrrp_mcast_group4` / `vrrp_mcast_group6`).
    pub mcast_dst_ip: Option<IpAddr>,
    /// `unicast_src_ip`: source of unicast adverts.
    pub unicast_src_ip: Option<IpAddr>,
    /// `unicast_peer { ... }`: send adverts by unicast to these.
    pub unicast_peers: Vec<IpAddr>,
    /// `track_interface`.
    pub track_interfaces: Vec<TrackInterface>,
    /// `track_script`.
    pub track_scripts: Vec<TrackScript>,
    /// `track_file`.
    pub track_files: Vec<TrackFileRef>,
    /// `track_process`.
    pub track_processes: Vec<TrackProcessRef>,
    /// `dont_track_primary`: ignore faults of `interface` itself.
    pub dont_track_primary: bool,
    /// Gratuitous ARP settings.
    pub garp: Garp,
    /// Notify scripts.
    pub notify: Notify,
    /// `smtp_alert` (recognised; Vigil sends no mail).
    pub smtp_alert: bool,
    /// `notify_priority_changes`, as written (unset: the sync group's,
    /// else `vrrp_notify_priority_changes`).
    pub notify_priority_changes: Option<bool>,
    /// `use_vmac`.
    pub use_vmac: Option<Vmac>,
    /// Accept mode (`accept` / `no_accept`; default on unless strict).
    pub accept: bool,
    /// `strict_mode` (or global `vrrp_strict`).
    pub strict_mode: bool,
    /// Where `vrrp_instance` was written.
    pub span: Span,
}

/// A `vrrp_sync_group`: instances that change state together.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SyncGroup {
    /// Group name.
    pub name: String,
    /// `group { INSTANCE ... }` (checked to exist).
    pub instances: Vec<String>,
    /// `track_interface`.
    pub track_interfaces: Vec<TrackInterface>,
    /// `track_script`.
    pub track_scripts: Vec<TrackScript>,
    /// `track_file`.
    pub track_files: Vec<TrackFileRef>,
    /// `track_process`.
    pub track_processes: Vec<TrackProcessRef>,
    /// Notify scripts of the group.
    pub notify: Notify,
    /// `smtp_alert`.
    pub smtp_alert: bool,
    /// `notify_priority_changes`, as written.
    pub notify_priority_changes: Option<bool>,
    /// `global_tracking`.
    pub global_tracking: bool,
    /// `sync_group_tracking_weight`: members keep their tracker weights
    /// (without it keepalived zeroes or drops them).
    pub tracking_weight: bool,
    /// Where `vrrp_sync_group` was written.
    pub span: Span,
}
