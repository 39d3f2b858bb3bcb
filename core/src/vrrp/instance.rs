//! One VRRP instance: the state machine of RFC 5798 section 6.4 with the
//! behaviour of keepalived 2.2.7 where the RFC leaves room.
//!
//! Sans-IO: [`Instance::handle`] takes the time and an [`Input`] and
//! returns [`Output`]s; [`Instance::next_deadline`] says when to call
//! again with [`Input::Timer`].

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use super::announce::Announcer;
use super::config::{InstanceConfig, TrackerId};
use super::event::{Event, EventKind, GarpCause, Reason};
use super::io::{Input, Notify, NotifyState, Output, Transmit};
use super::reject::Reject;
use super::state::State;
use super::stats::Stats;
use super::timers;
use super::validate::validate;
use crate::packet::ip::Meta;
use crate::packet::vrrp::{Advert, Auth, ChecksumContext, Interval, Version};
use crate::time::Instant;
use crate::trace;

/// Priority of the address owner.
pub const PRIORITY_OWNER: u8 = 255;
/// Priority a stopping master advertises.
pub const PRIORITY_STOP: u8 = 0;

/// A running VRRP instance.
#[derive(Clone, Debug)]
pub struct Instance {
    cfg: InstanceConfig,
    state: State,
    /// Effective priority: configured priority moved by trackers.
    priority: u8,
    /// Set when a second address owner forced this one down to 254.
    owner_demoted: bool,
    /// Master_Adver_Interval: learned from the master in v3.
    master_interval: Interval,
    /// Backup: when the master is declared down. Master: next advert.
    timer: Option<Instant>,
    /// The duration the backup timer was last armed with, so that a
    /// priority change can shift it by the change in skew (keepalived).
    armed_with: Duration,
    /// What to report if the backup timer fires.
    down_cause: Reason,
    /// Backup with `preempt_delay`: when preemption becomes allowed.
    preempt_at: Option<Instant>,
    announcer: Announcer,
    /// When the next `garp_master_refresh` burst is due.
    refresh_due: Option<Instant>,
    /// Whether the VIPs are currently added.
    vips_set: bool,
    /// The last master heard: address and priority.
    master: Option<(IpAddr, u8)>,
    /// Tracker states as reported (unreported trackers count as up).
    tracked: BTreeMap<TrackerId, bool>,
    /// Tracked files' values as reported (unreported files count as 0).
    values: BTreeMap<TrackerId, i64>,
    link_up: bool,
    /// The IPsec-AH sequence counter: the last number sent or accepted
    /// (keepalived keeps one per instance for both).
    ah_seq: u32,
    /// The sequence number of the AH advert being processed.
    ah_rx_seq: Option<u32>,
    /// The IPv4 identification of the last AH advert sent.
    ip_id: u16,
    /// keepalived's `wantstate == MASTER`: master, or a backup whose
    /// master-down timer ran out while its sync group held it back.
    wants_master: bool,
    /// The sync group's view, for a member of one (kept current by the
    /// [`super::Router`]).
    sync: Option<SyncGate>,
    stats: Stats,
    out: Vec<Output>,
}

/// What a member of a `vrrp_sync_group` is told about its group before
/// each input (keepalived's `vrrp->sync`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncGate {
    /// The group may go master: it is master, or every other member wants
    /// to (keepalived's `vrrp_sync_can_goto_master`).
    pub may_master: bool,
    /// Another member has a fault of its own, so this one stays in FAULT
    /// (keepalived's `num_member_fault`).
    pub held_down: bool,
    /// The group as a whole is master (all members address owners at
    /// start).
    pub group_master: bool,
}

impl Instance {
    /// An instance in Initialize; [`Input::Start`] starts it.
    pub fn new(cfg: InstanceConfig) -> Instance {
        Instance {
            priority: cfg.priority,
            master_interval: cfg.interval,
            state: State::Initialize,
            owner_demoted: false,
            timer: None,
            armed_with: Duration::ZERO,
            down_cause: Reason::Startup,
            preempt_at: None,
            announcer: Announcer::default(),
            refresh_due: None,
            vips_set: false,
            master: None,
            tracked: BTreeMap::new(),
            values: BTreeMap::new(),
            link_up: true,
            ah_seq: 0,
            ah_rx_seq: None,
            ip_id: 0,
            wants_master: false,
            sync: None,
            stats: Stats::default(),
            out: Vec::new(),
            cfg,
        }
    }

