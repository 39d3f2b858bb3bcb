//! Virtual services: what identifies one ([`ServiceKey`]) and what can be
//! edited in place ([`Service`]: scheduler, flags, persistence).

use std::cmp::Ordering;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

/// A transport protocol an address-based virtual service matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Protocol {
    /// TCP (IP protocol 6).
    Tcp,
    /// UDP (IP protocol 17).
    Udp,
    /// SCTP (IP protocol 132).
    Sctp,
}

impl Protocol {
    /// The IP protocol number the kernel uses for it.
    pub const fn number(self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
        }
    }

    /// The protocol with IP protocol number `n`, if IPVS supports it.
    pub const fn from_number(n: u8) -> Option<Protocol> {
        match n {
            6 => Some(Protocol::Tcp),
            17 => Some(Protocol::Udp),
            132 => Some(Protocol::Sctp),
            _ => None,
        }
    }

    /// keepalived's (and ipvsadm's) spelling: `TCP`, `UDP`, `SCTP`.
    pub const fn keyword(self) -> &'static str {
        self.name()
    }

    /// The name `ipvsadm` prints: `TCP`, `UDP`, `SCTP`.
    pub const fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An address family (the one type for it: the packet layer's).
pub use crate::packet::Family;

/// What identifies a virtual service in the kernel: protocol, address and
/// port, or a firewall mark and an address family.
///
/// The order is `ipvsadm`'s sort order for well-behaved keys: address
/// services before fwmark services, then family, protocol, address, port
/// (fwmark services by mark, then family).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ServiceKey {
    /// A `-t`/`-u`/`--sctp-service` service.
    Addr {
        /// Transport protocol.
        protocol: Protocol,
        /// Virtual address.
        addr: IpAddr,
        /// Virtual port (0 matches every port).
        port: u16,
    },
    /// A `-f` service matching packets carrying a firewall mark.
    Fwmark {
        /// The mark (never 0).
        mark: u32,
        /// Which family's packets it matches.
        family: Family,
    },
}

impl ServiceKey {
    /// An address-based service key.
    pub const fn addr(protocol: Protocol, addr: IpAddr, port: u16) -> ServiceKey {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        }
    }

    /// A TCP service key.
    pub const fn tcp(addr: IpAddr, port: u16) -> ServiceKey {
        ServiceKey::addr(Protocol::Tcp, addr, port)
    }

    /// A fwmark service key.
    pub const fn fwmark(mark: u32, family: Family) -> ServiceKey {
        ServiceKey::Fwmark { mark, family }
    }

    /// The service's address family.
    pub const fn family(&self) -> Family {
        match self {
            ServiceKey::Addr { addr, .. } => Family::of(addr),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }

    /// The fwmark, 0 for address services (as the kernel reports it).
    pub const fn mark(&self) -> u32 {
        match self {
            ServiceKey::Addr { .. } => 0,
            ServiceKey::Fwmark { mark, .. } => *mark,
        }
    }

    /// The IP protocol number, 0 for fwmark services.
    pub const fn protocol_number(&self) -> u8 {
        match self {
            ServiceKey::Addr { protocol, .. } => protocol.number(),
            ServiceKey::Fwmark { .. } => 0,
        }
    }

    /// The virtual port, 0 for fwmark services.
    pub const fn port(&self) -> u16 {
        match self {
            ServiceKey::Addr { port, .. } => *port,
            ServiceKey::Fwmark { .. } => 0,
        }
    }

    fn sort_key(&self) -> (u32, u16, u8, u128, u16) {
        match self {
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => (
                0,
                Family::of(addr).number(),
                protocol.number(),
                addr_bits(addr),
                *port,
            ),
            ServiceKey::Fwmark { mark, family } => (*mark, family.number(), 0, 0, 0),
        }
    }
}

/// An address as an integer in network order (IPv4 in the low 32 bits).
pub(crate) fn addr_bits(addr: &IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u32::from(*a) as u128,
        IpAddr::V6(a) => u128::from(*a),
    }
}

impl Ord for ServiceKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.sort_key().cmp(&other.sort_key())
    }
}

