//! Conformance cases as data, in holo's style: a directory holds a
//! keepalived.conf (and any other config a reload uses), `input.txt` (the
//! host and the facts, timed) and `expected.txt` (every output, timed, as
//! text); [`run`] plays the input through a [`Director`] and renders what
//! it did, for the caller to compare with the expected file.
//!
//! The world around the director is a small model, not a mock of it:
//! probes are answered 1 ms after they are asked for from the state the
//! input gives each real server (up unless told otherwise), the kernel's
//! IPVS table is a [`Table`] the director's ops are applied to (an op the
//! input arms a refusal for is refused once), and IPVS dumps read it.
//!
//! `input.txt`, one statement per line (`#` starts a comment):
//!
//! ```text
//! config keepalived.conf            # the config (default keepalived.conf)
//! host eth0 192.0.2.150 [down]      # an interface and its addresses (comma-separated)
//! seed 7                            # the checkers' jitter seed
//! show send vip announce trace      # output kinds logged (default: all but probe)
//! at 0s start
//! at 1s advert eth0 192.0.2.151 prio 90 [vrid 51] [int 1] [v3] [pass 1111] [vips A,B] [to DST] [ttl 255]
//! at 2s link eth0 down|up
//! at 3s track script:NAME|file:NAME|process:NAME up|down
//! at 3s file NAME 5                 # a track_file holds 5 (given before a start at the same time)
//! at 4s addr-removed eth0 192.0.2.160 # someone deleted an address
//! at 4s rs 192.0.2.152:80 down|up
//! at 5s ipvs-refuse add-dest        # the next op of this kind is refused
//! at 6s reload other.conf
//! at 7s stop [keep-vips] [keep-ipvs]
//! end 20s                           # run the timers until then
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use super::{Director, Host, Input, Interface, Options, Output};
use crate::check::{NetError, ProbeId, ProbeKind, ProbeResult, ScriptExit};
use crate::config::{self, Config, Source};
use crate::ipvs::{self, Op, Table};
use crate::packet::ip::Meta;
use crate::packet::vrrp::{Advert, Auth, ChecksumContext, ChecksumMode, Interval, Version};
use crate::time::Instant;
use crate::vrrp::TrackerId;

/// How long a modelled probe takes.
pub const PROBE_LATENCY: Duration = Duration::from_millis(1);

/// One timed fact of a case.
#[derive(Clone, Debug, PartialEq)]
pub enum Fact {
    /// Start the director.
    Start,
    /// A VRRP datagram received.
    Advert {
        /// Interface.
        iface: String,
        /// IP source.
        src: IpAddr,
        /// IP destination.
        dst: IpAddr,
        /// TTL / hop limit.
        ttl: u8,
        /// The advert.
        advert: Advert,
    },
    /// A link change.
    Link {
        /// Interface.
        iface: String,
        /// Up or down.
        up: bool,
    },
    /// A tracker change.
    Track {
        /// Which.
        id: TrackerId,
        /// Up or down.
        up: bool,
    },
    /// A tracked file's value (`file NAME VALUE`).
    File {
        /// Which `track_file`.
        id: TrackerId,
        /// The value it now holds.
        value: i64,
    },
    /// Someone else removed an address (`addr-removed DEV ADDR`).
    AddressRemoved {
        /// The interface.
        dev: String,
        /// The address.
        addr: IpAddr,
    },
    /// A real server's state in the modelled network.
    RealServer {
        /// Its address and port.
        addr: SocketAddr,
        /// Whether it answers.
        up: bool,
    },
    /// The next IPVS op of this kind (`add-dest`, `del-service`...) is
    /// refused by the modelled kernel.
    IpvsRefuse(String),
    /// Reload with this config file (of the case directory).
    Reload(String),
    /// Stop.
    Stop {
        /// Leave the VIPs.
        keep_vips: bool,
        /// Leave the IPVS table.
        keep_ipvs: bool,
    },
}

/// A parsed `input.txt`.
#[derive(Clone, Debug)]
pub struct Case {
    /// The config file name.
    pub config: String,
    /// The host's interfaces.
    pub host: Host,
    /// The checkers' seed.
    pub seed: u64,
    /// Output kinds logged (`send`, `vip`, `announce`, `probe`, `ipvs`,
    /// `notify`, `mastership`, `reload`, `trace`).
    pub show: BTreeSet<String>,
    /// Facts in time order.
    pub facts: Vec<(Duration, Fact)>,
    /// When the run ends.
    pub end: Duration,
}

