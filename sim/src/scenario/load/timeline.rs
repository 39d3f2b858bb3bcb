//! `[[timeline]]` entries: one action at one time.

use super::Loader;
use crate::scenario::file::ActionFile;
use crate::scenario::names::{self, ModeWord, Verb};
use crate::scenario::{Action, Host, RsMode, Scenario, Step};

impl Loader<'_> {
    /// The action of entry `i`, or `None` (reported) when it cannot be
    /// read.
    pub(super) fn step(&mut self, s: &Scenario, a: &ActionFile, i: usize) -> Option<Step> {
        let key = format!("timeline[{i}]");
        let whole = a.action.span();
        let at = self.duration(&a.at, &format!("{key}.at"));
        let target_key = format!("{key}.target");
        let peer_key = format!("{key}.peer");
        let Some(verb) = Verb::parse(a.action.get_ref()) else {
            self.error(
                &whole,
                &format!("{key}.action"),
                names::unknown("action", a.action.get_ref(), Verb::words()),
            );
            return None;
        };
        let action = match verb {
            Verb::Crash => Action::Crash(self.host(s, &a.target, &target_key, &whole)?),
            Verb::Restart => Action::Restart(self.host(s, &a.target, &target_key, &whole)?),
            Verb::Stop => Action::Stop(self.director(s, &a.target, &target_key, &whole)?),
            Verb::Start => Action::Start(self.director(s, &a.target, &target_key, &whole)?),
            Verb::Reload => Action::Reload(self.director(s, &a.target, &target_key, &whole)?),
            Verb::LinkDown | Verb::LinkUp => {
                let d = self.director(s, &a.target, &target_key, &whole)?;
                let up = verb == Verb::LinkUp;
                match &a.interface {
                    None if up => Action::LinkUp(d),
                    None => Action::LinkDown(d),
                    Some(_) => {
                        let known = vigil_core::director::host::interfaces(&s.directors[d].config);
                        let iface = self.one_of(
                            &a.interface,
                            &format!("{key}.interface"),
                            &whole,
                            "interface",
                            &known,
                        )?;
                        Action::Interface {
                            director: d,
                            iface,
                            up,
                        }
                    }
                }
            }
            Verb::Script => {
                let director = self.director(s, &a.target, &target_key, &whole)?;
                let c = &s.directors[director].config;
                let known: Vec<String> = c.vrrp_scripts.iter().map(|x| x.name.clone()).collect();
                let script = self.one_of(
                    &a.script,
                    &format!("{key}.script"),
                    &whole,
                    "vrrp_script",
                    &known,
                );
                let words = ["ok".to_string(), "fail".to_string()];
                let result = self.one_of(
                    &a.result,
                    &format!("{key}.result"),
                    &whole,
                    "result",
                    &words,
                );
                Action::Script {
                    director,
                    script: script?,
                    ok: result? == "ok",
                }
            }
            Verb::File => {
                let director = self.director(s, &a.target, &target_key, &whole)?;
                let c = &s.directors[director].config;
                let known: Vec<String> = c.track_files.iter().map(|x| x.path.clone()).collect();
                let path = self.one_of(
                    &a.path,
                    &format!("{key}.path"),
                    &whole,
                    "track_file path",
                    &known,
                )?;
                Action::File {
                    director,
                    path,
                    content: a.content.clone().unwrap_or_default(),
                }
            }
            Verb::VipRemoved => {
                let director = self.director(s, &a.target, &target_key, &whole)?;
                let c = &s.directors[director].config;
                let known: Vec<String> = c
                    .vrrp_instances
                    .iter()
                    .flat_map(|i| {
                        i.virtual_ipaddress
                            .iter()
                            .chain(&i.virtual_ipaddress_excluded)
                    })
                    .map(|v| v.addr.to_string())
                    .collect();
                let addr = self.one_of(
                    &a.address,
                    &format!("{key}.address"),
                    &whole,
                    "virtual address",
                    &known,
                )?;
                Action::VipRemoved {
                    director,
                    addr: addr.parse().ok()?,
                }
            }
            Verb::Process => {
                let director = self.director(s, &a.target, &target_key, &whole)?;
                let c = &s.directors[director].config;
                let mut known: Vec<String> = c
                    .track_processes
                    .iter()
                    .map(|x| x.process.clone())
                    .collect();
                known.dedup();
                let process = self.one_of(
                    &a.process,
                    &format!("{key}.process"),
                    &whole,
                    "tracked process",
                    &known,
                );
                let words = ["running".to_string(), "stopped".to_string()];
                let state = self.one_of(
                    &a.state,
                    &format!("{key}.state"),
                    &whole,
                    "process state",
                    &words,
                );
                Action::Process {
                    director,
                    process: process?,
                    running: state? == "running",
                }
            }
            Verb::Partition => Action::Partition {
                a: self.host(s, &a.target, &target_key, &whole)?,
                b: self.peer(s, &a.peer, &peer_key, &whole)?,
                oneway: a.oneway,
            },
            Verb::Heal => Action::Heal {
                a: self.host(s, &a.target, &target_key, &whole)?,
                b: self.peer(s, &a.peer, &peer_key, &whole)?,
            },
            Verb::Loss => {
                let Some(rate) = &a.rate else {
                    self.error(&whole, &format!("{key}.rate"), "loss needs rate = 0..1");
                    return None;
                };
                Action::Loss {
                    a: self.host(s, &a.target, &target_key, &whole)?,
                    b: self.peer(s, &a.peer, &peer_key, &whole)?,
                    rate: self.ratio(rate, &format!("{key}.rate")),
                }
            }
            Verb::Latency => {
                let Some(d) = &a.delay else {
                    self.error(
                        &whole,
                        &format!("{key}.delay"),
                        "latency needs delay = \"…ms\"",
                    );
                    return None;
                };
                Action::Latency {
                    a: self.host(s, &a.target, &target_key, &whole)?,
                    b: self.peer(s, &a.peer, &peer_key, &whole)?,
                    delay: self.duration(d, &format!("{key}.delay")),
                }
            }
            Verb::Drift => {
                let Some(f) = &a.factor else {
                    self.error(
                        &whole,
                        &format!("{key}.factor"),
                        "drift needs factor = e.g. 1.01",
                    );
                    return None;
                };
                let factor = *f.get_ref();
                if !(0.5..=2.0).contains(&factor) {
                    self.error(
                        &f.span(),
                        &format!("{key}.factor"),
                        format!("{factor} is not in 0.5..=2.0"),
                    );
                }
                Action::Drift {
                    director: self.director(s, &a.target, &target_key, &whole)?,
                    factor,
                }
            }
            Verb::Rs => {
                let server = match self.host(s, &a.target, &target_key, &whole)? {
                    Host::RealServer(r) => r,
                    _ => {
                        self.error(
                            &whole,
                            &target_key,
                            "rs actions need a real server as target",
                        );
                        return None;
                    }
                };
                let Some(m) = &a.mode else {
                    self.error(
                        &whole,
                        &format!("{key}.mode"),
                        format!(
                            "rs needs mode = {}",
                            ModeWord::words().collect::<Vec<_>>().join("|")
                        ),
                    );
                    return None;
                };
                let Some(word) = ModeWord::parse(m.get_ref()) else {
                    self.error(
                        &m.span(),
                        &format!("{key}.mode"),
                        names::unknown("mode", m.get_ref(), ModeWord::words()),
                    );
                    return None;
                };
                let mode = match word {
                    ModeWord::Ok => RsMode::Ok,
                    ModeWord::Hang => RsMode::Hang,
                    ModeWord::Refuse => RsMode::Refuse,
                    ModeWord::Slow => RsMode::Slow(match &a.delay {
                        Some(d) => self.duration(d, &format!("{key}.delay")),
                        None => {
                            self.error(
                                &m.span(),
                                &format!("{key}.delay"),
                                "slow needs delay = \"…ms\"",
                            );
                            return None;
                        }
                    }),
                    ModeWord::Status => RsMode::Status(a.status.unwrap_or(500)),
                    ModeWord::Body => {
                        RsMode::Body(a.body.clone().unwrap_or_else(|| "wrong page".to_string()))
                    }
                    ModeWord::UdpSilent => RsMode::UdpSilent,
                    ModeWord::DnsNxdomain => RsMode::DnsNxdomain,
                    ModeWord::SmtpRefuse => RsMode::SmtpRefuse,
                    ModeWord::MiscExit => match &a.exit {
                        Some(e) => RsMode::MiscExit(self.int_in(
                            e,
                            &format!("{key}.exit"),
                            0..=255,
                            "an exit status (0..=255)",
                        )? as u8),
                        None => {
                            self.error(
                                &m.span(),
                                &format!("{key}.exit"),
                                "misc-exit needs exit = 0..=255",
                            );
                            return None;
                        }
                    },
                };
                Action::Serve { server, mode }
            }
        };
        Some(Step {
            at,
            action,
            line: self.line(&a.at.span()),
        })
    }
}
