//! Reading and validating a scenario file, collecting every error.

use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::time::Duration;

use toml::Spanned;
use vigil_core::config::{self, ServiceAddr, Source};

use super::file::{ActionFile, ExpectFile, ScenarioFile, Text};
use super::{
    Action, Client, Director, Error, Expect, Expectation, Host, Network, Peer, Place, RealServer,
    RsMode, Scenario, Step, duration,
};

/// Reads the scenario at `path` from `source` (configs it names are read
/// relative to it), and validates it. Every error found is returned.
pub fn load(source: &dyn Source, path: &str) -> Result<Scenario, Vec<Error>> {
    let bytes = source.read(path).map_err(|e| {
        vec![Error {
            place: None,
            key: None,
            message: format!("{path}: {e}"),
        }]
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        vec![Error {
            place: None,
            key: None,
            message: format!("{path}: not UTF-8 text ({e})"),
        }]
    })?;
    let mut l = Loader {
        path: path.to_string(),
        text: &text,
        errors: Vec::new(),
    };
    let file: ScenarioFile = match toml::from_str(&text) {
        Ok(f) => f,
        Err(e) => {
            let place = e.span().map(|s| l.place(&s));
            return Err(vec![Error {
                place,
                key: None,
                message: e.message().trim().to_string(),
            }]);
        }
    };
    let scenario = l.scenario(source, file);
    if l.errors.is_empty() {
        Ok(scenario)
    } else {
        Err(l.errors)
    }
}

struct Loader<'a> {
    path: String,
    text: &'a str,
    errors: Vec<Error>,
}

