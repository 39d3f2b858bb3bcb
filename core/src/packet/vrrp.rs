//! VRRP advertisements: the v2 (RFC 3768) and v3 (RFC 5798, RFC 9568)
//! message, as a zero-copy [`Packet`] view and an owned [`Advert`].
//!
//! ```text
//! v2 (IPv4 only)                         v3 (IPv4 or IPv6)
//!  0      version(4) | type(4)            0      version(4) | type(4)
//!  1      virtual router id               1      virtual router id
//!  2      priority                        2      priority
//!  3      count of addresses              3      count of addresses
//!  4      auth type                       4..6   rsvd(4) | max adver int(12), centiseconds
//!  5      adver int, seconds
//!  6..8   checksum                        6..8   checksum
//!  8..    addresses (4 bytes each)        8..    addresses (4 or 16 bytes each)
//!  ..+8   authentication data
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::{Error, Family, checksum};

/// IP protocol number of VRRP.
pub const PROTOCOL: u8 = 112;
/// IP protocol number of the IP Authentication Header (RFC 2338 AH auth).
pub const PROTOCOL_AH: u8 = 51;
/// The IPv4 VRRP multicast group, 224.0.0.18.
pub const GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The IPv6 VRRP multicast group, ff02::12.
pub const GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// TTL / hop limit every advert is sent with and must arrive with.
pub const TTL: u8 = 255;
/// IPv4 TOS / IPv6 traffic class on send: internetwork control (0xc0).
pub const TOS: u8 = 0xc0;
/// Length of the fixed header.
pub const HEADER_LEN: usize = 8;
/// Length of the v2 authentication data.
pub const AUTH_LEN: usize = 8;
/// The only VRRP message type: ADVERTISEMENT.
pub const TYPE_ADVERTISEMENT: u8 = 1;

/// The VRRP multicast group of `family`.
pub const fn group(family: Family) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(GROUP_V4),
        Family::V6 => IpAddr::V6(GROUP_V6),
    }
}

/// VRRP protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// RFC 3768: IPv4 only, interval in seconds, authentication field.
    V2,
    /// RFC 5798 / RFC 9568: IPv4 and IPv6, interval in centiseconds.
    V3,
}

impl Version {
    /// The number carried in the version field.
    pub const fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }

    /// The version for a version field value, if known.
    pub const fn from_number(n: u8) -> Option<Version> {
        match n {
            2 => Some(Version::V2),
            3 => Some(Version::V3),
            _ => None,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.number())
    }
}

/// An advertisement interval in the unit its version carries on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Interval {
    /// VRRPv2: whole seconds, 1..=255.
    Seconds(u8),
    /// VRRPv3: centiseconds, 12 bits (1..=4095).
    Centiseconds(u16),
}

impl Interval {
    /// The interval as a duration.
    pub const fn as_duration(self) -> Duration {
        match self {
            Interval::Seconds(s) => Duration::from_secs(s as u64),
            Interval::Centiseconds(cs) => Duration::from_millis(cs as u64 * 10),
        }
    }

    /// The protocol version this unit belongs to.
    pub const fn version(self) -> Version {
        match self {
            Interval::Seconds(_) => Version::V2,
            Interval::Centiseconds(_) => Version::V3,
        }
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Interval::Seconds(s) => write!(f, "{s}s"),
            Interval::Centiseconds(cs) => write!(f, "{cs}cs"),
        }
    }
}

/// VRRPv2 authentication (RFC 3768 section 5.3.6; v3 has none).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Auth {
    /// Type 0: no authentication; data zero on send, ignored on receive.
    None,
    /// Type 1: simple text password, 8 bytes, zero padded.
    Pass([u8; 8]),
    /// Any other type value, with its data (type 2 was RFC 2338's IP AH).
    Other {
        /// The auth type field.
        kind: u8,
        /// The authentication data.
        data: [u8; 8],
    },
}

