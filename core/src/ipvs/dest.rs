//! Destinations (real servers) of a virtual service: what identifies one
//! ([`DestKey`]) and what can be edited in place ([`Dest`]).

use std::fmt;
use std::net::IpAddr;

use super::service::addr_bits;

/// How packets reach a destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ForwardMethod {
    /// NAT (`-m`, keepalived `lb_kind NAT`).
    Masq,
    /// The director itself (the kernel picks it for local addresses).
    Local,
    /// IP-in-IP tunnel (`-i`, keepalived `lb_kind TUN`).
    Tunnel,
    /// Direct routing (`-g`, keepalived `lb_kind DR`).
    Route,
}

impl ForwardMethod {
    /// The kernel's `IP_VS_CONN_F_*` forwarding code.
    pub const fn code(self) -> u32 {
        match self {
            ForwardMethod::Masq => 0,
            ForwardMethod::Local => 1,
            ForwardMethod::Tunnel => 2,
            ForwardMethod::Route => 3,
        }
    }

    /// The method with forwarding code `code & 7`, if it is one.
    pub const fn from_code(code: u32) -> Option<ForwardMethod> {
        match code & 7 {
            0 => Some(ForwardMethod::Masq),
            1 => Some(ForwardMethod::Local),
            2 => Some(ForwardMethod::Tunnel),
            3 => Some(ForwardMethod::Route),
            _ => None,
        }
    }

    /// The name `ipvsadm -L` prints: `Masq`, `Local`, `Tunnel`, `Route`.
    pub const fn name(self) -> &'static str {
        match self {
            ForwardMethod::Masq => "Masq",
            ForwardMethod::Local => "Local",
            ForwardMethod::Tunnel => "Tunnel",
            ForwardMethod::Route => "Route",
        }
    }

    /// The `ipvsadm` switch that selects it (`-m`, `-i`, `-g`).
    pub const fn switch(self) -> &'static str {
        match self {
            ForwardMethod::Masq => "-m",
            ForwardMethod::Tunnel => "-i",
            ForwardMethod::Local | ForwardMethod::Route => "-g",
        }
    }
}

impl fmt::Display for ForwardMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What identifies a destination within its service: address and port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DestKey {
    /// Real server address.
    pub addr: IpAddr,
    /// Real server port (0 for fwmark services forwarded without NAT).
    pub port: u16,
}

impl DestKey {
    /// The destination `addr:port`.
    pub const fn new(addr: IpAddr, port: u16) -> DestKey {
        DestKey { addr, port }
    }
}

impl Ord for DestKey {
    /// IPv4 before IPv6, then address, then port (`ipvsadm`'s order within
    /// one family).
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let fam = |a: &IpAddr| matches!(a, IpAddr::V6(_));
        (fam(&self.addr), addr_bits(&self.addr), self.port).cmp(&(
            fam(&other.addr),
            addr_bits(&other.addr),
            other.port,
        ))
    }
}

impl PartialOrd for DestKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for DestKey {
    /// `172.17.1.152:80`, `[2001:db8::10]:80`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.port),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.port),
        }
    }
}

/// What can change on a destination without recreating it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Dest {
    /// How packets reach it.
    pub forward: ForwardMethod,
    /// Scheduling weight (0 = quiesced: no new connections).
    pub weight: u32,
    /// Upper connection threshold (0 = none): at or above it the
    /// destination is overloaded.
    pub u_threshold: u32,
    /// Lower connection threshold (0 = three quarters of the upper one):
    /// below it an overloaded destination recovers.
    pub l_threshold: u32,
}

impl Dest {
    /// A destination with `forward` and `weight`, no thresholds.
    pub const fn new(forward: ForwardMethod, weight: u32) -> Dest {
        Dest {
            forward,
            weight,
            u_threshold: 0,
            l_threshold: 0,
        }
    }

    /// The same destination with thresholds `upper` and `lower`.
    pub const fn with_thresholds(mut self, upper: u32, lower: u32) -> Dest {
        self.u_threshold = upper;
        self.l_threshold = lower;
        self
    }

    /// The same destination with weight `weight`.
    pub const fn with_weight(mut self, weight: u32) -> Dest {
        self.weight = weight;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_codes_round_trip() {
        for m in [
            ForwardMethod::Masq,
            ForwardMethod::Local,
            ForwardMethod::Tunnel,
            ForwardMethod::Route,
        ] {
            assert_eq!(ForwardMethod::from_code(m.code()), Some(m));
        }
        assert_eq!(ForwardMethod::from_code(4), None);
        assert_eq!(
            ForwardMethod::from_code(0x100 | 3),
            Some(ForwardMethod::Route)
        );
    }

    #[test]
    fn dest_keys_order_and_display() {
        let a = DestKey::new("172.17.1.153".parse().unwrap(), 80);
        let b = DestKey::new("172.17.1.152".parse().unwrap(), 8080);
        let c = DestKey::new("2001:db8::1".parse().unwrap(), 1);
        let mut v = vec![c, a, b];
        v.sort();
        assert_eq!(v, vec![b, a, c]);
        assert_eq!(c.to_string(), "[2001:db8::1]:1");
        assert_eq!(a.to_string(), "172.17.1.153:80");
    }
}
