//! The timeline report: one self-contained HTML file (inline SVG and CSS,
//! no scripts, no fonts to fetch) showing a run at a glance: a lane per
//! director (VRRP state, VIP held), whose ARP entry clients hold, a lane
//! per real server (truly healthy, in the master's table), client success
//! and latency per second, fault markers, and the expectations.

mod svg;

use std::fmt::Write;
use std::time::Duration;

use vigil_core::harness;
use vigil_core::time::Instant;
use vigil_core::trace::Event;
use vigil_core::vrrp::State;

use crate::scenario::{Scenario, duration};
use crate::verdict::{History, Truth, Verdict};
use crate::world::Run;
use svg::{Canvas, esc};

/// Colours of VRRP states.
fn state_colour(s: State) -> &'static str {
    match s {
        State::Initialize => "#9aa0a6",
        State::Backup => "#4a90d9",
        State::Master => "#2e9e4f",
        State::Fault => "#d93025",
    }
}

/// A colour per director, for ARP entries and VIP holders.
fn director_colour(d: usize) -> &'static str {
    ["#8e44ad", "#e67e22", "#16a085", "#c0392b", "#2c3e50"][d % 5]
}

/// Renders the report of `run` of `s`.
pub fn html(s: &Scenario, run: &Run, verdict: &Verdict) -> String {
    let h = History::new(&run.rec);
    let truth = Truth::new(s);
    let end = Instant::from_duration(s.duration);
    let mut c = Canvas::new(s.duration);

    // Fault markers first, so lanes draw over their lines.
    let mut y = 40.0;
    let instances = h.instances();
    for (d, dir) in s.directors.iter().enumerate() {
        for inst in &instances {
            let label = if instances.len() > 1 {
                format!("{} {inst}", dir.name)
            } else {
                dir.name.clone()
            };
            let mut segs = Vec::new();
            let mut cur = (Instant::ZERO, State::Initialize);
            for sc in run
                .rec
                .states
                .iter()
                .filter(|c| c.director == d && &c.instance == inst)
            {
                if sc.at > cur.0 {
                    segs.push((cur.0, sc.at, cur.1));
                }
                cur = (sc.at, sc.to);
            }
            segs.push((cur.0, end, cur.1));
            c.lane(
                &format!("lane-director-{}", dir.name),
                y,
                &label,
                "VRRP state",
            );
            for (a, b, st) in segs {
                c.bar(
                    y,
                    18.0,
                    a,
                    b,
                    state_colour(st),
                    &format!("{} {}: {st} from {a} to {b}", dir.name, inst),
                );
            }
            y += 24.0;
        }
        // VIP held: a thin band under the state lane.
        let mut held: Option<Instant> = None;
        for (t, dd, holds) in run.rec.vips.iter().filter(|v| v.1 == d) {
            let _ = dd;
            match (held, *holds) {
                (None, true) => held = Some(*t),
                (Some(a), false) => {
                    c.bar(
                        y,
                        6.0,
                        a,
                        *t,
                        director_colour(d),
                        &format!("{} holds the VIP from {a} to {t}", dir.name),
                    );
                    held = None;
                }
                _ => {}
            }
        }
        if let Some(a) = held {
            c.bar(
                y,
                6.0,
                a,
                end,
                director_colour(d),
                &format!("{} holds the VIP from {a}", dir.name),
            );
        }
        c.text(4.0, y + 6.0, "VIP held", "small");
        y += 16.0;
    }

    // Whose ARP entry each client holds.
    for (ci, client) in s.clients.iter().enumerate() {
        c.lane(
            &format!("lane-arp-{}", client.name),
            y,
            &format!("{} ARP", client.name),
            "which director the client's ARP entry names",
        );
        let mut cur: Option<(Instant, String)> = None;
        for r in &run.rec.trace {
            if r.node != client.name {
                continue;
            }
            if let Event::Harness(harness::Event::ArpCache { holder, .. }) = &r.event {
                if let Some((a, who)) = cur.take() {
                    let d = s.directors.iter().position(|x| x.name == who).unwrap_or(0);
                    c.bar(
                        y,
                        18.0,
                        a,
                        r.at,
                        director_colour(d),
                        &format!(
                            "{} resolves the VIP to {who} from {a} to {}",
                            client.name, r.at
                        ),
                    );
                }
                cur = Some((r.at, holder.clone()));
            }
        }
        if let Some((a, who)) = cur {
            let d = s.directors.iter().position(|x| x.name == who).unwrap_or(0);
            c.bar(
                y,
                18.0,
                a,
                end,
                director_colour(d),
                &format!("{} resolves the VIP to {who} from {a}", client.name),
            );
        }
        let _ = ci;
        y += 28.0;
    }

    // Real servers: truly healthy, and in the master's table.
    for (r, rs) in s.real_servers.iter().enumerate() {
        let key = format!("{}:{}", rs.address, rs.port);
        c.lane(
            &format!("lane-rs-{}", rs.name),
            y,
            &rs.name,
            "healthy (as its checkers would judge) / in the master's table",
        );
        for (a, b, ok) in truth.intervals(r, end) {
            let colour = if ok { "#2e9e4f" } else { "#d93025" };
            c.bar(
                y,
                9.0,
                a,
                b,
                colour,
                &format!(
                    "{} {} from {a} to {b}",
                    rs.name,
                    if ok { "healthy" } else { "down" }
                ),
            );
        }
        let mut points: Vec<Instant> = run
            .rec
            .tables
            .iter()
            .map(|t| t.at)
            .chain(h.change_times())
            .collect();
        points.push(Instant::ZERO);
        points.sort();
        points.dedup();
        for (i, t) in points.iter().enumerate() {
            let next = points.get(i + 1).copied().unwrap_or(end);
            let inside = h
                .any_masters_at(*t)
                .first()
                .and_then(|m| h.table_at(*m, *t))
                .is_some_and(|live| live.contains(&key));
            if inside && next > *t {
                c.bar(
                    y + 10.0,
                    8.0,
                    *t,
                    next,
                    "#4a90d9",
                    &format!("{} in the master's table from {t} to {next}", rs.name),
                );
            }
        }
        y += 26.0;
    }

    // Client success and latency per second of start times.
    if !s.clients.is_empty() {
        c.lane(
            "lane-client",
            y,
            "clients",
            "requests per second: succeeded (green) / failed (red); line: worst latency",
        );
        let secs = s.duration.as_secs().max(1);
        let mut ok = vec![0u32; secs as usize + 1];
        let mut bad = vec![0u32; secs as usize + 1];
        let mut worst = vec![Duration::ZERO; secs as usize + 1];
        for r in &run.rec.requests {
            let i = (r.start.since_origin().as_secs() as usize).min(secs as usize);
            if r.outcome.is_ok() {
                ok[i] += 1;
            } else {
                bad[i] += 1;
            }
            worst[i] = worst[i].max(r.end - r.start);
        }
        let height = 40.0;
        let max = ok
            .iter()
            .zip(&bad)
            .map(|(a, b)| a + b)
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        for i in 0..=secs as usize {
            let a = Instant::from_secs(i as u64);
            let b = Instant::from_secs(i as u64 + 1).min(end);
            if a >= end {
                break;
            }
            let total = ok[i] + bad[i];
            if total == 0 {
                continue;
            }
            let hb = height * f64::from(bad[i]) / max;
            let ho = height * f64::from(ok[i]) / max;
            c.bar(
                y + height - ho - hb,
                ho,
                a,
                b,
                "#2e9e4f",
                &format!("second {i}: {} ok", ok[i]),
            );
            if bad[i] > 0 {
                c.bar(
                    y + height - hb,
                    hb,
                    a,
                    b,
                    "#d93025",
                    &format!("second {i}: {} failed", bad[i]),
                );
            }
        }
        let worst_ms: Vec<(Instant, f64)> = worst
            .iter()
            .enumerate()
            .filter(|(i, _)| (*i as u64) < secs)
            .map(|(i, w)| {
                (
                    Instant::from_millis(i as u64 * 1000 + 500),
                    w.as_secs_f64() * 1000.0,
                )
            })
            .collect();
        let top = worst_ms.iter().map(|p| p.1).fold(1.0, f64::max);
        c.polyline(y, height, &worst_ms, top, "#333");
        c.text(
            c.width() - 150.0,
            y - 2.0,
            &format!("worst latency up to {top:.0} ms"),
            "small",
        );
        y += height + 16.0;
    }

    // Fault markers across all lanes.
    for step in &s.timeline {
        let at = Instant::from_duration(step.at);
        c.marker(at, 30.0, y, &step.action.describe(s));
    }
    c.axis(y + 4.0);
    let svg = c.finish(y + 30.0);

    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\n<style>{CSS}</style></head><body>\n",
        title = esc(&format!("vigil run {}", s.name))
    );
    let _ = writeln!(
        out,
        "<h1>{}</h1><p class=\"meta\">{} &middot; seed {} &middot; resolution {} &middot; {} simulated &middot; <span class=\"{}\">{}</span></p>",
        esc(&s.name),
        esc(&s.description),
        run.seed,
        duration::render(s.resolution),
        duration::render(s.duration),
        if verdict.pass() { "pass" } else { "fail" },
        if verdict.pass() { "PASS" } else { "FAIL" }
    );
    out.push_str(LEGEND);
    out.push_str(&svg);
    let _ = writeln!(
        out,
        "<h2>Expectations</h2><table id=\"expectations\"><tr><th></th><th>line</th><th>expected</th><th>seen</th></tr>"
    );
    for e in &verdict.expectations {
        let _ = writeln!(
            out,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if e.pass { "pass" } else { "fail" },
            if e.pass { "pass" } else { "FAIL" },
            e.line,
            esc(&e.what),
            esc(&e.seen)
        );
    }
    let _ = writeln!(out, "</table><h2>Invariants</h2><ul id=\"invariants\">");
    if verdict.violations.is_empty() {
        out.push_str("<li class=\"pass\">single master on a healthy network, VIP held by the master, table within the detection bound, no traffic to dead servers: all held</li>\n");
    }
    for v in &verdict.violations {
        let _ = writeln!(
            out,
            "<li class=\"fail\">{} broken at {}: {}</li>",
            esc(v.invariant),
            v.at,
            esc(&v.detail)
        );
    }
    let _ = writeln!(
        out,
        "</ul><h2>Summary</h2><pre>{}</pre></body></html>",
        esc(&verdict.summary)
    );
    out
}

const CSS: &str = "body{font-family:sans-serif;margin:16px;color:#222;background:#fff}\
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:18px 0 6px}\
.meta{color:#555;margin:0 0 8px}.pass{color:#1e7e34}.fail{color:#c5221f;font-weight:bold}\
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px;font-size:13px;text-align:left}\
tr.fail td{background:#fce8e6}svg text{font-family:sans-serif}.small{font-size:10px;fill:#555}\
.legend span{display:inline-block;margin-right:14px;font-size:12px}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}\
pre{background:#f6f8fa;padding:8px;font-size:12px}";

const LEGEND: &str = "<div class=\"legend\"><span><i style=\"background:#2e9e4f\"></i>master / healthy / ok</span>\
<span><i style=\"background:#4a90d9\"></i>backup / in table</span><span><i style=\"background:#d93025\"></i>fault / down / failed</span>\
<span><i style=\"background:#9aa0a6\"></i>initialize (not running)</span><span>dashed: faults of the timeline</span></div>\n";
