//! A `vrrp_sync_group` as a [`super::Router`] runs it: its members and
//! the state they move in together.

use super::instance::Instance;
use super::state::State;

/// One sync group of a router.
#[derive(Clone, Debug)]
pub(super) struct SyncGroup {
    /// The group's name.
    pub name: String,
    /// Member instance indices, in the group's order.
    pub members: Vec<usize>,
    /// The group's state (keepalived's `sgroup->state`); Initialize
    /// before start and after stop.
    pub state: State,
    /// Whether each member has a fault of its own (keepalived counts
    /// them in `num_member_fault`).
    pub faulted: Vec<bool>,
}

impl SyncGroup {
    /// A group of `members` of `instances`, its state derived from what
    /// they run (all in Initialize: not started).
    pub fn new(name: String, members: Vec<usize>, instances: &[Instance]) -> SyncGroup {
        let started: Vec<&Instance> = members
            .iter()
            .map(|&m| &instances[m])
            .filter(|i| i.state() != State::Initialize)
            .collect();
        let faulted: Vec<bool> = members
            .iter()
            .map(|&m| instances[m].state() != State::Initialize && instances[m].own_fault())
            .collect();
        let state = if started.is_empty() {
            State::Initialize
        } else if faulted.iter().any(|f| *f) {
            State::Fault
        } else if started.len() == members.len()
            && started.iter().all(|i| i.state() == State::Master)
        {
            State::Master
        } else {
            State::Backup
        };
        SyncGroup {
            name,
            members,
            state,
            faulted,
        }
    }

    /// The position of instance `i` among the members.
    pub fn position(&self, i: usize) -> usize {
        self.members
            .iter()
            .position(|&m| m == i)
            .expect("a member of its group")
    }

    /// Members with a fault of their own.
    pub fn faults(&self) -> usize {
        self.faulted.iter().filter(|f| **f).count()
    }
}