impl Auth {
    /// A PASS authentication from a configured `auth_pass`: keepalived
    /// uses its first 8 bytes and pads shorter ones with zeros.
    pub fn pass(password: &str) -> Auth {
        let mut data = [0u8; 8];
        let b = password.as_bytes();
        let n = b.len().min(8);
        data[..n].copy_from_slice(&b[..n]);
        Auth::Pass(data)
    }

    /// The auth type field value.
    pub const fn kind(&self) -> u8 {
        match self {
            Auth::None => 0,
            Auth::Pass(_) => 1,
            Auth::Other { kind, .. } => *kind,
        }
    }

    /// The 8 authentication data bytes.
    pub const fn data(&self) -> [u8; 8] {
        match self {
            Auth::None => [0; 8],
            Auth::Pass(d) => *d,
            Auth::Other { data, .. } => *data,
        }
    }

    fn from_wire(kind: u8, data: [u8; 8]) -> Auth {
        match kind {
            0 => Auth::None,
            1 => Auth::Pass(data),
            _ => Auth::Other { kind, data },
        }
    }
}

impl fmt::Display for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("none"),
            Auth::Pass(d) => {
                let end = d.iter().position(|&b| b == 0).unwrap_or(8);
                write!(
                    f,
                    "pass:{}",
                    String::from_utf8_lossy(&d[..end]).escape_default()
                )
            }
            Auth::Other { kind, .. } => write!(f, "type{kind}"),
        }
    }
}

/// How the checksum is computed, for interoperation with peers that got
/// it wrong.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ChecksumMode {
    /// As the RFCs say: v2 over the message; v3 with the pseudo-header of
    /// the packet's real source and destination.
    #[default]
    Standard,
    /// `v3_checksum_as_v2`: VRRPv3 over IPv4 checksummed without the
    /// pseudo-header, as v2 does (some vendors' implementations).
    V3AsV2,
    /// keepalived's `old_unicast_checksum`: the v3 pseudo-header names the
    /// multicast group as destination even when sent to a unicast peer.
    GroupPseudoHeader,
}

/// What the checksum is computed over besides the message: the IP source
/// and destination of the datagram, and the interop mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChecksumContext {
    /// Source address of the datagram.
    pub src: IpAddr,
    /// Destination address of the datagram (group or unicast peer).
    pub dst: IpAddr,
    /// Interop mode.
    pub mode: ChecksumMode,
}

impl ChecksumContext {
    /// A standard context for a datagram from `src` to `dst`.
    pub const fn new(src: IpAddr, dst: IpAddr) -> Self {
        ChecksumContext {
            src,
            dst,
            mode: ChecksumMode::Standard,
        }
    }

    /// The running sum of what precedes the message (the pseudo-header),
    /// for `version` and a message of `len` bytes.
    fn prefix(&self, version: Version, len: usize) -> u32 {
        if version == Version::V2 {
            return 0;
        }
        let dst = match (self.mode, self.dst) {
            (ChecksumMode::V3AsV2, IpAddr::V4(_)) => return 0,
            (ChecksumMode::GroupPseudoHeader, d) => group(Family::of(&d)),
            (_, d) => d,
        };
        checksum::pseudo(self.src, dst, PROTOCOL, len).unwrap_or(0)
    }
}

