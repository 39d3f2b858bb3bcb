//! A run in words: the trace header (with the address rewrite), the
//! trace, the summary and verdict (with what was not judged and the
//! timing checks), and the snapshot form that keeps only what a real run
//! repeats: the order of events and the final state.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::SystemTime;

use vigil_core::harness as hev;
use vigil_core::time::Instant;
use vigil_core::trace::{Event, Record};
use vigil_sim::record::Recorder;
use vigil_sim::scenario::Scenario;

use super::client::Probe;
use super::{Options, Outcome, Prepared};
use crate::ns::Lab;

/// The trace header.
pub fn header(p: &Prepared, o: &Options, lab: &Lab, devs: &[String]) -> String {
    let s = &p.scenario;
    let mut h = String::new();
    let _ = writeln!(
        h,
        "# vigil netns scenario={} file={} director-impl={}",
        s.name, s.path, o.director_impl
    );
    h.push_str(&crate::rewrite::header(&p.mapping));
    let _ = writeln!(
        h,
        "# namespaces {}-* (bridge br0 in {}); real clocks; duration={}",
        lab.prefix(),
        lab.bridge().name(),
        vigil_sim::scenario::duration::render(s.duration)
    );
    for (i, d) in s.directors.iter().enumerate() {
        let _ = writeln!(
            h,
            "# director {} address={} dev={} mac={} config={}",
            d.name,
            d.address,
            devs[i],
            vigil_sim::world::net::mac(vigil_sim::scenario::Host::Director(i)),
            d.config_path
        );
    }
    for r in &s.real_servers {
        let _ = writeln!(
            h,
            "# real-server {} address={}:{} page={} (LVS-DR: VIP on lo, arp_ignore=1 arp_announce=2)",
            r.name, r.address, r.port, r.page
        );
    }
    for c in &s.clients {
        let _ = writeln!(
            h,
            "# client {} address={} rate={}/s target={} requests={}",
            c.name,
            c.address,
            c.rate,
            c.target,
            if o.ipvs { "http" } else { "icmp-echo" }
        );
    }
    if !o.ipvs {
        h.push_str("# no IPVS in this kernel: directors log the table they would program; clients probe the VIP with ICMP echo through the bridge; end-to-end HTTP through IPVS runs in the VM lane\n");
    }
    h
}

