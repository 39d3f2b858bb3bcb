//! Property tests of diff and apply over generated tables: IPv4, IPv6 and
//! fwmark services, persistence and flags, mixed-family tunnels, and
//! services the config does not own.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

use super::*;
use crate::time::Instant;

fn addr(v6: bool, n: u8) -> IpAddr {
    if v6 {
        format!("2001:db8::{n:x}").parse().unwrap()
    } else {
        format!("192.0.2.{n}").parse().unwrap()
    }
}

fn service_key() -> impl Strategy<Value = ServiceKey> {
    prop_oneof![
        3 => (0..3u8, any::<bool>(), 1..6u8, prop::sample::select(vec![0u16, 80, 443])).prop_map(|(p, v6, n, port)| {
            let protocol = [Protocol::Tcp, Protocol::Udp, Protocol::Sctp][p as usize];
            ServiceKey::addr(protocol, addr(v6, n), port)
        }),
        1 => (1..4u32, any::<bool>()).prop_map(|(mark, v6)| {
            ServiceKey::fwmark(mark, if v6 { Family::V6 } else { Family::V4 })
        }),
    ]
}

fn service(family: Family) -> impl Strategy<Value = Service> {
    let sched = prop::sample::select(vec![
        Scheduler::Rr,
        Scheduler::Wrr,
        Scheduler::Wlc,
        Scheduler::Sh,
        Scheduler::Mh,
    ]);
    let flags = (0..16u32).prop_map(|b| ServiceFlags::from_kernel(b << 2));
    let persistence = prop::option::of(
        (
            1..400u32,
            1..=128u8,
            prop::option::of(Just("sip".to_string())),
        )
            .prop_map(move |(timeout, len, engine)| Persistence {
                timeout,
                netmask: Netmask::prefix(family, len),
                engine,
            }),
    );
    (sched, flags, persistence).prop_map(|(scheduler, flags, persistence)| Service {
        scheduler,
        flags,
        persistence,
    })
}

fn dest(family: Family) -> impl Strategy<Value = (DestKey, Dest)> {
    let v6 = family == Family::V6;
    (
        any::<bool>(),
        10..16u8,
        prop::sample::select(vec![0u16, 80, 8080]),
        0..4u8,
        0..6u32,
        0..3u32,
        0..3u32,
    )
        .prop_map(move |(other_family, n, port, fwd, weight, u, l)| {
            // Another family only for tunnels, as the kernel insists.
            let (v6, fwd) = if other_family && fwd == 2 {
                (!v6, 2)
            } else {
                (v6, fwd)
            };
            let forward = ForwardMethod::from_code(fwd as u32).unwrap();
            let (u, l) = (u.max(l), l.min(u));
            (
                DestKey::new(addr(v6, n), port),
                Dest {
                    forward,
                    weight,
                    u_threshold: u * 100,
                    l_threshold: l * 100,
                },
            )
        })
}

fn entry(family: Family) -> impl Strategy<Value = ServiceEntry> {
    (service(family), vec(dest(family), 0..6)).prop_map(|(s, ds)| {
        let mut e = ServiceEntry::new(s);
        for (k, d) in ds {
            e.insert_dest(k, d);
        }
        e
    })
}

fn table() -> impl Strategy<Value = Table> {
    btree_map(service_key(), Just(()), 0..8).prop_flat_map(|keys| {
        let entries: Vec<_> = keys
            .into_keys()
            .map(|k| entry(k.family()).prop_map(move |e| (k, e)))
            .collect();
        entries.prop_map(|es| es.into_iter().collect::<Table>())
    })
}

/// A desired table close to `a`: some services dropped or edited, some
/// destinations dropped, reweighted or added; plus `other`'s new services.
fn mutate(a: &Table, other: &Table, bytes: &[u8]) -> Table {
    let mut r = bytes.iter().copied().cycle();
    let mut b = Table::new();
    for (k, e) in a.iter() {
        let x = r.next().unwrap_or(0);
        if x % 4 == 0 {
            continue;
        }
        let mut n = e.clone();
        if x & 4 != 0 {
            n.service.flags = ServiceFlags::from_kernel(n.service.flags.bits() ^ 0x4);
        }
        for (dk, _) in e.dests() {
            match r.next().unwrap_or(0) % 3 {
                0 => {
                    n.remove_dest(dk);
                }
                1 => n.dest_mut(dk).unwrap().weight += 1,
                _ => {}
            }
        }
        if x & 8 != 0 {
            n.insert_dest(
                DestKey::new(addr(k.family() == Family::V6, 200), 1),
                Dest::new(ForwardMethod::Masq, 1),
            );
        }
        b.insert(*k, n);
    }
    for (k, e) in other.iter() {
        if !a.contains(k) {
            b.insert(*k, e.clone());
        }
    }
    b
}

/// An actual table, a desired table, the retired keys, and the foreign
/// services (in actual, neither desired nor retired).
fn scenario() -> impl Strategy<Value = (Table, Table, BTreeSet<ServiceKey>, Table)> {
    (
        table(),
        table(),
        table(),
        vec(any::<u8>(), 1..64),
        any::<bool>(),
    )
        .prop_map(|(actual_owned, other, extra, bytes, related)| {
            let desired = if related {
                mutate(&actual_owned, &other, &bytes)
            } else {
                other
            };
            let mut actual = actual_owned.clone();
            let mut retired = BTreeSet::new();
            for (i, k) in actual_owned.keys().enumerate() {
                if !desired.contains(k) && bytes[i % bytes.len()] & 0x10 != 0 {
                    retired.insert(*k);
                }
            }
            let mut foreign = Table::new();
            for (k, e) in actual_owned.iter() {
                if !desired.contains(k) && !retired.contains(k) {
                    foreign.insert(*k, e.clone());
                }
            }
            for (k, e) in extra.iter() {
                if !desired.contains(k) && !actual.contains(k) {
                    actual.insert(*k, e.clone());
                    foreign.insert(*k, e.clone());
                }
            }
            (actual, desired, retired, foreign)
        })
}