/// A zero-copy view of a VRRP message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checks; accessors may then panic on short
    /// buffers. Use [`Packet::new_checked`] for received bytes.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer` after checking that it holds a whole message of a
    /// known version for `family` (trailing bytes are allowed; validation
    /// rejects them).
    pub fn new_checked(buffer: T, family: Family) -> Result<Packet<T>, Error> {
        let p = Packet { buffer };
        p.check_len(family)?;
        Ok(p)
    }

    /// Checks that the buffer holds the fixed header, the addresses and
    /// (v2) the authentication data.
    pub fn check_len(&self, family: Family) -> Result<(), Error> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated {
                what: "vrrp header",
                needed: HEADER_LEN,
                got: len,
            });
        }
        let version = self.version()?;
        if version == Version::V2 && family == Family::V6 {
            return Err(Error::V2OverIpv6);
        }
        let needed = self.message_len(family)?;
        if len < needed {
            return Err(Error::Truncated {
                what: "vrrp addresses",
                needed,
                got: len,
            });
        }
        Ok(())
    }

    /// The bytes of the whole buffer.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The version field, raw.
    pub fn version_number(&self) -> u8 {
        self.buffer.as_ref()[0] >> 4
    }

    /// The version, if known.
    pub fn version(&self) -> Result<Version, Error> {
        let n = self.version_number();
        Version::from_number(n).ok_or(Error::UnknownVersion(n))
    }

    /// The type field (1 = ADVERTISEMENT).
    pub fn kind(&self) -> u8 {
        self.buffer.as_ref()[0] & 0x0f
    }

    /// The virtual router id.
    pub fn vrid(&self) -> u8 {
        self.buffer.as_ref()[1]
    }

    /// The priority.
    pub fn priority(&self) -> u8 {
        self.buffer.as_ref()[2]
    }

    /// The count of addresses.
    pub fn count(&self) -> u8 {
        self.buffer.as_ref()[3]
    }

    /// v2: the auth type field (byte 4).
    pub fn auth_type(&self) -> u8 {
        self.buffer.as_ref()[4]
    }

    /// v2: the advertisement interval in seconds (byte 5).
    pub fn adver_int_secs(&self) -> u8 {
        self.buffer.as_ref()[5]
    }

    /// v3: the max advertisement interval in centiseconds (12 bits).
    pub fn max_adver_int_centis(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[4], b[5]]) & 0x0fff
    }

    /// v3: the 4 reserved bits before the interval.
    pub fn reserved(&self) -> u8 {
        self.buffer.as_ref()[4] >> 4
    }

    /// The interval in the unit of the packet's version.
    pub fn interval(&self) -> Result<Interval, Error> {
        Ok(match self.version()? {
            Version::V2 => Interval::Seconds(self.adver_int_secs()),
            Version::V3 => Interval::Centiseconds(self.max_adver_int_centis()),
        })
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[6], b[7]])
    }

    /// The length of the message its header describes: header, addresses
    /// and (v2) authentication data.
    pub fn message_len(&self, family: Family) -> Result<usize, Error> {
        let auth = match self.version()? {
            Version::V2 => AUTH_LEN,
            Version::V3 => 0,
        };
        Ok(HEADER_LEN + usize::from(self.count()) * family.addr_len() + auth)
    }

    /// The `i`th address; `None` past the end of the buffer.
    pub fn address(&self, i: usize, family: Family) -> Option<IpAddr> {
        let b = self.buffer.as_ref();
        let start = HEADER_LEN + i * family.addr_len();
        let bytes = b.get(start..start + family.addr_len())?;
        Some(match family {
            Family::V4 => IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])),
            Family::V6 => {
                let mut o = [0u8; 16];
                o.copy_from_slice(bytes);
                IpAddr::V6(Ipv6Addr::from(o))
            }
        })
    }

    /// v2: the 8 authentication data bytes after the addresses; `None`
    /// past the end of the buffer.
    pub fn auth_data(&self, family: Family) -> Option<[u8; 8]> {
        let start = HEADER_LEN + usize::from(self.count()) * family.addr_len();
        let bytes = self.buffer.as_ref().get(start..start + AUTH_LEN)?;
        let mut d = [0u8; 8];
        d.copy_from_slice(bytes);
        Some(d)
    }

    /// Whether the checksum over the message (the first `message_len`
    /// bytes, as the header describes it) is right in `ctx`.
    pub fn verify_checksum(&self, family: Family, ctx: &ChecksumContext) -> bool {
        let (Ok(version), Ok(len)) = (self.version(), self.message_len(family)) else {
            return false;
        };
        let Some(msg) = self.buffer.as_ref().get(..len) else {
            return false;
        };
        checksum::compute(ctx.prefix(version, len), msg) == 0
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_checksum(&mut self, value: u16) {
        self.buffer.as_mut()[6..8].copy_from_slice(&value.to_be_bytes());
    }

    /// Recomputes and stores the checksum for `ctx`.
    pub fn fill_checksum(&mut self, family: Family, ctx: &ChecksumContext) {
        let (Ok(version), Ok(len)) = (self.version(), self.message_len(family)) else {
            return;
        };
        self.set_checksum(0);
        let c = checksum::compute(ctx.prefix(version, len), &self.buffer.as_ref()[..len]);
        self.set_checksum(c);
    }
}

