//! `[[expect]]` entries: the checks of the outcome, each at a time or
//! over a window within the run, refused when empty or after its end.

use std::time::Duration;

use super::Loader;
use crate::scenario::file::ExpectFile;
use crate::scenario::names::{self, CheckWord};
use crate::scenario::{Expect, Expectation, Host, Scenario, TableOf};

impl Loader<'_> {
    /// The check of entry `i`, or `None` (reported) when it cannot be
    /// read.
    pub(super) fn expect(&mut self, s: &Scenario, e: &ExpectFile, i: usize) -> Option<Expect> {
        let key = format!("expect[{i}]");
        let whole = e.check.span();
        let need_at = |l: &mut Self| -> Option<Duration> {
            match &e.at {
                Some(t) => l.run_time(t, &format!("{key}.at")),
                None => {
                    l.error(&whole, &format!("{key}.at"), "missing");
                    None
                }
            }
        };
        let Some(word) = CheckWord::parse(e.check.get_ref()) else {
            self.error(
                &whole,
                &format!("{key}.check"),
                names::unknown("check", e.check.get_ref(), CheckWord::words()),
            );
            return None;
        };
        let instance_key = format!("{key}.instance");
        let instances = |n: usize| -> Vec<String> {
            s.directors[n]
                .config
                .vrrp_instances
                .iter()
                .map(|i| i.name.clone())
                .collect()
        };
        let check = match word {
            CheckWord::Master | CheckWord::VipHolder => {
                let node = self.director(s, &e.node, &format!("{key}.node"), &whole)?;
                let instance = match &e.instance {
                    Some(_) if word == CheckWord::Master => Some(self.one_of(
                        &e.instance,
                        &instance_key,
                        &whole,
                        "instance",
                        &instances(node),
                    )?),
                    Some(t) => {
                        self.error(&t.span(), &instance_key, "vip-holder judges every instance");
                        None
                    }
                    None => None,
                };
                let at = need_at(self)?;
                if word == CheckWord::Master {
                    Expectation::Master { node, at, instance }
                } else {
                    Expectation::VipHolder { node, at }
                }
            }
            CheckWord::State | CheckWord::Priority => {
                let node = self.director(s, &e.node, &format!("{key}.node"), &whole)?;
                let instance = self.one_of(
                    &e.instance,
                    &instance_key,
                    &whole,
                    "instance",
                    &instances(node),
                );
                let at = need_at(self);
                if word == CheckWord::State {
                    let words: Vec<String> =
                        ["master", "backup", "fault"].map(String::from).to_vec();
                    let st =
                        self.one_of(&e.state, &format!("{key}.state"), &whole, "state", &words)?;
                    let state = match st.as_str() {
                        "master" => vigil_core::vrrp::State::Master,
                        "backup" => vigil_core::vrrp::State::Backup,
                        _ => vigil_core::vrrp::State::Fault,
                    };
                    Expectation::State {
                        node,
                        instance: instance?,
                        state,
                        at: at?,
                    }
                } else {
                    let value = match &e.value {
                        Some(v) => self.int_in(
                            v,
                            &format!("{key}.value"),
                            0..=255,
                            "a priority (0..=255)",
                        )? as u8,
                        None => {
                            self.error(
                                &whole,
                                &format!("{key}.value"),
                                "missing: the effective priority",
                            );
                            return None;
                        }
                    };
                    Expectation::Priority {
                        node,
                        instance: instance?,
                        value,
                        at: at?,
                    }
                }
            }
            CheckWord::Notify => {
                let node = self.director(s, &e.node, &format!("{key}.node"), &whole)?;
                if e.argv.is_empty() {
                    self.error(
                        &whole,
                        &format!("{key}.argv"),
                        "missing: the program (and leading arguments) the call starts with",
                    );
                    return None;
                }
                let k = format!("{key}.within");
                let (from, to) = match &e.within {
                    Some((a, b)) => {
                        let (x, y) = (self.run_time(a, &k), self.run_time(b, &k));
                        let (x, y) = (x?, y?);
                        self.window(
                            x,
                            y,
                            &a.span(),
                            &k,
                            "the first time must be before the second",
                        );
                        (x, y)
                    }
                    None => (Duration::ZERO, self.end?),
                };
                Expectation::Notify {
                    node,
                    argv: e.argv.clone(),
                    from,
                    to,
                }
            }
            CheckWord::MaxFailover => {
                let Some(m) = &e.max else {
                    self.error(&whole, &format!("{key}.max"), "missing");
                    return None;
                };
                Expectation::MaxFailover {
                    max: self.duration(m, &format!("{key}.max")),
                }
            }
            CheckWord::SuccessRatio => {
                let Some(min) = &e.min else {
                    self.error(&whole, &format!("{key}.min"), "missing");
                    return None;
                };
                let min = self.ratio(min, &format!("{key}.min"));
                let (from_key, to_key) = (format!("{key}.from"), format!("{key}.to"));
                let from = match &e.from {
                    Some(t) => self.run_time(t, &from_key),
                    None => Some(Duration::ZERO),
                };
                let to = match &e.to {
                    Some(t) => self.run_time(t, &to_key),
                    None => self.end,
                };
                let (from, to) = (from?, to?);
                let (span, k) = match (&e.from, &e.to) {
                    (Some(t), _) => (t.span(), &from_key),
                    (None, Some(t)) => (t.span(), &to_key),
                    (None, None) => (whole.clone(), &from_key),
                };
                self.window(from, to, &span, k, "from must be before to");
                Expectation::SuccessRatio { min, from, to }
            }
            CheckWord::InTable => {
                let server = match self.host(s, &e.server, &format!("{key}.server"), &whole)? {
                    Host::RealServer(r) => r,
                    _ => {
                        self.error(
                            &whole,
                            &format!("{key}.server"),
                            "in-table needs a real server",
                        );
                        return None;
                    }
                };
                let weight = match &e.weight {
                    Some(w) => Some(self.int_in(
                        w,
                        &format!("{key}.weight"),
                        0..=i64::from(u32::MAX),
                        "a weight",
                    )? as u32),
                    None => None,
                };
                if weight.is_some() && e.present == Some(false) {
                    self.error(
                        &whole,
                        &format!("{key}.present"),
                        "a weight says it is present: drop present = false or the weight",
                    );
                }
                let on = match &e.on {
                    None => TableOf::Master,
                    Some(_) => {
                        let words = ["master".to_string(), "backup".to_string()];
                        let w =
                            self.one_of(&e.on, &format!("{key}.on"), &whole, "table", &words)?;
                        if w == "master" {
                            TableOf::Master
                        } else {
                            TableOf::Backup
                        }
                    }
                };
                Expectation::InTable {
                    server,
                    at: need_at(self)?,
                    present: e.present.unwrap_or(true),
                    weight,
                    on,
                }
            }
            CheckWord::SingleMaster => {
                let mut except = Vec::new();
                for (j, (a, b)) in e.except.iter().enumerate() {
                    let k = format!("{key}.except[{j}]");
                    let (x, y) = (self.run_time(a, &k), self.run_time(b, &k));
                    let (Some(x), Some(y)) = (x, y) else {
                        continue;
                    };
                    self.window(
                        x,
                        y,
                        &a.span(),
                        &k,
                        "the first time must be before the second",
                    );
                    except.push((x, y));
                }
                Expectation::SingleMaster { except }
            }
        };
        Some(Expect {
            check,
            line: self.line(&whole),
        })
    }
}
