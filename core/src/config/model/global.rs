//! `global_defs`: router id, notification settings, VRRP and LVS globals.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::common::{Command, ScriptUser};
use super::vrrp::VrrpVersion;
use crate::config::span::Span;

/// The `global_defs` block, with keepalived's defaults filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalDefs {
    /// `router_id`; keepalived uses the host name when absent.
    pub router_id: Option<String>,
    /// E-mail notification settings (recognised; Vigil sends no mail).
    pub notification: Notification,
    /// `vrrp_version` (default 2): the version of instances that set none.
    pub vrrp_version: VrrpVersion,
    /// `vrrp_strict`: strict RFC compliance for every instance.
    pub vrrp_strict: bool,
    /// `vrrp_garp_*` defaults that instances inherit.
    pub garp: GarpDefaults,
    /// `vrrp_mcast_group4` (default 224.0.0.18).
    pub vrrp_mcast_group4: Ipv4Addr,
    /// `vrrp_mcast_group6` (default ff02::12).
    pub vrrp_mcast_group6: Ipv6Addr,
    /// `default_interface`: where VIPs without `dev` go when an instance
    /// has no interface (keepalived: eth0).
    pub default_interface: Option<String>,
    /// `script_user USER [GROUP]`: who scripts run as by default.
    pub script_user: Option<ScriptUser>,
    /// `enable_script_security`.
    pub enable_script_security: bool,
    /// `lvs_timeouts tcp N tcpfin N udp N` (seconds; unset entries leave
    /// the kernel's value).
    pub lvs_timeouts: LvsTimeouts,
    /// `lvs_flush`: flush the whole IPVS table at start-up.
    pub lvs_flush: bool,
    /// `lvs_flush_onstop [VS|RS]`: what to remove from IPVS on stop.
    pub lvs_flush_on_stop: LvsFlushOnStop,
    /// `lvs_sync_daemon IFACE [inst NAME] [id N] ...`.
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,
    /// `notify_fifo`, `vrrp_notify_fifo`, `lvs_notify_fifo` and their
    /// scripts; `vrrp_notify_priority_changes`.
    pub fifos: NotifyFifos,
    /// Where the block started (the file start when there is none).
    pub span: Span,
}

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            router_id: None,
            notification: Notification::default(),
            vrrp_version: VrrpVersion::V2,
            vrrp_strict: false,
            garp: GarpDefaults::default(),
            vrrp_mcast_group4: Ipv4Addr::new(224, 0, 0, 18),
            vrrp_mcast_group6: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12),
            default_interface: None,
            script_user: None,
            enable_script_security: false,
            lvs_timeouts: LvsTimeouts::default(),
            lvs_flush: false,
            lvs_flush_on_stop: LvsFlushOnStop::No,
            lvs_sync_daemon: None,
            fifos: NotifyFifos::default(),
            span: Span::default(),
        }
    }
}

/// A notify FIFO: where keepalived writes one line per state change
/// (created if missing), and the script it starts to read them (given
/// the FIFO's path as its last argument).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifyFifo {
    /// The FIFO's path.
    pub path: String,
    /// `USER [GROUP]` after the path: who owns a FIFO keepalived creates.
    pub owner: Option<ScriptUser>,
    /// `*_notify_fifo_script`: started once, before the FIFO is opened.
    pub script: Option<Command>,
}

/// The notify FIFOs of `global_defs`, as keepalived 2.2.7 keeps them: a
/// `vrrp_notify_fifo` or `lvs_notify_fifo` naming the global FIFO is
/// dropped (the global one gets every line already).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NotifyFifos {
    /// `notify_fifo`: VRRP and checker lines.
    pub global: Option<NotifyFifo>,
    /// `vrrp_notify_fifo`: VRRP lines.
    pub vrrp: Option<NotifyFifo>,
    /// `lvs_notify_fifo`: checker lines.
    pub lvs: Option<NotifyFifo>,
    /// `vrrp_notify_priority_changes`: a line when a master's or backup's
    /// effective priority changes.
    pub priority_changes: bool,
}