impl PartialOrd for ServiceKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for ServiceKey {
    /// `tcp/172.17.1.160:80`, `udp/[2001:db8::1]:53`, `fwm/1`, `fwm6/1`:
    /// one token, for traces and diagnostics.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => {
                let p = match protocol {
                    Protocol::Tcp => "tcp",
                    Protocol::Udp => "udp",
                    Protocol::Sctp => "sctp",
                };
                match addr {
                    IpAddr::V4(a) => write!(f, "{p}/{a}:{port}"),
                    IpAddr::V6(a) => write!(f, "{p}/[{a}]:{port}"),
                }
            }
            ServiceKey::Fwmark {
                mark,
                family: Family::V4,
            } => write!(f, "fwm/{mark}"),
            ServiceKey::Fwmark {
                mark,
                family: Family::V6,
            } => write!(f, "fwm6/{mark}"),
        }
    }
}

/// An IPVS scheduler, by the name the kernel module registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Scheduler {
    /// Round robin.
    Rr,
    /// Weighted round robin.
    Wrr,
    /// Least connection.
    Lc,
    /// Weighted least connection.
    Wlc,
    /// Locality-based least connection.
    Lblc,
    /// Locality-based least connection with replication.
    Lblcr,
    /// Destination hashing.
    Dh,
    /// Source hashing.
    Sh,
    /// Shortest expected delay.
    Sed,
    /// Never queue.
    Nq,
    /// Weighted failover.
    Fo,
    /// Weighted overflow.
    Ovf,
    /// Maglev hashing.
    Mh,
    /// Weighted random twos choice.
    Twos,
}

impl Scheduler {
    /// Every scheduler Linux 6.1 ships.
    pub const ALL: [Scheduler; 14] = [
        Scheduler::Rr,
        Scheduler::Wrr,
        Scheduler::Lc,
        Scheduler::Wlc,
        Scheduler::Lblc,
        Scheduler::Lblcr,
        Scheduler::Dh,
        Scheduler::Sh,
        Scheduler::Sed,
        Scheduler::Nq,
        Scheduler::Fo,
        Scheduler::Ovf,
        Scheduler::Mh,
        Scheduler::Twos,
    ];

    /// Every scheduler, in keepalived's order (check_parser.c).
    pub const KEEPALIVED: [Scheduler; 14] = [
        Scheduler::Rr,
        Scheduler::Wrr,
        Scheduler::Lc,
        Scheduler::Wlc,
        Scheduler::Lblc,
        Scheduler::Sh,
        Scheduler::Mh,
        Scheduler::Dh,
        Scheduler::Fo,
        Scheduler::Ovf,
        Scheduler::Lblcr,
        Scheduler::Sed,
        Scheduler::Nq,
        Scheduler::Twos,
    ];

    /// The scheduler called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Scheduler> {
        Scheduler::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The kernel's name for it (`rr`, `wlc`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            Scheduler::Rr => "rr",
            Scheduler::Wrr => "wrr",
            Scheduler::Lc => "lc",
            Scheduler::Wlc => "wlc",
            Scheduler::Lblc => "lblc",
            Scheduler::Lblcr => "lblcr",
            Scheduler::Dh => "dh",
            Scheduler::Sh => "sh",
            Scheduler::Sed => "sed",
            Scheduler::Nq => "nq",
            Scheduler::Fo => "fo",
            Scheduler::Ovf => "ovf",
            Scheduler::Mh => "mh",
            Scheduler::Twos => "twos",
        }
    }
}

impl fmt::Display for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A scheduler name no kernel module registers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownScheduler(pub String);

impl fmt::Display for UnknownScheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown IPVS scheduler `{}`", self.0)
    }
}

impl std::error::Error for UnknownScheduler {}

impl FromStr for Scheduler {
    type Err = UnknownScheduler;
    fn from_str(s: &str) -> Result<Scheduler, UnknownScheduler> {
        Scheduler::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| UnknownScheduler(s.to_string()))
    }
}

/// The service flags that are configuration (not the kernel's internal
/// `HASHED`, and not `PERSISTENT`, which [`Service::persistence`] carries).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ServiceFlags(u32);