/// An owned VRRP advertisement.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Advert {
    /// Protocol version; must agree with `interval`'s unit.
    pub version: Version,
    /// Virtual router id, 1..=255.
    pub vrid: u8,
    /// Priority: 255 address owner, 0 master stopping.
    pub priority: u8,
    /// Advertisement interval in the version's unit.
    pub interval: Interval,
    /// v2 authentication; always [`Auth::None`] for v3.
    pub auth: Auth,
    /// The virtual addresses, all of one family.
    pub addresses: Vec<IpAddr>,
}

impl Advert {
    /// Decodes the message of a checked packet (the checksum is not
    /// verified here; see [`Packet::verify_checksum`]).
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>, family: Family) -> Result<Advert, Error> {
        packet.check_len(family)?;
        let version = packet.version()?;
        let count = usize::from(packet.count());
        let mut addresses = Vec::with_capacity(count);
        for i in 0..count {
            // check_len guarantees every address is inside the buffer.
            addresses.extend(packet.address(i, family));
        }
        let auth = match version {
            Version::V2 => Auth::from_wire(
                packet.auth_type(),
                packet.auth_data(family).unwrap_or([0; 8]),
            ),
            Version::V3 => Auth::None,
        };
        Ok(Advert {
            version,
            vrid: packet.vrid(),
            priority: packet.priority(),
            interval: packet.interval()?,
            auth,
            addresses,
        })
    }

    /// The family of the addresses (IPv4 when there are none).
    pub fn family(&self) -> Family {
        self.addresses.first().map(Family::of).unwrap_or(Family::V4)
    }

    /// Length of the encoded message.
    pub fn buffer_len(&self) -> usize {
        let auth = if self.version == Version::V2 {
            AUTH_LEN
        } else {
            0
        };
        HEADER_LEN + self.addresses.len().min(255) * self.family().addr_len() + auth
    }

    /// Writes the message into `buf` (at least [`Advert::buffer_len`]
    /// bytes) and fills the checksum for `ctx`. At most 255 addresses of
    /// the first address's family are written.
    pub fn emit(&self, buf: &mut [u8], ctx: &ChecksumContext) {
        let family = self.family();
        let addrs: Vec<&IpAddr> = self
            .addresses
            .iter()
            .filter(|a| Family::of(a) == family)
            .take(255)
            .collect();
        buf[0] = (self.version.number() << 4) | TYPE_ADVERTISEMENT;
        buf[1] = self.vrid;
        buf[2] = self.priority;
        buf[3] = addrs.len() as u8;
        match (self.version, self.interval) {
            (Version::V2, iv) => {
                buf[4] = self.auth.kind();
                buf[5] = match iv {
                    Interval::Seconds(s) => s,
                    Interval::Centiseconds(cs) => (cs / 100).min(255) as u8,
                };
            }
            (Version::V3, iv) => {
                let cs = match iv {
                    Interval::Centiseconds(cs) => cs,
                    Interval::Seconds(s) => u16::from(s) * 100,
                } & 0x0fff;
                buf[4..6].copy_from_slice(&cs.to_be_bytes());
            }
        }
        buf[6] = 0;
        buf[7] = 0;
        let mut at = HEADER_LEN;
        for a in &addrs {
            match a {
                IpAddr::V4(v4) => buf[at..at + 4].copy_from_slice(&v4.octets()),
                IpAddr::V6(v6) => buf[at..at + 16].copy_from_slice(&v6.octets()),
            }
            at += family.addr_len();
        }
        if self.version == Version::V2 {
            buf[at..at + AUTH_LEN].copy_from_slice(&self.auth.data());
        }
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.fill_checksum(family, ctx);
    }

    /// The encoded message with its checksum for `ctx`.
    pub fn to_bytes(&self, ctx: &ChecksumContext) -> Vec<u8> {
        let mut buf = vec![0u8; self.buffer_len()];
        self.emit(&mut buf, ctx);
        buf
    }
}

