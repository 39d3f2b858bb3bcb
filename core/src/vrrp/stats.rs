//! Per-instance counters: the RFC 6527 (VRRPv3 MIB) / RFC 2787 statistics
//! and keepalived's, one per reject reason.

use super::reject::Reject;

/// Counters of one instance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Transitions to master.
    pub become_master: u64,
    /// Transitions out of master.
    pub release_master: u64,
    /// Valid adverts received.
    pub adverts_received: u64,
    /// Adverts sent (one per send event, however many peers).
    pub adverts_sent: u64,
    /// Valid adverts with priority 0 received.
    pub priority_zero_received: u64,
    /// Adverts with priority 0 sent.
    pub priority_zero_sent: u64,
    /// Wrong length.
    pub packet_length_errors: u64,
    /// TTL / hop limit not 255.
    pub ttl_errors: u64,
    /// Wrong version.
    pub version_errors: u64,
    /// Unknown auth type.
    pub invalid_auth_type: u64,
    /// Auth type differs from configuration.
    pub auth_type_mismatch: u64,
    /// PASS data mismatch, or an IPsec-AH ICV, SPI or sequence number
    /// refused.
    pub auth_failures: u64,
    /// v2 interval mismatch.
    pub interval_errors: u64,
    /// Type not ADVERTISEMENT.
    pub invalid_type: u64,
    /// Address count or list mismatch, or multicast/unicast mismatch.
    pub address_list_errors: u64,
    /// Bad checksum.
    pub checksum_errors: u64,
    /// Adverts of the other family.
    pub family_errors: u64,
    /// Adverts from this router's own address.
    pub own_address: u64,
}

impl Stats {
    /// Counts one rejected advert under its reason.
    pub fn count(&mut self, r: &Reject) {
        let c = match r {
            Reject::PacketLength { .. } => &mut self.packet_length_errors,
            Reject::Ttl(_) => &mut self.ttl_errors,
            Reject::Version(_) => &mut self.version_errors,
            Reject::InvalidAuthType(_) => &mut self.invalid_auth_type,
            Reject::AuthTypeMismatch { .. } => &mut self.auth_type_mismatch,
            Reject::AuthFailure => &mut self.auth_failures,
            Reject::AuthHeader => &mut self.auth_type_mismatch,
            Reject::AhReplay { .. } => &mut self.auth_failures,
            Reject::Interval { .. } => &mut self.interval_errors,
            Reject::InvalidType(_) => &mut self.invalid_type,
            Reject::AddressCount { .. } | Reject::AddressList(_) | Reject::CastMismatch { .. } => {
                &mut self.address_list_errors
            }
            Reject::Checksum => &mut self.checksum_errors,
            Reject::Family => &mut self.family_errors,
            Reject::OwnAddress => &mut self.own_address,
        };
        *c += 1;
    }
}
