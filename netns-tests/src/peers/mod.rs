//! Mixed VRRP groups: vigild with keepalived 2.2.7 or with FRR 8.4's
//! vrrpd, in both directions (vigild the higher priority, or the peer),
//! and the agreement checks between them.
//!
//! Each case runs one sequence on two namespaces on a bridge, the
//! capture on the bridge giving every advert's time:
//!
//! 1. election: the lower-priority router `b` starts alone and becomes
//!    master one master-down interval after it started;
//! 2. preemption: the higher-priority router `a` starts, ignores `b`'s
//!    adverts and takes over one master-down interval after it started;
//!    `b` falls silent;
//! 3. SIGKILL of `a`: `b` takes over one master-down interval after
//!    `a`'s last advert;
//! 4. `a` restarts and preempts again;
//! 5. SIGTERM of `a`: `a` sends priority 0, `b` takes over one skew time
//!    later; `a` exits 0;
//! 6. `a` restarts and preempts again.
//!
//! Every moment is compared with what Vigil's core computes for it
//! (`vigil_core::vrrp::timers`) within ±20 ms: Vigil's decisions and the
//! peer's agree on the new master and on when it takes over, whichever
//! side decides.

pub mod router;

use std::fmt::{self, Write as _};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use vigil_core::packet::vrrp::Interval;
use vigil_core::time::fmt_ms;
use vigil_core::vrrp::timers;

use crate::capture::{Capture, Observation, Seen};
use crate::ns::{self, Lab, Netns};

use router::Router;

/// How far a measured moment may be from the one Vigil computes.
pub const AGREE: Duration = Duration::from_millis(20);

/// A VRRP implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impl {
    /// vigild (this workspace).
    Vigild,
    /// keepalived 2.2.7 `--vrrp` (Debian).
    Keepalived,
    /// FRR 8.4 zebra + vrrpd (Debian).
    Frr,
}

impl fmt::Display for Impl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Impl::Vigild => "vigild",
            Impl::Keepalived => "keepalived",
            Impl::Frr => "frr",
        })
    }
}

/// The group's protocol settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupSpec {
    /// VRRP version, 2 or 3.
    pub version: u8,
    /// IPv6 (version 3 only).
    pub v6: bool,
    /// Unicast adverts to the peer instead of multicast.
    pub unicast: bool,
    /// VRRPv2 PASS authentication.
    pub auth: Option<String>,
    /// The advert interval in centiseconds (version 3; version 2 uses 1 s).
    pub interval_cs: u16,
    /// Virtual router id.
    pub vrid: u8,
}

impl GroupSpec {
    /// The advert interval.
    pub fn interval(&self) -> Interval {
        if self.version == 2 {
            Interval::Seconds(1)
        } else {
            Interval::Centiseconds(self.interval_cs)
        }
    }

    /// The virtual address.
    pub fn vip(&self) -> IpAddr {
        if self.v6 {
            "2001:db8::100".parse().expect("literal")
        } else {
            "192.0.2.100".parse().expect("literal")
        }
    }

    /// `v2-ipv4-multicast-pass`, ...
    pub fn name(&self) -> String {
        format!(
            "v{}-{}-{}{}",
            self.version,
            if self.v6 { "ipv6" } else { "ipv4" },
            if self.unicast { "unicast" } else { "multicast" },
            if self.auth.is_some() { "-pass" } else { "" }
        )
    }
}

/// One case: the group, the higher-priority router's implementation
/// (`a`, priority 100) and the lower one's (`b`, priority 90).
#[derive(Clone, Debug)]
pub struct Case {
    /// The group.
    pub group: GroupSpec,
    /// `a`: priority 100, master once it runs.
    pub high: Impl,
    /// `b`: priority 90, master only while `a` is gone.
    pub low: Impl,
}

impl Case {
    /// `v3-ipv4-multicast a=vigild b=frr`.
    pub fn name(&self) -> String {
        format!("{} a={} b={}", self.group.name(), self.high, self.low)
    }
}

/// One check of a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// The step.
    pub step: &'static str,
    /// What was checked.
    pub what: String,
    /// What Vigil computes (or the rule).
    pub expected: String,
    /// What was measured.
    pub seen: String,
    /// Whether it agreed.
    pub pass: bool,
}