/// Every output kind [`Case::show`] may name.
pub const KINDS: [&str; 10] = [
    "send",
    "vip",
    "announce",
    "probe",
    "ipvs",
    "notify",
    "fifo",
    "mastership",
    "reload",
    "trace",
];

/// Parses `input.txt` (`name` names it in errors: `name:line: why`).
pub fn parse(name: &str, text: &str) -> Result<Case, String> {
    let mut c = Case {
        config: "keepalived.conf".into(),
        host: Host::default(),
        seed: 1,
        show: KINDS
            .iter()
            .filter(|k| **k != "probe")
            .map(|k| k.to_string())
            .collect(),
        facts: Vec::new(),
        end: Duration::ZERO,
    };
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let err = |why: String| format!("{name}:{}: {why}", i + 1);
        let w: Vec<&str> = line.split_whitespace().collect();
        match w[0] {
            "config" => c.config = arg(&w, 1).map_err(err)?.to_string(),
            "seed" => c.seed = arg(&w, 1).and_then(num).map_err(err)?,
            "host" => {
                let dev = arg(&w, 1).map_err(err)?.to_string();
                let addrs = match w.get(2) {
                    Some(a) if *a != "down" => a
                        .split(',')
                        .map(|x| x.parse().map_err(|_| format!("{x:?} is not an address")))
                        .collect::<Result<Vec<IpAddr>, _>>()
                        .map_err(err)?,
                    _ => Vec::new(),
                };
                let up = !w.contains(&"down");
                c.host.interfaces.insert(dev, Interface { up, addrs });
            }
            "show" => {
                c.show.clear();
                for k in &w[1..] {
                    if !KINDS.contains(k) {
                        return Err(err(format!(
                            "unknown output kind {k:?} (known: {})",
                            KINDS.join(" ")
                        )));
                    }
                    c.show.insert(k.to_string());
                }
            }
            "end" => c.end = arg(&w, 1).and_then(dur).map_err(err)?,
            "at" => {
                let t = arg(&w, 1).and_then(dur).map_err(err)?;
                let f = fact(&w[2..]).map_err(err)?;
                c.facts.push((t, f));
            }
            other => return Err(err(format!("unknown statement {other:?}"))),
        }
    }
    c.facts.sort_by_key(|f| f.0);
    if let Some((t, _)) = c.facts.last() {
        c.end = c.end.max(*t);
    }
    Ok(c)
}

fn arg<'a>(w: &[&'a str], i: usize) -> Result<&'a str, String> {
    w.get(i)
        .copied()
        .ok_or_else(|| format!("{} needs an argument", w[0]))
}

fn num<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("{s:?} is not a number"))
}

/// `1s`, `250ms`, `3.648s`, `100us`.
fn dur(s: &str) -> Result<Duration, String> {
    let (n, unit) = s
        .find(|c: char| c.is_ascii_alphabetic())
        .map(|i| s.split_at(i))
        .ok_or_else(|| format!("{s:?} has no unit (s, ms, us)"))?;
    let v: f64 = n.parse().map_err(|_| format!("{s:?} is not a duration"))?;
    let scale = match unit {
        "s" => 1.0,
        "ms" => 1e-3,
        "us" => 1e-6,
        _ => return Err(format!("{s:?}: unknown unit {unit:?}")),
    };
    if !(v.is_finite() && v >= 0.0) {
        return Err(format!("{s:?} is not a duration"));
    }
    Ok(Duration::from_nanos((v * scale * 1e9).round() as u64))
}

fn updown(s: &str) -> Result<bool, String> {
    match s {
        "up" => Ok(true),
        "down" => Ok(false),
        _ => Err(format!("{s:?}: expected up or down")),
    }
}

