//! The simulated world: turmoil hosts for every director, real server and
//! client of a scenario, and the runner that steps time and applies the
//! timeline's faults.

mod balancer;
mod client;
mod clock;
mod director;
mod dr;
pub mod links;
pub mod net;
mod probe;
mod real_server;
mod recorded;
mod services;
pub mod shared;
mod trackers;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

use vigil_core::harness;
use vigil_core::time::Instant;
use vigil_core::trace::Event;

pub use clock::Clock;
use links::Links;
pub use shared::{DirectorView, World};

use crate::record::Recorder;
use crate::scenario::{Action, Host, Peer, RsServices, Scenario};

/// How to run.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Seed; the scenario's own when `None`.
    pub seed: Option<u64>,
    /// Capture every frame for a pcap.
    pub capture: bool,
    /// Deliberate bugs every director runs with (tests of exploration only).
    pub planted: vigil_core::vrrp::planted::Planted,
}

/// What a run produced.
#[derive(Clone, Debug)]
pub struct Run {
    /// The seed used.
    pub seed: u64,
    /// Everything recorded.
    pub rec: Recorder,
    /// Each director's view at the end.
    pub views: Vec<DirectorView>,
}

/// Runs `scenario` to its end.
pub fn run(scenario: &Scenario, options: &Options) -> Result<Run, String> {
    let seed = options.seed.unwrap_or(scenario.seed);
    let shared: shared::Shared = Rc::new(RefCell::new(World::new(scenario.clone(), seed)));
    shared.borrow_mut().rec.capture = options.capture;
    shared.borrow_mut().planted = options.planted;
    let net = &scenario.network;
    let mut sim = turmoil::Builder::new()
        .simulation_duration(scenario.duration + Duration::from_secs(1))
        .tick_duration(scenario.resolution)
        .min_message_latency(net.latency)
        .max_message_latency(net.latency + net.jitter)
        .epoch(UNIX_EPOCH)
        .rng_seed(seed)
        .udp_capacity(4096)
        .tcp_capacity(4096)
        .build();
    for host in scenario.hosts() {
        let s = shared.clone();
        let addr = scenario.host_address(host);
        match host {
            Host::Director(i) => sim.host(addr, move || director::run(s.clone(), i)),
            Host::RealServer(i) => sim.host(addr, move || real_server::run(s.clone(), i)),
            Host::Client(i) => sim.host(addr, move || client::run(s.clone(), i)),
        }
    }
    for (i, p) in scenario.recorded_peers.iter().enumerate() {
        let s = shared.clone();
        sim.host(p.address, move || recorded::run(s.clone(), i));
    }
    let mut links = Links::new(scenario);
    let mut next = 0;
    loop {
        let t = sim.elapsed();
        while next < scenario.timeline.len() && scenario.timeline[next].at <= t {
            apply(
                &mut sim,
                &shared,
                &mut links,
                &scenario.timeline[next].action,
            );
            next += 1;
        }
        if t >= scenario.duration {
            break;
        }
        sim.step()
            .map_err(|e| format!("simulation failed at {}: {e}", Instant::from_duration(t)))?;
    }
    drop(sim);
    let w = Rc::try_unwrap(shared)
        .map_err(|_| "simulation state still shared after the run".to_string())?
        .into_inner();
    Ok(Run {
        seed,
        rec: w.rec,
        views: w.views,
    })
}

