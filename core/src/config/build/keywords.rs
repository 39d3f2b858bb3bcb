//! Which keywords each block knows, which keepalived keywords Vigil
//! recognises but does not act on, and the diagnostic for anything else
//! (unknown, misspelt, or in the wrong block). The lists follow
//! keepalived 2.2.7's parsers (core/global_parser.c, vrrp/vrrp_parser.c,
//! check/check_parser.c and the check_*.c installers).

use super::super::diag::did_you_mean;
use super::super::parser::Node;
use super::values::Cx;

/// A kind of block, for keyword lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ctx {
    Top,
    Global,
    Instance,
    Auth,
    Script,
    SyncGroup,
    TrackFile,
    TrackProcess,
    VirtualServer,
    RealServer,
    Tcp,
    Http,
    Url,
    Misc,
    Ping,
    Udp,
    Dns,
    Smtp,
    File,
}

const ALL: [Ctx; 19] = [
    Ctx::Top,
    Ctx::Global,
    Ctx::Instance,
    Ctx::Auth,
    Ctx::Script,
    Ctx::SyncGroup,
    Ctx::TrackFile,
    Ctx::TrackProcess,
    Ctx::VirtualServer,
    Ctx::RealServer,
    Ctx::Tcp,
    Ctx::Http,
    Ctx::Url,
    Ctx::Misc,
    Ctx::Ping,
    Ctx::Udp,
    Ctx::Dns,
    Ctx::Smtp,
    Ctx::File,
];

impl Ctx {
    /// How diagnostics name the block.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Ctx::Top => "the top level",
            Ctx::Global => "global_defs",
            Ctx::Instance => "vrrp_instance",
            Ctx::Auth => "authentication",
            Ctx::Script => "vrrp_script",
            Ctx::SyncGroup => "vrrp_sync_group",
            Ctx::TrackFile => "track_file",
            Ctx::TrackProcess => "vrrp_track_process",
            Ctx::VirtualServer => "virtual_server",
            Ctx::RealServer => "real_server",
            Ctx::Tcp => "TCP_CHECK",
            Ctx::Http => "HTTP_GET/SSL_GET",
            Ctx::Url => "url",
            Ctx::Misc => "MISC_CHECK",
            Ctx::Ping => "PING_CHECK",
            Ctx::Udp => "UDP_CHECK",
            Ctx::Dns => "DNS_CHECK",
            Ctx::Smtp => "SMTP_CHECK",
            Ctx::File => "FILE_CHECK",
        }
    }

    /// Keywords Vigil models in this block.
    pub(crate) fn known(self) -> &'static [&'static str] {
        match self {
            Ctx::Top => TOP,
            Ctx::Global => GLOBAL,
            Ctx::Instance => INSTANCE,
            Ctx::Auth => &["auth_type", "auth_pass"],
            Ctx::Script => &[
                "script",
                "interval",
                "timeout",
                "weight",
                "rise",
                "fall",
                "user",
                "init_fail",
            ],
            Ctx::SyncGroup => SYNC_GROUP,
            Ctx::TrackFile => &["file", "weight", "init_file"],
            Ctx::TrackProcess => &[
                "process",
                "param_match",
                "full_command",
                "quorum",
                "quorum_max",
                "delay",
                "terminate_delay",
                "fork_delay",
                "weight",
            ],
            Ctx::VirtualServer => VIRTUAL_SERVER,
            Ctx::RealServer => REAL_SERVER,
            Ctx::Tcp | Ctx::Ping => CHECK_CONN,
            Ctx::Http => HTTP,
            Ctx::Url => &[
                "path",
                "digest",
                "status_code",
                "virtualhost",
                "regex",
                "regex_no_match",
            ],
            Ctx::Misc => MISC,
            Ctx::Udp => UDP,
            Ctx::Dns => DNS,
            Ctx::Smtp => SMTP,
            Ctx::File => &["track_file", "weight"],
        }
    }

    /// keepalived keywords recognised here that Vigil does not act on,
    /// with the reason.
    pub(crate) fn ignored(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Ctx::Top => TOP_IGNORED,
            Ctx::Global => GLOBAL_IGNORED,
            Ctx::Instance => INSTANCE_IGNORED,
            Ctx::SyncGroup => SYNC_GROUP_IGNORED,
            Ctx::VirtualServer => VS_IGNORED,
            Ctx::RealServer => RS_IGNORED,
            Ctx::Url => &[
                ("regex_options", "regex options are not supported"),
                ("regex_min_offset", "regex offsets are not supported"),
                ("regex_max_offset", "regex offsets are not supported"),
                ("regex_stack", "regex JIT tuning is not needed"),
            ],
            _ => &[],
        }
    }
}

