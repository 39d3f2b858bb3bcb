//! Trace events of a VRRP instance.

use std::fmt;
use std::net::IpAddr;

use super::reject::Reject;
use super::state::State;
use crate::trace::Fields;

/// Why an instance changed state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Reason {
    /// Start-up (Initialize to Backup or Fault).
    Startup,
    /// Priority 255: the address owner takes over at once.
    AddressOwner,
    /// No advert accepted for the master-down interval.
    MasterDownTimeout,
    /// The master sent priority 0 and the skew time passed.
    PriorityZeroReceived,
    /// Lower-priority adverts were ignored (preemption) until the
    /// master-down interval passed.
    Preempt,
    /// A master heard a higher priority (or an equal one from a higher
    /// address) and stepped down.
    HigherPrioritySeen,
    /// A tracked interface or script (or the interface itself) went down.
    Fault,
    /// Every fault cleared.
    FaultCleared,
    /// Shutdown requested.
    Shutdown,
    /// Another member of its `vrrp_sync_group` moved the group.
    SyncGroup,
    /// One of its addresses was removed by someone else while master.
    AddressRemoved,
}

impl Reason {
    /// Stable kebab-case name.
    pub const fn name(self) -> &'static str {
        match self {
            Reason::Startup => "startup",
            Reason::AddressOwner => "address-owner",
            Reason::MasterDownTimeout => "master-down-timeout",
            Reason::PriorityZeroReceived => "priority-0-received",
            Reason::Preempt => "preempt",
            Reason::HigherPrioritySeen => "higher-priority-seen",
            Reason::Fault => "fault",
            Reason::FaultCleared => "fault-cleared",
            Reason::Shutdown => "shutdown",
            Reason::SyncGroup => "sync-group",
            Reason::AddressRemoved => "address-removed",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why gratuitous ARPs / NAs were sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum GarpCause {
    /// On becoming master.
    BecomeMaster,
    /// A delayed burst (`garp_master_delay`, `garp_lower_prio_delay`).
    Delayed,
    /// `garp_master_refresh`.
    Refresh,
    /// A lower-priority master was heard.
    LowerPriority,
    /// A reload added addresses while master.
    Reload,
}

impl GarpCause {
    const fn name(self) -> &'static str {
        match self {
            GarpCause::BecomeMaster => "become-master",
            GarpCause::Delayed => "delayed",
            GarpCause::Refresh => "refresh",
            GarpCause::LowerPriority => "lower-priority",
            GarpCause::Reload => "reload",
        }
    }
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum EventKind {
    /// A state transition.
    State {
        /// State left.
        from: State,
        /// State entered.
        to: State,
        /// Why.
        reason: Reason,
        /// Effective priority at the time.
        priority: u8,
    },
    /// Virtual addresses were added (true) or removed (false).
    Vips {
        /// Added or removed.
        added: bool,
        /// The addresses.
        addrs: Vec<IpAddr>,
    },
    /// A burst of gratuitous ARPs / unsolicited NAs was started.
    Garp {
        /// The addresses announced.
        addrs: Vec<IpAddr>,
        /// Announcements per address.
        repeat: u32,
        /// Why.
        cause: GarpCause,
    },
    /// A received advert was discarded.
    Rejected {
        /// Its source address.
        src: IpAddr,
        /// Why.
        reason: Reject,
    },
    /// The effective priority changed.
    Priority {
        /// Old effective priority.
        from: u8,
        /// New effective priority.
        to: u8,
        /// The tracker that moved it.
        cause: String,
    },
    /// A master heard a lower priority master and re-asserted itself.
    LowerPrioritySeen {
        /// The other master.
        src: IpAddr,
        /// Its priority.
        priority: u8,
    },
    /// A backup started its preemption delay.
    PreemptDelay {
        /// The delay.
        delay_ms: u64,
    },
    /// Two address owners (priority 255): this one lowered itself to 254.
    OwnerConflict {
        /// The other owner.
        src: IpAddr,
    },
    /// A reload kept the instance and its state, applying its new
    /// settings in place.
    Reloaded {
        /// The state it keeps.
        state: State,
    },
    /// The instance moved its `vrrp_sync_group` (keepalived's "Syncing
    /// instances to ... state").
    GroupState {
        /// The group.
        group: String,
        /// The state the group's members were moved to.
        to: State,
    },
}

/// An event of one instance: component `vrrp/<instance>`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Event {
    /// The instance name.
    pub instance: String,
    /// What happened.
    pub kind: EventKind,
}

fn join(addrs: &[IpAddr]) -> String {
    addrs
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "vrrp/{} ", self.instance)?;
        match &self.kind {
            EventKind::State {
                from,
                to,
                reason,
                priority,
            } => {
                f.write_str("state")?;
                Fields::new(f)
                    .field("from", from)
                    .field("to", to)
                    .field("reason", reason)
                    .field("prio", priority);
            }
            EventKind::Vips { added, addrs } => {
                f.write_str(if *added { "vip-add" } else { "vip-del" })?;
                Fields::new(f).field("addrs", join(addrs));
            }
            EventKind::Garp {
                addrs,
                repeat,
                cause,
            } => {
                f.write_str("garp")?;
                Fields::new(f)
                    .field("addrs", join(addrs))
                    .field("repeat", repeat)
                    .field("cause", cause.name());
            }
            EventKind::Rejected { src, reason } => {
                write!(f, "reject src={src} reason={reason}")?;
            }
            EventKind::Priority { from, to, cause } => {
                f.write_str("priority")?;
                Fields::new(f)
                    .field("from", from)
                    .field("to", to)
                    .field("cause", cause);
            }
            EventKind::LowerPrioritySeen { src, priority } => {
                f.write_str("lower-priority-seen")?;
                Fields::new(f).field("src", src).field("prio", priority);
            }
            EventKind::PreemptDelay { delay_ms } => {
                f.write_str("preempt-delay-start")?;
                Fields::new(f).field("delay", format!("{delay_ms}ms"));
            }
            EventKind::OwnerConflict { src } => {
                f.write_str("owner-conflict")?;
                Fields::new(f).field("src", src);
            }
            EventKind::Reloaded { state } => {
                f.write_str("reloaded")?;
                Fields::new(f).field("state", state);
            }
            EventKind::GroupState { group, to } => {
                f.write_str("sync-group")?;
                Fields::new(f).field("group", group).field("to", to);
            }
        }
        Ok(())
    }
}
