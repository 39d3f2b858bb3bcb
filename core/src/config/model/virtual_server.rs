//! `virtual_server`, `real_server`, `virtual_server_group`: the IPVS side
//! of the config.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::checker::Checker;
use super::common::{Command, Family};
use crate::config::span::Span;

/// The transport protocol of a virtual service, and the IPVS scheduler
/// (`lb_algo` / `lvs_sched`): one type each, shared with the IPVS model.
pub use crate::ipvs::{Protocol, Scheduler};

/// Scheduler flags (`ops`, `flag-1..3`, `sh-port`, `sh-fallback`,
/// `mh-port`, `mh-fallback`, `hashed` is accepted and ignored).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SchedFlags {
    /// `ops`: one-packet scheduling (UDP only).
    pub ops: bool,
    /// `flag-1` (= sh-fallback / mh-fallback).
    pub flag1: bool,
    /// `flag-2` (= sh-port / mh-port).
    pub flag2: bool,
    /// `flag-3`.
    pub flag3: bool,
}

/// Tunnel encapsulation of `lb_kind TUN`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TunnelType {
    /// IP-in-IP (default).
    #[default]
    Ipip,
    /// GUE with its UDP port.
    Gue(u16),
    /// GRE.
    Gre,
}

/// Tunnel checksum option (`nocsum` default, `csum`, `remcsum`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TunnelCsum {
    /// `nocsum`.
    #[default]
    NoCsum,
    /// `csum`.
    Csum,
    /// `remcsum`.
    RemCsum,
}

/// The forwarding method (`lb_kind` / `lvs_method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Forwarding {
    /// `NAT` (masquerading; keepalived's default when none is set).
    Nat,
    /// `DR` (direct routing; ipvsadm shows `Route`).
    Dr,
    /// `TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]`.
    Tun(TunnelType, TunnelCsum),
}

impl Forwarding {
    /// keepalived's keyword: `NAT`, `DR`, `TUN`.
    pub fn keyword(self) -> &'static str {
        match self {
            Forwarding::Nat => "NAT",
            Forwarding::Dr => "DR",
            Forwarding::Tun(..) => "TUN",
        }
    }

    /// ipvsadm's column: `Masq`, `Route`, `Tunnel`.
    pub fn ipvsadm_name(self) -> &'static str {
        match self {
            Forwarding::Nat => "Masq",
            Forwarding::Dr => "Route",
            Forwarding::Tun(..) => "Tunnel",
        }
    }
}

impl fmt::Display for Forwarding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())?;
        if let Forwarding::Tun(t, c) = self {
            match t {
                TunnelType::Ipip => {}
                TunnelType::Gue(p) => write!(f, " type gue port {p}")?,
                TunnelType::Gre => f.write_str(" type gre")?,
            }
            match c {
                TunnelCsum::NoCsum => {}
                TunnelCsum::Csum => f.write_str(" csum")?,
                TunnelCsum::RemCsum => f.write_str(" remcsum")?,
            }
        }
        Ok(())
    }
}

/// `persistence_granularity`: an IPv4 netmask or an IPv6 prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Granularity {
    /// IPv4 netmask, as written (keepalived does not require it solid).
    V4(Ipv4Addr),
    /// IPv6 prefix length, 1..128.
    V6(u8),
}

impl fmt::Display for Granularity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Granularity::V4(m) => write!(f, "{m}"),
            Granularity::V6(p) => write!(f, "{p}"),
        }
    }
}

/// What a `virtual_server` line names.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ServiceAddr {
    /// `virtual_server IP PORT` (port 0 only for persistent services).
    Addr(SocketAddr),
    /// `virtual_server fwmark N`.
    Fwmark(u32),
    /// `virtual_server group NAME` (a `virtual_server_group`, checked to
    /// exist).
    Group(String),
}

impl fmt::Display for ServiceAddr {
    /// As in summaries: `172.17.1.160:80`, `[2001:db8::1]:80`,
    /// `fwmark 1`, `group NAME`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceAddr::Addr(a) => write!(f, "{a}"),
            ServiceAddr::Fwmark(m) => write!(f, "fwmark {m}"),
            ServiceAddr::Group(g) => write!(f, "group {g}"),
        }
    }
}