impl ServiceFlags {
    /// No flags.
    pub const NONE: ServiceFlags = ServiceFlags(0);
    /// `IP_VS_SVC_F_PERSISTENT` (kernel bit; use [`Service::persistence`]).
    pub const PERSISTENT_BIT: u32 = 0x0001;
    /// `IP_VS_SVC_F_HASHED` (kernel-internal bit).
    pub const HASHED_BIT: u32 = 0x0002;
    /// One-packet scheduling (`ops`).
    pub const ONE_PACKET: ServiceFlags = ServiceFlags(0x0004);
    /// Scheduler flag 1.
    pub const SCHED1: ServiceFlags = ServiceFlags(0x0008);
    /// Scheduler flag 2.
    pub const SCHED2: ServiceFlags = ServiceFlags(0x0010);
    /// Scheduler flag 3.
    pub const SCHED3: ServiceFlags = ServiceFlags(0x0020);
    /// `sh-fallback` (scheduler flag 1 of `sh`).
    pub const SH_FALLBACK: ServiceFlags = ServiceFlags::SCHED1;
    /// `sh-port` (scheduler flag 2 of `sh`).
    pub const SH_PORT: ServiceFlags = ServiceFlags::SCHED2;
    /// `mh-fallback` (scheduler flag 1 of `mh`).
    pub const MH_FALLBACK: ServiceFlags = ServiceFlags::SCHED1;
    /// `mh-port` (scheduler flag 2 of `mh`).
    pub const MH_PORT: ServiceFlags = ServiceFlags::SCHED2;
    const MASK: u32 = 0x003c;

    /// The configuration flags among the kernel's `svc->flags` bits.
    pub const fn from_kernel(bits: u32) -> ServiceFlags {
        ServiceFlags(bits & Self::MASK)
    }

    /// The raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: ServiceFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any scheduler flag is set.
    pub const fn any_sched(self) -> bool {
        self.0 & 0x38 != 0
    }

    /// These flags and `other`'s.
    pub const fn union(self, other: ServiceFlags) -> ServiceFlags {
        ServiceFlags(self.0 | other.0)
    }
}

impl std::ops::BitOr for ServiceFlags {
    type Output = ServiceFlags;
    fn bitor(self, rhs: ServiceFlags) -> ServiceFlags {
        self.union(rhs)
    }
}

impl std::ops::BitOrAssign for ServiceFlags {
    fn bitor_assign(&mut self, rhs: ServiceFlags) {
        *self = self.union(rhs);
    }
}

/// The persistence netmask, in the kernel's encoding: for IPv4 the mask
/// itself (`0xffffffff` = /32), for IPv6 a prefix length (128 = /128).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Netmask(pub u32);

impl Netmask {
    /// The netmask of a /`len` prefix in `family` (`len` is clamped).
    pub const fn prefix(family: Family, len: u8) -> Netmask {
        match family {
            Family::V4 => {
                let len = if len > 32 { 32 } else { len };
                if len == 0 {
                    Netmask(0)
                } else {
                    Netmask(u32::MAX << (32 - len))
                }
            }
            Family::V6 => Netmask(if len > 128 { 128 } else { len as u32 }),
        }
    }

    /// An IPv4 mask given as an address (`255.255.255.0`).
    pub fn v4(mask: Ipv4Addr) -> Netmask {
        Netmask(u32::from(mask))
    }

    /// The host netmask (every address its own client group).
    pub const fn full(family: Family) -> Netmask {
        Netmask::prefix(family, 128)
    }

    /// Whether this is the host netmask of `family`.
    pub const fn is_full(self, family: Family) -> bool {
        match family {
            Family::V4 => self.0 == u32::MAX,
            Family::V6 => self.0 == 128,
        }
    }

    /// `addr` with the bits outside the mask cleared (the kernel's client
    /// network for persistence templates).
    pub fn apply(self, addr: IpAddr) -> IpAddr {
        match addr {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & self.0)),
            IpAddr::V6(a) => {
                let len = self.0.min(128);
                let mask = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - len)
                };
                IpAddr::V6((u128::from(a) & mask).into())
            }
        }
    }
}

/// Client affinity: connections from one client network stick to one
/// destination while a template lives.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Persistence {
    /// Template lifetime in seconds (`persistence_timeout`, `-p`).
    pub timeout: u32,
    /// Client granularity (`persistence_granularity`, `-M`).
    pub netmask: Netmask,
    /// Persistence engine name (`persistence_engine`, `--pe`), if any.
    pub engine: Option<String>,
}

impl Persistence {
    /// Persistence with a host netmask and no engine.
    pub const fn new(timeout: u32, family: Family) -> Persistence {
        Persistence {
            timeout,
            netmask: Netmask::full(family),
            engine: None,
        }
    }
}

