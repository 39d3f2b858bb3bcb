//! rtnetlink access: interfaces (index, MAC, link state), their
//! addresses, adding and removing VIPs, and the link-state monitor.

use std::io;
use std::net::IpAddr;

use futures::StreamExt;
use futures::channel::mpsc::UnboundedReceiver;
use netlink_packet_core::NetlinkPayload;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressMessage, AddressProtocol, AddressScope,
};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use rtnetlink::{Handle, MulticastGroup};
use vigil_core::packet::MacAddr;
use vigil_core::vrrp::Vip;

/// The address protocol (`IFA_PROTO`) vigild tags its VIPs with, so that
/// a restarted vigild finds and removes the VIPs an earlier crash left
/// (`ip addr` shows it as `proto 118`). Kernels before 5.18 ignore it.
pub const VIGIL_ADDR_PROTO: u8 = 118;

/// One network interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// Interface index.
    pub index: u32,
    /// Name.
    pub name: String,
    /// Hardware address (none for interfaces without one).
    pub mac: Option<MacAddr>,
    /// Up and running (keepalived: IFF_UP and IFF_RUNNING).
    pub up: bool,
}

impl Link {
    /// The link a netlink link message describes.
    pub fn from_message(m: &LinkMessage) -> Option<Link> {
        let name = m.attributes.iter().find_map(|a| match a {
            LinkAttribute::IfName(n) => Some(n.clone()),
            _ => None,
        })?;
        let mac = m.attributes.iter().find_map(|a| match a {
            LinkAttribute::Address(b) if b.len() == 6 => {
                Some(MacAddr([b[0], b[1], b[2], b[3], b[4], b[5]]))
            }
            _ => None,
        });
        let f = m.header.flags;
        Some(Link {
            index: m.header.index,
            name,
            mac,
            up: f.contains(LinkFlags::Up) && f.contains(LinkFlags::Running),
        })
    }
}

/// One address on an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Addr {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
    /// `IFA_PROTO`, when the kernel reports one.
    pub proto: Option<u8>,
    /// The raw message (to delete it exactly).
    pub message: AddressMessage,
}

/// A netlink route connection (its task runs on the current runtime).
#[derive(Clone, Debug)]
pub struct Net {
    handle: Handle,
}

/// A netlink failure, as one line.
pub type NetError = String;

impl Net {
    /// Opens a connection; its driver task is spawned on the current
    /// tokio runtime.
    pub fn connect() -> io::Result<Net> {
        let (conn, handle, _) = rtnetlink::new_connection()?;
        tokio::spawn(conn);
        Ok(Net { handle })
    }

    /// The interface called `name`, if it exists.
    pub async fn link(&self, name: &str) -> Result<Option<Link>, NetError> {
        let mut s = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute();
        match s.next().await {
            Some(Ok(m)) => Ok(Link::from_message(&m)),
            Some(Err(rtnetlink::Error::NetlinkError(e))) if e.raw_code() == -libc::ENODEV => {
                Ok(None)
            }
            Some(Err(e)) => Err(e.to_string()),
            None => Ok(None),
        }
    }

    /// Every interface.
    pub async fn links(&self) -> Result<Vec<Link>, NetError> {
        let mut s = self.handle.link().get().execute();
        let mut out = Vec::new();
        while let Some(m) = s.next().await {
            let m = m.map_err(|e| e.to_string())?;
            out.extend(Link::from_message(&m));
        }
        Ok(out)
    }

    /// The addresses of interface `index`, in the kernel's order.
    pub async fn addresses(&self, index: u32) -> Result<Vec<Addr>, NetError> {
        let mut s = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute();
        let mut out = Vec::new();
        while let Some(m) = s.next().await {
            let m = m.map_err(|e| e.to_string())?;
            if m.header.index != index {
                continue;
            }
            let addr = m.attributes.iter().find_map(|a| match a {
                AddressAttribute::Local(a) => Some(*a),
                _ => None,
            });
            let addr = addr.or_else(|| {
                m.attributes.iter().find_map(|a| match a {
                    AddressAttribute::Address(a) => Some(*a),
                    _ => None,
                })
            });
            let proto = m.attributes.iter().find_map(|a| match a {
                AddressAttribute::Protocol(p) => Some(u8::from(*p)),
                _ => None,
            });
            if let Some(addr) = addr {
                out.push(Addr {
                    addr,
                    prefix_len: m.header.prefix_len,
                    proto,
                    message: m,
                });
            }
        }
        Ok(out)
    }