const TOP: &[&str] = &[
    "global_defs",
    "vrrp_script",
    "track_file",
    "vrrp_track_file",
    "vrrp_instance",
    "vrrp_sync_group",
    "vrrp_track_process",
    "virtual_server_group",
    "virtual_server",
];

const TOP_IGNORED: &[(&str, &str)] = &[
    (
        "static_ipaddress",
        "static addresses are not managed by Vigil",
    ),
    ("static_routes", "static routes are not managed by Vigil"),
    ("static_rules", "static rules are not managed by Vigil"),
    ("track_group", "track groups are not supported"),
    ("garp_group", "GARP groups are not supported"),
    ("linkbeat_interfaces", "linkbeat polling is not supported"),
    (
        "interface_up_down_delays",
        "interface debounce is not supported",
    ),
    ("SSL", "SSL_GET client certificates are not supported"),
    ("bfd_instance", "BFD is not supported"),
];

const GLOBAL: &[&str] = &[
    "router_id",
    "notification_email",
    "notification_email_from",
    "smtp_server",
    "smtp_helo_name",
    "smtp_connect_timeout",
    "smtp_alert",
    "smtp_alert_vrrp",
    "smtp_alert_checker",
    "default_interface",
    "lvs_timeouts",
    "lvs_flush",
    "lvs_flush_onstop",
    "lvs_flush_on_stop",
    "lvs_sync_daemon",
    "vrrp_mcast_group4",
    "vrrp_mcast_group6",
    "vrrp_garp_master_delay",
    "vrrp_garp_master_repeat",
    "vrrp_garp_master_refresh",
    "vrrp_garp_master_refresh_repeat",
    "vrrp_garp_lower_prio_delay",
    "vrrp_garp_lower_prio_repeat",
    "vrrp_garp_interval",
    "vrrp_gna_interval",
    "vrrp_lower_prio_no_advert",
    "vrrp_higher_prio_send_advert",
    "vrrp_version",
    "vrrp_strict",
    "script_user",
    "enable_script_security",
    "notify_fifo",
    "notify_fifo_script",
    "vrrp_notify_fifo",
    "vrrp_notify_fifo_script",
    "lvs_notify_fifo",
    "lvs_notify_fifo_script",
    "vrrp_notify_priority_changes",
];

