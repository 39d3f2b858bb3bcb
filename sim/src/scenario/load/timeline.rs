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
            Verb::LinkDown => Action::LinkDown(self.director(s, &a.target, &target_key, &whole)?),
            Verb::LinkUp => Action::LinkUp(self.director(s, &a.target, &target_key, &whole)?),
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
