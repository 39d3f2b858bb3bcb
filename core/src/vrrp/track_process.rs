//! Which processes a `vrrp_track_process` counts, and when their number
//! is a quorum, as keepalived 2.2.7 decides (core/track_process.c
//! read_procs, check_params): by the process name (`comm`), or with
//! `full_command` by the command line's first word, then its arguments
//! as `param_match` says.

use crate::config::{ParamMatch, TrackProcess};

/// Whether a process whose `comm` is `comm` and whose command line (NUL
/// separated, as `/proc/PID/cmdline` holds it) is `cmdline` counts for
/// `tp`. Zombies are the caller's to skip.
pub fn matches(tp: &TrackProcess, comm: &str, cmdline: &[u8]) -> bool {
    if !tp.full_command {
        return comm == tp.process;
    }
    let end = cmdline
        .iter()
        .position(|b| *b == 0)
        .unwrap_or(cmdline.len());
    if cmdline[..end] != *tp.process.as_bytes() {
        return false;
    }
    if tp.param_match == ParamMatch::None {
        return true;
    }
    let params = cmdline.get(end + 1..).unwrap_or(&[]);
    let want: Vec<u8> = tp
        .params
        .iter()
        .flat_map(|p| p.bytes().chain(std::iter::once(0)))
        .collect();
    if tp.param_match == ParamMatch::Exact && want.is_empty() && params.is_empty() {
        return true;
    }
    if params.len() < want.len() {
        return false;
    }
    match tp.param_match {
        ParamMatch::Exact => params == want.as_slice(),
        _ if want.is_empty() => true,
        ParamMatch::Partial => params[..want.len()] == want[..],
        // The last argument may be cut short: its NUL is not compared.
        _ => want.len() == 1 || params[..want.len() - 1] == want[..want.len() - 1],
    }
}

/// Whether `count` matching processes make `tp`'s quorum.
pub fn has_quorum(tp: &TrackProcess, count: u32) -> bool {
    count >= tp.quorum && count <= tp.quorum_max
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `vrrp_track_process` as the parser builds it with every default
    /// (the name `t`), then given `process`, `params`, `m` and `full`.
    fn tp(process: &str, params: &[&str], m: ParamMatch, full: bool) -> TrackProcess {
        let text = "vrrp_track_process t {\n process x\n}\n";
        let p = crate::config::parse_str("t.conf", text);
        let mut t = p.config.expect("parses").track_processes.remove(0);
        t.process = process.into();
        t.params = params.iter().map(|p| p.to_string()).collect();
        t.param_match = m;
        t.full_command = full;
        t
    }

    #[test]
    fn by_name_or_by_command_line() {
        let by_name = tp("nginx", &[], ParamMatch::None, false);
        assert!(matches(&by_name, "nginx", b"/usr/sbin/nginx\0-g\0"));
        assert!(!matches(&by_name, "nginx-debug", b"nginx\0"));
        let full = tp("/usr/sbin/nginx", &[], ParamMatch::None, true);
        assert!(matches(&full, "nginx", b"/usr/sbin/nginx\0-g\0"));
        assert!(!matches(&full, "nginx", b"nginx\0"));
    }

    #[test]
    fn param_match_kinds() {
        let exact = tp("sleep", &["100"], ParamMatch::Exact, true);
        assert!(matches(&exact, "sleep", b"sleep\x00100\0"));
        assert!(!matches(&exact, "sleep", b"sleep\x00100\0x\0"));
        assert!(!matches(&exact, "sleep", b"sleep\0"));
        let bare = tp("sleep", &[], ParamMatch::Exact, true);
        assert!(matches(&bare, "sleep", b"sleep\0"));
        assert!(!matches(&bare, "sleep", b"sleep\x00100\0"));
        let partial = tp("sleep", &["100"], ParamMatch::Partial, true);
        assert!(matches(&partial, "sleep", b"sleep\x00100\0x\0"));
        assert!(!matches(&partial, "sleep", b"sleep\x001000\0"));
        let initial = tp("sleep", &["100"], ParamMatch::Initial, true);
        assert!(matches(&initial, "sleep", b"sleep\x001000\0"));
        assert!(!matches(&initial, "sleep", b"sleep\x00200\0"));
    }

    #[test]
    fn quorum_bounds() {
        let mut t = tp("x", &[], ParamMatch::None, false);
        t.quorum = 2;
        t.quorum_max = 3;
        assert!(!has_quorum(&t, 1));
        assert!(has_quorum(&t, 2) && has_quorum(&t, 3));
        assert!(!has_quorum(&t, 4));
    }
}
