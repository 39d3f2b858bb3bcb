//! What a director is told ([`Input`]: facts) and what it asks for
//! ([`Output`]: commands).

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::host::Host;
use crate::check::{ProbeId, ProbeKind, ProbeResult, ProbeTarget};
use crate::config::{Command, Config};
use crate::ipvs::{Op, Table};
use crate::packet::ip::Meta;
use crate::time::fmt_ms;
use crate::trace;
use crate::vrrp::{TrackerId, Vip};

/// A fact the director is told.
#[derive(Clone, Debug, PartialEq)]
pub enum Input<'a> {
    /// Start: VRRP instances leave Initialize, checkers arm, the IPVS
    /// table is read and programmed.
    Start,
    /// Time passed: act on every deadline at or before `now`.
    Timer,
    /// A whole IP datagram (IPv4 header included, as raw sockets and
    /// captures deliver it) received on `iface`.
    Datagram {
        /// The interface it came in on.
        iface: &'a str,
        /// The datagram.
        bytes: &'a [u8],
    },
    /// A VRRP message without its IP header (IPv6 raw sockets), with the
    /// IP facts the socket gave.
    Message {
        /// The interface it came in on.
        iface: &'a str,
        /// Source, destination, hop limit.
        meta: Meta,
        /// The VRRP message.
        message: &'a [u8],
    },
    /// An interface's link went up or down.
    Link {
        /// The interface.
        iface: &'a str,
        /// Whether it is up.
        up: bool,
    },
    /// A tracked script or file changed.
    Tracker {
        /// Which.
        id: &'a TrackerId,
        /// Whether it is up (succeeding).
        up: bool,
    },
    /// A tracked file's value changed (`track_file`: the integer it
    /// holds; 0 when missing or not a number).
    TrackerValue {
        /// Which ([`TrackerId::File`]).
        id: &'a TrackerId,
        /// Its value.
        value: i64,
    },
    /// Someone else removed address `addr` from interface `dev` (the
    /// kernel's address events; the director's own removals need not be
    /// filtered out).
    AddressRemoved {
        /// The interface.
        dev: &'a str,
        /// The address.
        addr: IpAddr,
    },
    /// The VRRP side's mastership changed (only for a [`super::Balancer`]
    /// run apart from its [`super::Vrrp`]; a [`super::Director`] routes
    /// it itself).
    Mastership(bool),
    /// A probe asked for by [`Output::Probe`] finished.
    ProbeDone {
        /// The probe.
        id: ProbeId,
        /// What came back.
        result: ProbeResult,
    },
    /// The answer to [`Output::IpvsDump`]: the kernel's table, or why it
    /// could not be read.
    IpvsDumped(Result<Table, String>),
    /// The answer to [`Output::Ipvs`]: the ops the kernel refused (none:
    /// all applied).
    IpvsApplied {
        /// Refused ops, each with the kernel's reason.
        refused: Vec<(Op, String)>,
    },
    /// Reload: run `config` from now on, on `host`'s interfaces.
    Reload {
        /// The new configuration (already free of errors).
        config: Arc<Config>,
        /// The host's interfaces now.
        host: &'a Host,
    },
    /// Stop: masters send priority 0 and release their VIPs (unless
    /// `keep_vips`), checkers stop, the owned IPVS services go (unless
    /// `keep_ipvs`).
    Shutdown {
        /// `--dont-release-vrrp`: leave the VIPs in place.
        keep_vips: bool,
        /// `--dont-release-ipvs`: leave the IPVS table in place.
        keep_ipvs: bool,
    },
}

/// A command to run: a notify script, a quorum script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    /// The configured command (and the user it runs as).
    pub command: Command,
    /// Arguments keepalived appends (`notify`: `INSTANCE NAME STATE PRIO`).
    pub args: Vec<String>,
    /// What it is for, in words (`vrrp/apache state=MASTER`).
    pub what: String,
    /// keepalived is stopping: such scripts get a short timeout.
    pub stopping: bool,
}