impl Loader<'_> {
    fn place(&self, span: &Range<usize>) -> Place {
        let before = &self.text[..span.start.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Place {
            file: self.path.clone(),
            line,
            col,
        }
    }

    fn line(&self, span: &Range<usize>) -> usize {
        self.place(span).line
    }

    fn error(&mut self, span: &Range<usize>, key: &str, message: impl Into<String>) {
        let place = Some(self.place(span));
        self.errors.push(Error {
            place,
            key: Some(key.to_string()),
            message: message.into(),
        });
    }

    fn duration(&mut self, t: &Text, key: &str) -> Duration {
        duration::parse(t.get_ref()).unwrap_or_else(|e| {
            self.error(&t.span(), key, e);
            Duration::ZERO
        })
    }

    fn opt_duration(&mut self, t: &Option<Text>, key: &str, default: Duration) -> Duration {
        t.as_ref().map_or(default, |t| self.duration(t, key))
    }

    fn addr(&mut self, t: &Text, key: &str) -> IpAddr {
        t.get_ref().parse().unwrap_or_else(|_| {
            self.error(
                &t.span(),
                key,
                format!("{:?} is not an IP address", t.get_ref()),
            );
            IpAddr::from([0, 0, 0, 0])
        })
    }

    fn ratio(&mut self, v: &Spanned<f64>, key: &str) -> f64 {
        let r = *v.get_ref();
        if !(0.0..=1.0).contains(&r) {
            self.error(
                &v.span(),
                key,
                format!("{r} is not a ratio between 0 and 1"),
            );
        }
        r.clamp(0.0, 1.0)
    }

    fn scenario(&mut self, source: &dyn Source, f: ScenarioFile) -> Scenario {
        let stem = self
            .path
            .rsplit('/')
            .next()
            .unwrap_or(&self.path)
            .trim_end_matches(".toml")
            .to_string();
        let duration = self.duration(&f.duration, "duration");
        let resolution = self.opt_duration(&f.resolution, "resolution", Duration::from_millis(1));
        if let Some(r) = &f.resolution
            && (resolution.is_zero() || resolution > Duration::from_secs(1))
        {
            self.error(&r.span(), "resolution", "must be between 1us and 1s");
        }
        let network = Network {
            latency: self.opt_duration(
                &f.network.latency,
                "network.latency",
                Duration::from_micros(100),
            ),
            jitter: self.opt_duration(&f.network.jitter, "network.jitter", Duration::ZERO),
            loss: f
                .network
                .loss
                .as_ref()
                .map_or(0.0, |l| self.ratio(l, "network.loss")),
        };
        let dir = self
            .path
            .rsplit_once('/')
            .map_or("", |(d, _)| d)
            .to_string();
        let mut directors = Vec::new();
        for (i, d) in f.director.iter().enumerate() {
            let key = format!("director[{i}]");
            let address = self.addr(&d.address, &format!("{key}.address"));
            let config_path = if dir.is_empty() {
                d.config.get_ref().clone()
            } else {
                format!("{dir}/{}", d.config.get_ref())
            };
            let parsed = config::parse(source, &config_path);
            let errors: Vec<_> = parsed.diagnostics.iter().filter(|d| d.is_error()).collect();
            if !errors.is_empty() {
                for e in errors {
                    self.errors.push(Error {
                        place: Some(Place {
                            file: e.span.file.to_string(),
                            line: e.span.line as usize,
                            col: e.span.col as usize,
                        }),
                        key: None,
                        message: e.message.clone(),
                    });
                }
                self.error(
                    &d.config.span(),
                    &format!("{key}.config"),
                    format!("{config_path} has errors (above)"),
                );
            }
            if parsed
                .config
                .as_ref()
                .is_some_and(|c| c.vrrp_instances.is_empty())
            {
                self.error(
                    &d.config.span(),
                    &format!("{key}.config"),
                    format!("{config_path} has no vrrp_instance"),
                );
            }
            directors.push(Director {
                name: d.name.get_ref().clone(),
                address,
                config_path,
                config: parsed.config.unwrap_or_default(),
            });
        }
        if directors.is_empty() {
            self.errors.push(Error {
                place: Some(Place {
                    file: self.path.clone(),
                    line: 1,
                    col: 1,
                }),
                key: Some("director".into()),
                message: "a scenario needs at least one [[director]]".into(),
            });
        }
        let real_servers: Vec<RealServer> = f
            .real_server
            .iter()
            .enumerate()
            .map(|(i, r)| RealServer {
                name: r.name.get_ref().clone(),
                address: self.addr(&r.address, &format!("real_server[{i}].address")),
                port: r.port.unwrap_or(80),
                page: r.page.clone().unwrap_or_else(|| r.name.get_ref().clone()),
            })
            .collect();
        let default_target = directors.first().and_then(|d| first_service(&d.config));
        let mut clients = Vec::new();
        for (i, c) in f.client.iter().enumerate() {
            let key = format!("client[{i}]");
            let target = match &c.target {
                Some(t) => t.get_ref().parse::<SocketAddr>().unwrap_or_else(|_| {
                    self.error(&t.span(), &format!("{key}.target"), format!("{:?} is not ADDRESS:PORT", t.get_ref()));
                    SocketAddr::from(([0, 0, 0, 0], 0))
                }),
                None => default_target.unwrap_or_else(|| {
                    self.error(&c.name.span(), &format!("{key}.target"), "no virtual_server in the first director's config: give target = \"VIP:PORT\"");
                    SocketAddr::from(([0, 0, 0, 0], 0))
                }),
            };
            let rate = *c.rate.get_ref();
            if !(rate > 0.0 && rate <= 10_000.0) {
                self.error(
                    &c.rate.span(),
                    &format!("{key}.rate"),
                    format!("{rate} requests/s is not in 0..=10000"),
                );
            }
            clients.push(Client {
                name: c.name.get_ref().clone(),
                address: self.addr(&c.address, &format!("{key}.address")),
                rate,
                target,
                timeout: self.opt_duration(
                    &c.timeout,
                    &format!("{key}.timeout"),
                    Duration::from_secs(1),
                ),
            });
        }
        let mut s = Scenario {
            name: f.name.clone().unwrap_or(stem),
            description: f.description.clone().unwrap_or_default(),
            path: self.path.clone(),
            seed: f.seed.unwrap_or(1),
            duration,
            resolution,
            network,
            directors,
            real_servers,
            clients,
            timeline: Vec::new(),
            expectations: Vec::new(),
            recorded_peers: Vec::new(),
        };
        self.unique_names(&s, &f);
        self.recorded_peers(source, &dir, &f, &mut s);
        for (i, a) in f.timeline.iter().enumerate() {
            if let Some(step) = self.step(&s, a, i) {
                if step.at > s.duration {
                    self.error(
                        &a.at.span(),
                        &format!("timeline[{i}].at"),
                        "after the end of the scenario",
                    );
                }
                s.timeline.push(step);
            }
        }
        s.timeline.sort_by_key(|st| st.at);
        for (i, e) in f.expect.iter().enumerate() {
            if let Some(x) = self.expect(&s, e, i) {
                s.expectations.push(x);
            }
        }
        s
    }

    fn recorded_peers(
        &mut self,
        source: &dyn Source,
        dir: &str,
        f: &ScenarioFile,
        s: &mut Scenario,
    ) {
        let (peers, problems) = super::recorded::load(source, dir, &f.recorded_peer);
        for p in problems {
            self.error(&p.span, &p.key, p.message);
        }
        for (i, p) in peers.iter().enumerate() {
            let span = f
                .recorded_peer
                .iter()
                .find(|r| *r.name.get_ref() == p.name)
                .map_or(0..0, |r| r.name.span());
            if s.host(&p.name).is_some() || peers[..i].iter().any(|q| q.name == p.name) {
                self.error(
                    &span,
                    "name",
                    format!("host name {:?} is used twice", p.name),
                );
            }
            let clash = s.hosts().iter().any(|h| s.host_address(*h) == p.address)
                || peers[..i].iter().any(|q| q.address == p.address);
            if clash {
                self.error(
                    &span,
                    "address",
                    format!("address {} is used twice", p.address),
                );
            }
        }
        s.recorded_peers = peers;
    }

    fn unique_names(&mut self, s: &Scenario, f: &ScenarioFile) {
        let spans: Vec<(String, Range<usize>)> = f
            .director
            .iter()
            .map(|d| &d.name)
            .chain(f.real_server.iter().map(|r| &r.name))
            .chain(f.client.iter().map(|c| &c.name))
            .map(|n| (n.get_ref().clone(), n.span()))
            .collect();
        for (i, (name, span)) in spans.iter().enumerate() {
            if spans[..i].iter().any(|(n, _)| n == name) {
                self.error(span, "name", format!("host name {name:?} is used twice"));
            }
            if name.is_empty() || name == "*" {
                self.error(span, "name", "a host needs a name (not empty, not \"*\")");
            }
        }
        let addrs: Vec<IpAddr> = s.hosts().iter().map(|h| s.host_address(*h)).collect();
        for (i, (a, (_, span))) in addrs.iter().zip(&spans).enumerate() {
            if addrs[..i].contains(a) {
                self.error(span, "address", format!("address {a} is used twice"));
            }
        }
    }

    fn host(
        &mut self,
        s: &Scenario,
        t: &Option<Text>,
        key: &str,
        whole: &Range<usize>,
    ) -> Option<Host> {
        let Some(t) = t else {
            self.error(whole, key, "missing");
            return None;
        };
        let h = s.host(t.get_ref());
        if h.is_none() {
            let names: Vec<String> = s
                .hosts()
                .iter()
                .map(|h| s.host_name(*h).to_string())
                .collect();
            self.error(
                &t.span(),
                key,
                format!(
                    "no host named {:?} (hosts: {})",
                    t.get_ref(),
                    names.join(", ")
                ),
            );
        }
        h
    }

    fn peer(
        &mut self,
        s: &Scenario,
        t: &Option<Text>,
        key: &str,
        whole: &Range<usize>,
    ) -> Option<Peer> {
        match t {
            Some(t) if t.get_ref() == "*" => Some(Peer::All),
            None => Some(Peer::All),
            _ => self.host(s, t, key, whole).map(Peer::Host),
        }
    }

    fn director(
        &mut self,
        s: &Scenario,
        t: &Option<Text>,
        key: &str,
        whole: &Range<usize>,
    ) -> Option<usize> {
        match self.host(s, t, key, whole)? {
            Host::Director(i) => Some(i),
            _ => {
                let t = t.as_ref().expect("host() checked it is present");
                self.error(
                    &t.span(),
                    key,
                    format!("{:?} is not a director", t.get_ref()),
                );
                None
            }
        }
    }

    fn step(&mut self, s: &Scenario, a: &ActionFile, i: usize) -> Option<Step> {
        let key = format!("timeline[{i}]");
        let whole = a.action.span();
        let at = self.duration(&a.at, &format!("{key}.at"));
        let target_key = format!("{key}.target");
        let peer_key = format!("{key}.peer");
        let action = match a.action.get_ref().as_str() {
            "crash" => Action::Crash(self.host(s, &a.target, &target_key, &whole)?),
            "restart" => Action::Restart(self.host(s, &a.target, &target_key, &whole)?),
            "stop" => Action::Stop(self.director(s, &a.target, &target_key, &whole)?),
            "start" => Action::Start(self.director(s, &a.target, &target_key, &whole)?),
            "reload" => Action::Reload(self.director(s, &a.target, &target_key, &whole)?),
            "link-down" => Action::LinkDown(self.director(s, &a.target, &target_key, &whole)?),
            "link-up" => Action::LinkUp(self.director(s, &a.target, &target_key, &whole)?),
            "partition" => Action::Partition {
                a: self.host(s, &a.target, &target_key, &whole)?,
                b: self.peer(s, &a.peer, &peer_key, &whole)?,
                oneway: a.oneway,
            },
            "heal" => Action::Heal {
                a: self.host(s, &a.target, &target_key, &whole)?,
                b: self.peer(s, &a.peer, &peer_key, &whole)?,
            },
            "loss" => {
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
            "latency" => {
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
            "drift" => {
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
            "rs" => {
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
                        "rs needs mode = ok|hang|slow|status|body|refuse",
                    );
                    return None;
                };
                let mode = match m.get_ref().as_str() {
                    "ok" => RsMode::Ok,
                    "hang" => RsMode::Hang,
                    "refuse" => RsMode::Refuse,
                    "slow" => RsMode::Slow(match &a.delay {
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
                    "status" => RsMode::Status(a.status.unwrap_or(500)),
                    "body" => {
                        RsMode::Body(a.body.clone().unwrap_or_else(|| "wrong page".to_string()))
                    }
                    other => {
                        self.error(
                            &m.span(),
                            &format!("{key}.mode"),
                            format!(
                                "unknown mode {other:?} (ok, hang, slow, status, body, refuse)"
                            ),
                        );
                        return None;
                    }
                };
                Action::Serve { server, mode }
            }
            other => {
                let known = [
                    "crash",
                    "restart",
                    "stop",
                    "start",
                    "partition",
                    "heal",
                    "loss",
                    "latency",
                    "link-down",
                    "link-up",
                    "drift",
                    "rs",
                ];
                let hint = vigil_core::config::did_you_mean(other, known.iter().copied())
                    .map(|s| format!("; did you mean {s:?}?"))
                    .unwrap_or_default();
                self.error(
                    &whole,
                    &format!("{key}.action"),
                    format!("unknown action {other:?}{hint}"),
                );
                return None;
            }
        };
        Some(Step {
            at,
            action,
            line: self.line(&a.at.span()),
        })
    }

    fn expect(&mut self, s: &Scenario, e: &ExpectFile, i: usize) -> Option<Expect> {
        let key = format!("expect[{i}]");
        let whole = e.check.span();
        let need_at = |l: &mut Self| -> Option<Duration> {
            match &e.at {
                Some(t) => Some(l.duration(t, &format!("{key}.at"))),
                None => {
                    l.error(&whole, &format!("{key}.at"), "missing");
                    None
                }
            }
        };
        let check = match e.check.get_ref().as_str() {
            "master" | "vip-holder" => {
                let node = self.director(s, &e.node, &format!("{key}.node"), &whole)?;
                let at = need_at(self)?;
                if e.check.get_ref() == "master" {
                    Expectation::Master { node, at }
                } else {
                    Expectation::VipHolder { node, at }
                }
            }
            "max-failover" => {
                let Some(m) = &e.max else {
                    self.error(&whole, &format!("{key}.max"), "missing");
                    return None;
                };
                Expectation::MaxFailover {
                    max: self.duration(m, &format!("{key}.max")),
                }
            }
            "success-ratio" => {
                let Some(min) = &e.min else {
                    self.error(&whole, &format!("{key}.min"), "missing");
                    return None;
                };
                Expectation::SuccessRatio {
                    min: self.ratio(min, &format!("{key}.min")),
                    from: self.opt_duration(&e.from, &format!("{key}.from"), Duration::ZERO),
                    to: self.opt_duration(&e.to, &format!("{key}.to"), s.duration),
                }
            }
            "in-table" => {
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
            "single-master" => {
                let except = e
                    .except
                    .iter()
                    .enumerate()
                    .map(|(j, (a, b))| {
                        (
                            self.duration(a, &format!("{key}.except[{j}]")),
                            self.duration(b, &format!("{key}.except[{j}]")),
                        )
                    })
                    .collect();
                Expectation::SingleMaster { except }
            }
            other => {
                let known = [
                    "master",
                    "vip-holder",
                    "max-failover",
                    "success-ratio",
                    "in-table",
                    "single-master",
                ];
                let hint = vigil_core::config::did_you_mean(other, known.iter().copied())
                    .map(|s| format!("; did you mean {s:?}?"))
                    .unwrap_or_default();
                self.error(
                    &whole,
                    &format!("{key}.check"),
                    format!("unknown check {other:?}{hint}"),
                );
                return None;
            }
        };
        Some(Expect {
            check,
            line: self.line(&whole),
        })
    }
}

/// The first IP:port virtual server of a config (what clients request by
/// default).
fn first_service(c: &config::Config) -> Option<SocketAddr> {
    c.virtual_servers.iter().find_map(|vs| match &vs.service {
        ServiceAddr::Addr(a) => Some(*a),
        _ => None,
    })
}