/// Client service events (`client service state=...`) from the echo
/// probes, judged per second of probe start times as the simulator
/// judges requests.
pub fn service_events(s: &Scenario, rec: &mut Recorder, probes: &[Probe], origin: SystemTime) {
    let at = |t: SystemTime| Instant::from_duration(t.duration_since(origin).unwrap_or_default());
    for (c, client) in s.clients.iter().enumerate() {
        // second -> (ok, failed, first end, last end)
        let mut secs: BTreeMap<u64, (u64, u64, Instant)> = BTreeMap::new();
        for p in probes.iter().filter(|p| p.client == c) {
            let sec = at(p.start).since_origin().as_secs();
            let e = secs.entry(sec).or_insert((0, 0, Instant::ZERO));
            if p.answered {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
            e.2 = e.2.max(at(p.end));
        }
        let mut state = "";
        let mut extra = Vec::new();
        for (sec, (ok, failed, end)) in secs {
            let now = match (ok, failed) {
                (_, 0) => "up",
                (0, _) => "down",
                _ => "degraded",
            };
            let first = state.is_empty();
            if now != state && !(first && now == "up") {
                extra.push(Record {
                    at: end,
                    node: client.name.clone(),
                    event: Event::Harness(hev::Event::Service {
                        state: now,
                        since: Instant::from_secs(sec),
                        ok,
                        failed,
                        reason: (failed > 0).then(|| "no-echo-reply".to_string()),
                    }),
                });
            }
            state = now;
        }
        rec.trace.extend(extra);
    }
    rec.trace.sort_by_key(|r| r.at);
}

/// Echo probe results, per client: how many were answered, and by whom.
pub fn reach_summary(o: &Outcome) -> String {
    let mut out = String::new();
    for (c, client) in o.scenario.clients.iter().enumerate() {
        let mine: Vec<&Probe> = o.probes.iter().filter(|p| p.client == c).collect();
        if mine.is_empty() {
            continue;
        }
        let ok = mine.iter().filter(|p| p.answered).count();
        let mut by: BTreeMap<String, usize> = BTreeMap::new();
        for p in mine.iter().filter(|p| p.answered) {
            let who = p.via.map_or("unknown".to_string(), |d| {
                o.scenario.directors[d].name.clone()
            });
            *by.entry(who).or_default() += 1;
        }
        let by: Vec<String> = by.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(
            out,
            "  {} echo to the VIP: {} sent, {ok} answered ({:.2}%) {}",
            client.name,
            mine.len(),
            100.0 * ok as f64 / mine.len() as f64,
            by.join(" ")
        );
    }
    out
}

/// Header, trace, summary and verdict: what `vigil netns` prints.
pub fn trace(o: &Outcome) -> String {
    let mut out = o.header.clone();
    for r in &o.run.rec.trace {
        let _ = writeln!(out, "{r}");
    }
    out
}

/// Summary and verdict lines, ending with PASS or FAIL.
pub fn verdict(o: &Outcome) -> String {
    // Without IPVS no HTTP request is made: the simulator's request line
    // (0 requests, 100%) would mislead; the echo line replaces it.
    let mut out: String = o
        .verdict
        .summary
        .lines()
        .filter(|l| o.probes.is_empty() || !(l.contains(" requests: 0 ok 0 ")))
        .map(|l| format!("{l}\n"))
        .collect();
    out.push_str(&reach_summary(o));
    out.push_str(&o.verdict.render());
    for u in &o.unjudged {
        let _ = writeln!(
            out,
            "expect skip line {:>3}: {} (not judged: {})",
            u.line, u.what, u.why
        );
    }
    out.push_str(&super::timing::render(&o.timing));
    for (line, late) in &o.late_steps {
        let _ = writeln!(
            out,
            "harness: timeline line {line} took effect {} after it was due; judged from then",
            vigil_core::time::fmt_ms(*late)
        );
    }
    for p in &o.problems {
        let _ = writeln!(out, "problem: {p}");
    }
    if let Some(d) = &o.dir {
        let _ = writeln!(
            out,
            "kept: {} (daemon logs, configs, segment.pcap, trace.txt)",
            d.display()
        );
    }
    match o.first_failure() {
        None => {
            let _ = writeln!(out, "PASS {} ({})", o.scenario.name, o.director_impl);
        }
        Some(f) => {
            let _ = writeln!(out, "FAIL {} ({}): {f}", o.scenario.name, o.director_impl);
        }
    }
    out
}

/// Whether a trace event belongs in a snapshot: VRRP transitions, VIPs
/// and announcements, IPVS ops, faults. Client and ARP-cache events
/// depend on real timing and stay in the trace only.
fn snapshot_event(e: &Event) -> bool {
    match e {
        Event::Vrrp(v) => matches!(
            v.kind,
            vigil_core::vrrp::EventKind::State { .. }
                | vigil_core::vrrp::EventKind::Vips { .. }
                | vigil_core::vrrp::EventKind::Garp { .. }
        ),
        Event::Ipvs(vigil_core::ipvs::Event::Op(_)) => true,
        Event::Harness(hev::Event::Fault { .. }) => true,
        _ => false,
    }
}

/// The snapshot form: events between faults grouped per node in each
/// node's own order (the order across nodes between two faults is a
/// race), without times; then the final state and the verdict without
/// measured values.
pub fn snapshot(o: &Outcome) -> String {
    let mut out = String::new();
    let s = &o.scenario;
    let _ = writeln!(out, "scenario {} director-impl={}", s.name, o.director_impl);
    let mut epoch: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let flush = |epoch: &mut BTreeMap<String, Vec<String>>, out: &mut String| {
        for (node, evs) in epoch.iter() {
            for e in evs {
                let _ = writeln!(out, "  {node} {e}");
            }
        }
        epoch.clear();
    };
    for r in o.run.rec.trace.iter().filter(|r| snapshot_event(&r.event)) {
        if let Event::Harness(hev::Event::Fault { .. }) = &r.event {
            flush(&mut epoch, &mut out);
            let _ = writeln!(out, "{} {}", r.node, r.event);
        } else {
            epoch
                .entry(r.node.clone())
                .or_default()
                .push(r.event.to_string());
        }
    }
    flush(&mut epoch, &mut out);
    let _ = writeln!(out, "final:");
    for (d, v) in o.run.views.iter().enumerate() {
        let states: Vec<String> = v.states.iter().map(|(i, st)| format!("{i}={st}")).collect();
        let _ = writeln!(
            out,
            "  {} states [{}] holds-vip={} table [{}]",
            s.directors[d].name,
            states.join(" "),
            v.holds_vips,
            v.live_servers.join(" ")
        );
    }
    for e in &o.verdict.expectations {
        let _ = writeln!(
            out,
            "expect {} line {}: {}",
            if e.pass { "ok" } else { "FAIL" },
            e.line,
            e.what
        );
    }
    for u in &o.unjudged {
        let _ = writeln!(out, "expect skip line {}: {}", u.line, u.what);
    }
    for v in &o.verdict.violations {
        let _ = writeln!(out, "invariant FAIL {}", v.invariant);
    }
    let _ = writeln!(
        out,
        "timing checks: {} ok, {} failed",
        o.timing.iter().filter(|t| t.pass).count(),
        o.timing.iter().filter(|t| !t.pass).count()
    );
    out
}