fn union(a: &Table, b: &Table) -> Table {
    a.iter()
        .chain(b.iter())
        .map(|(k, e)| (*k, e.clone()))
        .collect()
}

proptest! {
    #![proptest_config(crate::proptest_config::config(512))]

    /// apply(a, diff(a, b)) == b, plus the untouched foreign services.
    #[test]
    fn diff_reaches_desired((actual, desired, retired, foreign) in scenario()) {
        let p = plan(&actual, &desired, &retired);
        let mut t = actual.clone();
        apply(&mut t, &p.ops).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&t, &union(&desired, &foreign));
        prop_assert_eq!(p.foreign, foreign.keys().copied().collect::<Vec<_>>());
        prop_assert!(p.draining.is_empty());
    }

    /// Without foreign services the property is literally apply(a, diff(a, b)) == b.
    #[test]
    fn diff_reaches_desired_plain(a in table(), other in table(), bytes in vec(any::<u8>(), 1..64)) {
        let b = mutate(&a, &other, &bytes);
        let retired: BTreeSet<ServiceKey> = a.keys().filter(|k| !b.contains(k)).copied().collect();
        let mut t = a.clone();
        apply(&mut t, &plan(&a, &b, &retired).ops).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(t, b);
    }

    /// diff(a, a) is empty.
    #[test]
    fn in_sync_diff_is_empty((actual, _d, retired, _f) in scenario()) {
        prop_assert!(diff(&actual, &actual).is_empty());
        prop_assert!(plan(&actual, &actual, &retired).ops.is_empty());
    }

    /// No op is redundant: dropping any one op fails or misses the target,
    /// and no two ops do the same job.
    #[test]
    fn no_op_is_redundant((actual, desired, retired, foreign) in scenario()) {
        let ops = plan(&actual, &desired, &retired).ops;
        let target = union(&desired, &foreign);
        for i in 0..ops.len() {
            let mut t = actual.clone();
            let without: Vec<Op> = ops.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, o)| o.clone()).collect();
            let reached = apply(&mut t, &without).is_ok() && t == target;
            prop_assert!(!reached, "op {} ({}) is redundant", i, ops[i]);
        }
        let mut seen = BTreeSet::new();
        for op in &ops {
            prop_assert!(seen.insert((op.verb(), *op.service_key(), op.dest_key().copied())), "duplicate {}", op);
        }
    }

    /// Order is valid: every op applies in turn, services exist before their
    /// destinations, are empty when deleted, and foreign ones are never touched.
    #[test]
    fn order_is_valid((actual, desired, retired, foreign) in scenario()) {
        let ops = plan(&actual, &desired, &retired).ops;
        let mut t = actual.clone();
        for op in &ops {
            prop_assert!(!foreign.contains(op.service_key()), "touches foreign {}", op);
            if let Op::DelService { key } = op {
                prop_assert!(t.service(key).is_some_and(|e| e.dests().is_empty()));
            }
            if op.dest_key().is_some() {
                prop_assert!(t.contains(op.service_key()));
            }
            let before = t.clone();
            apply_one(&mut t, op).map_err(|e| TestCaseError::fail(format!("{op}: {e}")))?;
            prop_assert_ne!(&before, &t, "{} changes nothing", op);
        }
    }

    /// Weight changes are always edits, never delete + add.
    #[test]
    fn surviving_dests_are_edited_not_replaced(a in table(), w in 0..7u32) {
        let mut b = a.clone();
        for (k, e) in a.iter() {
            let target = b.service_mut(k).unwrap();
            for (dk, _) in e.dests() {
                target.dest_mut(dk).unwrap().weight = w;
            }
        }
        for op in diff(&a, &b) {
            prop_assert!(matches!(op, Op::EditDest { .. }), "{}", op);
        }
    }

    /// Graceful removal converges once the drain time has passed, never
    /// deletes a destination that still had weight at the previous step,
    /// and leaves foreign services alone.
    #[test]
    fn graceful_removal_converges((actual, desired, retired, foreign) in scenario(), drain_s in 1..100u64) {
        let drain = Duration::from_secs(drain_s);
        let mut g = Drainer::new(drain);
        let mut t = actual.clone();
        let target = union(&desired, &foreign);
        let mut now = Instant::from_secs(10);
        for _round in 0..3 {
            let p = g.plan(now, &t, &desired, &retired);
            for op in &p.ops {
                prop_assert!(!foreign.contains(op.service_key()));
                if let Op::DelDest { service, dest } = op {
                    let w = t.service(service).and_then(|e| e.dest(dest)).map(|d| d.weight);
                    prop_assert_eq!(w, Some(0), "{} deleted while weighted", op);
                }
            }
            apply(&mut t, &p.ops).map_err(|e| TestCaseError::fail(e.to_string()))?;
            if let Some(d) = g.next_deadline() {
                prop_assert!(d > now);
                now = d;
            }
        }
        prop_assert_eq!(t, target);
        prop_assert_eq!(g.next_deadline(), None);
    }
}
