//! "Not judged" notes for the trackers of a config a lane has no input
//! for (the simulator, replay): keepalived would follow them, the lane
//! holds each at a fixed state.

use vigil_core::config::{CheckerKind, Config, Forwarding};

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
/// answer the simulator cannot give: FILE_CHECK, whose files the
/// timeline does not write (UDP, DNS, SMTP and MISC checks get their
/// answers from the simulated real servers and `rs` actions).
pub fn unmodelled_checks(who: &str, config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for vs in &config.virtual_servers {
        for rs in &vs.real_servers {
            for c in &rs.checkers {
                let why = match &c.kind {
                    CheckerKind::File(_) => {
                        "the simulator writes no FILE_CHECK files (the checker keeps its starting state)"
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

/// One located note per thing of `config` (of node `who`) the simulator
/// runs in a simpler shape than the kernel would: LVS-NAT and LVS-TUN
/// forwarded as LVS-DR, `use_vmac` instances sending from the
/// interface's own MAC, and an instance's interfaces all on the one
/// segment.
pub fn unmodelled_network(who: &str, config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for vs in &config.virtual_servers {
        let kinds: Vec<Forwarding> = std::iter::once(vs.forwarding)
            .chain(vs.real_servers.iter().map(|r| r.forwarding))
            .filter(|f| *f != Forwarding::Dr)
            .collect();
        if let Some(f) = kinds.first() {
            out.push(format!(
                "{}: not judged: {who}'s virtual server {} uses lb_kind {}; the simulator forwards as LVS-DR (replies straight from the real server, connections not tied to the director)",
                vs.span,
                vs.service,
                f.keyword()
            ));
        }
    }
    for i in &config.vrrp_instances {
        if i.use_vmac.is_some() {
            out.push(format!(
                "{}: not judged: {who}'s {} uses use_vmac; the simulator sends its adverts and GARPs from the host's own MAC",
                i.span, i.name
            ));
        }
    }
    let ifaces = vigil_core::director::host::interfaces(config);
    if ifaces.len() > 1 {
        out.push(format!(
            "not judged: {who} uses interfaces {}; the simulator puts them all on the scenario's one segment (their links still go down one by one)",
            ifaces.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nat_vmac_and_second_interfaces_are_said() {
        let t = "vrrp_instance out {\n interface eth0\n virtual_router_id 1\n priority 100\n \
                 use_vmac\n virtual_ipaddress {\n 192.0.2.1\n }\n}\n\
                 vrrp_instance in {\n interface eth1\n virtual_router_id 2\n priority 100\n \
                 virtual_ipaddress {\n 10.0.0.1\n }\n}\n\
                 virtual_server 192.0.2.1 80 {\n lb_kind NAT\n protocol TCP\n \
                 real_server 10.0.0.10 80 {\n TCP_CHECK {\n }\n }\n}\n";
        let cfg = vigil_core::config::parse_str("t.conf", t).config.unwrap();
        let notes = unmodelled_network("lb1", &cfg);
        assert_eq!(notes.len(), 3, "{notes:#?}");
        assert!(
            notes[0].starts_with(
                "t.conf:18:1: not judged: lb1's virtual server 192.0.2.1:80 uses lb_kind NAT"
            ),
            "{}",
            notes[0]
        );
        assert!(notes[1].contains("out uses use_vmac"), "{}", notes[1]);
        assert!(notes[2].contains("interfaces eth0, eth1"), "{}", notes[2]);
        let dr = t
            .replace("lb_kind NAT", "lb_kind DR")
            .replace(" use_vmac\n", "");
        let cfg = vigil_core::config::parse_str("t.conf", &dr).config.unwrap();
        assert_eq!(
            unmodelled_network("lb1", &cfg).len(),
            1,
            "only the interfaces"
        );
    }
}