    /// The configuration it runs.
    pub fn config(&self) -> &InstanceConfig {
        &self.cfg
    }

    /// The instance name.
    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The effective priority.
    pub fn priority(&self) -> u8 {
        self.priority
    }

    /// The current Master_Adver_Interval.
    pub fn master_interval(&self) -> Interval {
        self.master_interval
    }

    /// The current Master_Down_Interval for this instance's priority.
    pub fn master_down_interval(&self) -> Duration {
        timers::master_down(
            self.master_interval,
            self.priority,
            self.cfg.down_timer_adverts,
        )
    }

    /// The last master heard (address, priority), if any.
    pub fn master(&self) -> Option<(IpAddr, u8)> {
        self.master
    }

    /// Whether the VIPs are currently held.
    pub fn holds_vips(&self) -> bool {
        self.vips_set
    }

    /// Whether it wants to be master (keepalived's `wantstate`): it is,
    /// or its sync group is holding it back.
    pub fn wants_master(&self) -> bool {
        self.wants_master
    }

    /// Whether a fault of its own (a link, or a tracker of weight 0, or
    /// a file at -254) keeps it out of election, started or not.
    pub fn own_fault(&self) -> bool {
        self.faulted()
    }

    /// Makes it a member of a sync group whose view is `gate` (`None`:
    /// on its own).
    pub fn set_sync(&mut self, gate: Option<SyncGate>) {
        self.sync = gate;
    }