const GLOBAL_IGNORED: &[(&str, &str)] = &[
    ("linkbeat_use_polling", "linkbeat polling is not supported"),
    (
        "net_namespace",
        "network namespaces are chosen by the driver",
    ),
    (
        "net_namespace_ipvs",
        "network namespaces are chosen by the driver",
    ),
    (
        "namespace_with_ipsets",
        "network namespaces are chosen by the driver",
    ),
    ("use_pid_dir", "process management belongs to the driver"),
    ("instance", "process management belongs to the driver"),
    (
        "child_wait_time",
        "process management belongs to the driver",
    ),
    ("process_names", "process management belongs to the driver"),
    ("process_name", "process management belongs to the driver"),
    (
        "vrrp_process_name",
        "process management belongs to the driver",
    ),
    (
        "checker_process_name",
        "process management belongs to the driver",
    ),
    (
        "lvs_process_name",
        "process management belongs to the driver",
    ),
    (
        "bfd_process_name",
        "process management belongs to the driver",
    ),
    ("startup_script", "startup/shutdown scripts are not run"),
    (
        "startup_script_timeout",
        "startup/shutdown scripts are not run",
    ),
    ("shutdown_script", "startup/shutdown scripts are not run"),
    (
        "shutdown_script_timeout",
        "startup/shutdown scripts are not run",
    ),
    (
        "max_auto_priority",
        "process scheduling tuning is not needed",
    ),
    (
        "min_auto_priority_delay",
        "process scheduling tuning is not needed",
    ),
    ("checker_log_all_failures", "logging is the driver's"),
    ("dynamic_interfaces", "interfaces are the driver's"),
    ("no_email_faults", "Vigil sends no e-mail"),
    ("disable_local_igmp", "IGMP tuning is not supported"),
    (
        "vrrp_down_timer_adverts",
        "down_timer_adverts is not supported",
    ),
    ("vrrp_min_garp", "vrrp_min_garp is not supported"),
    ("vrrp_garp_extra_if", "VMAC extra GARPs are not supported"),
    ("vrrp_vmac_garp_intvl", "VMAC extra GARPs are not supported"),
    ("vrrp_iptables", "Vigil does not program firewalls"),
    ("vrrp_ipsets", "Vigil does not program firewalls"),
    ("nftables", "Vigil does not program firewalls"),
    ("nftables_priority", "Vigil does not program firewalls"),
    ("nftables_ifindex", "Vigil does not program firewalls"),
    ("nftables_ipvs", "Vigil does not program firewalls"),
    ("nftables_ipvs_priority", "Vigil does not program firewalls"),
    (
        "nftables_ipvs_start_fwmark",
        "Vigil does not program firewalls",
    ),
    ("nftables_counters", "Vigil does not program firewalls"),
    (
        "vrrp_check_unicast_src",
        "unicast source checking is not supported",
    ),
    (
        "vrrp_skip_check_adv_addr",
        "advert address checking is always done",
    ),
    ("vrrp_priority", "process scheduling tuning is not needed"),
    ("vrrp_no_swap", "process scheduling tuning is not needed"),
    (
        "vrrp_rt_priority",
        "process scheduling tuning is not needed",
    ),
    (
        "vrrp_cpu_affinity",
        "process scheduling tuning is not needed",
    ),
    (
        "vrrp_rlimit_rttime",
        "process scheduling tuning is not needed",
    ),
    (
        "vrrp_rlimit_rtime",
        "process scheduling tuning is not needed",
    ),
    (
        "fifo_write_vrrp_states_on_reload",
        "the FIFOs get no state lines on a reload",
    ),
    (
        "checker_priority",
        "process scheduling tuning is not needed",
    ),
    ("checker_no_swap", "process scheduling tuning is not needed"),
    (
        "checker_rt_priority",
        "process scheduling tuning is not needed",
    ),
    (
        "checker_cpu_affinity",
        "process scheduling tuning is not needed",
    ),
    (
        "checker_rlimit_rttime",
        "process scheduling tuning is not needed",
    ),
    (
        "checker_rlimit_rtime",
        "process scheduling tuning is not needed",
    ),
    ("bfd_priority", "BFD is not supported"),
    ("bfd_no_swap", "BFD is not supported"),
    ("bfd_rt_priority", "BFD is not supported"),
    ("bfd_cpu_affinity", "BFD is not supported"),
    ("bfd_rlimit_rttime", "BFD is not supported"),
    ("bfd_rlimit_rtime", "BFD is not supported"),
    ("snmp_socket", "SNMP is not supported"),
    ("enable_traps", "SNMP is not supported"),
    ("enable_snmp_vrrp", "SNMP is not supported"),
    ("enable_snmp_keepalived", "SNMP is not supported"),
    ("enable_snmp_rfc", "SNMP is not supported"),
    ("enable_snmp_rfcv2", "SNMP is not supported"),
    ("enable_snmp_rfcv3", "SNMP is not supported"),
    ("enable_snmp_checker", "SNMP is not supported"),
    ("enable_dbus", "D-Bus is not supported"),
    ("dbus_service_name", "D-Bus is not supported"),
    (
        "vrrp_netlink_cmd_rcv_bufs",
        "socket buffer tuning is the driver's",
    ),
    (
        "vrrp_netlink_cmd_rcv_bufs_force",
        "socket buffer tuning is the driver's",
    ),
    (
        "vrrp_netlink_monitor_rcv_bufs",
        "socket buffer tuning is the driver's",
    ),
    (
        "vrrp_netlink_monitor_rcv_bufs_force",
        "socket buffer tuning is the driver's",
    ),
    (
        "process_monitor_rcv_bufs",
        "socket buffer tuning is the driver's",
    ),
    (
        "process_monitor_rcv_bufs_force",
        "socket buffer tuning is the driver's",
    ),
    (
        "lvs_netlink_cmd_rcv_bufs",
        "socket buffer tuning is the driver's",
    ),
    (
        "lvs_netlink_cmd_rcv_bufs_force",
        "socket buffer tuning is the driver's",
    ),
    (
        "lvs_netlink_monitor_rcv_bufs",
        "socket buffer tuning is the driver's",
    ),
    (
        "lvs_netlink_monitor_rcv_bufs_force",
        "socket buffer tuning is the driver's",
    ),
    (
        "rs_init_notifies",
        "real server start-up notifications are not supported",
    ),
    ("no_checker_emails", "Vigil sends no e-mail"),
    (
        "vrrp_rx_bufs_policy",
        "socket buffer tuning is the driver's",
    ),
    (
        "vrrp_rx_bufs_multiplier",
        "socket buffer tuning is the driver's",
    ),
    ("vrrp_startup_delay", "start-up delay is not supported"),
    ("log_unknown_vrids", "logging is the driver's"),
    ("vmac_prefix", "VMAC naming is not supported"),
    ("vmac_addr_prefix", "VMAC naming is not supported"),
    ("umask", "process management belongs to the driver"),
    ("random_seed", "Vigil's randomness is seeded by its driver"),
    ("reload_check_config", "reloads are the driver's"),
    ("reload_time_file", "reloads are the driver's"),
    ("reload_repeat", "reloads are the driver's"),
    ("reload_file", "reloads are the driver's"),
    (
        "include_check",
        "include checking options are not supported",
    ),
    ("config_save_dir", "reloads are the driver's"),
    ("tmp_config_directory", "reloads are the driver's"),
    (
        "data_use_instance",
        "process management belongs to the driver",
    ),
];

