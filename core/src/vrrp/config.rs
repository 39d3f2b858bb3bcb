//! What one VRRP instance needs to run: its `vrrp_instance` block and
//! the relevant `global_defs`, resolved to values (keepalived's defaults
//! applied).

use std::net::IpAddr;
use std::time::Duration;

use super::vip::Vip;
use crate::packet::Family;
use crate::packet::vrrp::{Auth, ChecksumMode, Interval, Version};

/// The state a `vrrp_instance` asks to start in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InitialState {
    /// `state MASTER`: below priority 255 this still starts as backup and
    /// waits the master-down interval, as keepalived 2.2.7 does.
    Master,
    /// `state BACKUP` (the default).
    Backup,
}

/// Gratuitous ARP / unsolicited NA knobs (`garp_*`, `vrrp_garp_*`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GarpConfig {
    /// `garp_master_delay`: second burst this long after becoming master
    /// (zero: none). Default 5 s.
    pub master_delay: Duration,
    /// `garp_master_repeat`: announcements per VIP per burst. Default 5.
    pub master_repeat: u32,
    /// `garp_master_refresh`: re-announce this often while master (zero:
    /// off, the default).
    pub master_refresh: Duration,
    /// `garp_master_refresh_repeat`: announcements per refresh. Default 1.
    pub master_refresh_repeat: u32,
    /// `garp_lower_prio_delay`: second burst after hearing a lower
    /// priority master. Default: `master_delay`.
    pub lower_prio_delay: Duration,
    /// `garp_lower_prio_repeat`: announcements when a lower priority
    /// master is heard. Default: `master_repeat`.
    pub lower_prio_repeat: u32,
    /// `vrrp_garp_interval` / `vrrp_gna_interval`: minimum spacing
    /// between two announcements (zero: back to back, the default).
    pub interval: Duration,
}

impl Default for GarpConfig {
    fn default() -> Self {
        GarpConfig {
            master_delay: Duration::from_secs(5),
            master_repeat: 5,
            master_refresh: Duration::ZERO,
            master_refresh_repeat: 1,
            lower_prio_delay: Duration::from_secs(5),
            lower_prio_repeat: 5,
            interval: Duration::ZERO,
        }
    }
}

/// An object an instance tracks, as drivers report it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TrackerId {
    /// `track_interface NAME`: the link of an interface.
    Interface(String),
    /// `track_script NAME`: a `vrrp_script`'s verdict.
    Script(String),
    /// `track_file NAME`: a `vrrp_track_file`'s value.
    File(String),
    /// `track_process NAME`: whether a `vrrp_track_process` has its
    /// quorum of processes.
    Process(String),
}

impl std::fmt::Display for TrackerId {
    /// `if:eth1`, `script:chk_http`, `file:NAME`, `process:NAME`: one
    /// word, as traces show it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrackerId::Interface(n) => write!(f, "if:{n}"),
            TrackerId::Script(n) => write!(f, "script:{n}"),
            TrackerId::File(n) => write!(f, "file:{n}"),
            TrackerId::Process(n) => write!(f, "process:{n}"),
        }
    }
}

/// A tracked object (`track_interface`, `track_script`) and how it moves
/// the instance.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TrackSpec {
    /// What is tracked.
    pub id: TrackerId,
    /// Priority weight: positive adds while up, negative adds while down,
    /// zero puts the instance in FAULT while down.
    pub weight: i32,
    /// `weight … reverse`: the sense of up and down is inverted.
    pub reverse: bool,
}

