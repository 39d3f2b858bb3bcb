//! `vrrp_script` and `track_file`: things VRRP instances (and real
//! servers) can track.

use std::time::Duration;

use super::common::Command;
use crate::config::span::Span;

/// A `vrrp_script`: a command run periodically whose exit status moves
/// the priority of the instances that track it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VrrpScript {
    /// Script name (`vrrp_script NAME`).
    pub name: String,
    /// `script` (its `user`, if given, is in `command.user`).
    pub command: Command,
    /// `interval` (default 1 s).
    pub interval: Duration,
    /// `timeout` (default: the interval).
    pub timeout: Duration,
    /// `weight` (default 0, -253..253).
    pub weight: i32,
    /// `weight N reverse`.
    pub weight_reverse: bool,
    /// `rise` (default 1): successes needed to count as up.
    pub rise: u32,
    /// `fall` (default 1): failures needed to count as down.
    pub fall: u32,
    /// `init_fail`: start in the failed state.
    pub init_fail: bool,
    /// Where `vrrp_script` was written.
    pub span: Span,
}

/// A `track_file` (or the old `vrrp_track_file`): a file holding a
/// How a `vrrp_track_process` compares a process's arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParamMatch {
    /// Arguments are not compared.
    None,
    /// The arguments are exactly these.
    Exact,
    /// The arguments start with these (the last one may be cut short).
    Initial,
    /// The arguments start with these, whole.
    Partial,
}

/// A `vrrp_track_process NAME { ... }` block: whether enough processes of
/// a name run.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TrackProcess {
    /// Name (`vrrp_track_process NAME`).
    pub name: String,
    /// `process NAME [ARGS...]`: the process name (its `comm`, or its
    /// `argv[0]` with `full_command`).
    pub process: String,
    /// The arguments written after the process name.
    pub params: Vec<String>,
    /// `param_match`.
    pub param_match: ParamMatch,
    /// `full_command` (implied by arguments and `param_match`): match the
    /// command line rather than the process name.
    pub full_command: bool,
    /// `quorum`: at least this many (default 1).
    pub quorum: u32,
    /// `quorum_max`: at most this many (default: no limit).
    pub quorum_max: u32,
    /// `fork_delay` (or `delay`): how long a gained quorum must last.
    pub fork_delay: Duration,
    /// `terminate_delay` (or `delay`): how long a lost quorum must last.
    pub terminate_delay: Duration,
    /// `weight N [reverse]` (default 0: losing the quorum is a fault).
    pub weight: i32,
    /// `reverse`.
    pub reverse: bool,
    /// Where it was written.
    pub span: Span,
}

/// number that, times a weight, moves priorities or real-server weights.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TrackFile {
    /// Name (`track_file NAME`).
    pub name: String,
    /// `file PATH`.
    pub path: String,
    /// `weight N [reverse]` (default 1).
    pub weight: i32,
    /// `reverse`.
    pub reverse: bool,
    /// `init_file [VALUE] [overwrite]`: create the file with this value
    /// at start-up.
    pub init_file: Option<(i64, bool)>,
    /// Where it was written.
    pub span: Span,
}
