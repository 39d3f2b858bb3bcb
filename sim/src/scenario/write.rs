//! Writing a scenario back as a scenario file (what exploration saves as
//! a reproduction). Loading the text gives the same scenario.

use std::fmt::Write;

use super::duration::render;
use super::{Action, Director, Expectation, Host, Peer, RsMode, Scenario, TableOf};

fn q(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The scenario as TOML; `config` names each director's config file as
/// the written scenario should refer to it.
pub fn to_toml(s: &Scenario, config: impl Fn(usize, &Director) -> String) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "name = {}", q(&s.name));
    if !s.description.is_empty() {
        let _ = writeln!(t, "description = {}", q(&s.description));
    }
    let _ = writeln!(t, "seed = {}", s.seed);
    let _ = writeln!(t, "duration = {}", q(&render(s.duration)));
    let _ = writeln!(t, "resolution = {}", q(&render(s.resolution)));
    let _ = writeln!(
        t,
        "\n[network]\nlatency = {}\njitter = {}\nloss = {}",
        q(&render(s.network.latency)),
        q(&render(s.network.jitter)),
        s.network.loss
    );
    for (i, d) in s.directors.iter().enumerate() {
        let _ = writeln!(
            t,
            "\n[[director]]\nname = {}\naddress = {}\nconfig = {}",
            q(&d.name),
            q(&d.address.to_string()),
            q(&config(i, d))
        );
    }
    for r in &s.real_servers {
        let _ = writeln!(
            t,
            "\n[[real_server]]\nname = {}\naddress = {}\nport = {}\npage = {}",
            q(&r.name),
            q(&r.address.to_string()),
            r.port,
            q(&r.page)
        );
    }
    for c in &s.clients {
        let _ = writeln!(
            t,
            "\n[[client]]\nname = {}\naddress = {}\nrate = {:?}\ntarget = {}\ntimeout = {}",
            q(&c.name),
            q(&c.address.to_string()),
            c.rate,
            q(&c.target.to_string()),
            q(&render(c.timeout))
        );
    }
    let name = |h: Host| q(s.host_name(h));
    let peer = |p: Peer| match p {
        Peer::All => q("*"),
        Peer::Host(h) => name(h),
    };
    for step in &s.timeline {
        let _ = write!(t, "\n[[timeline]]\nat = {}\n", q(&render(step.at)));
        let line = match &step.action {
            Action::Crash(h) => format!("action = \"crash\"\ntarget = {}", name(*h)),
            Action::Restart(h) => format!("action = \"restart\"\ntarget = {}", name(*h)),
            Action::Stop(d) => format!("action = \"stop\"\ntarget = {}", name(Host::Director(*d))),
            Action::Start(d) => {
                format!("action = \"start\"\ntarget = {}", name(Host::Director(*d)))
            }
            Action::Reload(d) => {
                format!("action = \"reload\"\ntarget = {}", name(Host::Director(*d)))
            }
            Action::LinkDown(d) => format!(
                "action = \"link-down\"\ntarget = {}",
                name(Host::Director(*d))
            ),
            Action::LinkUp(d) => format!(
                "action = \"link-up\"\ntarget = {}",
                name(Host::Director(*d))
            ),
            Action::Partition { a, b, oneway } => {
                format!(
                    "action = \"partition\"\ntarget = {}\npeer = {}\noneway = {oneway}",
                    name(*a),
                    peer(*b)
                )
            }
            Action::Heal { a, b } => format!(
                "action = \"heal\"\ntarget = {}\npeer = {}",
                name(*a),
                peer(*b)
            ),
            Action::Loss { a, b, rate } => {
                format!(
                    "action = \"loss\"\ntarget = {}\npeer = {}\nrate = {rate:?}",
                    name(*a),
                    peer(*b)
                )
            }
            Action::Latency { a, b, delay } => format!(
                "action = \"latency\"\ntarget = {}\npeer = {}\ndelay = {}",
                name(*a),
                peer(*b),
                q(&render(*delay))
            ),
            Action::Drift { director, factor } => {
                format!(
                    "action = \"drift\"\ntarget = {}\nfactor = {factor:?}",
                    name(Host::Director(*director))
                )
            }
            Action::Serve { server, mode } => {
                let target = name(Host::RealServer(*server));
                match mode {
                    RsMode::Ok => format!("action = \"rs\"\ntarget = {target}\nmode = \"ok\""),
                    RsMode::Hang => format!("action = \"rs\"\ntarget = {target}\nmode = \"hang\""),
                    RsMode::Refuse => {
                        format!("action = \"rs\"\ntarget = {target}\nmode = \"refuse\"")
                    }
                    RsMode::Slow(d) => {
                        format!(
                            "action = \"rs\"\ntarget = {target}\nmode = \"slow\"\ndelay = {}",
                            q(&render(*d))
                        )
                    }
                    RsMode::Status(c) => format!(
                        "action = \"rs\"\ntarget = {target}\nmode = \"status\"\nstatus = {c}"
                    ),
                    RsMode::Body(b) => format!(
                        "action = \"rs\"\ntarget = {target}\nmode = \"body\"\nbody = {}",
                        q(b)
                    ),
                    RsMode::UdpSilent => {
                        format!("action = \"rs\"\ntarget = {target}\nmode = \"udp-silent\"")
                    }
                    RsMode::DnsNxdomain => {
                        format!("action = \"rs\"\ntarget = {target}\nmode = \"dns-nxdomain\"")
                    }
                    RsMode::SmtpRefuse => {
                        format!("action = \"rs\"\ntarget = {target}\nmode = \"smtp-refuse\"")
                    }
                    RsMode::MiscExit(n) => format!(
                        "action = \"rs\"\ntarget = {target}\nmode = \"misc-exit\"\nexit = {n}"
                    ),
                }
            }
            Action::Interface {
                director,
                iface,
                up,
            } => format!(
                "action = \"link-{}\"\ntarget = {}\ninterface = {}",
                if *up { "up" } else { "down" },
                name(Host::Director(*director)),
                q(iface)
            ),
            Action::Script {
                director,
                script,
                ok,
            } => format!(
                "action = \"script\"\ntarget = {}\nscript = {}\nresult = \"{}\"",
                name(Host::Director(*director)),
                q(script),
                if *ok { "ok" } else { "fail" }
            ),
            Action::File {
                director,
                path,
                content,
            } => format!(
                "action = \"file\"\ntarget = {}\npath = {}\ncontent = {}",
                name(Host::Director(*director)),
                q(path),
                q(content)
            ),
            Action::VipRemoved { director, addr } => format!(
                "action = \"vip-removed\"\ntarget = {}\naddress = {}",
                name(Host::Director(*director)),
                q(&addr.to_string())
            ),
            Action::Process {
                director,
                process,
                running,
            } => format!(
                "action = \"process\"\ntarget = {}\nprocess = {}\nstate = \"{}\"",
                name(Host::Director(*director)),
                q(process),
                if *running { "running" } else { "stopped" }
            ),
        };
        let _ = writeln!(t, "{line}");
    }
    for e in &s.expectations {
        let body = match &e.check {
            Expectation::Master { node, at, instance } => {
                let mut b = format!(
                    "check = \"master\"\nnode = {}\nat = {}",
                    name(Host::Director(*node)),
                    q(&render(*at))
                );
                if let Some(i) = instance {
                    let _ = write!(b, "\ninstance = {}", q(i));
                }
                b
            }
            Expectation::State {
                node,
                instance,
                state,
                at,
            } => format!(
                "check = \"state\"\nnode = {}\ninstance = {}\nstate = {}\nat = {}",
                name(Host::Director(*node)),
                q(instance),
                q(&state.to_string().to_lowercase()),
                q(&render(*at))
            ),
            Expectation::Priority {
                node,
                instance,
                value,
                at,
            } => format!(
                "check = \"priority\"\nnode = {}\ninstance = {}\nvalue = {value}\nat = {}",
                name(Host::Director(*node)),
                q(instance),
                q(&render(*at))
            ),
            Expectation::Notify {
                node,
                argv,
                from,
                to,
            } => format!(
                "check = \"notify\"\nnode = {}\nargv = [{}]\nwithin = [{}, {}]",
                name(Host::Director(*node)),
                argv.iter().map(|a| q(a)).collect::<Vec<_>>().join(", "),
                q(&render(*from)),
                q(&render(*to))
            ),
            Expectation::VipHolder { node, at } => {
                format!(
                    "check = \"vip-holder\"\nnode = {}\nat = {}",
                    name(Host::Director(*node)),
                    q(&render(*at))
                )
            }
            Expectation::MaxFailover { max } => {
                format!("check = \"max-failover\"\nmax = {}", q(&render(*max)))
            }
            Expectation::SuccessRatio { min, from, to } => format!(
                "check = \"success-ratio\"\nmin = {min:?}\nfrom = {}\nto = {}",
                q(&render(*from)),
                q(&render(*to))
            ),
            Expectation::InTable {
                server,
                at,
                present,
                weight,
                on,
            } => {
                let mut b = format!(
                    "check = \"in-table\"\nserver = {}\nat = {}\npresent = {present}",
                    name(Host::RealServer(*server)),
                    q(&render(*at))
                );
                if let Some(w) = weight {
                    let _ = write!(b, "\nweight = {w}");
                }
                if *on == TableOf::Backup {
                    b.push_str("\non = \"backup\"");
                }
                b
            }
            Expectation::SingleMaster { except } => {
                let w: Vec<String> = except
                    .iter()
                    .map(|(a, b)| format!("[{}, {}]", q(&render(*a)), q(&render(*b))))
                    .collect();
                format!("check = \"single-master\"\nexcept = [{}]", w.join(", "))
            }
        };
        let _ = writeln!(t, "\n[[expect]]\n{body}");
    }
    t
}