    /// The address VRRP adverts on `index` come from: the first IPv4
    /// address (`ipv6` false) or the IPv6 link-local address. Addresses
    /// in `exclude` (the VIPs) are skipped.
    pub async fn primary(
        &self,
        index: u32,
        ipv6: bool,
        exclude: &[IpAddr],
    ) -> Result<Option<IpAddr>, NetError> {
        let addrs = self.addresses(index).await?;
        Ok(addrs
            .iter()
            .filter(|a| !exclude.contains(&a.addr) && a.proto != Some(VIGIL_ADDR_PROTO))
            .map(|a| a.addr)
            .find(|a| match a {
                IpAddr::V4(_) => !ipv6,
                IpAddr::V6(v6) => ipv6 && (v6.segments()[0] & 0xffc0) == 0xfe80,
            }))
    }

    /// Adds `vip` to interface `index` (label, broadcast, scope as
    /// configured; IPv6 without DAD), tagged with [`VIGIL_ADDR_PROTO`].
    /// An address already there is not an error.
    pub async fn add_vip(&self, index: u32, vip: &Vip) -> Result<(), NetError> {
        let mut req = self.handle.address().add(index, vip.addr, vip.prefix_len);
        let m = req.message_mut();
        m.attributes
            .retain(|a| !matches!(a, AddressAttribute::Broadcast(_)));
        if let Some(IpAddr::V4(b)) = vip.broadcast {
            m.attributes.push(AddressAttribute::Broadcast(b));
        }
        if let Some(l) = &vip.label {
            m.attributes.push(AddressAttribute::Label(l.clone()));
        }
        if let Some(s) = &vip.scope {
            m.header.scope = AddressScope::from(scope_number(s));
        }
        if vip.addr.is_ipv6() {
            m.attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        m.attributes
            .push(AddressAttribute::Protocol(AddressProtocol::from(
                VIGIL_ADDR_PROTO,
            )));
        match req.execute().await {
            Ok(()) => Ok(()),
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::EEXIST => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Removes `addr` from interface `index`; true when it was there.
    pub async fn del_addr(&self, index: u32, addr: IpAddr) -> Result<bool, NetError> {
        let found = self
            .addresses(index)
            .await?
            .into_iter()
            .find(|a| a.addr == addr);
        let Some(a) = found else { return Ok(false) };
        match self.handle.address().del(a.message).execute().await {
            Ok(()) => Ok(true),
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::EADDRNOTAVAIL => {
                Ok(false)
            }
            Err(e) => Err(e.to_string()),
        }
    }
}

/// A scope name as `ip` spells it, as a number (unknown names: global).
pub fn scope_number(s: &str) -> u8 {
    match s {
        "global" => 0,
        "site" => 200,
        "link" => 253,
        "host" => 254,
        "nowhere" => 255,
        n => n.parse().unwrap_or(0),
    }
}

/// The address a message is about: its local address, else its address.
fn address_of(m: &AddressMessage) -> Option<IpAddr> {
    m.attributes
        .iter()
        .find_map(|a| match a {
            AddressAttribute::Local(a) => Some(*a),
            _ => None,
        })
        .or_else(|| {
            m.attributes.iter().find_map(|a| match a {
                AddressAttribute::Address(a) => Some(*a),
                _ => None,
            })
        })
}

/// Addresses removed (`RTM_DELADDR`) as it happens: interface index and
/// address. The connection's task is spawned on the current runtime.
pub fn monitor_removed_addresses() -> io::Result<UnboundedReceiver<(u32, IpAddr)>> {
    let (conn, _handle, mut messages) = rtnetlink::new_multicast_connection(&[
        MulticastGroup::Ipv4Ifaddr,
        MulticastGroup::Ipv6Ifaddr,
    ])?;
    tokio::spawn(conn);
    let (tx, rx) = futures::channel::mpsc::unbounded();
    tokio::spawn(async move {
        while let Some((msg, _)) = messages.next().await {
            let NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelAddress(m)) = msg.payload
            else {
                continue;
            };
            if let Some(a) = address_of(&m)
                && tx.unbounded_send((m.header.index, a)).is_err()
            {
                break;
            }
        }
    });
    Ok(rx)
}

/// Link changes (`RTM_NEWLINK`/`RTM_DELLINK`) as they happen. The
/// connection's task is spawned on the current runtime. A deleted link is
/// reported down.
pub fn monitor_links() -> io::Result<UnboundedReceiver<Link>> {
    let (conn, _handle, mut messages) =
        rtnetlink::new_multicast_connection(&[MulticastGroup::Link])?;
    tokio::spawn(conn);
    let (tx, rx) = futures::channel::mpsc::unbounded();
    tokio::spawn(async move {
        while let Some((msg, _)) = messages.next().await {
            let link = match msg.payload {
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(m)) => {
                    Link::from_message(&m)
                }
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(m)) => {
                    Link::from_message(&m).map(|l| Link { up: false, ..l })
                }
                _ => None,
            };
            if let Some(l) = link
                && tx.unbounded_send(l).is_err()
            {
                break;
            }
        }
    });
    Ok(rx)
}