fn fact(w: &[&str]) -> Result<Fact, String> {
    let Some(&what) = w.first() else {
        return Err("at TIME needs a fact".into());
    };
    Ok(match what {
        "start" => Fact::Start,
        "link" => Fact::Link {
            iface: arg(w, 1)?.to_string(),
            up: updown(arg(w, 2)?)?,
        },
        "track" => {
            let id = arg(w, 1)?;
            let id = if let Some(n) = id.strip_prefix("script:") {
                TrackerId::Script(n.into())
            } else if let Some(n) = id.strip_prefix("file:") {
                TrackerId::File(n.into())
            } else if let Some(n) = id.strip_prefix("process:") {
                TrackerId::Process(n.into())
            } else {
                return Err(format!(
                    "{id:?}: expected script:NAME, file:NAME or process:NAME"
                ));
            };
            Fact::Track {
                id,
                up: updown(arg(w, 2)?)?,
            }
        }
        "file" => Fact::File {
            id: TrackerId::File(arg(w, 1)?.into()),
            value: arg(w, 2)?
                .parse()
                .map_err(|_| format!("{:?}: expected an integer value", arg(w, 2).unwrap_or("")))?,
        },
        "addr-removed" => Fact::AddressRemoved {
            dev: arg(w, 1)?.to_string(),
            addr: arg(w, 2)?
                .parse()
                .map_err(|_| format!("{:?}: expected an address", arg(w, 2).unwrap_or("")))?,
        },
        "rs" => Fact::RealServer {
            addr: arg(w, 1)?
                .parse()
                .map_err(|_| format!("{:?} is not ADDRESS:PORT", w[1]))?,
            up: updown(arg(w, 2)?)?,
        },
        "ipvs-refuse" => Fact::IpvsRefuse(arg(w, 1)?.to_string()),
        "reload" => Fact::Reload(arg(w, 1)?.to_string()),
        "stop" => Fact::Stop {
            keep_vips: w.contains(&"keep-vips"),
            keep_ipvs: w.contains(&"keep-ipvs"),
        },
        "advert" => advert(w)?,
        other => return Err(format!("unknown fact {other:?}")),
    })
}

fn advert(w: &[&str]) -> Result<Fact, String> {
    let iface = arg(w, 1)?.to_string();
    let src: IpAddr = arg(w, 2)?
        .parse()
        .map_err(|_| format!("{:?} is not an address", w[2]))?;
    let mut a = Advert {
        version: if src.is_ipv6() {
            Version::V3
        } else {
            Version::V2
        },
        vrid: 51,
        priority: 100,
        interval: if src.is_ipv6() {
            Interval::Centiseconds(100)
        } else {
            Interval::Seconds(1)
        },
        auth: Auth::None,
        addresses: Vec::new(),
    };
    let mut dst = crate::packet::vrrp::group(crate::packet::Family::of(&src));
    let mut ttl = 255;
    let mut i = 3;
    while i < w.len() {
        let key = w[i];
        if key == "v3" {
            a.version = Version::V3;
            if let Interval::Seconds(s) = a.interval {
                a.interval = Interval::Centiseconds(u16::from(s) * 100);
            }
            i += 1;
            continue;
        }
        let v = arg(w, i + 1)?;
        match key {
            "prio" => a.priority = num(v)?,
            "vrid" => a.vrid = num(v)?,
            "int" => {
                a.interval = match a.version {
                    Version::V2 => Interval::Seconds(num(v)?),
                    Version::V3 => Interval::Centiseconds(num(v)?),
                }
            }
            "pass" => a.auth = Auth::pass(v),
            "to" => dst = v.parse().map_err(|_| format!("{v:?} is not an address"))?,
            "ttl" => ttl = num(v)?,
            "vips" => {
                a.addresses = v
                    .split(',')
                    .map(|x| x.parse().map_err(|_| format!("{x:?} is not an address")))
                    .collect::<Result<_, _>>()?
            }
            other => return Err(format!("unknown advert field {other:?}")),
        }
        i += 2;
    }
    Ok(Fact::Advert {
        iface,
        src,
        dst,
        ttl,
        advert: a,
    })
}

/// The modelled world around the director.
struct World {
    kernel: Table,
    refuse: Vec<String>,
    servers: BTreeMap<SocketAddr, bool>,
    probes: Vec<(Instant, ProbeId, ProbeKind, Option<SocketAddr>)>,
}

impl World {
    fn answer(&self, kind: &ProbeKind, dst: Option<SocketAddr>) -> ProbeResult {
        let up = dst.is_none_or(|d| self.servers.get(&d).copied().unwrap_or(true));
        match (kind, up) {
            (ProbeKind::Misc { .. }, up) => {
                ProbeResult::Exit(ScriptExit::Code(if up { 0 } else { 1 }))
            }
            (_, false) => ProbeResult::Net(NetError::Refused),
            (ProbeKind::Tcp, true) => ProbeResult::Connected,
            (ProbeKind::Icmp, true) => ProbeResult::EchoReply,
            (ProbeKind::Http(_) | ProbeKind::Ssl(_), true) => ProbeResult::http_response(200, b""),
            (ProbeKind::Udp { .. }, true) => ProbeResult::Silence,
            (ProbeKind::Smtp { .. }, true) => ProbeResult::Smtp {
                greeting: 220,
                helo: 250,
            },
            (ProbeKind::Dns { .. }, true) => ProbeResult::Net(NetError::Other),
        }
    }

