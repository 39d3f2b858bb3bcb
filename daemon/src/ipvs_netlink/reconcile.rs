//! Keeping the kernel's table in line with the one the config asks for,
//! synchronously: [`sync`] drives core's [`ipvs::Sync`] (the one place
//! that decides what to read, plan and send) against an [`IpvsBackend`]
//! until it has nothing more to ask. vigild's check side drives the same
//! state machine inside its [`vigil_core::director::Balancer`]; this
//! driver serves the IPVS lane's tests and benchmarks, which talk to a
//! kernel directly.

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use vigil_core::ipvs::{self, Op, ServiceKey, SyncOutput, Table};
use vigil_core::time::Instant;
use vigil_core::trace;

use crate::ipvs_backend::{BackendError, IpvsBackend};
use crate::log;

/// How often a full resync runs by default.
pub const RESYNC_INTERVAL: Duration = Duration::from_secs(30);

/// The environment variable that overrides [`RESYNC_INTERVAL`] (seconds,
/// fractions allowed; at least 0.1).
pub const RESYNC_VAR: &str = "VIGILD_IPVS_RESYNC";

/// Dump-and-diff rounds one sync makes before it gives up until the next.
pub const MAX_ROUNDS: u32 = ipvs::MAX_ROUNDS;

/// Ops (and refusals) one round logs one by one; a larger round (a first
/// load of thousands of services) is logged as counts per kind, since a
/// line per op would cost more than the ops themselves.
pub const LOG_OPS_MAX: usize = 256;

/// `count=N verb=n …` for a batch of ops too large to list.
pub fn summary<'a>(ops: impl Iterator<Item = &'a Op>) -> String {
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut n = 0;
    for op in ops {
        *counts.entry(op.verb()).or_default() += 1;
        n += 1;
    }
    let kinds: Vec<String> = counts.iter().map(|(k, c)| format!("{k}={c}")).collect();
    format!("count={n} {}", kinds.join(" "))
}

/// The full-resync interval: [`RESYNC_VAR`] if set and valid, else
/// [`RESYNC_INTERVAL`].
pub fn resync_interval() -> Duration {
    std::env::var(RESYNC_VAR)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.1)
        .map_or(RESYNC_INTERVAL, Duration::from_secs_f64)
}

/// What one [`sync`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Dumps of the kernel's table.
    pub dumps: u32,
    /// Ops sent (accepted or not).
    pub sent: usize,
    /// Ops the kernel refused, with why.
    pub refused: Vec<BackendError>,
    /// Plan rounds made.
    pub rounds: u32,
    /// Services found that the config does not own (left alone).
    pub foreign: Vec<ServiceKey>,
    /// Whether the last plan was empty: the table is as desired.
    pub converged: bool,
    /// A dump that failed, if one did.
    pub dump_error: Option<String>,
}

