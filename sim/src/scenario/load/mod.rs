//! Reading and validating a scenario file, collecting every error.

mod expect;
mod timeline;

use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use toml::de::DeTable;
use vigil_core::config::{self, ServiceAddr, Source};

use super::configs::Declared;
use super::file::{ScenarioFile, Text};
use super::keys::{self, Shape};
use super::{
    Client, Director, Error, Host, Network, Peer, Place, RealServer, Scenario, duration, limits,
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
        warnings: Vec::new(),
        end: None,
    };
    let Some(file) = l.read(&text) else {
        return Err(l.errors);
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
    /// Config warnings and "not judged" notes, for the scenario.
    warnings: Vec<String>,
    /// The end of the run, once `duration` is known to be valid.
    end: Option<Duration>,
}

impl Loader<'_> {
    /// The file as written: TOML syntax, then every unknown key (all of
    /// them, removed), then the types serde reads. `None` when the file
    /// cannot be read further.
    fn read(&mut self, text: &str) -> Option<ScenarioFile> {
        let mut table = match DeTable::parse(text) {
            Ok(t) => t,
            Err(e) => {
                self.toml_error(&e);
                return None;
            }
        };
        for u in keys::strip_unknown(table.get_mut(), Shape::of::<ScenarioFile>()) {
            self.error(&u.span, &u.path, u.message);
        }
        match ScenarioFile::deserialize(toml::de::Deserializer::from(table)) {
            Ok(f) => Some(f),
            Err(e) => {
                self.toml_error(&e);
                None
            }
        }
    }

    fn toml_error(&mut self, e: &toml::de::Error) {
        let place = e.span().map(|s| self.place(&s));
        self.errors.push(Error {
            place,
            key: None,
            message: e.message().trim().to_string(),
        });
    }

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
        let resolution_ok = match &f.resolution {
            Some(r) if resolution.is_zero() || resolution > Duration::from_secs(1) => {
                self.error(&r.span(), "resolution", "must be between 1us and 1s");
                false
            }
            _ => true,
        };
        if duration::parse(f.duration.get_ref()).is_ok() {
            match limits::check(duration, resolution_ok.then_some(resolution)) {
                Ok(()) => self.end = Some(duration),
                Err(e) => self.error(&f.duration.span(), "duration", e),
            }
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
        let mut configs_ok = true;
        for (i, d) in f.director.iter().enumerate() {
            let key = format!("director[{i}]");
            let address = self.addr(&d.address, &format!("{key}.address"));
            let config_path = crate::scenario::beside(&dir, d.config.get_ref());
            // keepalived's config id defaults to the host name.
            let opts = config::ParseOptions {
                config_id: Some(d.name.get_ref().clone()),
            };
            let parsed = config::parse_with(source, &config_path, &opts);
            let errors: Vec<_> = parsed.diagnostics.iter().filter(|d| d.is_error()).collect();
            if !errors.is_empty() {
                configs_ok = false;
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
            for w in parsed.diagnostics.iter().filter(|w| !w.is_error()) {
                self.warnings.push(w.to_string());
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
            warnings: std::mem::take(&mut self.warnings),
        };
        self.unique_names(&s, &f);
        let configs_ok = configs_ok && !s.directors.is_empty();
        if configs_ok {
            self.against_configs(&s, &f);
        }
        self.recorded_peers(source, &dir, &f, &mut s, configs_ok);
        for (i, a) in f.timeline.iter().enumerate() {
            if let Some(step) = self.step(&s, a, i) {
                self.in_run(&a.at, step.at, &format!("timeline[{i}].at"));
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
        configs_ok: bool,
    ) {
        let (peers, problems) = super::recorded::load(source, dir, &f.recorded_peer);
        for p in problems {
            self.error(&p.span, &p.key, p.message);
        }
        for (i, p) in peers.iter().enumerate() {
            let Some((j, file)) = f
                .recorded_peer
                .iter()
                .enumerate()
                .find(|(_, r)| *r.name.get_ref() == p.name)
            else {
                continue;
            };
            let span = file.name.span();
            let address = file.address.as_ref().unwrap_or(&file.source);
            if configs_ok && let Some(why) = Declared::new(&s.directors).virtual_use(p.address) {
                self.error(
                    &address.span(),
                    &format!("recorded_peer[{j}].address"),
                    format!("{why}: no host may have it"),
                );
            }
            if let Some(at) = &file.at {
                self.in_run(at, p.at, &format!("recorded_peer[{j}].at"));
            }
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

    /// The scenario's hosts against what the directors' configs declare:
    /// no host on a virtual address, every real server one the configs
    /// balance, every client requesting a virtual server.
    fn against_configs(&mut self, s: &Scenario, f: &ScenarioFile) {
        let declared = Declared::new(&s.directors);
        let addresses = f
            .director
            .iter()
            .enumerate()
            .map(|(i, d)| (format!("director[{i}].address"), &d.address))
            .chain(
                f.real_server
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (format!("real_server[{i}].address"), &r.address)),
            )
            .chain(
                f.client
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (format!("client[{i}].address"), &c.address)),
            );
        // A director may carry a VIP of its own config as its address when
        // it is that address's owner (priority 255, RFC 5798 section 1).
        let owner = |key: &str, a: IpAddr| {
            let Some(i) = key
                .strip_prefix("director[")
                .and_then(|k| k.split(']').next())
                .and_then(|k| k.parse::<usize>().ok())
            else {
                return false;
            };
            s.directors.get(i).is_some_and(|d| {
                d.config.vrrp_instances.iter().any(|inst| {
                    inst.priority == 255 && inst.virtual_ipaddress.iter().any(|v| v.addr == a)
                })
            })
        };
        for (key, text) in addresses {
            if let Ok(a) = text.get_ref().parse::<IpAddr>()
                && !owner(&key, a)
                && let Some(why) = declared.virtual_use(a)
            {
                self.error(&text.span(), &key, format!("{why}: no host may have it"));
            }
        }
        for (i, (r, file)) in s.real_servers.iter().zip(&f.real_server).enumerate() {
            let addr = SocketAddr::new(r.address, r.port);
            if file.address.get_ref().parse::<IpAddr>().is_ok() && !declared.backs(addr) {
                self.error(
                    &file.address.span(),
                    &format!("real_server[{i}].address"),
                    format!(
                        "{} ({addr}) is a real_server or sorry_server of no director's config (searched {})",
                        r.name,
                        declared.paths()
                    ),
                );
            }
        }
        for (i, (c, file)) in s.clients.iter().zip(&f.client).enumerate() {
            if let Some(t) = &file.target
                && t.get_ref().parse::<SocketAddr>().is_ok()
                && !declared.serves(c.target)
            {
                self.error(
                    &t.span(),
                    &format!("client[{i}].target"),
                    format!(
                        "{} is a virtual server of no director's config (virtual servers: {}; searched {})",
                        c.target,
                        declared.services(),
                        declared.paths()
                    ),
                );
            }
        }
    }

    /// Refuses a time after the end of the run; true when it is within.
    fn in_run(&mut self, t: &Text, at: Duration, key: &str) -> bool {
        match self.end {
            Some(end) if at > end => {
                self.error(
                    &t.span(),
                    key,
                    format!(
                        "{} is after the end of the scenario (duration = {})",
                        duration::render(at),
                        duration::render(end)
                    ),
                );
                false
            }
            _ => true,
        }
    }

    /// A time within the run; `None` (reported) when it does not parse
    /// or falls after the end.
    fn run_time(&mut self, t: &Text, key: &str) -> Option<Duration> {
        match duration::parse(t.get_ref()) {
            Ok(d) => self.in_run(t, d, key).then_some(d),
            Err(e) => {
                self.error(&t.span(), key, e);
                None
            }
        }
    }

    /// Refuses an empty or reversed window `from..to`, at `span`.
    fn window(&mut self, from: Duration, to: Duration, span: &Range<usize>, key: &str, what: &str) {
        if from >= to {
            self.error(
                span,
                key,
                format!(
                    "the window from {} to {} is empty: {what}",
                    duration::render(from),
                    duration::render(to)
                ),
            );
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

    /// The integer `v` when it lies in `range`, or `None` (reported as
    /// `N is not WHAT` at its place).
    fn int_in(
        &mut self,
        v: &toml::Spanned<i64>,
        key: &str,
        range: std::ops::RangeInclusive<i64>,
        what: &str,
    ) -> Option<i64> {
        let n = *v.get_ref();
        if range.contains(&n) {
            return Some(n);
        }
        self.error(&v.span(), key, format!("{n} is not {what}"));
        None
    }

    /// The word `t` (present, one of `known`), or `None` (reported:
    /// missing, or unknown with the nearest known word).
    fn one_of(
        &mut self,
        t: &Option<Text>,
        key: &str,
        whole: &Range<usize>,
        what: &str,
        known: &[String],
    ) -> Option<String> {
        let Some(t) = t else {
            self.error(whole, key, format!("missing: the {what}"));
            return None;
        };
        let w = t.get_ref();
        if known.iter().any(|k| k == w) {
            return Some(w.clone());
        }
        let message = match vigil_core::config::did_you_mean(w, known.iter().map(String::as_str)) {
            Some(n) => format!("unknown {what} {w:?}; did you mean {n:?}?"),
            None if known.is_empty() => format!("unknown {what} {w:?} (there is none)"),
            None => format!("unknown {what} {w:?} (known: {})", known.join(", ")),
        };
        self.error(&t.span(), key, message);
        None
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
}

/// The first IP:port virtual server of a config (what clients request by
/// default).
fn first_service(c: &config::Config) -> Option<SocketAddr> {
    c.virtual_servers.iter().find_map(|vs| match &vs.service {
        ServiceAddr::Addr(a) => Some(*a),
        _ => None,
    })
}
