//! Gratuitous ARP and unsolicited NA on an `AF_PACKET` socket: the frames
//! are core's (`frame::gratuitous_arp`, `frame::unsolicited_na`), sent as
//! they are on the VIP's interface.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use vigil_core::packet::MacAddr;
use vigil_core::packet::frame;

/// A send-only packet socket.
#[derive(Debug)]
pub struct Announcer {
    fd: OwnedFd,
}

impl Announcer {
    /// Opens the socket (protocol 0: it receives nothing).
    pub fn open() -> io::Result<Announcer> {
        // SAFETY: plain socket(2) call; the result is checked.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor we own.
        Ok(Announcer {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Sends the announcement of `addr` from `mac` on interface `ifindex`.
    /// `router`: the IPv6 NA's Router flag (the interface forwards).
    pub fn announce(
        &self,
        ifindex: u32,
        mac: MacAddr,
        addr: IpAddr,
        router: bool,
    ) -> io::Result<()> {
        let bytes = frame::announcement(mac, addr, router);
        self.send_frame(ifindex, &bytes)
    }

    /// Sends a whole Ethernet frame on `ifindex`.
    pub fn send_frame(&self, ifindex: u32, bytes: &[u8]) -> io::Result<()> {
        if bytes.len() < 14 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "short frame"));
        }
        // SAFETY: sockaddr_ll is plain data; zeroed is a valid value.
        let mut sa: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sa.sll_family = libc::AF_PACKET as u16;
        sa.sll_protocol = u16::from_be_bytes([bytes[12], bytes[13]]).to_be();
        sa.sll_ifindex = ifindex as i32;
        sa.sll_halen = 6;
        sa.sll_addr[..6].copy_from_slice(&bytes[..6]);
        // SAFETY: buffer and address are valid for the lengths given.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                bytes.as_ptr().cast(),
                bytes.len(),
                0,
                (&raw const sa).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// Whether interface `name` forwards IPv6 (the NA's Router flag).
pub fn forwards_ipv6(name: &str) -> bool {
    std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{name}/forwarding"))
        .is_ok_and(|s| s.trim() == "1")
}