    /// Moves a sync group member to `to` because another member moved
    /// there (keepalived's `vrrp_sync_master`, `vrrp_sync_backup`,
    /// `vrrp_sync_fault`); nothing for an instance not running.
    pub fn sync_to(&mut self, now: Instant, to: State) -> std::vec::Drain<'_, Output> {
        match (self.state, to) {
            (State::Initialize, _) => {}
            (State::Master, State::Master) => {}
            (_, State::Master) => {
                if self.sync.is_some_and(|g| g.may_master || g.group_master) {
                    self.become_master(now, Reason::SyncGroup);
                } else {
                    // keepalived's vrrp_state_goto_master refused by the
                    // group: still want it, wait another interval.
                    self.wants_master = true;
                    if self.state == State::Backup {
                        let d = self.master_down_interval();
                        self.arm_backup(now, d, Reason::MasterDownTimeout);
                    }
                }
            }
            (State::Master, State::Backup) => {
                self.wants_master = false;
                self.leave_master(now, State::Backup, Reason::SyncGroup, false);
            }
            (State::Fault, State::Backup) => {
                self.wants_master = false;
                self.enter_backup(now, Reason::SyncGroup);
            }
            (State::Master, State::Fault) => {
                self.wants_master = false;
                self.leave_master(now, State::Fault, Reason::SyncGroup, true);
            }
            (State::Backup, State::Fault) => {
                self.wants_master = false;
                self.timer = None;
                self.transition(State::Fault, Reason::SyncGroup);
            }
            _ => {}
        }
        self.poll_announcer(now);
        self.out.drain(..)
    }

    /// keepalived's set_vrrp_backup: a master leaves for BACKUP (a
    /// priority-0 advert, its addresses removed) and waits only the skew
    /// time before it takes over again; nothing for any other state.
    pub fn step_down_briefly(&mut self, now: Instant) -> std::vec::Drain<'_, Output> {
        self.step_down(now);
        self.poll_announcer(now);
        self.out.drain(..)
    }

    fn step_down(&mut self, now: Instant) {
        if self.state == State::Master {
            self.leave_master(now, State::Backup, Reason::AddressRemoved, true);
            let skew = timers::skew(self.master_interval, self.priority);
            self.arm_backup(now, skew, Reason::MasterDownTimeout);
        }
    }

    /// Zeroes the counters (keepalived's SIGRTMAX-1, `--signum=STATS_CLEAR`).
    pub fn clear_stats(&mut self) {
        self.stats = Stats::default();
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// When to call [`Instance::handle`] with [`Input::Timer`] next.
    pub fn next_deadline(&self) -> Option<Instant> {
        match (self.timer, self.announcer.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Processes `input` at `now`; the outputs, in the order to act on them.
    pub fn handle(&mut self, now: Instant, input: Input<'_>) -> std::vec::Drain<'_, Output> {
        match input {
            Input::Start => self.start(now),
            Input::Timer => self.timer_fired(now),
            Input::Advert { meta, message } => self.receive(now, &meta, message),
            Input::AuthHeader {
                meta,
                message,
                auth,
            } => self.receive_ah(now, &meta, message, &auth),
            Input::Track { id, up } => self.track(now, id, up),
            Input::TrackValue { id, value } => self.track_value(now, id, value),
            Input::Link { up } => self.link(now, up),
            Input::AddressRemoved { addr, dev } => self.address_removed(now, addr, dev),
            Input::Shutdown => self.shutdown(now),
        }
        self.poll_announcer(now);
        self.out.drain(..)
    }

    /// Applies a reloaded configuration of the same router (same VRID,
    /// family, interface) in place, keeping the state, as keepalived 2.2.7
    /// does (`clear_diff_vrrp`, `restore_vrrp_state`): VIPs gone are
    /// removed and new ones added (and announced) while they are held; the
    /// effective priority follows the new priority and trackers; a master
    /// advertises at once, a backup restarts its master-down timer, and a
    /// fault is re-assessed. No transition, no priority-0 advert.
    pub fn reconfigure(
        &mut self,
        now: Instant,
        cfg: InstanceConfig,
    ) -> std::vec::Drain<'_, Output> {
        let old = std::mem::replace(&mut self.cfg, cfg);
        self.tracked
            .retain(|id, _| self.cfg.trackers.iter().any(|t| t.id == *id));
        self.values
            .retain(|id, _| self.cfg.trackers.iter().any(|t| t.id == *id));
        if self.state != State::Initialize {
            self.trace(EventKind::Reloaded { state: self.state });
        }
        if self.vips_set {
            let all = |c: &InstanceConfig| -> Vec<super::vip::Vip> {
                c.vips.iter().chain(&c.excluded_vips).cloned().collect()
            };
            let (was, now_vips) = (all(&old), all(&self.cfg));
            let gone: Vec<_> = was
                .iter()
                .filter(|v| !now_vips.contains(v))
                .cloned()
                .collect();
            let new: Vec<_> = now_vips
                .iter()
                .filter(|v| !was.contains(v))
                .cloned()
                .collect();
            if !gone.is_empty() {
                let addrs = gone.iter().map(|v| v.addr).collect();
                self.out.extend(gone.into_iter().map(Output::DelVip));
                self.trace(EventKind::Vips {
                    added: false,
                    addrs,
                });
            }
            if !new.is_empty() {
                let addrs = new.iter().map(|v| v.addr).collect();
                self.out.extend(new.into_iter().map(Output::AddVip));
                self.trace(EventKind::Vips { added: true, addrs });
                // keepalived announces every address again.
                let repeat = self.cfg.garp.master_repeat;
                if repeat > 0 {
                    self.start_garp(now, repeat, GarpCause::Reload);
                }
            }
        }
        match self.state {
            State::Initialize => {}
            State::Fault => self.reassess(now, "reload"),
            State::Backup if self.faulted() => self.reassess(now, "reload"),
            State::Master if self.faulted() => self.reassess(now, "reload"),
            State::Backup => {
                self.priority = self.effective_priority();
                self.master_interval = self.cfg.interval;
                let d = self.master_down_interval();
                self.arm_backup(now, d, Reason::MasterDownTimeout);
            }
            State::Master => {
                self.priority = self.effective_priority();
                self.master_interval = self.cfg.interval;
                self.send_advert(self.priority);
                self.timer = Some(now + self.cfg.interval.as_duration());
                self.refresh_at_reset(now);
            }
        }
        self.poll_announcer(now);
        self.out.drain(..)
    }

    // ----- inputs -----

    fn start(&mut self, now: Instant) {
        if self.state != State::Initialize {
            return;
        }
        self.priority = self.effective_priority();
        if self.faulted() {
            self.transition(State::Fault, Reason::Startup);
            return;
        }
        if self.sync.is_some_and(|g| g.held_down) {
            // keepalived's vrrp_init_state: FAULT with its group, without
            // a notify (no fault of its own).
            self.state = State::Fault;
            self.trace_state(State::Initialize, State::Fault, Reason::SyncGroup);
            return;
        }
        let alone_or_all_owners = self.sync.is_none_or(|g| g.group_master);
        if self.cfg.is_owner() && alone_or_all_owners {
            // keepalived's vrrp_init_state moves the owner to BACKUP
            // silently (no notify) on its way to MASTER.
            self.state = State::Backup;
            self.trace_state(State::Initialize, State::Backup, Reason::Startup);
            self.become_master(now, Reason::AddressOwner);
            return;
        }
        self.transition(State::Backup, Reason::Startup);
        // `state MASTER` below 255 waits like a backup (keepalived 2.2.7).
        let d = self.master_down_interval();
        self.arm_backup(now, d, Reason::MasterDownTimeout);
    }

    fn timer_fired(&mut self, now: Instant) {
        let Some(at) = self.timer else { return };
        if now < at {
            return;
        }
        match self.state {
            State::Backup => {
                if self.sync.is_some_and(|g| !g.may_master && !g.group_master) {
                    // keepalived's vrrp_sync_can_goto_master: the group
                    // goes master only when every member wants to; want
                    // it and wait another master-down interval.
                    self.wants_master = true;
                    let d = self.master_down_interval();
                    let cause = self.down_cause;
                    self.arm_backup(now, d, cause);
                    return;
                }
                let reason = self.down_cause;
                self.become_master(now, reason);
            }
            State::Master => {
                self.send_advert(self.priority);
                self.timer = Some(now + self.cfg.interval.as_duration());
                self.refresh_garp(now);
            }
            State::Initialize | State::Fault => self.timer = None,
        }
    }

    fn receive(&mut self, now: Instant, meta: &Meta, message: &[u8]) {
        if !matches!(self.state, State::Backup | State::Master) {
            return;
        }
        if self.cfg.ah_key.is_some() {
            // keepalived: "No AH header but auth type is AH".
            let got = message.get(4).copied().unwrap_or(0);
            return self.reject(meta.src, Reject::AuthTypeMismatch { got, want: 2 });
        }
        self.receive_checked(now, meta, message);
    }

    /// keepalived's vrrp_in_chk_ipsecah: the ICV under our key, the SPI
    /// (the sender's address), then the sequence number, which must pass
    /// the instance's counter (shared with what it sends) and moves it.
    fn receive_ah(
        &mut self,
        now: Instant,
        meta: &Meta,
        message: &[u8],
        auth: &crate::packet::ip::AuthHeader<'_>,
    ) {
        if !matches!(self.state, State::Backup | State::Master) {
            return;
        }
        let Some(key) = self.cfg.ah_key else {
            return self.reject(meta.src, Reject::AuthHeader);
        };
        if crate::packet::ah::verify(auth, &key, self.cfg.is_unicast()).is_err() {
            return self.reject(meta.src, Reject::AuthFailure);
        }
        if auth.seq <= self.ah_seq {
            return self.reject(meta.src, Reject::AhReplay { seq: auth.seq });
        }
        self.ah_seq = auth.seq;
        self.ah_rx_seq = Some(auth.seq);
        self.receive_checked(now, meta, message);
        self.ah_rx_seq = None;
    }

    fn receive_checked(&mut self, now: Instant, meta: &Meta, message: &[u8]) {
        let advert = match validate(&self.cfg, meta, message) {
            Ok(a) => a,
            Err(r) => {
                self.reject(meta.src, r);
                // keepalived's vrrp_dispatcher_read re-arms the instance's
                // timer after any packet it was handed, valid or not: a
                // master's next advert comes an interval after it.
                if self.state == State::Master && !self.cfg.lower_prio_no_advert {
                    self.timer = Some(now + self.cfg.interval.as_duration());
                }
                return;
            }
        };
        self.stats.adverts_received += 1;
        if advert.priority == PRIORITY_STOP {
            self.stats.priority_zero_received += 1;
        }
        match self.state {
            State::Backup => self.backup_receive(now, meta.src, &advert),
            State::Master => self.master_receive(now, meta.src, &advert),
            _ => {}
        }
    }

    fn backup_receive(&mut self, now: Instant, src: IpAddr, advert: &Advert) {
        let prio = advert.priority;
        if prio == PRIORITY_STOP {
            // Master stopping: take over after the skew only.
            let skew = timers::skew(self.master_interval, self.priority);
            self.arm_backup(now, skew, Reason::PriorityZeroReceived);
            self.master = Some((src, prio));
            return;
        }
        let delaying = !self.cfg.preempt_delay.is_zero() && self.preempt_at.is_none_or(|t| t > now);
        if !self.cfg.preempt || prio >= self.priority || delaying {
            if self.cfg.version() == Version::V3 {
                self.master_interval = advert.interval;
            }
            self.master = Some((src, prio));
            // keepalived: an accepted advert ends any wish for MASTER
            // that a sync group held back.
            self.wants_master = false;
            if !self.cfg.preempt_delay.is_zero() {
                if prio >= self.priority {
                    self.preempt_at = None;
                } else if self.preempt_at.is_none() {
                    self.preempt_at = Some(now + self.cfg.preempt_delay);
                    self.trace(EventKind::PreemptDelay {
                        delay_ms: self.cfg.preempt_delay.as_millis() as u64,
                    });
                }
            }
            let d = self.master_down_interval();
            self.arm_backup(now, d, Reason::MasterDownTimeout);
        } else {
            // Lower priority and preemption allowed: ignore the advert and
            // let the master-down timer run out.
            self.master = Some((src, prio));
            self.down_cause = Reason::Preempt;
        }
    }

    fn master_receive(&mut self, now: Instant, src: IpAddr, advert: &Advert) {
        let prio = advert.priority;
        let ours = self.priority;
        let addr_cmp = if self.cfg.planted.no_tie_break {
            Ordering::Equal
        } else {
            cmp_addr(src, self.cfg.src)
        };
        let higher = prio > ours || (prio == ours && addr_cmp == Ordering::Greater);
        if prio == PRIORITY_STOP || (self.cfg.higher_prio_send_advert && higher) {
            self.send_advert(ours);
            self.timer = Some(now + self.cfg.interval.as_duration());
            if prio == PRIORITY_STOP {
                return;
            }
        }
        if prio == ours && ours == PRIORITY_OWNER && addr_cmp != Ordering::Equal {
            // Two address owners: a configuration error; step down to 254
            // as keepalived does so that the election can end.
            self.owner_demoted = true;
            self.priority = PRIORITY_OWNER - 1;
            self.trace(EventKind::OwnerConflict { src });
            return self.master_receive(now, src, advert);
        }
        if prio < ours || (prio == ours && addr_cmp == Ordering::Less) {
            self.trace(EventKind::LowerPrioritySeen {
                src,
                priority: prio,
            });
            if !self.cfg.lower_prio_no_advert {
                self.send_advert(ours);
                self.timer = Some(now + self.cfg.interval.as_duration());
            }
            let repeat = self.cfg.garp.lower_prio_repeat;
            if repeat > 0 && self.vips_set {
                self.start_garp(now, repeat, GarpCause::LowerPriority);
                if !self.cfg.garp.lower_prio_delay.is_zero() {
                    self.announcer
                        .schedule(now + self.cfg.garp.lower_prio_delay, repeat);
                }
            }
            if let Some(seq) = self.ah_rx_seq {
                // keepalived syncs its AH counter past a lower master's.
                self.ah_seq = seq.saturating_add(1);
            }
            self.notify(NotifyState::MasterRxLowerPri);
            return;
        }
        if higher {
            if self.cfg.version() == Version::V3 {
                self.master_interval = advert.interval;
            }
            self.master = Some((src, prio));
            self.leave_master(now, State::Backup, Reason::HigherPrioritySeen, false);
        }
    }

    fn track(&mut self, now: Instant, id: &TrackerId, up: bool) {
        if !self.cfg.trackers.iter().any(|t| t.id == *id) {
            return;
        }
        if self.tracked.get(id) == Some(&up) {
            return;
        }
        self.tracked.insert(id.clone(), up);
        self.reassess(now, &id.to_string());
    }

    fn track_value(&mut self, now: Instant, id: &TrackerId, value: i64) {
        if !self.cfg.trackers.iter().any(|t| t.id == *id) {
            return;
        }
        if self.values.insert(id.clone(), value).unwrap_or(0) != value {
            self.reassess(now, &id.to_string());
        }
    }

    fn link(&mut self, now: Instant, up: bool) {
        if self.link_up == up {
            return;
        }
        self.link_up = up;
        self.reassess(now, &format!("link:{}", self.cfg.interface));
    }

    /// Re-derives fault and priority after a tracker or link change.
    fn reassess(&mut self, now: Instant, cause: &str) {
        if self.state == State::Initialize {
            return;
        }
        let faulted = self.faulted();
        match (self.state, faulted) {
            (State::Fault, false) if !self.sync.is_some_and(|g| g.held_down) => {
                self.set_priority(now, cause);
                self.leave_fault(now);
            }
            (State::Fault, false) => self.set_priority(now, cause),
            (State::Fault, true) => self.set_priority(now, cause),
            (State::Master, true) => {
                // keepalived's down_instance: vrrp_state_leave_master sends
                // priority 0 for FAULT, and vrrp_restore_interface again.
                self.send_advert(PRIORITY_STOP);
                self.stats.priority_zero_sent += 1;
                self.leave_master(now, State::Fault, Reason::Fault, true)
            }
            (State::Backup, true) => {
                self.timer = None;
                self.wants_master = false;
                self.transition(State::Fault, Reason::Fault);
            }
            _ => self.set_priority(now, cause),
        }
    }

    /// keepalived's netlink reflector: one of a master's VIPs (or
    /// excluded VIPs) deleted from its interface, unless `no_track`.
    fn address_removed(&mut self, now: Instant, addr: IpAddr, dev: &str) {
        if self.state != State::Master || self.cfg.untracked_vips.contains(&addr) {
            return;
        }
        let iface = self.cfg.interface.clone();
        let ours = self
            .all_vips()
            .any(|v| v.addr == addr && v.dev.as_deref().unwrap_or(&iface) == dev);
        if ours {
            self.step_down(now);
        }
    }

    fn shutdown(&mut self, now: Instant) {
        match self.state {
            State::Master => self.leave_master(now, State::Initialize, Reason::Shutdown, true),
            State::Backup | State::Fault => self.transition(State::Initialize, Reason::Shutdown),
            State::Initialize => return,
        }
        self.timer = None;
        self.announcer.clear();
        self.notify(NotifyState::Stop);
    }

    // ----- transitions -----

    fn become_master(&mut self, now: Instant, reason: Reason) {
        // keepalived sends the advert first so that the old master drops
        // the VIPs before the gratuitous ARPs go out.
        self.master_interval = self.cfg.interval;
        self.preempt_at = None;
        self.wants_master = true;
        let from = self.state;
        self.state = State::Master;
        self.send_advert(self.priority);
        self.timer = Some(now + self.cfg.interval.as_duration());
        self.stats.become_master += 1;
        self.trace_state(from, State::Master, reason);
        self.master = Some((self.cfg.src, self.priority));
        self.add_vips();
        let repeat = self.cfg.garp.master_repeat;
        if repeat > 0 {
            self.start_garp(now, repeat, GarpCause::BecomeMaster);
            if !self.cfg.garp.master_delay.is_zero() {
                self.announcer
                    .schedule(now + self.cfg.garp.master_delay, repeat);
            }
        }
        self.refresh_at_reset(now);
        self.notify(NotifyState::Master);
    }

    /// Leaves master for `to`. `stop` sends a priority-0 advert first
    /// (shutdown and fault; not when preempted).
    fn leave_master(&mut self, now: Instant, to: State, reason: Reason, stop: bool) {
        self.wants_master = false;
        if stop {
            self.send_advert(PRIORITY_STOP);
            self.stats.priority_zero_sent += 1;
        }
        self.announcer.clear();
        self.del_vips();
        self.stats.release_master += 1;
        self.transition(to, reason);
        match to {
            State::Backup => {
                let d = self.master_down_interval();
                self.arm_backup(now, d, Reason::MasterDownTimeout);
            }
            _ => self.timer = None,
        }
    }

    fn leave_fault(&mut self, now: Instant) {
        self.enter_backup(now, Reason::FaultCleared);
    }

    /// From FAULT to BACKUP, waiting the master-down interval.
    fn enter_backup(&mut self, now: Instant, reason: Reason) {
        self.master_interval = self.cfg.interval;
        self.transition(State::Backup, reason);
        // keepalived's try_up_instance shortens the wait for an owner only
        // while it still wants MASTER; a fault has made it want FAULT, so
        // every instance, owner or not, waits the master-down interval.
        let d = self.master_down_interval();
        self.arm_backup(now, d, Reason::MasterDownTimeout);
    }

    fn arm_backup(&mut self, now: Instant, d: Duration, cause: Reason) {
        self.timer = Some(now + d);
        self.armed_with = d;
        self.down_cause = cause;
    }

    /// Records the state change and notifies.
    fn transition(&mut self, to: State, reason: Reason) {
        let from = self.state;
        self.state = to;
        self.trace_state(from, to, reason);
        let n = match to {
            State::Backup => NotifyState::Backup,
            State::Master => NotifyState::Master,
            State::Fault => NotifyState::Fault,
            State::Initialize => return,
        };
        self.notify(n);
    }

    // ----- priority -----

    fn faulted(&self) -> bool {
        !self.link_up
            || self.cfg.trackers.iter().any(|t| match &t.id {
                TrackerId::File(_) => self.file_status(t).is_none(),
                _ => t.weight == 0 && !self.tracker_good(&t.id, t.reverse),
            })
    }

    /// keepalived 2.2.7's track_file (trackers/track_file.c,
    /// vrrp_track.c): with weight 0, a non-zero value (zero with
    /// `reverse`) is a fault; otherwise the value times the weight
    /// (negated with `reverse`), clamped to -254..253, is added to the
    /// priority, and -254 is a fault. `None` for a fault.
    fn file_status(&self, t: &super::TrackSpec) -> Option<i64> {
        let value = self.values.get(&t.id).copied().unwrap_or(0);
        if t.weight == 0 {
            return ((value != 0) == t.reverse).then_some(0);
        }
        let status = value.saturating_mul(i64::from(t.weight));
        let status = if t.reverse { -status } else { status };
        let status = status.clamp(-254, 253);
        (status != -254).then_some(status)
    }

    fn tracker_good(&self, id: &TrackerId, reverse: bool) -> bool {
        self.tracked.get(id).copied().unwrap_or(true) != reverse
    }

    fn effective_priority(&self) -> u8 {
        if self.cfg.is_owner() {
            return if self.owner_demoted {
                PRIORITY_OWNER - 1
            } else {
                PRIORITY_OWNER
            };
        }
        let mut total = i64::from(self.cfg.priority);
        for t in &self.cfg.trackers {
            if let TrackerId::File(_) = t.id {
                total += self.file_status(t).unwrap_or(0);
                continue;
            }
            let good = self.tracker_good(&t.id, t.reverse);
            if (t.weight > 0 && good) || (t.weight < 0 && !good) {
                total += i64::from(t.weight);
            }
        }
        total.clamp(1, i64::from(PRIORITY_OWNER - 1)) as u8
    }

    fn set_priority(&mut self, now: Instant, cause: &str) {
        let new = self.effective_priority();
        if new == self.priority {
            return;
        }
        let old = self.priority;
        self.priority = new;
        self.trace(EventKind::Priority {
            from: old,
            to: new,
            cause: cause.to_string(),
        });
        if self.state == State::Backup
            && let Some(at) = self.timer
        {
            // Shift the running timer by the change in Master_Down_Interval
            // (keepalived's vrrp_set_effective_priority).
            let d = self.master_down_interval();
            let shifted = if d >= self.armed_with {
                at + (d - self.armed_with)
            } else {
                Instant::from_nanos(
                    at.as_nanos()
                        .saturating_sub((self.armed_with - d).as_nanos() as u64),
                )
            };
            self.timer = Some(shifted.max(now));
            self.armed_with = d;
        }
    }

    // ----- outputs -----

    fn send_advert(&mut self, priority: u8) {
        let advert = Advert {
            version: self.cfg.version(),
            vrid: self.cfg.vrid,
            priority,
            interval: self.cfg.interval,
            auth: if self.cfg.version() == Version::V2 {
                self.cfg.auth
            } else {
                Auth::None
            },
            addresses: self.cfg.vips.iter().map(|v| v.addr).collect(),
        };
        // keepalived: one IP identification and one AH sequence number
        // per advert (whatever the number of unicast peers); the
        // identification skips 0, which the kernel would replace.
        let seal = self.cfg.ah_key.map(|key| {
            self.ip_id = self.ip_id.wrapping_add(1).max(1);
            if self.ah_seq <= 0xFFFF_FFFD {
                self.ah_seq += 1;
            }
            crate::packet::ah::Seal {
                key,
                seq: self.ah_seq,
                id: self.ip_id,
                unicast: self.cfg.is_unicast(),
            }
        });
        let dsts: Vec<IpAddr> = if self.cfg.is_unicast() {
            self.cfg.unicast_peers.clone()
        } else {
            vec![self.cfg.group]
        };
        for dst in dsts {
            let ctx = ChecksumContext {
                src: self.cfg.src,
                dst,
                mode: self.cfg.checksum_mode,
            };
            let message = advert.to_bytes(&ctx);
            let datagram = match (seal, self.cfg.src, dst) {
                (Some(s), IpAddr::V4(src), IpAddr::V4(to)) => {
                    Some(crate::packet::ah::datagram(src, to, &message, &s))
                }
                _ => None,
            };
            self.out.push(Output::Send(Transmit {
                interface: self.cfg.interface.clone(),
                src: self.cfg.src,
                dst,
                message,
                advert: advert.clone(),
                datagram,
            }));
        }
        self.stats.adverts_sent += 1;
    }

    fn all_vips(&self) -> impl Iterator<Item = &super::vip::Vip> {
        self.cfg.vips.iter().chain(self.cfg.excluded_vips.iter())
    }

    fn add_vips(&mut self) {
        if self.vips_set {
            return;
        }
        self.vips_set = true;
        let vips: Vec<_> = self.all_vips().cloned().collect();
        let addrs = vips.iter().map(|v| v.addr).collect();
        self.out.extend(vips.into_iter().map(Output::AddVip));
        self.trace(EventKind::Vips { added: true, addrs });
    }

    fn del_vips(&mut self) {
        if !self.vips_set {
            return;
        }
        self.vips_set = false;
        let vips: Vec<_> = self.all_vips().cloned().collect();
        let addrs = vips.iter().map(|v| v.addr).collect();
        self.out.extend(vips.into_iter().map(Output::DelVip));
        self.trace(EventKind::Vips {
            added: false,
            addrs,
        });
    }

    fn announce_targets(&self) -> Vec<(IpAddr, String)> {
        self.all_vips()
            .map(|v| {
                (
                    v.addr,
                    v.dev.clone().unwrap_or_else(|| self.cfg.interface.clone()),
                )
            })
            .collect()
    }

    /// Starts a burst and sends what may go at once, so that the
    /// announcements follow the VIP additions directly.
    fn start_garp(&mut self, now: Instant, repeat: u32, cause: GarpCause) {
        let targets = self.announce_targets();
        self.trace(EventKind::Garp {
            addrs: targets.iter().map(|t| t.0).collect(),
            repeat,
            cause,
        });
        self.announcer.burst(&targets, repeat);
        self.poll_announcer(now);
    }

    fn refresh_at_reset(&mut self, now: Instant) {
        self.refresh_due = None;
        if !self.cfg.garp.master_refresh.is_zero() {
            self.refresh_due = Some(now + self.cfg.garp.master_refresh);
        }
    }

    fn refresh_garp(&mut self, now: Instant) {
        if let Some(due) = self.refresh_due
            && now > due
        {
            self.start_garp(now, self.cfg.garp.master_refresh_repeat, GarpCause::Refresh);
            self.refresh_due = Some(now + self.cfg.garp.master_refresh);
        }
    }

    fn poll_announcer(&mut self, now: Instant) {
        if !self.vips_set {
            self.announcer.clear();
            return;
        }
        let targets = self.announce_targets();
        let rounds = self.announcer.promote(now, &targets);
        if rounds > 0 {
            let addrs = targets.iter().map(|t| t.0).collect();
            self.trace(EventKind::Garp {
                addrs,
                repeat: rounds,
                cause: GarpCause::Delayed,
            });
        }
        self.announcer
            .emit(now, self.cfg.garp.interval, &mut self.out);
    }

    fn notify(&mut self, state: NotifyState) {
        self.out.push(Output::Notify(Notify {
            instance: self.cfg.name.clone(),
            state,
            priority: self.priority,
        }));
    }

    fn reject(&mut self, src: IpAddr, reason: Reject) {
        self.stats.count(&reason);
        self.trace(EventKind::Rejected { src, reason });
    }

    fn trace_state(&mut self, from: State, to: State, reason: Reason) {
        self.trace(EventKind::State {
            from,
            to,
            reason,
            priority: self.priority,
        });
    }

    fn trace(&mut self, kind: EventKind) {
        self.out.push(Output::Trace(trace::Event::Vrrp(Event {
            instance: self.cfg.name.clone(),
            kind,
        })));
    }
}

/// Compares two addresses as keepalived's `vrrp_saddr_cmp` does (by
/// bytes, network order); addresses of different families are equal.
fn cmp_addr(a: IpAddr, b: IpAddr) -> Ordering {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => a.octets().cmp(&b.octets()),
        (IpAddr::V6(a), IpAddr::V6(b)) => a.octets().cmp(&b.octets()),
        _ => Ordering::Equal,
    }
}