#[cfg(test)]
mod tests {
    use vigil_core::config::MemorySource;

    use super::*;
    use crate::embedded;

    /// The timeline of `s`, lines aside.
    fn steps(s: &Scenario) -> Vec<(std::time::Duration, Action)> {
        s.timeline
            .iter()
            .map(|t| (t.at, t.action.clone()))
            .collect()
    }

    /// The checks of `s`, lines aside.
    fn checks(s: &Scenario) -> Vec<Expectation> {
        s.expectations.iter().map(|e| e.check.clone()).collect()
    }

    #[test]
    fn written_scenario_loads_back_the_same() {
        let s = super::super::load(&embedded::source(), embedded::SEED_SCENARIO).unwrap();
        let text = to_toml(&s, |_, d| {
            d.config_path.rsplit('/').next().unwrap().to_string()
        });
        let mut src = MemorySource::new().with("out/scenario.toml", text.clone());
        for (p, b) in embedded::FILES {
            src.insert(format!("out/{}", p.rsplit('/').next().unwrap()), b);
        }
        let back = super::super::load(&src, "out/scenario.toml")
            .unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        assert_eq!(steps(&back), steps(&s));
        assert_eq!(checks(&back), checks(&s));
        assert_eq!(back.clients, s.clients);
        assert_eq!(back.real_servers, s.real_servers);
        assert_eq!(back.network, s.network);
        assert_eq!(
            (back.duration, back.resolution, back.seed),
            (s.duration, s.resolution, s.seed)
        );
        assert_eq!(
            to_toml(&back, |_, d| d
                .config_path
                .rsplit('/')
                .next()
                .unwrap()
                .to_string()),
            text
        );
    }

    /// The tracker actions and the state, priority, notify and
    /// per-instance master checks are written so that they load back.
    #[test]
    fn tracker_scenarios_load_back_the_same() {
        use vigil_core::config::source::FsSource;
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios");
        let out = std::env::temp_dir().join(format!("vigil-write-{}", std::process::id()));
        std::fs::create_dir_all(&out).unwrap();
        for name in [
            "track-script",
            "track-process",
            "checks",
            "sync-group",
            "vip-removed",
        ] {
            let s = super::super::load(&FsSource, &format!("{root}/{name}/scenario.toml")).unwrap();
            let text = to_toml(&s, |_, d| d.config_path.clone());
            let path = out.join(format!("{name}.toml"));
            std::fs::write(&path, &text).unwrap();
            let back = super::super::load(&FsSource, &path.to_string_lossy())
                .unwrap_or_else(|e| panic!("{e:?}\n{text}"));
            assert_eq!(steps(&back), steps(&s), "{name}");
            assert_eq!(checks(&back), checks(&s), "{name}");
        }
        let _ = std::fs::remove_dir_all(&out);
    }
}