const INSTANCE: &[&str] = &[
    "state",
    "interface",
    "virtual_router_id",
    "priority",
    "advert_int",
    "version",
    "nopreempt",
    "preempt",
    "preempt_delay",
    "authentication",
    "virtual_ipaddress",
    "virtual_ipaddress_excluded",
    "mcast_src_ip",
    "mcast_dst_ip",
    "unicast_src_ip",
    "unicast_peer",
    "track_interface",
    "track_script",
    "track_file",
    "track_process",
    "dont_track_primary",
    "garp_master_delay",
    "garp_master_repeat",
    "garp_master_refresh",
    "garp_master_refresh_repeat",
    "garp_lower_prio_delay",
    "garp_lower_prio_repeat",
    "lower_prio_no_advert",
    "higher_prio_send_advert",
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
    "notify",
    "smtp_alert",
    "notify_priority_changes",
    "use_vmac",
    "accept",
    "no_accept",
    "strict_mode",
];

const INSTANCE_IGNORED: &[(&str, &str)] = &[
    ("use_vmac_addr", "VMAC addresses on VIPs are not supported"),
    ("vmac_xmit_base", "VMAC transmit options are not supported"),
    ("use_ipvlan", "ipvlan is not supported"),
    (
        "unicast_fault_no_peer",
        "unicast fault options are not supported",
    ),
    (
        "check_unicast_src",
        "unicast source checking is not supported",
    ),
    (
        "old_unicast_checksum",
        "the old unicast checksum is not supported",
    ),
    ("native_ipv6", "native_ipv6 is implied by the VIPs"),
    ("vrf", "VRFs are not supported"),
    ("track_bfd", "BFD is not supported"),
    ("track_src_ip", "source address tracking is not supported"),
    ("unicast_ttl", "unicast TTL is not supported"),
    (
        "promote_secondaries",
        "promote_secondaries is a sysctl for the driver",
    ),
    ("linkbeat_use_polling", "linkbeat polling is not supported"),
    ("virtual_routes", "virtual routes are not managed by Vigil"),
    ("virtual_rules", "virtual rules are not managed by Vigil"),
    (
        "skip_check_adv_addr",
        "advert address checking is always done",
    ),
    ("debug", "debug levels are not supported"),
    ("notify_deleted", "notify_deleted is not supported"),
    (
        "notify_master_rx_lower_pri",
        "notify_master_rx_lower_pri is not supported",
    ),
    (
        "lvs_sync_daemon_interface",
        "use lvs_sync_daemon in global_defs",
    ),
    ("down_timer_adverts", "down_timer_adverts is not supported"),
    ("garp_extra_if", "VMAC extra GARPs are not supported"),
    ("vmac_garp_intvl", "VMAC extra GARPs are not supported"),
    ("kernel_rx_buf_size", "socket buffer tuning is the driver's"),
];

