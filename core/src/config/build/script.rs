//! `vrrp_script` and `track_file` blocks (vrrp/vrrp_parser.c,
//! trackers/track_file.c).

use std::time::Duration;

use super::super::model::{Command, ParamMatch, ScriptUser, TrackFile, TrackProcess, VrrpScript};
use super::super::parser::Node;
use super::keywords::{Ctx, unhandled};
use super::values::Cx;

const MAX_SECS: u64 = u32::MAX as u64 / 1_000_000;

/// The block's name (first argument), or an error.
/// The one name of a `vrrp_instance` or `vrrp_sync_group`: keepalived
/// 2.2.7 skips such a block, with an error it runs past, unless exactly one
/// word follows the keyword (vrrp_parser.c vrrp_handler, vrrp_sync_group
/// handler).
pub(crate) fn one_name_or_skip(cx: &mut Cx<'_>, node: &Node) -> Option<String> {
    match node.args.as_slice() {
        [name] => Some(name.text.clone()),
        _ => {
            cx.diags.warning(
                &node.span,
                format!(
                    "{} must have exactly one name; keepalived skips the block",
                    node.keyword
                ),
            );
            None
        }
    }
}

pub(crate) fn block_name(cx: &mut Cx<'_>, node: &Node) -> Option<String> {
    let name = cx.need(node, 0, "a name")?.text.clone();
    cx.at_most(node, 1);
    Some(name)
}

/// A `vrrp_script NAME { ... }`.
pub(crate) fn vrrp_script(cx: &mut Cx<'_>, node: &Node) -> Option<VrrpScript> {
    let name = block_name(cx, node)?;
    let mut command: Option<Command> = None;
    let mut user: Option<ScriptUser> = None;
    let mut s = VrrpScript {
        name,
        command: Command::default(),
        interval: Duration::from_secs(1),
        timeout: Duration::ZERO,
        weight: 0,
        weight_reverse: false,
        rise: 1,
        fall: 1,
        init_fail: false,
        span: node.span.clone(),
    };
    for n in cx.block(node) {
        match n.keyword.as_str() {
            "script" => command = cx.command(n, false).or(command),
            "interval" => {
                if let Some(d) = cx.whole_secs(n, 1, MAX_SECS) {
                    s.interval = d;
                }
            }
            "timeout" => {
                if let Some(d) = cx.whole_secs(n, 1, MAX_SECS) {
                    s.timeout = d;
                }
            }
            "weight" => {
                cx.no_block(n);
                cx.at_most(n, 2);
                if let Some(a) = cx.need(n, 0, "a weight")
                    && let Some(w) = cx.int_arg("weight", a, -253, 253)
                {
                    s.weight = w as i32;
                }
                match n.arg(1).map(|a| a.text.as_str()) {
                    None => {}
                    Some("reverse") => s.weight_reverse = true,
                    Some(o) => cx.diags.error(
                        &n.args[1].span,
                        format!("unknown weight option '{o}' (only 'reverse')"),
                    ),
                }
            }
            "rise" => {
                if let Some(v) = cx.uint(n, 1, i32::MAX as u64) {
                    s.rise = v as u32;
                }
            }
            "fall" => {
                if let Some(v) = cx.uint(n, 1, i32::MAX as u64) {
                    s.fall = v as u32;
                }
            }
            "user" => {
                cx.no_block(n);
                cx.at_most(n, 2);
                if let Some(u) = cx.need(n, 0, "a user name") {
                    user = Some(ScriptUser {
                        user: u.text.clone(),
                        group: n.arg(1).map(|a| a.text.clone()),
                    });
                }
            }
            "init_fail" => {
                cx.bare(n);
                s.init_fail = true;
            }
            _ => unhandled(cx, n, Ctx::Script),
        }
    }
    let Some(mut command) = command else {
        cx.diags.error(
            &node.span,
            format!("vrrp_script {} has no 'script'", s.name),
        );
        return None;
    };
    command.user = user;
    s.command = command;
    // vrrp_scheduler.c: a zero timeout means the interval.
    if s.timeout.is_zero() {
        s.timeout = s.interval;
    }
    Some(s)
}