    fn apply(&mut self, ops: &[Op]) -> Vec<(Op, String)> {
        let mut refused = Vec::new();
        for op in ops {
            if let Some(i) = self.refuse.iter().position(|v| v == op.verb()) {
                self.refuse.remove(i);
                refused.push((op.clone(), "refused by the case".to_string()));
                continue;
            }
            if let Err(e) = ipvs::apply_one(&mut self.kernel, op) {
                refused.push((op.clone(), format!("{e:?}")));
            }
        }
        refused
    }
}

/// Plays `case` (its config files read from `source` under `dir`) and
/// returns the outputs logged, one per line: `TIME OUTPUT`, then a final
/// state section.
pub fn run(source: &dyn Source, dir: &str, case: &Case) -> Result<String, String> {
    let load = |file: &str| -> Result<Arc<Config>, String> {
        let path = format!("{dir}/{file}");
        let p = config::parse(source, &path);
        let errors: Vec<String> = p
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.to_string())
            .collect();
        match p.config {
            Some(c) if errors.is_empty() => Ok(Arc::new(c)),
            _ => Err(errors.join("\n")),
        }
    };
    let opts = Options {
        seed: case.seed,
        check: crate::check::Options {
            trace_probes: false,
            ..crate::check::Options::default()
        },
        ..Options::default()
    };
    let mut d = Director::new(load(&case.config)?, &case.host, opts)?;
    let mut w = World {
        kernel: Table::new(),
        refuse: Vec::new(),
        servers: BTreeMap::new(),
        probes: Vec::new(),
    };
    let mut log = String::new();
    let mut host = case.host.clone();
    let end = Instant::from_duration(case.end);
    let mut facts = case.facts.iter().peekable();
    loop {
        let next_fact = facts.peek().map(|(t, _)| Instant::from_duration(*t));
        let next_probe = w.probes.iter().map(|p| p.0).min();
        let next_timer = d.next_deadline();
        let next = [next_fact, next_probe, next_timer]
            .into_iter()
            .flatten()
            .min();
        let Some(now) = next.filter(|t| *t <= end) else {
            break;
        };
        let mut pending: Vec<Input<'_>> = Vec::new();
        // Owned data the inputs below borrow.
        let mut adverts: Vec<(String, Vec<u8>, Meta, bool)> = Vec::new();
        let mut reloads: Vec<Arc<Config>> = Vec::new();
        let mut tracks: Vec<(TrackerId, bool)> = Vec::new();
        let mut files: Vec<(TrackerId, i64)> = Vec::new();
        let mut removed: Vec<(String, IpAddr)> = Vec::new();
        let mut links: Vec<(String, bool)> = Vec::new();
        if next_fact == Some(now) {
            while let Some((t, f)) = facts.peek() {
                if Instant::from_duration(*t) != now {
                    break;
                }
                let f = f.clone();
                facts.next();
                match f {
                    Fact::Start => pending.push(Input::Start),
                    Fact::Advert {
                        iface,
                        src,
                        dst,
                        ttl,
                        advert,
                    } => {
                        let ctx = ChecksumContext {
                            src,
                            dst,
                            mode: ChecksumMode::Standard,
                        };
                        let msg = advert.to_bytes(&ctx);
                        let meta = Meta {
                            src,
                            dst,
                            hop_limit: Some(ttl),
                        };
                        if src.is_ipv4() {
                            let mut dg = crate::packet::ip::datagram(src, dst, &msg);
                            dg[8] = ttl;
                            // The TTL moved: the header checksum is recomputed.
                            dg[10] = 0;
                            dg[11] = 0;
                            let sum = crate::packet::checksum::compute(0, &dg[..20]);
                            dg[10..12].copy_from_slice(&sum.to_be_bytes());
                            adverts.push((iface, dg, meta, true));
                        } else {
                            adverts.push((iface, msg, meta, false));
                        }
                    }
                    Fact::Link { iface, up } => {
                        if let Some(i) = host.interfaces.get_mut(&iface) {
                            i.up = up;
                        }
                        links.push((iface, up));
                    }
                    Fact::Track { id, up } => tracks.push((id, up)),
                    Fact::File { id, value } => files.push((id, value)),
                    Fact::AddressRemoved { dev, addr } => removed.push((dev, addr)),
                    Fact::RealServer { addr, up } => {
                        w.servers.insert(addr, up);
                    }
                    Fact::IpvsRefuse(verb) => w.refuse.push(verb),
                    Fact::Reload(file) => reloads.push(load(&file)?),
                    Fact::Stop {
                        keep_vips,
                        keep_ipvs,
                    } => pending.push(Input::Shutdown {
                        keep_vips,
                        keep_ipvs,
                    }),
                }
            }
        }
        let mut inputs: Vec<Input<'_>> = Vec::new();
        for (iface, bytes, meta, v4) in &adverts {
            inputs.push(if *v4 {
                Input::Datagram { iface, bytes }
            } else {
                Input::Message {
                    iface,
                    meta: *meta,
                    message: bytes,
                }
            });
        }
        for (iface, up) in &links {
            inputs.push(Input::Link { iface, up: *up });
        }
        for (id, up) in &tracks {
            inputs.push(Input::Tracker { id, up: *up });
        }
        for (id, value) in &files {
            inputs.push(Input::TrackerValue { id, value: *value });
        }
        for (dev, addr) in &removed {
            inputs.push(Input::AddressRemoved { dev, addr: *addr });
        }
        for config in reloads {
            inputs.push(Input::Reload {
                config,
                host: &host,
            });
        }
        // Start and stop keep their place relative to the other facts of
        // the instant: start first, stop last; but a file's value given
        // at the instant of the start is what the file holds when the
        // director starts (keepalived reads its track files first; vigild
        // hands their values in before the start).
        let (starts, stops): (Vec<_>, Vec<_>) =
            pending.into_iter().partition(|i| matches!(i, Input::Start));
        let (file_values, inputs): (Vec<_>, Vec<_>) = inputs
            .into_iter()
            .partition(|i| !starts.is_empty() && matches!(i, Input::TrackerValue { .. }));
        let mut all: Vec<Input<'_>> = file_values;
        all.extend(starts);
        all.extend(inputs);
        all.extend(stops);
        // Probes due now.
        let due: Vec<_> = {
            let (due, rest): (Vec<_>, Vec<_>) = w.probes.drain(..).partition(|p| p.0 <= now);
            w.probes = rest;
            due
        };
        for (_, id, kind, dst) in due {
            let result = w.answer(&kind, dst);
            all.push(Input::ProbeDone { id, result });
        }
        if next_timer.is_some_and(|t| t <= now) {
            all.push(Input::Timer);
        }
        for input in all {
            let mut queue = vec![input];
            while let Some(input) = queue.pop() {
                let outs: Vec<Output> = d.handle(now, input).collect();
                let mut answers = Vec::new();
                for o in outs {
                    log_output(&mut log, now, &o, &case.show);
                    match o {
                        Output::Probe {
                            id, kind, target, ..
                        } => w.probes.push((now + PROBE_LATENCY, id, kind, target.dst())),
                        Output::IpvsDump => answers.push(Input::IpvsDumped(Ok(w.kernel.clone()))),
                        Output::Ipvs(ops) => {
                            let refused = w.apply(&ops);
                            answers.push(Input::IpvsApplied { refused });
                        }
                        _ => {}
                    }
                }
                answers.reverse();
                queue.extend(answers);
            }
        }
    }
    // The final state.
    let _ = writeln!(log, "final:");
    for i in d.vrrp().instances() {
        let _ = writeln!(
            log,
            "  vrrp/{} state={} prio={} vips={}",
            i.name(),
            i.state(),
            i.priority(),
            if i.holds_vips() { "held" } else { "none" }
        );
    }
    if !w.kernel.is_empty() {
        for line in ipvs::ipvsadm_ln(&w.kernel).lines().skip(3) {
            let _ = writeln!(log, "  kernel {}", line.trim_end());
        }
    }
    Ok(log)
}

fn log_output(log: &mut String, now: Instant, o: &Output, show: &BTreeSet<String>) {
    let kind = match o {
        Output::Send { .. } => "send",
        Output::AddVip { .. } | Output::DelVip { .. } => "vip",
        Output::Announce { .. } => "announce",
        Output::Probe { .. } => "probe",
        Output::Ipvs(_) | Output::IpvsDump => "ipvs",
        Output::Notify(_) => "notify",
        Output::FifoLine { .. } => "fifo",
        Output::Mastership(_) => "mastership",
        Output::ReloadRefused(_) => "reload",
        Output::Trace(_) => "trace",
    };
    if show.contains(kind) {
        let _ = writeln!(log, "{now} {o}");
    }
}
