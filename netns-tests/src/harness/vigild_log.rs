//! vigild's log lines read back into core's trace events: `TIME
//! [warning: |error: ]message`, where the messages of interest are core
//! events rendered with `Display` (daemon/src/log.rs):
//!
//! ```text
//! 2026-11-24T22:24:59.384Z vrrp/apache state from=backup to=master reason=master-down-timeout prio=100
//! 2026-11-24T22:24:59.384Z vrrp/apache vip-add addrs=192.0.2.160
//! 2026-11-24T22:24:59.384Z vrrp/apache garp addrs=192.0.2.160 repeat=5 cause=become-master
//! 2026-11-24T22:25:02.058Z ipvs del-dest svc=tcp/192.0.2.160:80 rs=192.0.2.152:80
//! ```
//!
//! Other lines (health-check events, table dumps, diagnostics) are not
//! turned into events; the log file keeps them.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use vigil_core::ipvs::{
    self, Dest, DestKey, ForwardMethod, Op, Protocol, Scheduler, Service, ServiceKey,
};
use vigil_core::trace::Event;
use vigil_core::vrrp::{self, EventKind, GarpCause, Reason, State};

/// The message of a log line, without its timestamp and severity.
pub fn message(line: &str) -> &str {
    let rest = match line.split_once(' ') {
        Some((t, rest)) if t.len() >= 20 && t.ends_with('Z') && t.as_bytes()[4] == b'-' => rest,
        _ => line,
    };
    rest.strip_prefix("warning: ")
        .or_else(|| rest.strip_prefix("error: "))
        .unwrap_or(rest)
}

/// The core event a vigild log line carries, if it is one this harness
/// reads (VRRP state, VIPs, GARPs, IPVS ops).
pub fn parse(line: &str) -> Option<Event> {
    let msg = message(line);
    if let Some(rest) = msg.strip_prefix("vrrp/") {
        return parse_vrrp(rest).map(Event::Vrrp);
    }
    if let Some(rest) = msg.strip_prefix("ipvs ") {
        return parse_op(rest).map(|op| Event::Ipvs(ipvs::Event::Op(op)));
    }
    None
}

/// `key=value` fields after the event word (values never hold spaces in
/// the events read here).
fn fields(s: &str) -> BTreeMap<&str, &str> {
    s.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .collect()
}

/// A state name back to the state.
pub fn state(name: &str) -> Option<State> {
    [
        State::Initialize,
        State::Backup,
        State::Master,
        State::Fault,
    ]
    .into_iter()
    .find(|s| s.name() == name)
}

/// A reason name back to the reason.
pub fn reason(name: &str) -> Option<Reason> {
    [
        Reason::Startup,
        Reason::AddressOwner,
        Reason::MasterDownTimeout,
        Reason::PriorityZeroReceived,
        Reason::Preempt,
        Reason::HigherPrioritySeen,
        Reason::Fault,
        Reason::FaultCleared,
        Reason::Shutdown,
    ]
    .into_iter()
    .find(|r| r.name() == name)
}

fn garp_cause(name: &str) -> Option<GarpCause> {
    Some(match name {
        "become-master" => GarpCause::BecomeMaster,
        "delayed" => GarpCause::Delayed,
        "refresh" => GarpCause::Refresh,
        "lower-priority" => GarpCause::LowerPriority,
        _ => return None,
    })
}

fn addrs(s: &str) -> Option<Vec<IpAddr>> {
    s.split(',').map(|a| a.parse().ok()).collect()
}

fn parse_vrrp(rest: &str) -> Option<vrrp::Event> {
    let (instance, rest) = rest.split_once(' ')?;
    let (word, tail) = rest.split_once(' ').unwrap_or((rest, ""));
    let f = fields(tail);
    let kind = match word {
        "state" => EventKind::State {
            from: state(f.get("from")?)?,
            to: state(f.get("to")?)?,
            reason: reason(f.get("reason")?)?,
            priority: f.get("prio")?.parse().ok()?,
        },
        "vip-add" | "vip-del" => EventKind::Vips {
            added: word == "vip-add",
            addrs: addrs(f.get("addrs")?)?,
        },
        "garp" => EventKind::Garp {
            addrs: addrs(f.get("addrs")?)?,
            repeat: f.get("repeat")?.parse().ok()?,
            cause: garp_cause(f.get("cause")?)?,
        },
        _ => return None,
    };
    Some(vrrp::Event {
        instance: instance.to_string(),
        kind,
    })
}