/// A `track_file NAME { file PATH; weight N [reverse]; init_file ... }`.
/// A `vrrp_track_process NAME { ... }` block (vrrp_parser.c
/// vrrp_tprocess_*): a value out of range or a second `process` is
/// ignored with a warning, as keepalived does; a block without `process`
/// is dropped.
pub(crate) fn track_process(cx: &mut Cx<'_>, node: &Node) -> Option<TrackProcess> {
    let name = block_name(cx, node)?;
    let mut t = TrackProcess {
        name,
        process: String::new(),
        params: Vec::new(),
        param_match: ParamMatch::None,
        full_command: false,
        quorum: 1,
        quorum_max: u32::MAX,
        fork_delay: Duration::ZERO,
        terminate_delay: Duration::ZERO,
        weight: 0,
        reverse: false,
        span: node.span.clone(),
    };
    let mut weight_set = false;
    for n in cx.block(node) {
        match n.keyword.as_str() {
            "process" => {
                cx.no_block(n);
                if !t.process.is_empty() {
                    cx.diags.warning(
                        &n.span,
                        format!(
                            "vrrp_track_process {}: process already set; keepalived ignores this one",
                            t.name
                        ),
                    );
                    continue;
                }
                let Some(p) = cx.need(n, 0, "a process name") else {
                    continue;
                };
                t.process = p.text.clone();
                t.params = n.args[1..].iter().map(|a| a.text.clone()).collect();
                if !t.params.is_empty() {
                    if t.param_match == ParamMatch::None {
                        t.param_match = ParamMatch::Exact;
                    }
                    t.full_command = true;
                }
            }
            "param_match" => {
                cx.no_block(n);
                cx.at_most(n, 1);
                match n.arg(0).map(|a| a.text.as_str()) {
                    None => t.param_match = ParamMatch::Exact,
                    Some("initial") => t.param_match = ParamMatch::Initial,
                    Some("partial") => t.param_match = ParamMatch::Partial,
                    Some(o) => {
                        cx.diags.warning(
                            &n.args[0].span,
                            format!(
                                "unknown param_match '{o}' (initial or partial); keepalived ignores it"
                            ),
                        );
                        continue;
                    }
                }
                t.full_command = true;
            }
            "full_command" => {
                cx.bare(n);
                t.full_command = true;
            }
            "quorum" => {
                if let Some(q) = cx.uint(n, 1, 65535) {
                    if q as u32 > t.quorum_max {
                        cx.diags.warning(
                            &n.span,
                            "quorum is greater than quorum_max; keepalived ignores it",
                        );
                    } else {
                        t.quorum = q as u32;
                    }
                }
            }
            "quorum_max" => {
                if let Some(q) = cx.uint(n, 0, 65535) {
                    let q = q as u32;
                    if (q != 0 || t.quorum > 1) && q < t.quorum {
                        cx.diags.warning(
                            &n.span,
                            "quorum_max is less than quorum; keepalived ignores it",
                        );
                    } else {
                        t.quorum_max = q;
                        if q == 0 {
                            t.quorum = 0;
                        } else if t.quorum == 0 {
                            t.quorum = 1;
                        }
                    }
                }
            }
            "delay" | "terminate_delay" | "fork_delay" => {
                if let Some(d) = cx.secs(n, Duration::from_micros(1), Duration::from_secs(3600)) {
                    if n.keyword != "fork_delay" {
                        t.terminate_delay = d;
                    }
                    if n.keyword != "terminate_delay" {
                        t.fork_delay = d;
                    }
                }
            }
            "weight" => {
                cx.no_block(n);
                cx.at_most(n, 2);
                if weight_set {
                    cx.diags.warning(
                        &n.span,
                        format!(
                            "vrrp_track_process {}: weight already set; keepalived ignores this one",
                            t.name
                        ),
                    );
                    continue;
                }
                if let Some(a) = cx.need(n, 0, "a weight")
                    && let Some(w) = cx.int_arg("weight", a, -254, 254)
                {
                    t.weight = w as i32;
                    weight_set = w != 0;
                    match n.arg(1).map(|a| a.text.as_str()) {
                        None => {}
                        Some("reverse") => t.reverse = true,
                        Some(o) => cx.diags.warning(
                            &n.args[1].span,
                            format!("unknown weight option '{o}' (only 'reverse'); keepalived ignores it"),
                        ),
                    }
                }
            }
            _ => unhandled(cx, n, Ctx::TrackProcess),
        }
    }
    if t.process.is_empty() {
        cx.diags.warning(
            &node.span,
            format!(
                "vrrp_track_process {} names no process; keepalived ignores it",
                t.name
            ),
        );
        return None;
    }
    Some(t)
}

pub(crate) fn track_file(cx: &mut Cx<'_>, node: &Node) -> Option<TrackFile> {
    let name = block_name(cx, node)?;
    let mut t = TrackFile {
        name,
        path: String::new(),
        weight: 1,
        reverse: false,
        init_file: None,
        span: node.span.clone(),
    };
    for n in cx.block(node) {
        match n.keyword.as_str() {
            "file" => {
                if let Some(p) = cx.word(n, "a path") {
                    t.path = p;
                }
            }
            "weight" => {
                cx.no_block(n);
                cx.at_most(n, 2);
                if let Some(a) = cx.need(n, 0, "a weight")
                    && let Some(w) = cx.int_arg("weight", a, -254, 254)
                {
                    t.weight = w as i32;
                }
                match n.arg(1).map(|a| a.text.as_str()) {
                    None | Some("noreverse") => {}
                    Some("reverse") => t.reverse = true,
                    Some(o) => cx.diags.error(
                        &n.args[1].span,
                        format!("unknown weight option '{o}' (only 'reverse')"),
                    ),
                }
            }
            "init_file" => {
                cx.no_block(n);
                cx.at_most(n, 2);
                let mut value = 0i64;
                let mut overwrite = false;
                for a in &n.args {
                    if a.text == "overwrite" {
                        overwrite = true;
                    } else if let Some(v) =
                        cx.int_arg("init_file", a, i64::from(i32::MIN), i64::from(i32::MAX))
                    {
                        value = v;
                    }
                }
                t.init_file = Some((value, overwrite));
            }
            _ => unhandled(cx, n, Ctx::TrackFile),
        }
    }
    if t.path.is_empty() {
        cx.diags
            .error(&node.span, format!("track_file {} has no 'file'", t.name));
        return None;
    }
    Some(t)
}
