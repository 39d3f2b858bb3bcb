//! What the real node did, inferred from its own packets in the capture,
//! and when its daemon lived.
//!
//! State changes, per instance:
//! - an advert after silence: it became master;
//! - a priority-0 advert: it stopped (or went to fault) as master;
//! - its adverts cease right after an advert that outranks it: it became
//!   backup at that advert;
//! - its adverts cease otherwise: it disappeared (crash, kill, cut link).
//!
//! Life of the daemon, for the whole node: an IGMP/MLD join of the VRRP
//! group starts it, a leave or vanished adverts end it (a crash), a
//! priority-0 advert stops it. Captures without joins (unicast, or a
//! capture begun while the node ran) start it at the capture's first
//! packet, or, when the node advertised at once, early enough to be
//! master by its first advert (that change is then given, not checked).

use std::cmp::Ordering;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use vigil_core::packet::vrrp::Interval;
use vigil_core::packet::{Family, MacAddr};
use vigil_core::vrrp::{InstanceConfig, timers};

use super::decode::{Decoded, What};

/// A state change of the real node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Backup (or initialize) to master.
    BecameMaster,
    /// Master to backup: it heard a better master.
    BecameBackup,
    /// Master sent priority 0 (stop or fault).
    Stopped,
    /// Master's adverts stopped with no better master heard.
    Vanished,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Change::BecameMaster => "-> master",
            Change::BecameBackup => "master -> backup",
            Change::Stopped => "master -> stop (prio 0)",
            Change::Vanished => "master -> gone",
        })
    }
}

/// One observed change of one instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    /// Index into the instances replayed.
    pub instance: usize,
    /// What.
    pub change: Change,
    /// When.
    pub at: Duration,
    /// The packet that shows it.
    pub index: usize,
    /// Given by the way the replay starts (the node was master when the
    /// capture began): shown, not checked.
    pub given: bool,
}

/// Why the daemon's life changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LifeCause {
    /// The capture's first packet (nothing says when it started).
    CaptureStart,
    /// Started early enough to be master at its first advert.
    AlreadyMaster,
    /// Its IGMP/MLD join of the VRRP group (packet index).
    Join(usize),
    /// Given on the command line.
    Given,
    /// Its priority-0 advert (packet index).
    PriorityZero(usize),
    /// Its IGMP/MLD leave of the VRRP group (packet index).
    Leave(usize),
    /// Its adverts stopped (last one: packet index).
    Silent(usize),
}

impl fmt::Display for LifeCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LifeCause::CaptureStart => f.write_str("cause=capture-start"),
            LifeCause::AlreadyMaster => f.write_str("cause=master-when-capture-began"),
            LifeCause::Join(i) => write!(f, "cause=group-join packet={i}"),
            LifeCause::Given => f.write_str("cause=--start"),
            LifeCause::PriorityZero(i) => write!(f, "cause=priority-0 packet={i}"),
            LifeCause::Leave(i) => write!(f, "cause=group-leave packet={i}"),
            LifeCause::Silent(i) => write!(f, "cause=adverts-ceased last-packet={i}"),
        }
    }
}

/// What happens to the daemon.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LifeKind {
    /// It starts (a fresh daemon).
    Start,
    /// It stops gracefully (Shutdown: priority 0 as master).
    Stop,
    /// It ends without a word.
    Crash,
}

/// A change in the daemon's life at a time: capture time, possibly
/// before the capture began (`before` set).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Life {
    /// What.
    pub kind: LifeKind,
    /// When, after the capture's start...
    pub at: Duration,
    /// ...or this long before it.
    pub before: Duration,
    /// Why.
    pub cause: LifeCause,
}

/// A peer's advert seen for an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerAdvert {
    /// When.
    pub at: Duration,
    /// From.
    pub src: IpAddr,
    /// Its priority.
    pub priority: u8,
}

/// Everything observed.
#[derive(Clone, Debug, Default)]
pub struct Observation {
    /// The real node's state changes, in time order.
    pub changes: Vec<Observed>,
    /// Its daemon's life, in time order.
    pub life: Vec<Life>,
    /// Its adverts (all instances).
    pub adverts: usize,
    /// Its gratuitous ARPs / unsolicited NAs.
    pub announcements: usize,
    /// Peer adverts per instance.
    pub peers: Vec<Vec<PeerAdvert>>,
}

/// Compares addresses as VRRP breaks priority ties.
pub fn cmp_addr(a: IpAddr, b: IpAddr) -> Ordering {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => a.octets().cmp(&b.octets()),
        (IpAddr::V6(a), IpAddr::V6(b)) => a.octets().cmp(&b.octets()),
        _ => Ordering::Equal,
    }
}

/// How soon after its advert a master announces its VIPs (keepalived and
/// FRR over IPv4: well under a millisecond).
const ANNOUNCE_AFTER_ADVERT: Duration = Duration::from_millis(5);

