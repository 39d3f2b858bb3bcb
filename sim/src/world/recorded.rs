//! A recorded peer on the segment: sends its capture's VRRP datagrams
//! (UDP multicast or unicast on the VRRP port, payload the IP datagram)
//! and gratuitous ARPs (UDP broadcast on the ARP port, payload the frame)
//! at their times, as a director would put them on the wire.

use std::net::SocketAddr;
use std::time::Duration;

use turmoil::net::UdpSocket;
use vigil_core::harness;
use vigil_core::packet::{MacAddr, frame};
use vigil_core::trace::Event;

use super::net::{ARP_PORT, VRRP_PORT};
use super::shared::{Shared, now};
use crate::scenario::recorded::{Injected, mac_of};

/// The host future of recorded peer `idx`.
pub async fn run(shared: Shared, idx: usize) -> turmoil::Result {
    let peer = shared.borrow().scenario.recorded_peers[idx].clone();
    let vrrp_sock = UdpSocket::bind(("0.0.0.0", VRRP_PORT)).await?;
    let arp_sock = UdpSocket::bind(("0.0.0.0", ARP_PORT)).await?;
    arp_sock.set_broadcast(true)?;
    let mac = mac_of(idx);
    let trace = |what: &str, detail: String| {
        let ev = Event::Harness(harness::Event::Fault {
            action: what.to_string(),
            detail,
        });
        shared.borrow_mut().trace(now(), &peer.name, ev);
    };
    let wait = |at: Duration| {
        let now = now().since_origin();
        tokio::time::sleep(at.saturating_sub(now))
    };
    if let Some(first) = peer.packets.first() {
        wait(first.at).await;
        trace(
            "recorded-peer-start",
            format!(
                "pcap={} source={} packets={}",
                peer.pcap.rsplit('/').next().unwrap_or(&peer.pcap),
                peer.source,
                peer.packets.len()
            ),
        );
    }
    for p in &peer.packets {
        wait(p.at).await;
        match &p.what {
            Injected::Vrrp { dst, datagram } => {
                let ethertype = if dst.is_ipv4() {
                    frame::ETHERTYPE_IPV4
                } else {
                    frame::ETHERTYPE_IPV6
                };
                let bytes = frame::ethernet(
                    frame::dst_mac(*dst, MacAddr::BROADCAST),
                    mac,
                    None,
                    ethertype,
                    datagram,
                );
                shared.borrow_mut().rec.frame(now(), || bytes);
                let _ = vrrp_sock
                    .send_to(datagram, SocketAddr::new(*dst, VRRP_PORT))
                    .await;
            }
            Injected::Announce(bytes) => {
                shared.borrow_mut().rec.frame(now(), || bytes.clone());
                let _ = arp_sock.send_to(bytes, ("255.255.255.255", ARP_PORT)).await;
            }
        }
    }
    if let Some(last) = peer.packets.last() {
        trace("recorded-peer-end", format!("last-packet={}", last.index));
    }
    // Stay up (a host whose future ends is removed from the world).
    std::future::pending::<()>().await;
    Ok(())
}
