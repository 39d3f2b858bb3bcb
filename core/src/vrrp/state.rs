//! The states of a VRRP instance.

use std::fmt;

/// A VRRP instance's state (RFC 5798 section 6.4, plus keepalived's FAULT).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum State {
    /// Not started, or shut down.
    Initialize,
    /// Listening for the master; takes over when it falls silent.
    Backup,
    /// Holding the virtual addresses and advertising.
    Master,
    /// A tracked interface or script is down: neither backup nor master.
    Fault,
}

impl State {
    /// Lower-case name used in traces and notify scripts' logs.
    pub const fn name(self) -> &'static str {
        match self {
            State::Initialize => "initialize",
            State::Backup => "backup",
            State::Master => "master",
            State::Fault => "fault",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
