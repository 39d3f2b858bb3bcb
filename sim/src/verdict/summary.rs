//! The summary table of a run: masters over time, failover times, client
//! success, master changes (flaps) and table changes.

use std::collections::BTreeMap;
use std::fmt::Write;

use vigil_core::time::{Instant, fmt_ms};

use super::History;
use crate::scenario::Scenario;
use crate::world::Run;

/// Renders the summary of `run`.
pub fn render(s: &Scenario, run: &Run, h: &History) -> String {
    let mut out = String::new();
    let name = |d: usize| s.directors[d].name.as_str();
    let _ = writeln!(
        out,
        "summary {} seed={} resolution={} duration={}",
        s.name,
        run.seed,
        crate::scenario::duration::render(s.resolution),
        crate::scenario::duration::render(s.duration)
    );
    let end = Instant::from_duration(s.duration);
    for inst in h.instances() {
        let entries = h.master_entries(&inst);
        let masters: Vec<String> = entries
            .iter()
            .map(|(t, n)| format!("{} at {t}", name(*n)))
            .collect();
        let _ = writeln!(
            out,
            "  {inst} became master {} times: {}",
            entries.len(),
            if masters.is_empty() {
                "never".into()
            } else {
                masters.join(", ")
            }
        );
        // Flaps: entries into master after the first election.
        let flaps = entries.len().saturating_sub(1);
        let minutes = s.duration.as_secs_f64() / 60.0;
        let _ = writeln!(
            out,
            "  {inst} flaps: {flaps} ({:.2} per minute)",
            flaps as f64 / minutes.max(1e-9)
        );
        let dual = h.multi_master(&inst, end, std::time::Duration::ZERO);
        if !dual.is_empty() {
            let total: std::time::Duration = dual.iter().map(|(a, b, _)| *b - *a).sum();
            let longest = dual
                .iter()
                .map(|(a, b, _)| *b - *a)
                .max()
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {inst} two masters {} times, {} in all, longest {}",
                dual.len(),
                fmt_ms(total),
                fmt_ms(longest)
            );
        }
        for (lost, got, old, new) in h.failovers(&inst) {
            let _ = writeln!(
                out,
                "  {inst} failover {} -> {} in {} (master lost at {lost})",
                name(old),
                name(new),
                fmt_ms(got - lost)
            );
        }
    }
    for (c, client) in s.clients.iter().enumerate() {
        let reqs: Vec<_> = run.rec.requests.iter().filter(|r| r.client == c).collect();
        let ok = reqs.iter().filter(|r| r.outcome.is_ok()).count();
        let mut fails: BTreeMap<String, usize> = BTreeMap::new();
        let mut per_server: BTreeMap<String, usize> = BTreeMap::new();
        for r in &reqs {
            match &r.outcome {
                crate::record::Outcome::Ok { server } => {
                    *per_server
                        .entry(s.real_servers[*server].name.clone())
                        .or_default() += 1
                }
                o => *fails.entry(o.name()).or_default() += 1,
            }
        }
        let ratio = if reqs.is_empty() {
            100.0
        } else {
            100.0 * ok as f64 / reqs.len() as f64
        };
        let _ = write!(
            out,
            "  {} requests: {} ok {ok} ({ratio:.2}%)",
            client.name,
            reqs.len()
        );
        for (k, v) in &per_server {
            let _ = write!(out, " {k}={v}");
        }
        if !fails.is_empty() {
            let list: Vec<String> = fails.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = write!(out, " failed: {}", list.join(" "));
        }
        out.push('\n');
    }
    for (d, dir) in s.directors.iter().enumerate() {
        let changes = run.rec.tables.iter().filter(|t| t.director == d).count();
        let last = h
            .table_at(d, Instant::from_duration(s.duration))
            .map(|l| l.join(" "))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} table changes: {changes}, final live servers: [{last}]",
            dir.name
        );
    }
    out
}
