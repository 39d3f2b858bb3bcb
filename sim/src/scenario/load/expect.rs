//! `[[expect]]` entries: the checks of the outcome, each at a time or
//! over a window within the run, refused when empty or after its end.

use std::time::Duration;

use super::Loader;
use crate::scenario::file::ExpectFile;
use crate::scenario::names::{self, CheckWord};
use crate::scenario::{Expect, Expectation, Host, Scenario};

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
        let check = match word {
            CheckWord::Master | CheckWord::VipHolder => {
                let node = self.director(s, &e.node, &format!("{key}.node"), &whole)?;
                let at = need_at(self)?;
                if word == CheckWord::Master {
                    Expectation::Master { node, at }
                } else {
                    Expectation::VipHolder { node, at }
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
                Expectation::InTable {
                    server,
                    at: need_at(self)?,
                    present: e.present.unwrap_or(true),
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