/// Something the director asks its driver to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// Send a VRRP message from `src` to `dst` on `iface` (the driver
    /// adds the IP header where its socket needs one).
    Send {
        /// Interface.
        iface: String,
        /// IP source.
        src: IpAddr,
        /// IP destination: a group or a unicast peer.
        dst: IpAddr,
        /// The VRRP message, checksummed for `src` and `dst`.
        message: Vec<u8>,
        /// The whole IPv4 datagram to send as it is (an IPsec-AH signed
        /// advert); `None`: `message` in a plain datagram.
        datagram: Option<Vec<u8>>,
    },
    /// Add a virtual address on `dev`.
    AddVip {
        /// The interface.
        dev: String,
        /// The address and its attributes.
        vip: Vip,
    },
    /// Remove a virtual address from `dev`.
    DelVip {
        /// The interface.
        dev: String,
        /// The address.
        vip: Vip,
    },
    /// Send one gratuitous ARP (IPv4) or unsolicited NA (IPv6) for `addr`.
    Announce {
        /// The interface.
        dev: String,
        /// The address announced.
        addr: IpAddr,
    },
    /// Run a probe; answer with [`Input::ProbeDone`].
    Probe {
        /// Echo this back.
        id: ProbeId,
        /// What to do.
        kind: ProbeKind,
        /// Where.
        target: ProbeTarget,
        /// How long each step may take.
        timeout: Duration,
    },
    /// Apply these ops to the kernel's IPVS table, in order; answer with
    /// [`Input::IpvsApplied`].
    Ipvs(Vec<Op>),
    /// Read the kernel's IPVS table; answer with [`Input::IpvsDumped`].
    IpvsDump,
    /// Run a script.
    Notify(Run),
    /// Write `line` and a newline to the notify FIFO at `path` (opened
    /// at start as keepalived opens it; a full FIFO loses the line).
    FifoLine {
        /// The FIFO (`notify_fifo`, `vrrp_notify_fifo`, `lvs_notify_fifo`).
        path: String,
        /// The line, without its newline.
        line: String,
    },
    /// This director became master of some instance (true) or of none.
    Mastership(bool),
    /// A reload could not be applied; the running configuration stays.
    ReloadRefused(String),
    /// Observation only: no driver decides anything from it.
    Trace(trace::Event),
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Output::Send {
                iface,
                src,
                dst,
                message,
                datagram,
            } => {
                write!(f, "send {iface} {src} -> {dst}")?;
                let family = crate::packet::Family::of(src);
                match crate::packet::vrrp::Packet::new_checked(&message[..], family)
                    .and_then(|p| crate::packet::vrrp::Advert::parse(&p, family))
                {
                    Ok(a) => write!(f, " {a}")?,
                    Err(_) => write!(f, " ({} bytes)", message.len())?,
                }
                match datagram
                    .as_deref()
                    .and_then(|d| crate::packet::ip::parse(d).ok())
                {
                    Some(d) if let Some(a) = d.auth => write!(f, " ah seq={}", a.seq),
                    _ => Ok(()),
                }
            }
            Output::AddVip { dev, vip } => write!(f, "add-vip {vip} dev {dev}"),
            Output::DelVip { dev, vip } => write!(f, "del-vip {vip} dev {dev}"),
            Output::Announce { dev, addr } => write!(f, "announce {addr} dev {dev}"),
            Output::Probe {
                id,
                kind,
                target,
                timeout,
            } => write!(
                f,
                "probe {id} {} {target} timeout={}",
                kind.keyword(),
                fmt_ms(*timeout)
            ),
            Output::Ipvs(ops) => {
                f.write_str("ipvs")?;
                for (i, op) in ops.iter().enumerate() {
                    write!(f, "{}{op}", if i == 0 { " " } else { "; " })?;
                }
                Ok(())
            }
            Output::IpvsDump => f.write_str("ipvs-dump"),
            Output::Notify(r) => {
                write!(f, "run {} [{}", r.what, r.command)?;
                for a in &r.args {
                    write!(f, " {a}")?;
                }
                f.write_str("]")?;
                if r.stopping {
                    f.write_str(" stopping")?;
                }
                Ok(())
            }
            Output::FifoLine { path, line } => write!(f, "fifo {path} {line}"),
            Output::Mastership(m) => write!(f, "mastership {}", if *m { "master" } else { "none" }),
            Output::ReloadRefused(why) => write!(f, "reload-refused {why}"),
            Output::Trace(e) => write!(f, "trace {e}"),
        }
    }
}
