//! "Not judged" notes for the trackers of a config a lane has no input
//! for (the simulator, replay): keepalived would follow them, the lane
//! holds each at a fixed state.

use vigil_core::config::{CheckerKind, Config};

/// One located note per `track_script`, `track_file` and
/// `track_interface` of `config` (of node `who`); `lane` says why the
/// lane has no input for them.
pub fn untracked(who: &str, config: &Config, lane: &str) -> Vec<String> {
    let mut out = Vec::new();
    for i in &config.vrrp_instances {
        let mut note = |span: &vigil_core::config::Span, what: &str, held: &str| {
            out.push(format!(
                "{span}: not judged: {who} tracks {what} in {}; {lane} (it counts as {held})",
                i.name
            ));
        };
        for t in &i.track_scripts {
            note(&t.span, &format!("script {}", t.name), "succeeding");
        }
        for t in &i.track_files {
            note(&t.span, &format!("file {}", t.name), "holding 0");
        }
        for t in &i.track_interfaces {
            note(&t.span, &format!("interface {}", t.name), "up");
        }
        for t in &i.track_processes {
            note(&t.span, &format!("process {}", t.name), "having its quorum");
        }
    }
    out
}

/// One located note per checker of `config` (of node `who`) whose
/// answer the simulated real servers cannot give: the simulator runs no
/// scripts and no UDP, DNS or SMTP service, and has no file inputs.
pub fn unmodelled_checks(who: &str, config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for vs in &config.virtual_servers {
        for rs in &vs.real_servers {
            for c in &rs.checkers {
                let why = match &c.kind {
                    CheckerKind::Misc(_) => {
                        "the simulator runs no scripts (it counts as a script that could not start)"
                    }
                    CheckerKind::Udp(_) | CheckerKind::Dns(_) => {
                        "the simulated real servers run no UDP or DNS service (it hears silence)"
                    }
                    CheckerKind::Smtp(_) => {
                        "the simulated real servers run no SMTP service (the connection is reset)"
                    }
                    CheckerKind::File(_) => {
                        "the simulator has no file inputs (the checker keeps its starting state)"
                    }
                    _ => continue,
                };
                out.push(format!(
                    "{}: not judged: {who}'s {} of real server {} in {}; {why}",
                    c.span,
                    c.kind.keyword(),
                    rs.addr,
                    vs.service
                ));
            }
        }
    }
    out
}
