//! How the segment is carried over turmoil: ports standing in for
//! protocols turmoil does not carry, and the MAC of every host.

use std::net::IpAddr;

use vigil_core::packet::MacAddr;

use crate::scenario::{Host, Scenario};

/// UDP port carrying VRRP: each datagram's payload is the whole IP
/// datagram core builds (header and VRRP message).
pub const VRRP_PORT: u16 = 112;
/// UDP port carrying ARP: each datagram's payload is an Ethernet frame
/// (gratuitous ARP, request or reply), broadcast or unicast.
pub const ARP_PORT: u16 = 2054;
/// UDP port clients receive their answers on (client traffic is carried
/// as [`super::dr::Segment`]s; services keep their own port numbers).
pub const CLIENT_PORT: u16 = 4000;
/// UDP port of the echo service that stands in for ICMP echo.
pub const ECHO_PORT: u16 = 7;

/// The MAC address of `host`: directors 02:00:00:00:00:01.., real servers
/// ..:65 (101).., clients ..:c9 (201)...
pub fn mac(host: Host) -> MacAddr {
    MacAddr::local(match host {
        Host::Director(i) => 1 + i as u32,
        Host::RealServer(i) => 101 + i as u32,
        Host::Client(i) => 201 + i as u32,
    })
}

/// The host whose MAC is `m`.
pub fn host_of_mac(s: &Scenario, m: MacAddr) -> Option<Host> {
    s.hosts().into_iter().find(|h| mac(*h) == m)
}

/// The host whose address is `a`.
pub fn host_of_addr(s: &Scenario, a: IpAddr) -> Option<Host> {
    s.hosts().into_iter().find(|h| s.host_address(*h) == a)
}