/// What a case showed.
#[derive(Clone, Debug)]
pub struct Report {
    /// The case.
    pub name: String,
    /// Its checks, in order.
    pub checks: Vec<Check>,
    /// The measured takeover delays, as (step, delay, computed).
    pub delays: Vec<(&'static str, Duration, Duration)>,
    /// The run directory, kept when a check failed.
    pub dir: Option<PathBuf>,
    /// Both routers' logs.
    pub logs: String,
}

impl Report {
    /// Whether every check held.
    pub fn pass(&self) -> bool {
        self.checks.iter().all(|c| c.pass)
    }

    /// One line per check.
    pub fn render(&self) -> String {
        let mut s = format!("case {}\n", self.name);
        for c in &self.checks {
            let _ = writeln!(
                s,
                "  {:<4} {:<11} {}: {} (Vigil: {})",
                if c.pass { "ok" } else { "FAIL" },
                c.step,
                c.what,
                c.seen,
                c.expected
            );
        }
        if let Some(d) = &self.dir {
            let _ = writeln!(s, "  kept: {}", d.display());
        }
        s
    }

    /// The checks without measured values (for snapshots).
    pub fn outline(&self) -> String {
        let mut s = format!("case {}\n", self.name);
        for c in &self.checks {
            let _ = writeln!(
                s,
                "  {} {}: {}",
                if c.pass { "ok" } else { "FAIL" },
                c.step,
                c.what
            );
        }
        s
    }
}

/// The adverts of the capture: (time, source, priority).
pub fn adverts(cap: &Capture, vrid: u8) -> Vec<(SystemTime, IpAddr, u8)> {
    cap.observations()
        .into_iter()
        .filter_map(|Observation { at, seen }| match seen {
            Seen::Advert {
                src,
                vrid: v,
                priority,
                ..
            } if v == vrid => Some((at, src, priority)),
            _ => None,
        })
        .collect()
}

fn since(later: SystemTime, earlier: SystemTime) -> Duration {
    later.duration_since(earlier).unwrap_or_default()
}

/// Runs `case` on namespaces named after `tag`.
pub fn run(case: &Case, tag: &str) -> Result<Report, String> {
    let g = &case.group;
    let mut lab = Lab::new(tag);
    let addr = |n: u8| -> (IpAddr, IpAddr) {
        (
            format!("192.0.2.{n}").parse().expect("literal"),
            format!("2001:db8::{n}").parse().expect("literal"),
        )
    };
    let (aa, ba) = (addr(10), addr(11));
    for (role, a, mac) in [
        ("a", aa, "02:00:00:00:00:0a"),
        ("b", ba, "02:00:00:00:00:0b"),
    ] {
        let ns = lab.host_dev(role, "eth0", Some(mac), &[&format!("{}/24", a.0)]);
        ns.ip(&[
            "addr",
            "add",
            &format!("{}/64", a.1),
            "dev",
            "eth0",
            "nodad",
        ]);
    }
    let _ = lab
        .bridge()
        .exec("sysctl", &["-q", "-w", "net.ipv6.conf.br0.disable_ipv6=1"]);
    let dir = lab.dir().to_path_buf();
    let cap = Capture::start(lab.bridge().name(), "br0", &dir.join("segment.pcap"))?;
    let (na, nb) = (lab.get("a"), lab.get("b"));
    let mut a = Router::new(case.high, "a", na, 100, aa, &dir);
    let mut b = Router::new(case.low, "b", nb, 90, ba, &dir);
    a.setup(g, na, ba)?;
    b.setup(g, nb, aa)?;
    let mut checks = Vec::new();
    let mut delays = Vec::new();
    let result = sequence(
        g,
        &cap,
        (na, nb),
        (&mut a, &mut b),
        &mut checks,
        &mut delays,
    );
    let logs = format!(
        "--- a ({}) ---\n{}--- b ({}) ---\n{}",
        a.imp,
        a.log_text(),
        b.imp,
        b.log_text()
    );
    drop(a);
    drop(b);
    drop(cap);
    if let Err(e) = result {
        checks.push(Check {
            step: "run",
            what: "the sequence ran to its end".into(),
            expected: "every awaited advert within its deadline".into(),
            seen: e,
            pass: false,
        });
    }
    let mut report = Report {
        name: case.name(),
        checks,
        delays,
        dir: None,
        logs,
    };
    if !report.pass() {
        lab.keep();
        let _ = std::fs::write(dir.join("report.txt"), report.render() + &report.logs);
        report.dir = Some(dir);
    }
    Ok(report)
}

/// Waits for the first advert from `src` after `after` whose priority
/// `pred` accepts.
pub fn wait_advert(
    cap: &Capture,
    vrid: u8,
    src: IpAddr,
    after: SystemTime,
    pred: impl Fn(u8) -> bool,
    timeout: Duration,
    what: &str,
) -> Result<SystemTime, String> {
    ns::wait_for(timeout, what, || {
        adverts(cap, vrid)
            .into_iter()
            .find(|(t, s, p)| *t > after && *s == src && pred(*p))
            .map(|(t, _, _)| t)
    })
    .map(|(t, _)| t)
}

/// Whether `r` holds the VIP: on an interface (vigild, keepalived) or
/// with its macvlan out of protodown (FRR).
pub fn holds(r: &Router, ns: &Netns, g: &GroupSpec) -> bool {
    match r.imp {
        Impl::Vigild | Impl::Keepalived => ns.has_addr(&g.vip().to_string()),
        Impl::Frr => {
            let dev = router::macvlan_name(g.v6, g.vrid);
            let out = ns.ip(&["-o", "link", "show", "dev", &dev]);
            out.contains("LOWER_UP") && !out.contains("NO-CARRIER")
        }
    }
}

/// A takeover's moment: its first advert on the wire, and when its
/// daemon logged the transition (stamped as the line was read).
#[derive(Clone, Copy, Debug)]
struct Moment {
    wire: SystemTime,
    log: Option<SystemTime>,
}

impl Moment {
    /// The decision: the earlier of the two (a log line is read after
    /// it is written; an advert may leave later than decided, as FRR's
    /// IPv6 adverts do while its macvlan comes out of protodown).
    fn decided(&self) -> SystemTime {
        self.log.map_or(self.wire, |l| l.min(self.wire))
    }
}

#[allow(clippy::too_many_arguments)]
fn timed(
    checks: &mut Vec<Check>,
    delays: &mut Vec<(&'static str, Duration, Duration)>,
    step: &'static str,
    what: String,
    from: SystemTime,
    to: Moment,
    due: Duration,
    rule: &str,
) {
    let seen = since(to.decided(), from);
    let wire = since(to.wire, from);
    let off = seen.abs_diff(due);
    delays.push((step, wire, due));
    let how = if to.decided() < to.wire {
        format!(", logged; first advert at {}", fmt_ms(wire))
    } else {
        String::new()
    };
    checks.push(Check {
        step,
        what,
        expected: format!("{rule} {}", fmt_ms(due)),
        seen: format!(
            "{} ({}{}{how})",
            fmt_ms(seen),
            if seen >= due { "+" } else { "-" },
            fmt_ms(off)
        ),
        pass: off <= AGREE,
    });
}

/// After `a` took over at `ta`: `b` sends nothing more (beyond an
/// advert already in flight), and only `a` holds the VIP.
#[allow(clippy::too_many_arguments)]
fn settled(
    g: &GroupSpec,
    cap: &Capture,
    (na, nb): (&Netns, &Netns),
    (a, b): (&Router, &Router),
    ta: SystemTime,
    step: &'static str,
    checks: &mut Vec<Check>,
) {
    let iv = g.interval().as_duration();
    // Two intervals of watching (and at least 200 ms for the VIPs).
    std::thread::sleep((iv * 2).max(Duration::from_millis(200)));
    let late: Vec<SystemTime> = adverts(cap, g.vrid)
        .into_iter()
        .filter(|(t, s, p)| Some(*s) == b.src && *p > 0 && *t > ta + AGREE)
        .map(|(t, _, _)| t)
        .collect();
    checks.push(Check {
        step,
        what: "b falls silent once a advertises".into(),
        expected: format!(
            "no advert from b later than {} after a's first",
            fmt_ms(AGREE)
        ),
        seen: match late.first() {
            None => "none".into(),
            Some(t) => format!(
                "{} adverts, first {} after",
                late.len(),
                fmt_ms(since(*t, ta))
            ),
        },
        pass: late.is_empty(),
    });
    let (ha, hb) = (holds(a, na, g), holds(b, nb, g));
    checks.push(Check {
        step,
        what: "only a holds the VIP".into(),
        expected: "a holds, b does not".into(),
        seen: format!("a holds={ha} b holds={hb}"),
        pass: ha && !hb,
    });
}

fn sequence(
    g: &GroupSpec,
    cap: &Capture,
    (na, nb): (&Netns, &Netns),
    (a, b): (&mut Router, &mut Router),
    checks: &mut Vec<Check>,
    delays: &mut Vec<(&'static str, Duration, Duration)>,
) -> Result<(), String> {
    let iv = g.interval();
    let deadline = iv.as_duration() * 4 + Duration::from_secs(5);
    let (sa, sb) = (
        a.src.ok_or("a has no source")?,
        b.src.ok_or("b has no source")?,
    );
    let mdi = |p: u8| timers::master_down(iv, p, 3);
    let skew = |p: u8| timers::skew(iv, p);
    let started = |r: &Router, after: SystemTime| {
        ns::wait_for(
            Duration::from_secs(10),
            &format!("{} starts as backup", r.name),
            || r.started_backup(after, g.v6),
        )
        .map(|(t, _)| t)
    };

    // 1. b alone.
    let t0 = SystemTime::now();
    b.start(nb)?;
    let tb = wait_advert(cap, g.vrid, sb, t0, |p| p > 0, deadline, "b's first advert")?;
    let s0 = started(b, t0)?;
    let m = Moment {
        wire: tb,
        log: b.became_master(t0, g.v6),
    };
    timed(
        checks,
        delays,
        "election",
        format!("b ({}) alone becomes master after it starts", b.imp),
        s0,
        m,
        mdi(b.priority),
        "master-down interval",
    );
    // keepalived sends its first advert before it adds the VIP.
    let hb = ns::wait_for(Duration::from_secs(2), "b holds the VIP", || {
        holds(b, nb, g).then_some(())
    })
    .is_ok();
    checks.push(Check {
        step: "election",
        what: "b holds the VIP".into(),
        expected: "b holds".into(),
        seen: format!("b holds={hb}"),
        pass: hb,
    });

    // 2, 4, 6: a starts and preempts.
    let preempt = |a: &mut Router,
                   step: &'static str,
                   checks: &mut Vec<Check>,
                   delays: &mut Vec<(&'static str, Duration, Duration)>|
     -> Result<(), String> {
        let t = SystemTime::now();
        a.start(na)?;
        let ta = wait_advert(cap, g.vrid, sa, t, |p| p > 0, deadline, "a's first advert")?;
        let s = started(a, t)?;
        let m = Moment {
            wire: ta,
            log: a.became_master(t, g.v6),
        };
        timed(
            checks,
            delays,
            step,
            format!("a ({}) preempts b after it starts", a.imp),
            s,
            m,
            mdi(a.priority),
            "master-down interval",
        );
        settled(g, cap, (na, nb), (a, b), ta, step, checks);
        Ok(())
    };
    preempt(a, "preempt", checks, delays)?;

    // 3. SIGKILL a.
    let tk = SystemTime::now();
    a.kill();
    let tb = wait_advert(
        cap,
        g.vrid,
        sb,
        tk,
        |p| p > 0,
        deadline,
        "b's advert after SIGKILL",
    )?;
    let last = adverts(cap, g.vrid)
        .into_iter()
        .filter(|(t, s, _)| *s == sa && *t < tb)
        .map(|(t, _, _)| t)
        .max()
        .ok_or("no advert from a before b took over")?;
    let m = Moment {
        wire: tb,
        log: b.became_master(last, g.v6),
    };
    timed(
        checks,
        delays,
        "sigkill",
        format!("b ({}) takes over after a's last advert", b.imp),
        last,
        m,
        mdi(b.priority),
        "master-down interval",
    );

    preempt(a, "re-preempt", checks, delays)?;

    // 5. SIGTERM a.
    let tz0 = SystemTime::now();
    let code = a.term();
    checks.push(Check {
        step: "sigterm",
        what: format!("a ({}) exits 0 on SIGTERM", a.imp),
        expected: "0".into(),
        seen: format!("{code:?}"),
        pass: code == Some(0),
    });
    let tz = wait_advert(
        cap,
        g.vrid,
        sa,
        tz0 - Duration::from_secs(1),
        |p| p == 0,
        deadline,
        "a's priority-0 advert",
    );
    let tb = wait_advert(
        cap,
        g.vrid,
        sb,
        tz0,
        |p| p > 0,
        deadline,
        "b's advert after SIGTERM",
    )?;
    match tz {
        Ok(tz) => timed(
            checks,
            delays,
            "sigterm",
            format!("b ({}) takes over after a's priority-0 advert", b.imp),
            tz,
            Moment {
                wire: tb,
                log: b.became_master(tz, g.v6),
            },
            skew(b.priority),
            "skew time",
        ),
        Err(e) => checks.push(Check {
            step: "sigterm",
            what: format!("a ({}) sends priority 0 on SIGTERM", a.imp),
            expected: "a priority-0 advert".into(),
            seen: e,
            pass: false,
        }),
    }

    preempt(a, "re-preempt", checks, delays)?;
    Ok(())
}