fn is_virtual_mac(m: MacAddr) -> bool {
    m.0[..4] == [0x00, 0x00, 0x5e, 0x00] && matches!(m.0[4], 1 | 2)
}

#[derive(Default)]
struct Track {
    advertising: bool,
    /// The role's last advert: time, packet, priority, interval.
    last: Option<(Duration, usize, u8, Interval)>,
    /// The first outranking peer advert after the role's last one.
    candidate: Option<(Duration, usize)>,
    /// An announcement of its VIPs while it was not advertising: it
    /// became master then if its first advert follows (FRR announces
    /// IPv6 VIPs an interval before its first advert).
    announced: Option<(Duration, usize)>,
}

/// Observes the node whose address is `node` and whose instances are
/// `cfgs` (their `src` are its advert sources) in `d`. `starts` are given
/// start times (they replace the ones inferred from group joins); group
/// reports from `node_macs` are the node's too (a node advertising from
/// a virtual MAC joins from its interface's own).
pub fn observe(
    d: &Decoded,
    node: IpAddr,
    node_macs: &[MacAddr],
    cfgs: &[InstanceConfig],
    starts: &[Duration],
) -> Observation {
    let mut o = Observation {
        peers: vec![Vec::new(); cfgs.len()],
        ..Observation::default()
    };
    let own = |a: IpAddr| a == node || cfgs.iter().any(|c| c.src == a);
    let mut macs: Vec<MacAddr> = node_macs.to_vec();
    for p in &d.packets {
        if let (What::Vrrp(v), Some(m)) = (&p.what, p.src_mac)
            && own(v.meta.src)
            && !macs.contains(&m)
        {
            macs.push(m);
        }
    }
    let mut tracks: Vec<Track> = cfgs.iter().map(|_| Track::default()).collect();
    let mut life: Vec<Life> = Vec::new();
    let mut running = false;
    let mut first_role_event = true;
    let given = !starts.is_empty();
    for s in starts {
        life.push(Life {
            kind: LifeKind::Start,
            at: *s,
            before: Duration::ZERO,
            cause: LifeCause::Given,
        });
    }
    let find = |vrid: u8, family: Family| {
        cfgs.iter()
            .position(|c| c.vrid == vrid && c.family() == family)
    };
    for p in &d.packets {
        for (i, t) in tracks.iter_mut().enumerate() {
            close_if_due(t, i, p.at, &mut o, &mut life, &mut running);
        }
        match &p.what {
            What::Vrrp(v) => {
                let Some(i) = find(v.vrid, v.family()) else {
                    continue;
                };
                let cfg = &cfgs[i];
                if v.meta.src == cfg.src {
                    o.adverts += 1;
                    if first_role_event && !given {
                        first_role_event = false;
                        let warm = v.priority > 0
                            && p.at <= cfg.interval.as_duration() + Duration::from_millis(50);
                        if warm {
                            let md = timers::master_down(
                                cfg.interval,
                                cfg.priority,
                                cfg.down_timer_adverts,
                            );
                            life.push(Life {
                                kind: LifeKind::Start,
                                at: p.at.saturating_sub(md),
                                before: md.saturating_sub(p.at),
                                cause: LifeCause::AlreadyMaster,
                            });
                        } else {
                            life.push(start_at_zero());
                        }
                        running = true;
                    }
                    let t = &mut tracks[i];
                    if v.priority == 0 {
                        if t.advertising {
                            o.changes.push(Observed {
                                instance: i,
                                change: Change::Stopped,
                                at: p.at,
                                index: p.index,
                                given: false,
                            });
                        }
                        t.advertising = false;
                        t.candidate = None;
                        t.last = None;
                        if running {
                            running = false;
                            life.push(Life {
                                kind: LifeKind::Stop,
                                at: p.at,
                                before: Duration::ZERO,
                                cause: LifeCause::PriorityZero(p.index),
                            });
                        }
                    } else {
                        let mut already = life
                            .last()
                            .is_some_and(|l| l.cause == LifeCause::AlreadyMaster)
                            && o.changes.iter().all(|c| c.instance != i);
                        if !running && !given {
                            // Back without a group join (unicast): it
                            // restarted; start it early enough to be
                            // master now.
                            let md = timers::master_down(
                                cfg.interval,
                                cfg.priority,
                                cfg.down_timer_adverts,
                            );
                            let floor = life.last().map_or(Duration::ZERO, |l| l.at);
                            life.push(Life {
                                kind: LifeKind::Start,
                                at: p.at.saturating_sub(md).max(floor),
                                before: Duration::ZERO,
                                cause: LifeCause::AlreadyMaster,
                            });
                            running = true;
                            already = true;
                        }
                        if !t.advertising {
                            let interval = v.advert.as_ref().map_or(cfg.interval, |a| a.interval);
                            let (at, index) = t
                                .announced
                                .filter(|(a, _)| p.at <= *a + grace(interval))
                                .unwrap_or((p.at, p.index));
                            o.changes.push(Observed {
                                instance: i,
                                change: Change::BecameMaster,
                                at,
                                index,
                                given: already,
                            });
                            t.advertising = true;
                        }
                        t.announced = None;
                        let interval = v.advert.as_ref().map_or(cfg.interval, |a| a.interval);
                        t.last = Some((p.at, p.index, v.priority, interval));
                        t.candidate = None;
                    }
                } else if !own(v.meta.src) {
                    o.peers[i].push(PeerAdvert {
                        at: p.at,
                        src: v.meta.src,
                        priority: v.priority,
                    });
                    let t = &mut tracks[i];
                    if v.priority >= cfg.priority
                        || t.announced
                            .is_some_and(|(a, _)| p.at <= a + ANNOUNCE_AFTER_ADVERT)
                    {
                        // Not outranked, or right after it (a peer's
                        // delayed burst): the announcement was the peer's.
                        t.announced = None;
                    }
                    if let Some((_, _, prio, _)) = t.last
                        && t.advertising
                        && t.candidate.is_none()
                        && v.priority != 0
                        && (v.priority > prio
                            || (v.priority == prio
                                && cmp_addr(v.meta.src, cfg.src) == Ordering::Greater))
                    {
                        t.candidate = Some((p.at, p.index));
                    }
                }
            }
            What::Announce { mac, addr } => {
                let advertising = tracks.iter().any(|t| t.advertising);
                if macs.contains(mac) && (!is_virtual_mac(*mac) || advertising) {
                    o.announcements += 1;
                }
                // A peer announces right after its own advert (within a
                // few ms): with a shared virtual MAC that is not ours.
                if macs.contains(mac)
                    && let Some(i) = cfgs
                        .iter()
                        .position(|c| c.vips.iter().any(|v| v.addr == *addr))
                    && !tracks[i].advertising
                    && o.peers[i]
                        .last()
                        .is_none_or(|l| p.at > l.at + ANNOUNCE_AFTER_ADVERT)
                {
                    tracks[i].announced = Some((p.at, p.index));
                }
            }
            What::Membership { src, join }
                if own(*src) || p.src_mac.is_some_and(|m| node_macs.contains(&m)) =>
            {
                if first_role_event && !given {
                    first_role_event = false;
                    if !*join {
                        life.push(start_at_zero());
                        running = true;
                    }
                }
                if *join && !given && !running {
                    running = true;
                    life.push(Life {
                        kind: LifeKind::Start,
                        at: p.at,
                        before: Duration::ZERO,
                        cause: LifeCause::Join(p.index),
                    });
                } else if !*join {
                    for (i, t) in tracks.iter_mut().enumerate() {
                        if t.advertising {
                            o.changes.push(Observed {
                                instance: i,
                                change: Change::Vanished,
                                at: p.at,
                                index: p.index,
                                given: false,
                            });
                        }
                        *t = Track::default();
                    }
                    if running {
                        running = false;
                        life.push(Life {
                            kind: LifeKind::Crash,
                            at: p.at,
                            before: Duration::ZERO,
                            cause: LifeCause::Leave(p.index),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    for (i, t) in tracks.iter_mut().enumerate() {
        close_if_due(t, i, d.span, &mut o, &mut life, &mut running);
    }
    if first_role_event && !given {
        life.push(start_at_zero());
    }
    o.changes.sort_by_key(|c| (c.at, c.instance));
    life.sort_by_key(|l| (l.at, l.kind));
    // Starts before the capture sort first.
    life.sort_by_key(|l| std::cmp::Reverse(l.before));
    o.life = life;
    o
}

fn start_at_zero() -> Life {
    Life {
        kind: LifeKind::Start,
        at: Duration::ZERO,
        before: Duration::ZERO,
        cause: LifeCause::CaptureStart,
    }
}

/// How long after its last advert a master is taken to have stopped
/// advertising.
fn grace(iv: Interval) -> Duration {
    iv.as_duration() * 3 / 2
}

fn close_if_due(
    t: &mut Track,
    i: usize,
    now: Duration,
    o: &mut Observation,
    life: &mut Vec<Life>,
    running: &mut bool,
) {
    let Some((last, index, _, iv)) = t.last else {
        return;
    };
    if !t.advertising || now <= last + grace(iv) {
        return;
    }
    match t.candidate {
        Some((at, cand)) => o.changes.push(Observed {
            instance: i,
            change: Change::BecameBackup,
            at,
            index: cand,
            given: false,
        }),
        None => {
            o.changes.push(Observed {
                instance: i,
                change: Change::Vanished,
                at: last,
                index,
                given: false,
            });
            if *running {
                *running = false;
                life.push(Life {
                    kind: LifeKind::Crash,
                    at: last + Duration::from_micros(1),
                    before: Duration::ZERO,
                    cause: LifeCause::Silent(index),
                });
            }
        }
    }
    t.advertising = false;
    t.candidate = None;
    t.last = None;
}
