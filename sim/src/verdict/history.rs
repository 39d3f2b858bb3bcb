//! Who was master, who held the VIPs, what each table held, and when:
//! step functions over the run, derived from the record.

use std::collections::BTreeMap;
use std::time::Duration;

use vigil_core::time::Instant;
use vigil_core::vrrp::State;

use crate::record::{Recorder, Weights};

/// The masters of one VRID (instance name) over time.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// (when, instance, director, state) in time order.
    changes: Vec<(Instant, String, usize, State)>,
    /// (when, director, holds VIPs) in time order.
    vips: Vec<(Instant, usize, bool)>,
    /// (when, director, live real servers) in time order.
    tables: Vec<(Instant, usize, Vec<String>)>,
    /// (when, director, every destination with its weight) in time order.
    weights: Vec<(Instant, usize, Weights)>,
}

impl History {
    /// The history recorded in `rec`.
    pub fn new(rec: &Recorder) -> History {
        History {
            changes: rec
                .states
                .iter()
                .map(|c| (c.at, c.instance.clone(), c.director, c.to))
                .collect(),
            vips: rec.vips.clone(),
            tables: rec
                .tables
                .iter()
                .map(|t| (t.at, t.director, t.live.clone()))
                .collect(),
            weights: rec
                .tables
                .iter()
                .map(|t| (t.at, t.director, t.weights.clone()))
                .collect(),
        }
    }

    /// Instance names seen.
    pub fn instances(&self) -> Vec<String> {
        let mut v: Vec<String> = self.changes.iter().map(|c| c.1.clone()).collect();
        v.sort();
        v.dedup();
        v
    }

    /// Each director's state of `instance` at `t` (after every change at `t`).
    pub fn states_at(&self, instance: &str, t: Instant) -> BTreeMap<usize, State> {
        let mut m = BTreeMap::new();
        for (at, i, d, s) in &self.changes {
            if *at > t {
                break;
            }
            if i == instance {
                m.insert(*d, *s);
            }
        }
        m
    }

    /// The directors master of `instance` at `t`.
    pub fn masters_at(&self, instance: &str, t: Instant) -> Vec<usize> {
        self.states_at(instance, t)
            .into_iter()
            .filter(|(_, s)| *s == State::Master)
            .map(|(d, _)| d)
            .collect()
    }

    /// The directors master of any instance at `t`.
    pub fn any_masters_at(&self, t: Instant) -> Vec<usize> {
        let mut v: Vec<usize> = self
            .instances()
            .iter()
            .flat_map(|i| self.masters_at(i, t))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Times at which anything changed, in order, without repeats.
    pub fn change_times(&self) -> Vec<Instant> {
        let mut v: Vec<Instant> = self
            .changes
            .iter()
            .map(|c| c.0)
            .chain(self.vips.iter().map(|c| c.0))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Directors holding the VIPs at `t`.
    pub fn vip_holders_at(&self, t: Instant) -> Vec<usize> {
        let mut m = BTreeMap::new();
        for (at, d, h) in &self.vips {
            if *at > t {
                break;
            }
            m.insert(*d, *h);
        }
        m.into_iter().filter(|(_, h)| *h).map(|(d, _)| d).collect()
    }

    /// The live real servers of director `d`'s table at `t`.
    pub fn table_at(&self, d: usize, t: Instant) -> Option<&[String]> {
        self.tables
            .iter()
            .rfind(|(at, dd, _)| *at <= t && *dd == d)
            .map(|(_, _, l)| l.as_slice())
    }

    /// Every destination of director `d`'s table at `t`, with its weight.
    pub fn weights_at(&self, d: usize, t: Instant) -> Option<&[(String, u32)]> {
        self.weights
            .iter()
            .rfind(|(at, dd, _)| *at <= t && *dd == d)
            .map(|(_, _, l)| l.as_slice())
    }

    /// Intervals during which `instance` had two or more masters, at least
    /// `grace` long: (start, end, directors).
    pub fn multi_master(
        &self,
        instance: &str,
        end: Instant,
        grace: Duration,
    ) -> Vec<(Instant, Instant, Vec<usize>)> {
        let times: Vec<Instant> = self
            .changes
            .iter()
            .filter(|c| c.1 == instance)
            .map(|c| c.0)
            .collect();
        let mut out: Vec<(Instant, Instant, Vec<usize>)> = Vec::new();
        let mut open: Option<(Instant, Vec<usize>)> = None;
        let mut ts = times.clone();
        ts.dedup();
        for t in ts {
            let m = self.masters_at(instance, t);
            match (&mut open, m.len() > 1) {
                (None, true) => open = Some((t, m)),
                (Some((_, ds)), true) => {
                    for d in m {
                        if !ds.contains(&d) {
                            ds.push(d);
                        }
                    }
                }
                (Some(_), false) => {
                    let (s, ds) = open.take().expect("checked Some");
                    if t - s > grace {
                        out.push((s, t, ds));
                    }
                }
                (None, false) => {}
            }
        }
        if let Some((s, ds)) = open
            && end - s > grace
        {
            out.push((s, end, ds));
        }
        out
    }

    /// Outages of `instance` after it first had a master: (lost at,
    /// regained at, old master, new master).
    pub fn failovers(&self, instance: &str) -> Vec<(Instant, Instant, usize, usize)> {
        let mut out = Vec::new();
        let mut last: Vec<usize> = Vec::new();
        let mut lost: Option<(Instant, usize)> = None;
        let mut ts: Vec<Instant> = self
            .changes
            .iter()
            .filter(|c| c.1 == instance)
            .map(|c| c.0)
            .collect();
        ts.dedup();
        for t in ts {
            let m = self.masters_at(instance, t);
            if m.is_empty() {
                if let (None, Some(&old)) = (lost, last.first()) {
                    lost = Some((t, old));
                }
            } else if let Some((at, old)) = lost.take() {
                out.push((at, t, old, m[0]));
            }
            last = m;
        }
        out
    }

    /// Every time a director entered master state for `instance`: (when, director).
    pub fn master_entries(&self, instance: &str) -> Vec<(Instant, usize)> {
        self.changes
            .iter()
            .filter(|c| c.1 == instance && c.3 == State::Master)
            .map(|c| (c.0, c.2))
            .collect()
    }

    /// Changes of the master of `instance` (a new director became the
    /// only master): (when, old, new).
    pub fn master_changes(&self, instance: &str) -> Vec<(Instant, Option<usize>, usize)> {
        let mut out = Vec::new();
        let mut current: Option<usize> = None;
        let mut ts: Vec<Instant> = self
            .changes
            .iter()
            .filter(|c| c.1 == instance)
            .map(|c| c.0)
            .collect();
        ts.dedup();
        for t in ts {
            if let [only] = self.masters_at(instance, t)[..]
                && current != Some(only)
            {
                out.push((t, current, only));
                current = Some(only);
            }
        }
        out
    }
}
