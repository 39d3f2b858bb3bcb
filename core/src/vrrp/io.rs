//! What an instance is told ([`Input`]) and what it asks for ([`Output`]).

use std::fmt;
use std::net::IpAddr;

use super::vip::Vip;
use crate::packet::ip::Meta;
use crate::packet::vrrp::Advert;
use crate::trace;

/// Something that happened to an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input<'a> {
    /// Leave Initialize: become backup (or master at once as owner, or
    /// fault when a tracked object is down).
    Start,
    /// Time passed; process every deadline at or before `now`.
    Timer,
    /// A VRRP message (the IP payload) addressed to this instance.
    Advert {
        /// IP-level facts of the datagram.
        meta: Meta,
        /// The VRRP message.
        message: &'a [u8],
    },
    /// An advert behind an IP Authentication Header (keepalived's
    /// `auth_type AH`).
    AuthHeader {
        /// IP-level facts of the datagram.
        meta: Meta,
        /// The VRRP message after the header.
        message: &'a [u8],
        /// The header, with the whole datagram its ICV covers.
        auth: crate::packet::ip::AuthHeader<'a>,
    },
    /// A tracked interface or script changed.
    Track {
        /// What changed ([`super::TrackSpec::id`]).
        id: &'a super::TrackerId,
        /// Whether it is up / succeeding.
        up: bool,
    },
    /// A tracked file's value (`track_file`): the integer the file
    /// holds, 0 when it is missing or holds no number.
    TrackValue {
        /// Which file ([`super::TrackerId::File`]).
        id: &'a super::TrackerId,
        /// Its value.
        value: i64,
    },
    /// The instance's own interface went up or down.
    Link {
        /// Whether it is up.
        up: bool,
    },
    /// Someone else removed address `addr` from `dev` (the kernel said
    /// so): a master holding it as a VIP without `no_track` steps down and
    /// comes back after the skew time, as keepalived does.
    AddressRemoved {
        /// The address.
        addr: std::net::IpAddr,
        /// The interface it was removed from.
        dev: &'a str,
    },
    /// Stop: a master sends priority 0 and releases its addresses.
    Shutdown,
}

/// An advert to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Interface to send on.
    pub interface: String,
    /// IP source.
    pub src: IpAddr,
    /// IP destination: the group or a unicast peer.
    pub dst: IpAddr,
    /// The VRRP message bytes (checksummed for `src` and `dst`).
    pub message: Vec<u8>,
    /// What the bytes say.
    pub advert: Advert,
    /// The whole IPv4 datagram to send as it is, when the instance signs
    /// its adverts with IPsec-AH; `None`: `message` goes in a plain
    /// datagram (`packet::ip::datagram`).
    pub datagram: Option<Vec<u8>>,
}

/// The state a notify script is told about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NotifyState {
    /// `notify_master`.
    Master,
    /// `notify_backup`.
    Backup,
    /// `notify_fault`.
    Fault,
    /// `notify_stop`.
    Stop,
    /// `notify_master_rx_lower_pri`.
    MasterRxLowerPri,
}

impl NotifyState {
    /// keepalived's spelling, the third argument of `notify` scripts.
    pub const fn keepalived_name(self) -> &'static str {
        match self {
            NotifyState::Master => "MASTER",
            NotifyState::Backup => "BACKUP",
            NotifyState::Fault => "FAULT",
            NotifyState::Stop => "STOP",
            NotifyState::MasterRxLowerPri => "MASTER_RX_LOWER_PRI",
        }
    }
}

/// A notification for notify scripts, as plain data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notify {
    /// Instance name.
    pub instance: String,
    /// The state.
    pub state: NotifyState,
    /// Effective priority.
    pub priority: u8,
}

/// Something an instance asks its driver to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Send an advert.
    Send(Transmit),
    /// Add a virtual address.
    AddVip(Vip),
    /// Remove a virtual address.
    DelVip(Vip),
    /// Send one gratuitous ARP (IPv4) or unsolicited NA (IPv6) for `addr`.
    Announce {
        /// The address announced.
        addr: IpAddr,
        /// Interface to send on.
        interface: String,
    },
    /// Run notify scripts.
    Notify(Notify),
    /// Run a `vrrp_sync_group`'s notify scripts.
    GroupNotify {
        /// The group.
        group: String,
        /// The state it entered.
        state: NotifyState,
    },
    /// Record a trace event.
    Trace(trace::Event),
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Output::Send(t) => write!(f, "send {} -> {} {}", t.src, t.dst, t.advert),
            Output::AddVip(v) => write!(f, "add-vip {v}"),
            Output::DelVip(v) => write!(f, "del-vip {v}"),
            Output::Announce { addr, interface } => write!(f, "announce {addr} on {interface}"),
            Output::Notify(n) => write!(
                f,
                "notify {} {} prio={}",
                n.instance,
                n.state.keepalived_name(),
                n.priority
            ),
            Output::GroupNotify { group, state } => {
                write!(f, "notify-group {group} {}", state.keepalived_name())
            }
            Output::Trace(e) => write!(f, "trace {e}"),
        }
    }
}
