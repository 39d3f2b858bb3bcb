//! What a run recorded: the trace, client requests, state changes and
//! (when asked for) every frame on the segment.

pub mod pcap;
pub mod tcp;

use vigil_core::time::Instant;
use vigil_core::trace::Record;
use vigil_core::vrrp::State;

/// How one client request ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Answered with 200 and a known page.
    Ok {
        /// Index of the real server whose page came back.
        server: usize,
    },
    /// No director answered for the VIP (no ARP entry).
    NoArp,
    /// The director refused the connection (it does not hold the VIP).
    Refused,
    /// The connection was reset or closed before an answer.
    Reset,
    /// No answer within the client's timeout.
    Timeout,
    /// An answer with another status than 200.
    Status(u16),
    /// A 200 with a page no real server serves.
    WrongPage,
}

impl Outcome {
    /// Whether the request succeeded.
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok { .. })
    }

    /// Short name for traces and summaries.
    pub fn name(&self) -> String {
        match self {
            Outcome::Ok { .. } => "ok".into(),
            Outcome::NoArp => "no-arp".into(),
            Outcome::Refused => "refused".into(),
            Outcome::Reset => "reset".into(),
            Outcome::Timeout => "timeout".into(),
            Outcome::Status(c) => format!("status-{c}"),
            Outcome::WrongPage => "wrong-page".into(),
        }
    }
}

/// One client request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Client index.
    pub client: usize,
    /// When it started.
    pub start: Instant,
    /// When it ended.
    pub end: Instant,
    /// The director its ARP cache named, if any.
    pub via: Option<usize>,
    /// How it ended.
    pub outcome: Outcome,
}

/// A VRRP state change of one director's instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateChange {
    /// When.
    pub at: Instant,
    /// Director index.
    pub director: usize,
    /// Instance name.
    pub instance: String,
    /// New state.
    pub to: State,
}

/// Every destination of a table (address:port) with its weight, sorted.
pub type Weights = Vec<(String, u32)>;

/// A change of a director's IPVS table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableChange {
    /// When.
    pub at: Instant,
    /// Director index.
    pub director: usize,
    /// Real servers live in its table afterwards (address:port).
    pub live: Vec<String>,
    /// Every destination of its table afterwards (address:port) with its
    /// weight, sorted.
    pub weights: Weights,
}

/// Everything recorded during a run.
#[derive(Clone, Debug, Default)]
pub struct Recorder {
    /// The trace, in the order events happened.
    pub trace: Vec<Record>,
    /// Client requests, in completion order.
    pub requests: Vec<Request>,
    /// VRRP state changes.
    pub states: Vec<StateChange>,
    /// VIP holding changes: (when, director, holds).
    pub vips: Vec<(Instant, usize, bool)>,
    /// IPVS table changes.
    pub tables: Vec<TableChange>,
    /// Effective priority changes: (when, director, instance, priority).
    pub priorities: Vec<(Instant, usize, String, u8)>,
    /// Notify script calls: (when, director, argv).
    pub notifies: Vec<(Instant, usize, Vec<String>)>,
    /// Connections forwarded: (when, director, real server address:port).
    pub forwards: Vec<(Instant, usize, std::net::SocketAddr)>,
    /// Whether frames are captured.
    pub capture: bool,
    /// Captured frames: (time, sequence, bytes).
    pub frames: Vec<(Instant, u64, Vec<u8>)>,
}

impl Recorder {
    /// Captures one frame at `at` (when capturing).
    pub fn frame(&mut self, at: Instant, bytes: impl FnOnce() -> Vec<u8>) {
        if self.capture {
            let seq = self.frames.len() as u64;
            self.frames.push((at, seq, bytes()));
        }
    }
}