/// Everything one VRRP instance needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceConfig {
    /// Instance name (`vrrp_instance NAME`).
    pub name: String,
    /// Interface it runs on.
    pub interface: String,
    /// Virtual router id, 1..=255.
    pub vrid: u8,
    /// Configured priority (`priority`), 1..=255; 255 is the address owner.
    pub priority: u8,
    /// Advertisement interval in the version's unit (which also fixes
    /// the protocol version).
    pub interval: Interval,
    /// v2 authentication (`authentication { auth_type PASS … }`).
    pub auth: Auth,
    /// `auth_type AH`: the IPsec-AH key (`auth_pass`, 8 bytes, zero
    /// padded); the VRRP header then says type 2 with zero data.
    pub ah_key: Option<[u8; 8]>,
    /// Addresses advertised and held while master.
    pub vips: Vec<Vip>,
    /// Addresses (VIPs or excluded VIPs) written with `no_track`: their
    /// removal by someone else does not move the instance.
    pub untracked_vips: Vec<IpAddr>,
    /// `virtual_ipaddress_excluded`: held while master, not advertised.
    pub excluded_vips: Vec<Vip>,
    /// This router's address on the interface (or `unicast_src_ip`): the
    /// source of adverts and the tie-breaker at equal priority.
    pub src: IpAddr,
    /// `unicast_peer`s; empty means multicast.
    pub unicast_peers: Vec<IpAddr>,
    /// The multicast group adverts go to without unicast peers
    /// (`mcast_dst_ip`, else `vrrp_mcast_group4` / `vrrp_mcast_group6`).
    pub group: IpAddr,
    /// `state`.
    pub initial: InitialState,
    /// False with `nopreempt`.
    pub preempt: bool,
    /// `preempt_delay` (zero: none).
    pub preempt_delay: Duration,
    /// Missed adverts before the master is declared down (3).
    pub down_timer_adverts: u32,
    /// Gratuitous ARP / NA behaviour.
    pub garp: GarpConfig,
    /// `vrrp_lower_prio_no_advert`: a master hearing a lower priority does
    /// not re-advertise at once.
    pub lower_prio_no_advert: bool,
    /// `vrrp_higher_prio_send_advert`: a master hearing a higher priority
    /// advertises once more before stepping down.
    pub higher_prio_send_advert: bool,
    /// Checksum interop mode.
    pub checksum_mode: ChecksumMode,
    /// Tracked interfaces and scripts.
    pub trackers: Vec<TrackSpec>,
    /// Deliberate bugs (tests only; none by default).
    pub planted: super::planted::Planted,
}

impl InstanceConfig {
    /// An instance with keepalived's defaults: priority 100, VRRPv2 with a
    /// 1 s interval, no authentication, multicast, `state BACKUP`, preempt.
    pub fn new(
        name: &str,
        interface: &str,
        vrid: u8,
        src: IpAddr,
        vips: Vec<Vip>,
    ) -> InstanceConfig {
        let interval = if src.is_ipv6() {
            Interval::Centiseconds(100)
        } else {
            Interval::Seconds(1)
        };
        InstanceConfig {
            name: name.to_string(),
            interface: interface.to_string(),
            vrid,
            priority: 100,
            interval,
            auth: Auth::None,
            ah_key: None,
            vips,
            untracked_vips: Vec::new(),
            excluded_vips: Vec::new(),
            src,
            unicast_peers: Vec::new(),
            group: crate::packet::vrrp::group(Family::of(&src)),
            initial: InitialState::Backup,
            preempt: true,
            preempt_delay: Duration::ZERO,
            down_timer_adverts: 3,
            garp: GarpConfig::default(),
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            checksum_mode: ChecksumMode::Standard,
            trackers: Vec::new(),
            planted: super::planted::Planted::default(),
        }
    }

    /// The protocol version, fixed by the interval's unit.
    pub fn version(&self) -> Version {
        self.interval.version()
    }

    /// The address family (of the source address).
    pub fn family(&self) -> Family {
        Family::of(&self.src)
    }

    /// Whether adverts go to unicast peers rather than the group.
    pub fn is_unicast(&self) -> bool {
        !self.unicast_peers.is_empty()
    }

    /// Whether this router owns the addresses (priority 255).
    pub fn is_owner(&self) -> bool {
        self.priority == 255
    }
}