const SYNC_GROUP: &[&str] = &[
    "group",
    "track_interface",
    "track_script",
    "track_file",
    "track_process",
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
    "notify",
    "smtp_alert",
    "notify_priority_changes",
    "global_tracking",
];

const SYNC_GROUP_IGNORED: &[(&str, &str)] = &[("track_bfd", "BFD is not supported")];

const VIRTUAL_SERVER: &[&str] = &[
    "ip_family",
    "delay_loop",
    "connect_timeout",
    "retry",
    "delay_before_retry",
    "warmup",
    "lb_algo",
    "lvs_sched",
    "lb_kind",
    "lvs_method",
    "ops",
    "flag-1",
    "flag-2",
    "flag-3",
    "sh-port",
    "sh-fallback",
    "mh-port",
    "mh-fallback",
    "hashed",
    "persistence_engine",
    "persistence_timeout",
    "persistence_granularity",
    "protocol",
    "ha_suspend",
    "smtp_alert",
    "virtualhost",
    "alpha",
    "omega",
    "quorum",
    "hysteresis",
    "quorum_up",
    "quorum_down",
    "weight",
    "inhibit_on_failure",
    "sorry_server",
    "sorry_server_inhibit",
    "sorry_server_lvs_method",
    "real_server",
];

const VS_IGNORED: &[(&str, &str)] = &[
    (
        "nat_mask",
        "it is obsolete (Linux 2.2 LVS only); keepalived 2.2.7 ignores it as an unknown keyword",
    ),
    ("snmp_name", "SNMP is not supported"),
];

const REAL_SERVER: &[&str] = &[
    "weight",
    "lvs_method",
    "inhibit_on_failure",
    "alpha",
    "retry",
    "connect_timeout",
    "delay_loop",
    "delay_before_retry",
    "warmup",
    "uthreshold",
    "lthreshold",
    "notify_up",
    "notify_down",
    "smtp_alert",
    "virtualhost",
    "TCP_CHECK",
    "HTTP_GET",
    "SSL_GET",
    "MISC_CHECK",
    "PING_CHECK",
    "UDP_CHECK",
    "DNS_CHECK",
    "SMTP_CHECK",
    "FILE_CHECK",
];

const RS_IGNORED: &[(&str, &str)] = &[
    ("snmp_name", "SNMP is not supported"),
    ("BFD_CHECK", "BFD is not supported"),
];

const CHECK_CONN: &[&str] = &[
    "connect_ip",
    "connect_port",
    "bindto",
    "bind_port",
    "bind_if",
    "connect_timeout",
    "fwmark",
    "retry",
    "nb_get_retry",
    "delay_before_retry",
    "warmup",
    "delay_loop",
    "alpha",
    "log_all_failures",
];

