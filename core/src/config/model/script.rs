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
