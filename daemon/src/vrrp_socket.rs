//! VRRP on raw sockets (IP protocol 112), one socket per interface and
//! family.
//!
//! - IPv4: `IP_HDRINCL`, so the header on the wire is the one core built
//!   (TTL 255, TOS 0xc0, no fragment flags); the kernel always fills the
//!   header checksum and, since core leaves it 0, the identification.
//!   Received datagrams come with their IP header, for
//!   the director's `Input::Datagram`.
//! - IPv6: hop limit 255 and traffic class 0xc0 set on the socket, the
//!   source (the link-local address) and interface given per packet with
//!   `IPV6_PKTINFO`; received messages come with their hop limit
//!   (`IPV6_RECVHOPLIMIT`) and destination (`IPV6_RECVPKTINFO`).
//!
//! Both join the group on the interface, are bound to it, and do not loop
//! their own multicast back.

use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::os::fd::AsRawFd;

use nix::sys::socket::{
    ControlMessage, ControlMessageOwned, MsgFlags, SockaddrIn6, recvmsg, sendmsg, setsockopt,
    sockopt,
};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;
use vigil_core::packet::ip::Meta;
use vigil_core::packet::vrrp::{TOS, TTL};

/// A received VRRP datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// IPv4: the whole datagram, header included.
    Datagram(Vec<u8>),
    /// IPv6: the VRRP message and what the kernel said about it.
    Message {
        /// Source, destination, hop limit.
        meta: Meta,
        /// The VRRP message.
        message: Vec<u8>,
    },
}

/// A raw VRRP socket bound to one interface, for one family.
#[derive(Debug)]
pub struct VrrpSocket {
    fd: AsyncFd<Socket>,
    ipv6: bool,
    ifindex: u32,
}

impl VrrpSocket {
    /// Opens the socket of IP protocol `protocol` (112, or 51 to hear
    /// IPsec-AH adverts) for `ifname` (index `ifindex`) and joins `group`
    /// there (IPv4 224.0.0.18 or IPv6 ff02::12, or the configured ones).
    pub fn open(ifname: &str, ifindex: u32, group: IpAddr, protocol: u8) -> io::Result<VrrpSocket> {
        let ipv6 = group.is_ipv6();
        let domain = if ipv6 { Domain::IPV6 } else { Domain::IPV4 };
        let s = Socket::new(domain, Type::RAW, Some(Protocol::from(i32::from(protocol))))?;
        s.set_nonblocking(true)?;
        s.bind_device(Some(ifname.as_bytes()))?;
        match group {
            IpAddr::V4(g) => {
                s.set_header_included_v4(true)?;
                s.set_multicast_loop_v4(false)?;
                s.set_multicast_ttl_v4(u32::from(TTL))?;
                s.join_multicast_v4_n(&g, &InterfaceIndexOrAddress::Index(ifindex))?;
            }
            IpAddr::V6(g) => {
                s.set_multicast_loop_v6(false)?;
                s.set_multicast_hops_v6(u32::from(TTL))?;
                s.set_unicast_hops_v6(u32::from(TTL))?;
                s.set_tclass_v6(u32::from(TOS))?;
                s.set_multicast_if_v6(ifindex)?;
                s.join_multicast_v6(&g, ifindex)?;
                setsockopt(&s, sockopt::Ipv6RecvHopLimit, &true).map_err(io::Error::from)?;
                setsockopt(&s, sockopt::Ipv6RecvPacketInfo, &true).map_err(io::Error::from)?;
            }
        }
        Ok(VrrpSocket {
            // SAFETY: the socket owns its descriptor for as long as the AsyncFd holds it.
            fd: unsafe { AsyncFd::register(s) }.map_err(|e| io::Error::other(e.to_string()))?,
            ipv6,
            ifindex,
        })
    }