impl fmt::Display for Advert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} vrid={} prio={} int={} auth={} addrs=",
            self.version, self.vrid, self.priority, self.interval, self.auth
        )?;
        for (i, a) in self.addresses.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn seed_advert(version: Version) -> Advert {
        Advert {
            version,
            vrid: 51,
            priority: 100,
            interval: match version {
                Version::V2 => Interval::Seconds(1),
                Version::V3 => Interval::Centiseconds(100),
            },
            auth: match version {
                Version::V2 => Auth::pass("1111"),
                Version::V3 => Auth::None,
            },
            addresses: vec![v4("172.17.1.160")],
        }
    }

    /// The seed's lb1 advert, VRRPv2, byte by byte:
    ///
    /// ```text
    /// 21          version 2, type 1 (ADVERTISEMENT)
    /// 33          VRID 51
    /// 64          priority 100
    /// 01          one address
    /// 01          auth type 1 (PASS)
    /// 01          advert interval 1 s
    /// 69 b6       checksum over these 20 bytes (v2: no pseudo-header)
    /// ac 11 01 a0 172.17.1.160
    /// 31 31 31 31 00 00 00 00   "1111" zero padded to 8 bytes
    /// ```
    #[test]
    fn golden_v2_seed_advert() {
        let a = seed_advert(Version::V2);
        let ctx = ChecksumContext::new(v4("172.17.1.150"), IpAddr::V4(GROUP_V4));
        let bytes = a.to_bytes(&ctx);
        // The checksum, computed by hand: the 16-bit words are
        // 2133 6401 0101 0000 ac11 01a0 3131 3131 0000 0000;
        // their sum is 0x19648 -> folded 0x9649 -> complement 0x69b6.
        assert_eq!(hex(&bytes), "21336401010169b6ac1101a03131313100000000");
        let p = Packet::new_checked(&bytes[..], Family::V4).unwrap();
        assert!(p.verify_checksum(Family::V4, &ctx));
        assert_eq!(Advert::parse(&p, Family::V4).unwrap(), a);
    }

    /// The same advert as VRRPv3 from 172.17.1.150 to 224.0.0.18:
    ///
    /// ```text
    /// 31          version 3, type 1
    /// 33          VRID 51
    /// 64          priority 100
    /// 01          one address
    /// 00 64       reserved 0, max advert interval 100 cs (1 s)
    /// 2e 7f       checksum: pseudo-header (src 172.17.1.150, dst
    ///             224.0.0.18, zero, protocol 112, length 12) + message
    /// ac 11 01 a0 172.17.1.160
    /// ```
    #[test]
    fn golden_v3_seed_advert() {
        let a = seed_advert(Version::V3);
        let ctx = ChecksumContext::new(v4("172.17.1.150"), IpAddr::V4(GROUP_V4));
        let bytes = a.to_bytes(&ctx);
        // Pseudo-header words: ac11 0196 e000 0012 0070 000c; message
        // words: 3133 6401 0064 0000 ac11 01a0. Sum 0x2d17e -> 0xd180,
        // complement 0x2e7f.
        assert_eq!(hex(&bytes), "3133640100642e7fac1101a0");
        let p = Packet::new_checked(&bytes[..], Family::V4).unwrap();
        assert!(p.verify_checksum(Family::V4, &ctx));
        // v3 checksums depend on the destination: a unicast peer's
        // pseudo-header gives another value.
        let uni = ChecksumContext::new(v4("172.17.1.150"), v4("172.17.1.151"));
        assert!(!p.verify_checksum(Family::V4, &uni));
        assert_eq!(Advert::parse(&p, Family::V4).unwrap(), a);
    }

    #[test]
    fn v3_checksum_as_v2_mode_skips_pseudo_header() {
        let a = seed_advert(Version::V3);
        let ctx = ChecksumContext {
            mode: ChecksumMode::V3AsV2,
            ..ChecksumContext::new(v4("172.17.1.150"), IpAddr::V4(GROUP_V4))
        };
        let bytes = a.to_bytes(&ctx);
        assert_eq!(checksum::compute(0, &bytes), 0);
        let p = Packet::new_checked(&bytes[..], Family::V4).unwrap();
        assert!(!p.verify_checksum(
            Family::V4,
            &ChecksumContext::new(v4("172.17.1.150"), IpAddr::V4(GROUP_V4))
        ));
    }

    #[test]
    fn group_pseudo_header_mode_ignores_unicast_destination() {
        let a = seed_advert(Version::V3);
        let src = v4("172.17.1.150");
        let old = ChecksumContext {
            mode: ChecksumMode::GroupPseudoHeader,
            ..ChecksumContext::new(src, v4("172.17.1.151"))
        };
        let mcast = ChecksumContext::new(src, IpAddr::V4(GROUP_V4));
        assert_eq!(a.to_bytes(&old), a.to_bytes(&mcast));
    }

    #[test]
    fn ipv6_v3_advert() {
        let a = Advert {
            version: Version::V3,
            vrid: 51,
            priority: 100,
            interval: Interval::Centiseconds(100),
            auth: Auth::None,
            addresses: vec![
                "2001:db8::160".parse().unwrap(),
                "2001:db8::161".parse().unwrap(),
            ],
        };
        let ctx = ChecksumContext::new("fe80::1".parse().unwrap(), IpAddr::V6(GROUP_V6));
        let bytes = a.to_bytes(&ctx);
        assert_eq!(bytes.len(), 8 + 32);
        let p = Packet::new_checked(&bytes[..], Family::V6).unwrap();
        assert!(p.verify_checksum(Family::V6, &ctx));
        assert_eq!(Advert::parse(&p, Family::V6).unwrap(), a);
    }

    #[test]
    fn short_and_bad_buffers_are_errors() {
        assert_eq!(
            Packet::new_checked(&[0x21u8, 0x33][..], Family::V4),
            Err(Error::Truncated {
                what: "vrrp header",
                needed: 8,
                got: 2
            })
        );
        assert_eq!(
            Packet::new_checked(&[0x41u8, 0, 0, 0, 0, 0, 0, 0][..], Family::V4),
            Err(Error::UnknownVersion(4))
        );
        // v2 says one address + auth: 20 bytes needed.
        let b = [0x21u8, 51, 100, 1, 1, 1, 0, 0, 172, 17];
        assert_eq!(
            Packet::new_checked(&b[..], Family::V4),
            Err(Error::Truncated {
                what: "vrrp addresses",
                needed: 20,
                got: 10
            })
        );
        assert_eq!(
            Packet::new_checked(
                &[0x21u8, 51, 100, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0][..],
                Family::V6
            ),
            Err(Error::V2OverIpv6)
        );
    }

    #[test]
    fn pass_uses_first_eight_bytes() {
        assert_eq!(Auth::pass("1111").data(), *b"1111\0\0\0\0");
        assert_eq!(Auth::pass("0123456789").data(), *b"01234567");
        assert_eq!(Auth::pass("1111").to_string(), "pass:1111");
    }
}
