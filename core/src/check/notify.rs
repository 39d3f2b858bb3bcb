//! Notification commands as data: the driver runs them, core never does.

use std::fmt;
use std::net::SocketAddr;

use crate::config::Command;
use crate::health::VsId;

/// Why a command is to be run.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NotifyEvent {
    /// A real server came up (`notify_up`).
    RealServerUp {
        /// Its virtual server.
        vs: VsId,
        /// The real server.
        rs: SocketAddr,
    },
    /// A real server went down (`notify_down`).
    RealServerDown {
        /// Its virtual server.
        vs: VsId,
        /// The real server.
        rs: SocketAddr,
    },
    /// A virtual server gained quorum (`quorum_up`).
    QuorumUp {
        /// The virtual server.
        vs: VsId,
    },
    /// A virtual server lost quorum (`quorum_down`).
    QuorumDown {
        /// The virtual server.
        vs: VsId,
    },
}

impl fmt::Display for NotifyEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotifyEvent::RealServerUp { vs, rs } => write!(f, "rs-up vs={vs} rs={rs}"),
            NotifyEvent::RealServerDown { vs, rs } => write!(f, "rs-down vs={vs} rs={rs}"),
            NotifyEvent::QuorumUp { vs } => write!(f, "quorum-up vs={vs}"),
            NotifyEvent::QuorumDown { vs } => write!(f, "quorum-down vs={vs}"),
        }
    }
}

/// A command to run, and why. keepalived runs checker notify scripts
/// exactly as configured, with no added arguments.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Notify {
    /// The command (and the user it runs as).
    pub command: Command,
    /// What happened.
    pub event: NotifyEvent,
    /// keepalived is stopping (`omega`): it gives such scripts one second.
    pub stopping: bool,
}
