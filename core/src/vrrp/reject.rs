//! Why a received advert was not accepted (RFC 5798 section 7.1 and
//! keepalived's vrrp_check_packet), one variant per counted reason.

use std::fmt;
use std::net::IpAddr;

use crate::packet::vrrp::Interval;

/// A reason to discard a received advert.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Reject {
    /// The message is shorter or longer than its header says.
    PacketLength {
        /// Length the header implies.
        expected: usize,
        /// Length received.
        got: usize,
    },
    /// TTL / hop limit is not 255 (multicast only).
    Ttl(u8),
    /// The version differs from the instance's.
    Version(u8),
    /// v2 auth type is not one VRRP defines (0, 1).
    InvalidAuthType(u8),
    /// v2 auth type differs from the configured one.
    AuthTypeMismatch {
        /// Type received.
        got: u8,
        /// Type configured.
        want: u8,
    },
    /// v2 PASS authentication data does not match.
    AuthFailure,
    /// An IP Authentication Header precedes VRRP but the instance does
    /// not use `auth_type AH` (keepalived counts it as a type mismatch).
    AuthHeader,
    /// An IPsec-AH advert whose sequence number does not pass the
    /// instance's counter: a replay (keepalived counts it as an
    /// authentication failure).
    AhReplay {
        /// The sequence number received.
        seq: u32,
    },
    /// v2 advert interval differs from the configured one.
    Interval {
        /// Interval received.
        got: Interval,
        /// Interval configured.
        want: Interval,
    },
    /// The type field is not ADVERTISEMENT.
    InvalidType(u8),
    /// The address count differs from the configured VIPs.
    AddressCount {
        /// Count received.
        got: u8,
        /// Count configured.
        want: usize,
    },
    /// A configured VIP is missing from the advert.
    AddressList(IpAddr),
    /// Multicast advert on a unicast instance, or the reverse.
    CastMismatch {
        /// Whether the instance expects unicast.
        expected_unicast: bool,
    },
    /// The checksum is wrong.
    Checksum,
    /// The advert carries addresses of the other family.
    Family,
    /// The advert came from this router's own address.
    OwnAddress,
}

impl Reject {
    /// Stable kebab-case name used in traces.
    pub const fn name(&self) -> &'static str {
        match self {
            Reject::PacketLength { .. } => "packet-length",
            Reject::Ttl(_) => "ttl",
            Reject::Version(_) => "version",
            Reject::InvalidAuthType(_) => "invalid-auth-type",
            Reject::AuthTypeMismatch { .. } => "auth-type-mismatch",
            Reject::AuthFailure => "auth-failure",
            Reject::AuthHeader => "ah-unexpected",
            Reject::AhReplay { .. } => "ah-replay",
            Reject::Interval { .. } => "interval-mismatch",
            Reject::InvalidType(_) => "invalid-type",
            Reject::AddressCount { .. } => "address-count",
            Reject::AddressList(_) => "address-list",
            Reject::CastMismatch { .. } => "cast-mismatch",
            Reject::Checksum => "checksum",
            Reject::Family => "family",
            Reject::OwnAddress => "own-address",
        }
    }
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        match self {
            Reject::PacketLength { expected, got } => write!(f, " expected={expected} got={got}"),
            Reject::Ttl(t) => write!(f, " got={t}"),
            Reject::Version(v) => write!(f, " got={v}"),
            Reject::InvalidAuthType(t) => write!(f, " got={t}"),
            Reject::AuthTypeMismatch { got, want } => write!(f, " got={got} want={want}"),
            Reject::Interval { got, want } => write!(f, " got={got} want={want}"),
            Reject::InvalidType(t) => write!(f, " got={t}"),
            Reject::AhReplay { seq } => write!(f, " seq={seq}"),
            Reject::AddressCount { got, want } => write!(f, " got={got} want={want}"),
            Reject::AddressList(a) => write!(f, " missing={a}"),
            Reject::CastMismatch { expected_unicast } => {
                write!(
                    f,
                    " expected={}",
                    if *expected_unicast {
                        "unicast"
                    } else {
                        "multicast"
                    }
                )
            }
            Reject::AuthFailure
            | Reject::AuthHeader
            | Reject::Checksum
            | Reject::Family
            | Reject::OwnAddress => Ok(()),
        }
    }
}