const HTTP: &[&str] = &[
    "connect_ip",
    "connect_port",
    "bindto",
    "bind_port",
    "bind_if",
    "connect_timeout",
    "fwmark",
    "retry",
    "nb_get_retry",
    "delay_before_retry",
    "warmup",
    "delay_loop",
    "alpha",
    "log_all_failures",
    "virtualhost",
    "http_protocol",
    "enable_sni",
    "fast_recovery",
    "url",
];

const MISC: &[&str] = &[
    "misc_path",
    "misc_timeout",
    "misc_dynamic",
    "user",
    "retry",
    "nb_get_retry",
    "delay_before_retry",
    "warmup",
    "delay_loop",
    "alpha",
    "log_all_failures",
];

const UDP: &[&str] = &[
    "connect_ip",
    "connect_port",
    "bindto",
    "bind_port",
    "bind_if",
    "connect_timeout",
    "fwmark",
    "retry",
    "nb_get_retry",
    "delay_before_retry",
    "warmup",
    "delay_loop",
    "alpha",
    "log_all_failures",
    "payload",
    "require_reply",
    "min_reply_length",
    "max_reply_length",
];

const DNS: &[&str] = &[
    "connect_ip",
    "connect_port",
    "bindto",
    "bind_port",
    "bind_if",
    "connect_timeout",
    "fwmark",
    "retry",
    "nb_get_retry",
    "delay_before_retry",
    "warmup",
    "delay_loop",
    "alpha",
    "log_all_failures",
    "type",
    "name",
];

const SMTP: &[&str] = &[
    "connect_ip",
    "connect_port",
    "bindto",
    "bind_port",
    "bind_if",
    "connect_timeout",
    "fwmark",
    "retry",
    "nb_get_retry",
    "delay_before_retry",
    "warmup",
    "delay_loop",
    "alpha",
    "log_all_failures",
    "helo_name",
    "host",
];

/// Reports a keyword the block's builder did not handle, as a warning:
/// keepalived 2.2.7 runs with it ignored (a recognised keyword Vigil does
/// not act on, a keyword of another block, an unknown one with a "did you
/// mean").
pub(crate) fn unhandled(cx: &mut Cx<'_>, n: &Node, ctx: Ctx) {
    let kw = n.keyword.as_str();
    if let Some((_, why)) = ctx.ignored().iter().find(|(k, _)| *k == kw) {
        cx.diags.warning(
            &n.span,
            format!("'{kw}' is recognised but Vigil does not act on it: {why}"),
        );
        return;
    }
    let elsewhere: Vec<&str> = ALL
        .iter()
        .filter(|c| **c != ctx)
        .filter(|c| c.known().contains(&kw) || c.ignored().iter().any(|(k, _)| *k == kw))
        .map(|c| c.name())
        .collect();
    if !elsewhere.is_empty() {
        let mut places = elsewhere;
        places.dedup();
        cx.diags.warning(
            &n.span,
            format!(
                "'{kw}' is not valid in {}; it belongs in {}; keepalived ignores it{}",
                ctx.name(),
                places.join(" or "),
                block_note(n)
            ),
        );
        return;
    }
    let candidates = ctx
        .known()
        .iter()
        .copied()
        .chain(ctx.ignored().iter().map(|(k, _)| *k));
    match did_you_mean(kw, candidates) {
        Some(s) => cx.diags.warning(
            &n.span,
            format!(
                "unknown keyword '{kw}' in {}; did you mean '{s}'? keepalived ignores it{}",
                ctx.name(),
                block_note(n)
            ),
        ),
        None => cx.diags.warning(
            &n.span,
            format!(
                "unknown keyword '{kw}' in {}; keepalived ignores it{}",
                ctx.name(),
                block_note(n)
            ),
        ),
    }
}

/// What happens to an ignored keyword's `{ }` block: keepalived drops the
/// `{` and reads the lines inside as the enclosing block's; Vigil skips
/// them.
fn block_note(n: &Node) -> &'static str {
    if n.block.is_some() {
        " (and reads its block's lines as the enclosing block's; Vigil skips them)"
    } else {
        ""
    }
}