/// `tcp/192.0.2.160:80`, `udp/[2001:db8::1]:53`, `fwm/1`.
fn service_key(s: &str) -> Option<ServiceKey> {
    let (proto, rest) = s.split_once('/')?;
    let sa: SocketAddr = rest.parse().ok()?;
    match proto {
        "tcp" => Some(ServiceKey::tcp(sa.ip(), sa.port())),
        "udp" => Some(ServiceKey::addr(Protocol::Udp, sa.ip(), sa.port())),
        _ => None,
    }
}

fn forward(name: &str) -> Option<ForwardMethod> {
    [
        ForwardMethod::Route,
        ForwardMethod::Masq,
        ForwardMethod::Tunnel,
        ForwardMethod::Local,
    ]
    .into_iter()
    .find(|m| m.name().eq_ignore_ascii_case(name))
}

/// One IPVS op as the trace spells it (`add-dest svc=... rs=... fwd=route
/// weight=1`); services with flags or persistence are not read back.
pub fn parse_op(rest: &str) -> Option<Op> {
    let (verb, tail) = rest.split_once(' ')?;
    let f = fields(tail);
    let key = service_key(f.get("svc")?)?;
    let dest = || -> Option<(DestKey, Dest)> {
        let rs: SocketAddr = f.get("rs")?.parse().ok()?;
        let mut d = Dest::new(forward(f.get("fwd")?)?, f.get("weight")?.parse().ok()?);
        if let (Some(u), Some(l)) = (f.get("uthreshold"), f.get("lthreshold")) {
            d.u_threshold = u.parse().ok()?;
            d.l_threshold = l.parse().ok()?;
        }
        Some((DestKey::new(rs.ip(), rs.port()), d))
    };
    let service = || -> Option<Service> {
        if f.contains_key("flags") || f.contains_key("persistent") {
            return None;
        }
        Some(Service::new(f.get("sched")?.parse::<Scheduler>().ok()?))
    };
    Some(match verb {
        "add-service" => Op::AddService {
            key,
            service: service()?,
        },
        "edit-service" => Op::EditService {
            key,
            service: service()?,
        },
        "del-service" => Op::DelService { key },
        "add-dest" => {
            let (dest, params) = dest()?;
            Op::AddDest {
                service: key,
                dest,
                params,
            }
        }
        "edit-dest" => {
            let (dest, params) = dest()?;
            Op::EditDest {
                service: key,
                dest,
                params,
            }
        }
        "del-dest" => {
            let rs: SocketAddr = f.get("rs")?.parse().ok()?;
            Op::DelDest {
                service: key,
                dest: DestKey::new(rs.ip(), rs.port()),
            }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_vigild_writes() {
        let lines = [
            "2026-11-24T22:24:59.384Z vrrp/apache state from=backup to=master reason=master-down-timeout prio=100",
            "2026-11-24T22:24:59.384Z vrrp/apache vip-add addrs=192.0.2.160",
            "2026-11-24T22:24:59.384Z vrrp/apache garp addrs=192.0.2.160 repeat=5 cause=become-master",
            "2026-11-24T22:24:55.774Z ipvs add-service svc=tcp/192.0.2.160:80 sched=rr",
            "2026-11-24T22:24:55.774Z ipvs add-dest svc=tcp/192.0.2.160:80 rs=192.0.2.152:80 fwd=route weight=1",
            "2026-11-24T22:25:02.058Z ipvs del-dest svc=tcp/192.0.2.160:80 rs=192.0.2.152:80",
            "2026-11-24T22:25:02.058Z ipvs edit-dest svc=tcp/[2001:db8::160]:80 rs=[2001:db8::152]:80 fwd=route weight=0",
        ];
        for l in lines {
            let e = parse(l).unwrap_or_else(|| panic!("not read: {l}"));
            assert_eq!(e.to_string(), message(l), "round trip of {l}");
        }
    }

    #[test]
    fn leaves_other_lines_alone() {
        for l in [
            "2026-11-24T22:24:55.774Z warning: ipvs unavailable: the kernel has no IPVS",
            "2026-11-24T22:24:55.774Z ipvs table | TCP  192.0.2.160:80 rr",
            "2026-11-24T22:24:55.774Z ipvs table (not programmed: IPVS unavailable):",
            "2026-11-24T22:25:02.058Z check/192.0.2.152:80 checker state=down kind=TCP_CHECK",
            "2026-11-24T22:24:55.772Z lb1.conf:2:1: warning: 'notification_email' is recognised",
            "vrrp/apache state from=nowhere to=master reason=x prio=1",
            "",
        ] {
            assert_eq!(parse(l), None, "{l}");
        }
        assert_eq!(
            message("2026-11-24T22:24:55.774Z error: cannot run: x"),
            "cannot run: x"
        );
    }
}