    /// Joins `group` too (another instance on this interface advertises
    /// to it: `mcast_dst_ip`); joining a group twice is not an error.
    pub fn join(&self, group: IpAddr) -> io::Result<()> {
        let s = self.fd.get_ref();
        let r = match group {
            IpAddr::V4(g) => {
                s.join_multicast_v4_n(&g, &InterfaceIndexOrAddress::Index(self.ifindex))
            }
            IpAddr::V6(g) => s.join_multicast_v6(&g, self.ifindex),
        };
        match r {
            Err(e) if e.raw_os_error() == Some(libc::EADDRINUSE) => Ok(()),
            r => r,
        }
    }

    /// Sends one advert. IPv4: `datagram` is the whole datagram (core's
    /// header and message). IPv6: `message` only, from `src`.
    pub async fn send(&self, src: IpAddr, dst: IpAddr, bytes: &[u8]) -> io::Result<()> {
        loop {
            let mut guard = self.fd.writable().await?;
            match guard.try_io(|s| self.send_now(s.get_ref(), src, dst, bytes)) {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }

    fn send_now(&self, s: &Socket, src: IpAddr, dst: IpAddr, bytes: &[u8]) -> io::Result<()> {
        match (src, dst) {
            (IpAddr::V4(_), IpAddr::V4(d)) => {
                let to = SockAddr::from(SocketAddr::new(IpAddr::V4(d), 0));
                s.send_to(bytes, &to).map(|_| ())
            }
            (IpAddr::V6(src), IpAddr::V6(d)) => {
                let scope = if needs_scope(d) { self.ifindex } else { 0 };
                let to = SockaddrIn6::from(SocketAddrV6::new(d, 0, 0, scope));
                let info = libc::in6_pktinfo {
                    ipi6_addr: libc::in6_addr {
                        s6_addr: src.octets(),
                    },
                    ipi6_ifindex: self.ifindex,
                };
                let cmsg = [ControlMessage::Ipv6PacketInfo(&info)];
                sendmsg(
                    s.as_raw_fd(),
                    &[IoSlice::new(bytes)],
                    &cmsg,
                    MsgFlags::empty(),
                    Some(&to),
                )
                .map(|_| ())
                .map_err(io::Error::from)
            }
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "source and destination families differ",
            )),
        }
    }

    /// Waits for the next datagram.
    pub async fn recv(&self) -> io::Result<Received> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|s| self.recv_now(s.get_ref())) {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }

    fn recv_now(&self, s: &Socket) -> io::Result<Received> {
        let mut buf = vec![0u8; 2048];
        if !self.ipv6 {
            let n = {
                // SAFETY: u8 and MaybeUninit<u8> have the same layout; recv
                // only writes initialised bytes into the slice.
                let uninit: &mut [MaybeUninit<u8>] =
                    unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr().cast(), buf.len()) };
                s.recv(uninit)?
            };
            buf.truncate(n);
            return Ok(Received::Datagram(buf));
        }
        let mut cmsg = nix::cmsg_space!(libc::in6_pktinfo, libc::c_int);
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg =
            recvmsg::<SockaddrIn6>(s.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::empty())
                .map_err(io::Error::from)?;
        let n = msg.bytes;
        let src = msg
            .address
            .map(|a| IpAddr::V6(a.ip()))
            .unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
        let mut dst = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
        let mut hop_limit = None;
        for c in msg.cmsgs().map_err(io::Error::from)? {
            match c {
                ControlMessageOwned::Ipv6PacketInfo(i) => {
                    dst = IpAddr::V6(Ipv6Addr::from(i.ipi6_addr.s6_addr));
                }
                ControlMessageOwned::Ipv6HopLimit(h) => hop_limit = u8::try_from(h).ok(),
                _ => {}
            }
        }
        buf.truncate(n);
        Ok(Received::Message {
            meta: Meta {
                src,
                dst,
                hop_limit,
            },
            message: buf,
        })
    }
}

fn needs_scope(a: Ipv6Addr) -> bool {
    a.is_multicast() || (a.segments()[0] & 0xffc0) == 0xfe80
}

/// The IPv4 default group, for callers without a config.
pub const GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
