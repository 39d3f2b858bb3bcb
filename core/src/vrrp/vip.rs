//! A virtual IP address as an instance adds and removes it.

use std::fmt;
use std::net::IpAddr;

/// One `virtual_ipaddress` entry: address, prefix and the `ip addr`
/// attributes keepalived passes along.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Vip {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length (keepalived's default: /32 or /128).
    pub prefix_len: u8,
    /// Interface to add it on (`dev`); the instance's interface when unset.
    pub dev: Option<String>,
    /// Address label (`label eth0:1`).
    pub label: Option<String>,
    /// Broadcast address (`brd`).
    pub broadcast: Option<IpAddr>,
    /// Scope name (`scope global|link|host|…`).
    pub scope: Option<String>,
}

impl Vip {
    /// A host-route VIP (/32 or /128) with no attributes.
    pub fn host(addr: IpAddr) -> Vip {
        let prefix_len = if addr.is_ipv4() { 32 } else { 128 };
        Vip {
            addr,
            prefix_len,
            dev: None,
            label: None,
            broadcast: None,
            scope: None,
        }
    }
}

impl fmt::Display for Vip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)?;
        if let Some(d) = &self.dev {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}
