//! Replaying captures: the failure an operator captured in production,
//! played through Vigil's core and checked against what the real node did.
//!
//! - [`reader`]: pcap and pcapng files, Ethernet, 802.1Q, Linux cooked
//!   (SLL/SLL2) and raw IP, with what real captures hold reported.
//! - [`decode`]: frames to VRRP datagrams, gratuitous ARPs / NAs and
//!   group joins, each with its packet number.
//! - [`observe`]: the real node's state changes and its daemon's life,
//!   inferred from its own packets.
//! - [`engine`]: a core [`vigil_core::vrrp::Router`] fed every peer packet
//!   at its capture time.
//! - [`skip`]: frames of the replayed instances that could not be used
//!   (AH, unknown authentication, wrong checksum, cut, malformed).
//! - [`verdict`]: each real state change against Vigil's, with the
//!   difference and the first disagreement named, and the
//!   [`verdict::Outcome`]: PASS, FAIL or NOT CHECKED.
//!
//! [`replay`] puts them together and renders a deterministic report.

pub mod decode;
pub mod engine;
pub mod observe;
pub mod reader;
pub mod skip;
pub mod verdict;

use std::fmt::Write;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use vigil_core::config::Config;
use vigil_core::director;
use vigil_core::packet::MacAddr;
use vigil_core::vrrp::InstanceConfig;

use decode::What;

/// How to replay.
#[derive(Clone, Debug)]
pub struct Options {
    /// The node's address (`--as`); from the config or the capture when
    /// `None`.
    pub node: Option<IpAddr>,
    /// Only this instance (`--instance`); every instance of the config
    /// when `None`.
    pub instance: Option<String>,
    /// How far Vigil may be from the capture and still agree.
    pub tolerance: Duration,
    /// Times (from the capture's start) at which the node's daemon
    /// started, when the capture cannot show them (unicast: no group
    /// join). Replaces the starts inferred from joins.
    pub starts: Vec<Duration>,
    /// The node's own interface MACs (`--mac`): its IGMP/MLD group joins
    /// come from them when it advertises from a virtual MAC (use_vmac,
    /// FRR's macvlan).
    pub macs: Vec<MacAddr>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            node: None,
            instance: None,
            tolerance: Duration::from_millis(5),
            starts: Vec::new(),
            macs: Vec::new(),
        }
    }
}

/// A finished replay.
#[derive(Clone, Debug)]
pub struct Report {
    /// The whole report: header, notes, trace, table, counters, result.
    pub text: String,
    /// The judged table.
    pub verdict: verdict::Verdict,
    /// The node's address.
    pub node: IpAddr,
}

impl Report {
    /// What the replay concludes: PASS, FAIL or NOT CHECKED.
    pub fn outcome(&self) -> verdict::Outcome {
        self.verdict.outcome()
    }

    /// Whether the outcome is PASS: Vigil agrees with the capture, checked
    /// at least one state change and skipped no frame of its instances.
    pub fn passed(&self) -> bool {
        self.verdict.passed()
    }
}