/// E-mail notification settings. Vigil recognises them (so existing
/// configs load) but sends no mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// `notification_email { ... }` recipients.
    pub email: Vec<String>,
    /// `notification_email_from`.
    pub email_from: Option<String>,
    /// `smtp_server HOST [PORT]` (port default 25).
    pub smtp_server: Option<(String, u16)>,
    /// `smtp_helo_name`.
    pub smtp_helo_name: Option<String>,
    /// `smtp_connect_timeout` (default 30 s).
    pub smtp_connect_timeout: Duration,
    /// `smtp_alert`: default for every instance and server.
    pub smtp_alert: Option<bool>,
    /// `smtp_alert_vrrp`: default for VRRP instances.
    pub smtp_alert_vrrp: Option<bool>,
    /// `smtp_alert_checker`: default for virtual and real servers.
    pub smtp_alert_checker: Option<bool>,
}

impl Default for Notification {
    fn default() -> Self {
        Notification {
            email: Vec::new(),
            email_from: None,
            smtp_server: None,
            smtp_helo_name: None,
            smtp_connect_timeout: Duration::from_secs(30),
            smtp_alert: None,
            smtp_alert_vrrp: None,
            smtp_alert_checker: None,
        }
    }
}

/// Gratuitous ARP / unsolicited NA defaults (`vrrp_garp_*` in
/// `global_defs`), copied into every instance that does not override them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GarpDefaults {
    /// `vrrp_garp_master_delay` (default 5 s): second burst after MASTER.
    pub master_delay: Duration,
    /// `vrrp_garp_master_repeat` (default 5): GARPs per burst.
    pub master_repeat: u32,
    /// `vrrp_garp_master_refresh` (default none): periodic refresh.
    pub master_refresh: Option<Duration>,
    /// `vrrp_garp_master_refresh_repeat` (default 1).
    pub master_refresh_repeat: u32,
    /// `vrrp_garp_lower_prio_delay` (default: `master_delay`).
    pub lower_prio_delay: Duration,
    /// `vrrp_garp_lower_prio_repeat` (default: `master_repeat`).
    pub lower_prio_repeat: u32,
    /// `vrrp_garp_interval` (default 0): gap between GARPs of a burst.
    pub interval: Duration,
    /// `vrrp_gna_interval` (default 0): gap between unsolicited NAs.
    pub gna_interval: Duration,
    /// `vrrp_lower_prio_no_advert`.
    pub lower_prio_no_advert: bool,
    /// `vrrp_higher_prio_send_advert`.
    pub higher_prio_send_advert: bool,
}

impl Default for GarpDefaults {
    fn default() -> Self {
        GarpDefaults {
            master_delay: Duration::from_secs(5),
            master_repeat: 5,
            master_refresh: None,
            master_refresh_repeat: 1,
            lower_prio_delay: Duration::from_secs(5),
            lower_prio_repeat: 5,
            interval: Duration::ZERO,
            gna_interval: Duration::ZERO,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
        }
    }
}

/// `lvs_timeouts`: IPVS connection timeouts, in whole seconds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LvsTimeouts {
    /// `tcp N`.
    pub tcp: Option<Duration>,
    /// `tcpfin N`.
    pub tcp_fin: Option<Duration>,
    /// `udp N`.
    pub udp: Option<Duration>,
}

/// `lvs_flush_onstop`: what keepalived removes from IPVS when it stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LvsFlushOnStop {
    /// Not given: leave the table as it is.
    No,
    /// `lvs_flush_onstop` (or `VS`): remove every virtual server.
    VirtualServers,
    /// `lvs_flush_onstop RS`: remove only the real servers.
    RealServers,
}

/// `lvs_sync_daemon`: the IPVS connection-sync daemon settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LvsSyncDaemon {
    /// The interface the daemon uses.
    pub interface: String,
    /// The VRRP instance whose state drives master/backup sync.
    pub instance: Option<String>,
    /// `id N` (0..255; the instance's VRID when absent).
    pub id: Option<u8>,
    /// `maxlen N`.
    pub maxlen: Option<u16>,
    /// `port N`.
    pub port: Option<u16>,
    /// `ttl N`.
    pub ttl: Option<u8>,
    /// `group ADDR`.
    pub group: Option<std::net::IpAddr>,
}
