//! Keeping the kernel's table in line with the one the config asks for.
//!
//! [`sync`] is one reconciliation: (on a full sync) one dump of the
//! kernel's table, core's [`ipvs::plan`] against the desired table, and
//! only the ops it gives. Between full syncs the table vigild believes in
//! is its own model, updated with every op the kernel accepted, so a
//! health change costs its ops and nothing else. A full sync runs at start,
//! on reload, every [`resync_interval`] (catching edits made behind
//! vigild's back to services it owns) and whenever the kernel refuses an
//! op: then the table is read again and diffed again, up to [`MAX_ROUNDS`]
//! times, an op refused twice is not sent a third time, and what is left
//! is reported. Services vigild does not own are never touched (they are
//! reported once as foreign).

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use vigil_core::ipvs::{self, Op, ServiceKey, Table};
use vigil_core::trace;

use crate::ipvs_backend::{BackendError, IpvsBackend};
use crate::log;

/// How often a full resync runs by default.
pub const RESYNC_INTERVAL: Duration = Duration::from_secs(30);

/// The environment variable that overrides [`RESYNC_INTERVAL`] (seconds,
/// fractions allowed; at least 0.1).
pub const RESYNC_VAR: &str = "VIGILD_IPVS_RESYNC";

/// Dump-and-diff rounds one sync makes before it gives up until the next.
pub const MAX_ROUNDS: u32 = 3;

/// Ops (and refusals) one round logs one by one; a larger round (a first
/// load of thousands of services) is logged as counts per kind, since a
/// line per op would cost more than the ops themselves.
pub const LOG_OPS_MAX: usize = 256;

fn summary<'a>(ops: impl Iterator<Item = &'a Op>) -> String {
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

static FOREIGN_SEEN: Mutex<BTreeSet<ServiceKey>> = Mutex::new(BTreeSet::new());

fn report_foreign(foreign: &[ServiceKey]) {
    let Ok(mut seen) = FOREIGN_SEEN.lock() else {
        return;
    };
    let now: BTreeSet<ServiceKey> = foreign.iter().copied().collect();
    for k in now.difference(&seen) {
        log::event(&trace::Event::Ipvs(ipvs::Event::Foreign(*k)));
    }
    *seen = now;
}

/// Brings `backend`'s table to `want`, touching only the services in
/// `want` and in `retired`; `actual` is vigild's belief of the kernel's
/// table, read afresh first when `full`. Every op and every refusal is
/// logged.
pub fn sync(
    backend: &mut dyn IpvsBackend,
    actual: &mut Table,
    want: &Table,
    retired: &BTreeSet<ServiceKey>,
    full: bool,
) -> SyncReport {
    let mut r = SyncReport::default();
    let mut need_dump = full;
    let mut refused_ops: Vec<Op> = Vec::new();
    while r.rounds < MAX_ROUNDS {
        r.rounds += 1;
        if need_dump {
            match backend.dump() {
                Ok(t) => {
                    *actual = t;
                    r.dumps += 1;
                }
                Err(e) => {
                    tracing::error!("{e}; the next resync retries");
                    r.dump_error = Some(e.error);
                    return r;
                }
            }
        }
        let plan = ipvs::plan(actual, want, retired);
        if need_dump {
            r.foreign = plan.foreign.clone();
            report_foreign(&plan.foreign);
        }
        // An op the kernel already refused in this sync, against a table
        // read since, would be refused again: leave it to the next resync.
        let ops: Vec<Op> = plan
            .ops
            .into_iter()
            .filter(|op| !refused_ops.contains(op))
            .collect();
        if ops.is_empty() {
            r.converged = refused_ops.is_empty();
            break;
        }
        if ops.len() <= LOG_OPS_MAX {
            for op in &ops {
                log::event(&trace::Event::Ipvs(ipvs::Event::Op(op.clone())));
            }
        } else {
            tracing::info!("ipvs ops {} (not listed one by one)", summary(ops.iter()));
        }
        let errs = backend.apply(&ops);
        r.sent += ops.len();
        need_dump = !errs.is_empty();
        for op in &ops {
            if errs.iter().any(|e| e.op.as_ref() == Some(op)) {
                continue;
            }
            if ipvs::apply_one(actual, op).is_err() {
                // The kernel took an op the model would not: the model is
                // wrong, read the kernel again.
                need_dump = true;
            }
        }
        for (i, e) in errs.iter().enumerate() {
            if let Some(op) = &e.op {
                if i < LOG_OPS_MAX {
                    log::event(&trace::Event::Ipvs(ipvs::Event::Refused {
                        op: op.clone(),
                        error: e.error.clone(),
                    }));
                }
                refused_ops.push(op.clone());
            } else {
                tracing::error!("ipvs: {e}");
            }
        }
        if errs.len() > LOG_OPS_MAX {
            tracing::error!(
                "ipvs refused {} more op(s): {}",
                errs.len() - LOG_OPS_MAX,
                summary(errs[LOG_OPS_MAX..].iter().filter_map(|e| e.op.as_ref()))
            );
        }
        r.refused.extend(errs);
        if !need_dump {
            r.converged = true;
            break;
        }
    }
    if !r.converged {
        tracing::error!(
            "ipvs: table not in line after {} round(s): {} op(s) refused{}; the next resync retries",
            r.rounds,
            r.refused.len(),
            r.refused
                .first()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        );
    }
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
        let mut actual = Table::new();
        let w = want(&[(152, 1), (153, 1)]);
        let r = sync(&mut b, &mut actual, &w, &BTreeSet::new(), true);
        assert_eq!((r.dumps, r.sent, r.converged), (1, 3, true));
        assert_eq!(actual, w);
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
        let mut actual = Table::new();
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
        let mut actual = Table::new();
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
        assert_eq!(actual, w2);
    }

    #[test]
    fn a_permanent_refusal_is_not_retried_forever() {
        let mut b = fake();
        let mut actual = Table::new();
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
        assert_eq!(r.rounds, 2);
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