/// `sorry_server IP PORT`: where traffic goes when no real server is up.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SorryServer {
    /// Address and port (port resolved like a real server's).
    pub addr: SocketAddr,
    /// `sorry_server_lvs_method` (default: the virtual server's).
    pub forwarding: Forwarding,
    /// `sorry_server_inhibit`.
    pub inhibit: bool,
}

/// A `virtual_server` block, fully resolved.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VirtualServer {
    /// What the service is: address+port, firewall mark or group.
    pub service: ServiceAddr,
    /// Address family (from the address, `ip_family`, or the real servers).
    pub family: Family,
    /// `protocol` (TCP/UDP/SCTP; keepalived defaults to UDP with a
    /// warning; meaningless for fwmark services).
    pub protocol: Protocol,
    /// `lb_algo` / `lvs_sched` (default wlc).
    pub scheduler: Scheduler,
    /// Scheduler flags.
    pub sched_flags: SchedFlags,
    /// `lb_kind` / `lvs_method` (default NAT); real servers inherit it.
    pub forwarding: Forwarding,
    /// `persistence_timeout` (None: not persistent; bare keyword: 360 s).
    pub persistence_timeout: Option<Duration>,
    /// `persistence_granularity`.
    pub persistence_granularity: Option<Granularity>,
    /// `persistence_engine`.
    pub persistence_engine: Option<String>,
    /// `delay_loop` (default 60 s); inherited by real servers.
    pub delay_loop: Duration,
    /// `connect_timeout` (default 5 s); inherited by real servers.
    pub connect_timeout: Duration,
    /// `retry`; inherited by real servers (None: checker default).
    pub retry: Option<u32>,
    /// `delay_before_retry`; inherited (None: checker default).
    pub delay_before_retry: Option<Duration>,
    /// `warmup`; inherited (None: the checker's delay_loop).
    pub warmup: Option<Duration>,
    /// `weight` (default 1): weight of real servers that set none.
    pub weight: u32,
    /// `inhibit_on_failure`: default for real servers.
    pub inhibit_on_failure: bool,
    /// `alpha`: real servers start down until a check passes.
    pub alpha: bool,
    /// `omega`: run quorum_down and clear the pool on shutdown.
    pub omega: bool,
    /// `quorum` as written (default 1): total weight needed for quorum.
    /// What keepalived applies is [`VirtualServer::quorum_rule`].
    pub quorum: u32,
    /// `hysteresis` as written (default 0).
    pub hysteresis: u32,
    /// `quorum_up` script.
    pub quorum_up: Option<Command>,
    /// `quorum_down` script.
    pub quorum_down: Option<Command>,
    /// `ha_suspend`: suspend checks while the VIP is absent.
    pub ha_suspend: bool,
    /// `sorry_server`.
    pub sorry_server: Option<SorryServer>,
    /// `virtualhost`: default HTTP Host for HTTP/SSL checks.
    pub virtualhost: Option<String>,
    /// `smtp_alert` (recognised; Vigil sends no mail).
    pub smtp_alert: bool,
    /// `real_server` blocks, in order.
    pub real_servers: Vec<RealServer>,
    /// Where `virtual_server` was written.
    pub span: Span,
}

impl VirtualServer {
    /// The quorum keepalived 2.2.7 applies (check_data.c's validation):
    /// `quorum` reduced to the total configured weight of the real
    /// servers, and `hysteresis` set to `quorum - 1` where it is not below
    /// `quorum`, in unsigned arithmetic: at quorum 0 it wraps to
    /// `u32::MAX`, so that such a virtual server never gains quorum.
    pub fn quorum_rule(&self) -> Quorum {
        let weight_sum: u64 = self.real_servers.iter().map(|r| u64::from(r.weight)).sum();
        let quorum = u64::from(self.quorum).min(weight_sum) as u32;
        let hysteresis = if self.hysteresis >= quorum {
            quorum.wrapping_sub(1)
        } else {
            self.hysteresis
        };
        Quorum { quorum, hysteresis }
    }
}