fn apply(sim: &mut turmoil::Sim<'_>, shared: &shared::Shared, links: &mut Links, action: &Action) {
    let at = shared::now_of(sim.elapsed());
    let s = shared.borrow().scenario.clone();
    let name = |h: Host| s.host_name(h).to_string();
    let peer_name = |p: Peer| match p {
        Peer::All => "*".to_string(),
        Peer::Host(h) => name(h),
    };
    let (node, verb, detail) = match action {
        Action::Crash(h) => {
            sim.crash(s.host_address(*h));
            let mut w = shared.borrow_mut();
            match h {
                Host::Director(d) => lost_director(&mut w, *d, at),
                Host::RealServer(r) => w.rs_down[*r] = true,
                Host::Client(_) => {}
            }
            (name(*h), "crash", String::new())
        }
        Action::Restart(h) => {
            if let Host::Director(d) = h {
                // A running director restarted loses its state first.
                lost_director(&mut shared.borrow_mut(), *d, at);
                // The host's surroundings (scripts, files, processes) stay.
                let env = shared.borrow().controls[*d].borrow().env.clone();
                let _ = shared.borrow().controls[*d].send_replace(shared::DirectorControl {
                    env,
                    ..Default::default()
                });
            }
            if let Host::RealServer(r) = h {
                shared.borrow_mut().rs_down[*r] = false;
                let _ = shared.borrow().rs_watch[*r].send_replace(RsServices::default());
            }
            sim.bounce(s.host_address(*h));
            (name(*h), "restart", String::new())
        }
        Action::Stop(d) => {
            shared.borrow().controls[*d].send_modify(|c| c.stopped = true);
            (name(Host::Director(*d)), "stop", String::new())
        }
        Action::Start(d) => {
            shared.borrow().controls[*d].send_modify(|c| c.stopped = false);
            (name(Host::Director(*d)), "start", String::new())
        }
        Action::Reload(d) => {
            shared.borrow().controls[*d].send_modify(|c| c.reloads += 1);
            (name(Host::Director(*d)), "reload", String::new())
        }
        Action::Partition { a, b, oneway } => {
            links.cut(&s, *a, *b, *oneway);
            links.apply(sim);
            (
                name(*a),
                "partition",
                format!(
                    "peer={}{}",
                    peer_name(*b),
                    if *oneway { " oneway=true" } else { "" }
                ),
            )
        }
        Action::Heal { a, b } => {
            links.heal(&s, *a, *b);
            links.apply(sim);
            (name(*a), "heal", format!("peer={}", peer_name(*b)))
        }
        Action::Loss { a, b, rate } => {
            let mut w = shared.borrow_mut();
            for (x, y) in links::pairs(&s, *a, *b) {
                w.loss.insert((x, y), *rate);
                w.loss.insert((y, x), *rate);
            }
            (
                name(*a),
                "loss",
                format!("peer={} rate={rate}", peer_name(*b)),
            )
        }
        Action::Latency { a, b, delay } => {
            for (x, y) in links::pairs(&s, *a, *b) {
                sim.set_link_latency(x, y, *delay);
                sim.set_link_max_message_latency(x, y, *delay + s.network.jitter);
            }
            (
                name(*a),
                "latency",
                format!(
                    "peer={} delay={}",
                    peer_name(*b),
                    vigil_core::time::fmt_ms(*delay)
                ),
            )
        }
        Action::LinkDown(d) => {
            links.set_link(&s, *d, false);
            links.apply(sim);
            shared.borrow().controls[*d].send_modify(|c| c.link_up = false);
            (name(Host::Director(*d)), "link-down", String::new())
        }
        Action::LinkUp(d) => {
            links.set_link(&s, *d, true);
            links.apply(sim);
            shared.borrow().controls[*d].send_modify(|c| c.link_up = true);
            (name(Host::Director(*d)), "link-up", String::new())
        }
        Action::Drift { director, factor } => {
            shared.borrow().controls[*director].send_modify(|c| c.drift = *factor);
            (
                name(Host::Director(*director)),
                "drift",
                format!("factor={factor}"),
            )
        }
        Action::Serve { server, mode } => {
            shared.borrow().rs_watch[*server].send_modify(|st| st.apply(mode));
            let detail = mode.detail();
            (name(Host::RealServer(*server)), "rs", detail)
        }
        Action::VipRemoved { director, addr } => {
            shared.borrow().controls[*director].send_modify(|c| c.vip_removals.push(*addr));
            let (_, verb, detail) = action.host_input().expect("an action on a host");
            (name(Host::Director(*director)), verb, detail)
        }
        Action::Interface { .. }
        | Action::Script { .. }
        | Action::File { .. }
        | Action::Process { .. } => {
            let (d, verb, detail) = action.host_input().expect("an action on a host");
            shared.borrow().controls[d].send_modify(|c| c.env.apply(action));
            (name(Host::Director(d)), verb, detail)
        }
    };
    let ev = Event::Harness(harness::Event::Fault {
        action: verb.to_string(),
        detail,
    });
    shared.borrow_mut().trace(at, &node, ev);
}

/// A crashed director stops holding anything at once.
fn lost_director(w: &mut World, d: usize, at: Instant) {
    let v = &mut w.views[d];
    v.running = false;
    v.states.clear();
    if v.holds_vips {
        v.holds_vips = false;
        w.rec.vips.push((at, d, false));
    }
    let changes: Vec<_> = w
        .rec
        .states
        .iter()
        .filter(|c| c.director == d)
        .map(|c| c.instance.clone())
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    for instance in changes {
        if seen.insert(instance.clone()) {
            w.rec.states.push(crate::record::StateChange {
                at,
                director: d,
                instance,
                to: vigil_core::vrrp::State::Initialize,
            });
        }
    }
}
