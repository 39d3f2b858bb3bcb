//! ARP for Ethernet/IPv4 (RFC 826), and the gratuitous ARP keepalived
//! sends for each VIP: a request "who-has VIP tell VIP" to broadcast.

use std::net::Ipv4Addr;

use super::{Error, MacAddr};

/// Length of an Ethernet/IPv4 ARP packet.
pub const LEN: usize = 28;

/// ARP operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// 1: request.
    Request,
    /// 2: reply.
    Reply,
    /// Anything else.
    Other(u16),
}

impl Operation {
    const fn code(self) -> u16 {
        match self {
            Operation::Request => 1,
            Operation::Reply => 2,
            Operation::Other(c) => c,
        }
    }
}

/// An Ethernet/IPv4 ARP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Arp {
    /// Request or reply.
    pub operation: Operation,
    /// Sender hardware address.
    pub sender_mac: MacAddr,
    /// Sender protocol address.
    pub sender_ip: Ipv4Addr,
    /// Target hardware address.
    pub target_mac: MacAddr,
    /// Target protocol address.
    pub target_ip: Ipv4Addr,
}

impl Arp {
    /// The gratuitous ARP keepalived sends for `vip` from `mac`
    /// (vrrp_arp.c): request, sender = target = `vip`, target hardware
    /// address broadcast.
    pub const fn gratuitous(mac: MacAddr, vip: Ipv4Addr) -> Arp {
        Arp {
            operation: Operation::Request,
            sender_mac: mac,
            sender_ip: vip,
            target_mac: MacAddr::BROADCAST,
            target_ip: vip,
        }
    }

    /// Whether this announces the sender's own address (sender IP equals
    /// target IP), request or reply.
    pub fn is_gratuitous(&self) -> bool {
        self.sender_ip == self.target_ip
    }

    /// Decodes an Ethernet/IPv4 ARP packet (extra bytes are padding).
    pub fn parse(bytes: &[u8]) -> Result<Arp, Error> {
        if bytes.len() < LEN {
            return Err(Error::Truncated {
                what: "arp",
                needed: LEN,
                got: bytes.len(),
            });
        }
        let u16at = |i: usize| u16::from_be_bytes([bytes[i], bytes[i + 1]]);
        if u16at(0) != 1 || u16at(2) != 0x0800 || bytes[4] != 6 || bytes[5] != 4 {
            return Err(Error::ArpNotEthernetIpv4);
        }
        let mac = |i: usize| {
            let mut m = [0u8; 6];
            m.copy_from_slice(&bytes[i..i + 6]);
            MacAddr(m)
        };
        let ip = |i: usize| Ipv4Addr::new(bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]);
        let operation = match u16at(6) {
            1 => Operation::Request,
            2 => Operation::Reply,
            c => Operation::Other(c),
        };
        Ok(Arp {
            operation,
            sender_mac: mac(8),
            sender_ip: ip(14),
            target_mac: mac(18),
            target_ip: ip(24),
        })
    }

    /// Encodes the packet.
    pub fn to_bytes(&self) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        b[0..2].copy_from_slice(&1u16.to_be_bytes());
        b[2..4].copy_from_slice(&0x0800u16.to_be_bytes());
        b[4] = 6;
        b[5] = 4;
        b[6..8].copy_from_slice(&self.operation.code().to_be_bytes());
        b[8..14].copy_from_slice(&self.sender_mac.0);
        b[14..18].copy_from_slice(&self.sender_ip.octets());
        b[18..24].copy_from_slice(&self.target_mac.0);
        b[24..28].copy_from_slice(&self.target_ip.octets());
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gratuitous_round_trip() {
        let g = Arp::gratuitous(MacAddr::local(1), Ipv4Addr::new(192, 0, 2, 160));
        let b = g.to_bytes();
        assert_eq!(
            b,
            [
                0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 192, 0, 2, 160, 255, 255, 255, 255, 255,
                255, 192, 0, 2, 160
            ]
        );
        assert_eq!(Arp::parse(&b).unwrap(), g);
        assert!(g.is_gratuitous());
    }

    #[test]
    fn short_or_foreign_arp_is_an_error() {
        assert!(matches!(Arp::parse(&[0; 10]), Err(Error::Truncated { .. })));
        let mut b = Arp::gratuitous(MacAddr::local(1), Ipv4Addr::LOCALHOST).to_bytes();
        b[0] = 6;
        assert_eq!(Arp::parse(&b), Err(Error::ArpNotEthernetIpv4));
    }
}