/// Why a replay could not run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Replays the capture `bytes` (named `capture_name` in the report)
/// through a node running `config` (named `config_name`).
pub fn replay(
    bytes: &[u8],
    capture_name: &str,
    config: &Config,
    config_name: &str,
    options: &Options,
) -> Result<Report, Error> {
    let capture = reader::read(bytes).map_err(|e| Error(format!("{capture_name}: {e}")))?;
    let d = decode::decode(&capture);
    let instances: Vec<_> = config
        .vrrp_instances
        .iter()
        .filter(|i| options.instance.as_ref().is_none_or(|n| *n == i.name))
        .collect();
    if instances.is_empty() {
        return Err(Error(match &options.instance {
            Some(n) => format!(
                "{config_name}: no vrrp_instance {n:?} (instances: {})",
                config
                    .vrrp_instances
                    .iter()
                    .map(|i| i.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => format!("{config_name}: no vrrp_instance"),
        }));
    }
    let node = match options.node {
        Some(a) => a,
        None => infer_node(config, &instances, &d, config_name)?,
    };
    // The node's director: the instances replayed, on a host whose every
    // interface carries the node's address.
    let mut only = config.clone();
    only.vrrp_instances
        .retain(|i| options.instance.as_ref().is_none_or(|n| *n == i.name));
    let mut host = director::Host::default();
    for iface in director::host::interfaces(&only) {
        host.interfaces.insert(
            iface,
            director::Interface {
                up: true,
                addrs: vec![node],
            },
        );
    }
    let proto = director::Vrrp::new(Arc::new(only), &host, director::Options::default())
        .map_err(|e| Error(format!("{config_name}: {e}")))?;
    let cfgs: Vec<InstanceConfig> = proto
        .instances()
        .iter()
        .map(|i| i.config().clone())
        .collect();
    let names: Vec<String> = cfgs.iter().map(|c| c.name.clone()).collect();
    let obs = observe::observe(&d, node, &options.macs, &cfgs, &options.starts);
    let replayed = engine::run(&d, node, &proto, &obs);
    let skipped = skip::skipped(&d, &cfgs);
    let verdict = verdict::judge(&obs, &replayed, &names, options.tolerance, skipped);
    let text = render(
        capture_name,
        config_name,
        options,
        &d,
        node,
        &names,
        &obs,
        &replayed,
        &verdict,
    );
    Ok(Report {
        text,
        verdict,
        node,
    })
}

/// The node's address: `unicast_src_ip` / `mcast_src_ip` of the config,
/// else the one source in the capture advertising the instance's VRID at
/// the configured priority (adverts behind AH included: their header is
/// read, not validated).
fn infer_node(
    config: &Config,
    instances: &[&vigil_core::config::VrrpInstance],
    d: &decode::Decoded,
    config_name: &str,
) -> Result<IpAddr, Error> {
    if let Some(a) = instances
        .iter()
        .find_map(|i| i.unicast_src_ip.or(i.mcast_src_ip))
    {
        return Ok(a);
    }
    let _ = config;
    let mut seen: Vec<(IpAddr, u8, u8)> = Vec::new();
    for p in &d.packets {
        let source = match &p.what {
            What::Vrrp(v) => Some((v.meta.src, v.vrid, v.priority)),
            _ => None,
        };
        if let Some(s) = source
            && !seen.contains(&s)
        {
            seen.push(s);
        }
    }
    let mut matching: Vec<IpAddr> = seen
        .iter()
        .filter(|(_, vrid, prio)| {
            instances
                .iter()
                .any(|i| i.virtual_router_id == *vrid && i.priority == *prio)
        })
        .map(|s| s.0)
        .collect();
    matching.dedup();
    match matching.as_slice() {
        [one] => Ok(*one),
        _ => {
            let list: Vec<String> = seen
                .iter()
                .filter(|(_, p, _)| *p != 0)
                .map(|(a, v, p)| format!("{a} (vrid {v} prio {p})"))
                .collect();
            Err(Error(format!(
                "{config_name} names no unicast_src_ip and the capture {} the node at the \
                 configured priority: give --as ADDRESS (sources in the capture: {})",
                if matching.is_empty() {
                    "does not show"
                } else {
                    "shows more than one source as"
                },
                if list.is_empty() {
                    "none".to_string()
                } else {
                    list.join(", ")
                }
            )))
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn render(
    capture_name: &str,
    config_name: &str,
    options: &Options,
    d: &decode::Decoded,
    node: IpAddr,
    names: &[String],
    obs: &observe::Observation,
    replayed: &engine::Replayed,
    verdict: &verdict::Verdict,
) -> String {
    let mut s = String::new();
    let c = &d.counts;
    let _ = writeln!(
        s,
        "# vigil replay {capture_name}: {} {}, {} frames over {}",
        d.format,
        d.link,
        c.frames,
        fmt_offset(d.span.as_nanos() as i128).trim_start_matches('+')
    );
    let _ = writeln!(
        s,
        "# node {node} running {config_name} ({}), tolerance {}",
        names.join(", "),
        fmt_diff(options.tolerance.as_nanos() as i128).trim_start_matches('+')
    );
    let _ = writeln!(
        s,
        "# frames: vrrp {} (bad checksum {}), announcements {}, group joins/leaves {}, ah {}, \
         cut by snaplen {}, malformed {}, other {}",
        c.vrrp,
        c.bad_checksum,
        c.announcements,
        c.membership,
        c.auth_header,
        c.truncated,
        c.malformed,
        c.noise
    );
    let _ = writeln!(
        s,
        "# the node in the capture: {} adverts, {} announcements; Vigil's node: {} adverts, {} \
         announcements, {} peer datagrams fed ({} for no instance)",
        obs.adverts,
        obs.announcements,
        replayed.adverts,
        replayed.announcements,
        replayed.fed,
        replayed.unrouted
    );
    for n in &d.notes {
        let _ = writeln!(s, "note: {n}");
    }
    s.push_str("\ntrace:\n");
    for r in &replayed.trace {
        let _ = writeln!(
            s,
            "{} {} {}",
            fmt_offset(engine::offset(r.at)),
            r.node,
            r.event
        );
    }
    s.push_str("\nverdict:\n");
    s.push_str(&verdict.render());
    if verdict
        .rows
        .iter()
        .any(|r| r.status == verdict::Status::UnseenStart)
    {
        s.push_str(
            "unseen-start: timed from the daemon's start, which the capture does not show \
             (estimated from its IGMP/MLD join of the VRRP group, which the kernel reports some \
             milliseconds late): shown, not checked; --start gives exact starts\n",
        );
    }
    if verdict
        .rows
        .iter()
        .any(|r| r.status == verdict::Status::AfterSkip)
    {
        s.push_str(
            "after-skip: a difference at or after the first skipped frame of its instance, which \
             may explain it: shown, not judged\n",
        );
    }
    s.push_str("\ncounters of Vigil's node:\n");
    for (life, name, st) in &replayed.stats {
        let _ = writeln!(s, "life {life} {name}: {}", counters(st));
    }
    s.push('\n');
    let _ = writeln!(s, "{}", verdict.conclusion());
    s
}

/// The non-zero counters of `st`, `name=value` separated by spaces.
fn counters(st: &vigil_core::vrrp::Stats) -> String {
    let all = [
        ("become_master", st.become_master),
        ("release_master", st.release_master),
        ("adverts_received", st.adverts_received),
        ("adverts_sent", st.adverts_sent),
        ("priority_zero_received", st.priority_zero_received),
        ("priority_zero_sent", st.priority_zero_sent),
        ("packet_length_errors", st.packet_length_errors),
        ("ttl_errors", st.ttl_errors),
        ("version_errors", st.version_errors),
        ("invalid_auth_type", st.invalid_auth_type),
        ("auth_type_mismatch", st.auth_type_mismatch),
        ("auth_failures", st.auth_failures),
        ("interval_errors", st.interval_errors),
        ("invalid_type", st.invalid_type),
        ("address_list_errors", st.address_list_errors),
        ("checksum_errors", st.checksum_errors),
        ("family_errors", st.family_errors),
        ("own_address", st.own_address),
    ];
    let v: Vec<String> = all
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{k}={n}"))
        .collect();
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(" ")
    }
}

/// A signed time from the capture's start: `+0003.648437s`, microseconds.
pub fn fmt_offset(ns: i128) -> String {
    let sign = if ns < 0 { '-' } else { '+' };
    let us = ns.unsigned_abs() / 1_000;
    format!("{sign}{:04}.{:06}s", us / 1_000_000, us % 1_000_000)
}

/// A signed difference in milliseconds, to the microsecond, trimmed:
/// `+8.906ms`, `-1000ms`, `0ms`.
pub fn fmt_diff(ns: i128) -> String {
    let sign = if ns < 0 {
        "-"
    } else if ns > 0 {
        "+"
    } else {
        ""
    };
    let us = ns.unsigned_abs() / 1_000;
    let (ms, frac) = (us / 1000, us % 1000);
    if frac == 0 {
        format!("{sign}{ms}ms")
    } else {
        let t = format!("{ms}.{frac:03}");
        format!("{sign}{}ms", t.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests;