/// What can change on a service without recreating it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Service {
    /// The scheduler.
    pub scheduler: Scheduler,
    /// One-packet and scheduler flags.
    pub flags: ServiceFlags,
    /// Client affinity, when the service is persistent.
    pub persistence: Option<Persistence>,
}

impl Service {
    /// A service with `scheduler`, no flags, not persistent.
    pub const fn new(scheduler: Scheduler) -> Service {
        Service {
            scheduler,
            flags: ServiceFlags::NONE,
            persistence: None,
        }
    }

    /// The same service with flags `flags`.
    pub fn with_flags(mut self, flags: ServiceFlags) -> Service {
        self.flags = flags;
        self
    }

    /// The same service made persistent.
    pub fn with_persistence(mut self, persistence: Persistence) -> Service {
        self.persistence = Some(persistence);
        self
    }

    /// The flag bits the kernel holds (configuration flags plus
    /// `PERSISTENT`; never `HASHED`).
    pub fn kernel_flags(&self) -> u32 {
        let p = if self.persistence.is_some() {
            ServiceFlags::PERSISTENT_BIT
        } else {
            0
        };
        self.flags.bits() | p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    #[test]
    fn key_order_is_ipvsadm_order() {
        let v4 = |s: &str| IpAddr::V4(s.parse().unwrap());
        let v6 = |s: &str| IpAddr::V6(s.parse::<Ipv6Addr>().unwrap());
        let mut keys = vec![
            ServiceKey::fwmark(2, Family::V4),
            ServiceKey::fwmark(1, Family::V6),
            ServiceKey::fwmark(1, Family::V4),
            ServiceKey::addr(Protocol::Sctp, v4("10.0.0.1"), 1),
            ServiceKey::addr(Protocol::Udp, v4("10.0.0.1"), 53),
            ServiceKey::addr(Protocol::Tcp, v6("2001:db8::1"), 80),
            ServiceKey::tcp(v4("10.0.0.2"), 80),
            ServiceKey::tcp(v4("10.0.0.1"), 443),
            ServiceKey::tcp(v4("10.0.0.1"), 80),
        ];
        keys.sort();
        let shown: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        assert_eq!(
            shown,
            [
                "tcp/10.0.0.1:80",
                "tcp/10.0.0.1:443",
                "tcp/10.0.0.2:80",
                "udp/10.0.0.1:53",
                "sctp/10.0.0.1:1",
                "tcp/[2001:db8::1]:80",
                "fwm/1",
                "fwm6/1",
                "fwm/2",
            ]
        );
    }

    #[test]
    fn scheduler_names_round_trip() {
        for s in Scheduler::ALL {
            assert_eq!(s.name().parse::<Scheduler>(), Ok(s));
        }
        assert_eq!(
            "wlcx".parse::<Scheduler>(),
            Err(UnknownScheduler("wlcx".into()))
        );
    }

    #[test]
    fn netmask_encodings() {
        assert_eq!(
            Netmask::prefix(Family::V4, 24),
            Netmask::v4(Ipv4Addr::new(255, 255, 255, 0))
        );
        assert_eq!(Netmask::prefix(Family::V4, 0), Netmask(0));
        assert!(Netmask::full(Family::V4).is_full(Family::V4));
        assert_eq!(Netmask::full(Family::V6), Netmask(128));
        let m = Netmask::prefix(Family::V4, 24);
        assert_eq!(
            m.apply("192.0.2.77".parse().unwrap()),
            "192.0.2.0".parse::<IpAddr>().unwrap()
        );
        let m6 = Netmask::prefix(Family::V6, 48);
        assert_eq!(
            m6.apply("2001:db8:1:2::5".parse().unwrap()),
            "2001:db8:1::".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn flags_keep_configuration_bits_only() {
        let f = ServiceFlags::from_kernel(0x0001 | 0x0002 | 0x0004 | 0x0010);
        assert_eq!(f, ServiceFlags::ONE_PACKET | ServiceFlags::SH_PORT);
        assert!(f.any_sched());
        assert!(!ServiceFlags::ONE_PACKET.any_sched());
        let s = Service::new(Scheduler::Sh)
            .with_flags(f)
            .with_persistence(Persistence::new(50, Family::V4));
        assert_eq!(s.kernel_flags(), 0x0015);
    }
}