/// Brings `backend`'s table to `want`, touching only the services in
/// `want` and in `retired`; `state` is the sync's belief of the kernel's
/// table (kept between calls), read afresh first when `full`. Every op
/// and every refusal is logged.
pub fn sync(
    backend: &mut dyn IpvsBackend,
    state: &mut ipvs::Sync,
    want: &Table,
    retired: &BTreeSet<ServiceKey>,
    full: bool,
) -> SyncReport {
    let now = Instant::ZERO;
    let mut r = SyncReport::default();
    state.retire(retired.iter().copied());
    let mut outs: VecDeque<SyncOutput> = if full {
        state.full(now, want.clone()).collect()
    } else {
        state.want(now, want.clone()).collect()
    };
    let mut quiet = false;
    while let Some(o) = outs.pop_front() {
        let more: Vec<SyncOutput> = match o {
            SyncOutput::Dump => match backend.dump() {
                Ok(t) => {
                    r.dumps += 1;
                    state.dumped(now, Ok(t)).collect()
                }
                Err(e) => {
                    r.dump_error = Some(e.error.clone());
                    state.dumped(now, Err(e.to_string())).collect()
                }
            },
            SyncOutput::Apply(ops) => {
                r.rounds += 1;
                r.sent += ops.len();
                if quiet {
                    tracing::info!("ipvs ops {} (not listed one by one)", summary(ops.iter()));
                }
                let errs = backend.apply(&ops);
                let mut refused = Vec::new();
                for e in &errs {
                    match &e.op {
                        Some(op) => refused.push((op.clone(), e.error.clone())),
                        None => tracing::error!("ipvs: {e}"),
                    }
                }
                r.refused.extend(errs);
                state.applied(now, refused).collect()
            }
            SyncOutput::Event(ipvs::Event::Op(_)) if quiet => Vec::new(),
            SyncOutput::Event(e) => {
                if let ipvs::Event::Foreign(k) = &e {
                    r.foreign.push(*k);
                }
                log::event(&trace::Event::Ipvs(e));
                Vec::new()
            }
            SyncOutput::Stuck(why) => {
                log::event(&trace::Event::Ipvs(ipvs::Event::Stuck(why)));
                Vec::new()
            }
        };
        let ops = more
            .iter()
            .filter(|o| matches!(o, SyncOutput::Event(ipvs::Event::Op(_))))
            .count();
        if ops > 0 {
            quiet = ops > LOG_OPS_MAX;
        }
        for m in more.into_iter().rev() {
            outs.push_front(m);
        }
    }
    r.converged = ipvs::plan(state.actual(), want, retired).ops.is_empty();
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs_backend::Unavailable;
    use vigil_core::ipvs::{Dest, DestKey, ForwardMethod, Scheduler, Service, ServiceEntry};

    /// A backend over a model table that refuses ops as told, counting
    /// dumps and ops.
    struct Fake {
        inner: Unavailable,
        refuse: Vec<(Op, &'static str)>,
        dumps: u32,
        applied: Vec<Op>,
    }

    impl IpvsBackend for Fake {
        fn name(&self) -> &'static str {
            "fake"
        }
        fn programs_kernel(&self) -> bool {
            true
        }
        fn dump(&mut self) -> Result<Table, BackendError> {
            self.dumps += 1;
            self.inner.dump()
        }
        fn apply(&mut self, ops: &[Op]) -> Vec<BackendError> {
            let mut errs = Vec::new();
            for op in ops {
                if let Some((_, why)) = self.refuse.iter().find(|(o, _)| o == op) {
                    errs.push(BackendError {
                        op: Some(op.clone()),
                        error: why.to_string(),
                    });
                    continue;
                }
                self.applied.push(op.clone());
                errs.extend(self.inner.apply(std::slice::from_ref(op)));
            }
            errs
        }
    }

    fn fake() -> Fake {
        Fake {
            inner: Unavailable::new("test"),
            refuse: Vec::new(),
            dumps: 0,
            applied: Vec::new(),
        }
    }

    fn key() -> ServiceKey {
        ServiceKey::tcp("192.0.2.160".parse().unwrap(), 80)
    }

    fn dk(last: u8) -> DestKey {
        DestKey::new(format!("192.0.2.{last}").parse().unwrap(), 80)
    }

    fn want(weights: &[(u8, u32)]) -> Table {
        let mut e = ServiceEntry::new(Service::new(Scheduler::Rr));
        for (l, w) in weights {
            e.insert_dest(dk(*l), Dest::new(ForwardMethod::Route, *w));
        }
        [(key(), e)].into_iter().collect()
    }

    #[test]
    fn incremental_syncs_do_not_dump_and_resyncs_write_nothing_in_sync() {
        let mut b = fake();
        let mut actual = ipvs::Sync::new(None);
        let w = want(&[(152, 1), (153, 1)]);
        let r = sync(&mut b, &mut actual, &w, &BTreeSet::new(), true);
        assert_eq!((r.dumps, r.sent, r.converged), (1, 3, true));
        assert_eq!(actual.actual(), &w);
        // A health change: ops only, no dump.
        let w2 = want(&[(152, 1)]);
        let r = sync(&mut b, &mut actual, &w2, &BTreeSet::new(), false);
        assert_eq!((r.dumps, r.sent, r.converged), (0, 1, true));
        // A resync of a table in line: one dump, zero writes.
        let before = b.applied.len();
        let r = sync(&mut b, &mut actual, &w2, &BTreeSet::new(), true);
        assert_eq!((r.dumps, r.sent, r.converged), (1, 0, true));
        assert_eq!(b.applied.len(), before);
        assert_eq!(b.dumps, 2);
    }

    #[test]
    fn outside_edits_are_undone_at_resync_and_foreign_services_stay() {
        let mut b = fake();
        let mut actual = ipvs::Sync::new(None);
        let w = want(&[(152, 1)]);
        sync(&mut b, &mut actual, &w, &BTreeSet::new(), true);
        // Outside: a destination added to our service, a service of its own.
        let other = ServiceKey::tcp("192.0.2.200".parse().unwrap(), 443);
        b.inner.apply(&[
            Op::AddDest {
                service: key(),
                dest: dk(99),
                params: Dest::new(ForwardMethod::Route, 5),
            },
            Op::AddService {
                key: other,
                service: Service::new(Scheduler::Wlc),
            },
        ]);
        // An incremental sync does not see it; a resync undoes it.
        let r = sync(&mut b, &mut actual, &w, &BTreeSet::new(), false);
        assert_eq!(r.sent, 0);
        let r = sync(&mut b, &mut actual, &w, &BTreeSet::new(), true);
        assert_eq!(r.sent, 1);
        assert_eq!(r.foreign, vec![other]);
        let now = b.inner.dump().unwrap();
        assert_eq!(now.service(&key()), w.service(&key()));
        assert!(now.contains(&other));
    }

    #[test]
    fn refusals_reread_and_rediff() {
        let mut b = fake();
        let mut actual = ipvs::Sync::new(None);
        let w = want(&[(152, 1), (153, 1)]);
        sync(&mut b, &mut actual, &w, &BTreeSet::new(), true);
        // Behind vigild's back: .153 removed. Vigild's next edit of it
        // gets ENOENT; the re-read shows it gone and re-adds it.
        b.inner.apply(&[Op::DelDest {
            service: key(),
            dest: dk(153),
        }]);
        let w2 = want(&[(152, 1), (153, 4)]);
        b.refuse.push((
            Op::EditDest {
                service: key(),
                dest: dk(153),
                params: Dest::new(ForwardMethod::Route, 4),
            },
            "ENOENT: no such destination (removed outside vigild?)",
        ));
        let r = sync(&mut b, &mut actual, &w2, &BTreeSet::new(), false);
        assert_eq!(r.refused.len(), 1);
        assert_eq!((r.dumps, r.rounds, r.converged), (1, 2, true));
        assert_eq!(b.inner.dump().unwrap(), w2);
        assert_eq!(actual.actual(), &w2);
    }

    #[test]
    fn a_permanent_refusal_is_not_retried_forever() {
        let mut b = fake();
        let mut actual = ipvs::Sync::new(None);
        let w = want(&[(152, 1)]);
        let add = Op::AddService {
            key: key(),
            service: Service::new(Scheduler::Rr),
        };
        b.refuse.push((
            add.clone(),
            "ENOENT: scheduler module ip_vs_rr not available in this kernel",
        ));
        b.refuse.push((
            Op::AddDest {
                service: key(),
                dest: dk(152),
                params: Dest::new(ForwardMethod::Route, 1),
            },
            "ESRCH: no such service (removed outside vigild?)",
        ));
        let r = sync(&mut b, &mut actual, &w, &BTreeSet::new(), true);
        assert!(!r.converged);
        assert_eq!(r.sent, 2, "each refused op sent once");
        assert_eq!((r.rounds, r.dumps), (1, 2));
        assert_eq!(r.refused[0].op.as_ref(), Some(&add));
    }

    #[test]
    fn large_rounds_are_summarised() {
        let ops: Vec<Op> = (0..3u8)
            .map(|i| Op::DelDest {
                service: key(),
                dest: dk(i),
            })
            .chain([Op::DelService { key: key() }])
            .collect();
        assert_eq!(summary(ops.iter()), "count=4 del-dest=3 del-service=1");
    }

    #[test]
    fn resync_interval_from_the_environment() {
        // Not set in the test environment unless a developer set it.
        if std::env::var_os(RESYNC_VAR).is_none() {
            assert_eq!(resync_interval(), RESYNC_INTERVAL);
        }
    }
}