/// The quorum rule of a virtual server, as keepalived applies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Quorum {
    /// Live weight needed for quorum.
    pub quorum: u32,
    /// Margin around `quorum`: gained at `quorum + hysteresis`, lost
    /// below `quorum - hysteresis`.
    pub hysteresis: u32,
}

impl Quorum {
    /// keepalived's `set_quorum_states`: whether quorum holds at start-up
    /// with `live_weight`.
    pub fn initial(&self, live_weight: i64) -> bool {
        live_weight >= i64::from(self.quorum) + i64::from(self.hysteresis)
    }

    /// keepalived's `update_quorum_state` threshold: the live weight at
    /// which quorum is gained (when down) or under which it is lost
    /// (when up).
    pub fn threshold(&self, up: bool) -> i64 {
        let h = i64::from(self.hysteresis);
        i64::from(self.quorum) + if up { -h } else { h }
    }

    /// Whether quorum holds after a change of the live weight, from `up`:
    /// gained at [`Quorum::threshold`], lost below it or at a live weight
    /// of 0.
    pub fn next(&self, up: bool, live_weight: i64) -> bool {
        let threshold = self.threshold(up);
        if up {
            live_weight != 0 && live_weight >= threshold
        } else {
            live_weight >= threshold
        }
    }
}

/// A `real_server` block, with what it inherits from its virtual server
/// already applied.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RealServer {
    /// Address and port; for DR/TUN the port is the virtual server's
    /// (keepalived resets a different one), 0 for fwmark services.
    pub addr: SocketAddr,
    /// `weight` (default: the virtual server's `weight`, 1).
    pub weight: u32,
    /// `lvs_method` (default: the virtual server's).
    pub forwarding: Forwarding,
    /// `inhibit_on_failure`: set weight 0 instead of removing on failure.
    pub inhibit_on_failure: bool,
    /// `alpha`: start down until a check passes.
    pub alpha: bool,
    /// `retry` (None: each checker's default).
    pub retry: Option<u32>,
    /// `connect_timeout` (default: the virtual server's).
    pub connect_timeout: Duration,
    /// `delay_loop` (default: the virtual server's).
    pub delay_loop: Duration,
    /// `delay_before_retry` (None: each checker's default).
    pub delay_before_retry: Option<Duration>,
    /// `warmup` (None: each checker's delay_loop).
    pub warmup: Option<Duration>,
    /// `uthreshold`: upper connection threshold.
    pub uthreshold: Option<u32>,
    /// `lthreshold`: lower connection threshold.
    pub lthreshold: Option<u32>,
    /// `notify_up` script.
    pub notify_up: Option<Command>,
    /// `notify_down` script.
    pub notify_down: Option<Command>,
    /// `virtualhost` (default: the virtual server's).
    pub virtualhost: Option<String>,
    /// `smtp_alert`.
    pub smtp_alert: bool,
    /// Health checkers, in order.
    pub checkers: Vec<Checker>,
    /// Where `real_server` was written.
    pub span: Span,
}

impl RealServer {
    /// The address family.
    pub fn family(&self) -> Family {
        Family::of(&self.addr.ip())
    }
}

/// One entry of a `virtual_server_group`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum VsgEntry {
    /// `IP[-END|/LEN] [PORT]`: the addresses `first..=last`, each a
    /// service on `port` (0: persistent, any port).
    Range {
        /// First address.
        first: IpAddr,
        /// Last address (== first for a single address).
        last: IpAddr,
        /// Port.
        port: u16,
        /// Where it was written.
        span: Span,
    },
    /// `fwmark N [inet|inet6]`.
    Fwmark {
        /// The mark.
        mark: u32,
        /// The family, if given.
        family: Option<Family>,
        /// Where it was written.
        span: Span,
    },
}

/// A `virtual_server_group NAME { ... }`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VirtualServerGroup {
    /// Group name.
    pub name: String,
    /// Entries, in order.
    pub entries: Vec<VsgEntry>,
    /// Where it was written.
    pub span: Span,
}
