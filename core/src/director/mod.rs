//! The whole keepalived director as one sans-IO state machine.
//!
//! [`Director::handle`] takes the time and a fact ([`Input`]: a datagram
//! received, a link change, a probe's result, the kernel's IPVS table, a
//! reload, a stop) and returns commands ([`Output`]: send this advert, add
//! this VIP on that device, announce it, run this probe, apply these IPVS
//! ops, run this script) plus [`Output::Trace`] for observation only;
//! [`Director::next_deadline`] says when to call again with
//! [`Input::Timer`]. No clock, no I/O, no threads: the simulator, vigild,
//! replay and the namespace harness all drive this one type and decide
//! nothing themselves.
//!
//! It is two halves joined by a typed mastership value: [`Vrrp`] (the
//! instances, links, trackers, notify scripts, reload) and [`Balancer`]
//! (checkers, quorum, the IPVS table and its sync). A driver that runs
//! them on two threads (vigild) feeds each half its own inputs and passes
//! [`Output::Mastership`] from the first to the second as
//! [`Input::Mastership`]; [`Director`] does that itself.
//!
//! - [`host`]: the host's interfaces, and every instance resolved on them.
//! - [`case`]: conformance cases as data (config, timed input, expected
//!   output) and their runner.
//! - `stream` (feature `serde`): the outputs worth judging a running
//!   director by, as JSON lines.

pub mod case;
pub mod host;
#[cfg(feature = "serde")]
pub mod stream;
pub mod tracked;

pub mod dump;
pub mod fifo;

mod balancer;
mod io;
mod vrrp_side;

use std::sync::Arc;
use std::time::Duration;

pub use balancer::Balancer;
pub use host::{Host, Interface};
pub use io::{Input, Output, Run};
pub use vrrp_side::{ReloadSummary, Vrrp, notify_runs, same_router};

use crate::check;
use crate::config::Config;
use crate::time::Instant;
use crate::vrrp::planted::Planted;

/// Settings of a director beyond keepalived.conf.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Seed of the checkers' start jitter.
    pub seed: u64,
    /// Check engine settings.
    pub check: check::Options,
    /// Read the kernel's IPVS table again this often (catching edits made
    /// behind the director's back); never when `None`.
    pub resync: Option<Duration>,
    /// Deliberate bugs (tests only).
    pub planted: Planted,
}

/// A whole director: both halves, the mastership routed between them.
#[derive(Debug)]
pub struct Director {
    vrrp: Vrrp,
    balancer: Balancer,
    out: Vec<Output>,
}

impl Director {
    /// A director for `config` on `host`, not yet started; or why a VRRP
    /// instance cannot run there.
    pub fn new(config: Arc<Config>, host: &Host, opts: Options) -> Result<Director, String> {
        Ok(Director {
            vrrp: Vrrp::new(config.clone(), host, opts)?,
            balancer: Balancer::new(config, &opts),
            out: Vec::new(),
        })
    }

    /// The VRRP half.
    pub fn vrrp(&self) -> &Vrrp {
        &self.vrrp
    }

    /// The load-balancing half.
    pub fn balancer(&self) -> &Balancer {
        &self.balancer
    }

    /// The two halves, to run apart.
    pub fn into_halves(self) -> (Vrrp, Balancer) {
        (self.vrrp, self.balancer)
    }

    /// When to be called with [`Input::Timer`] next.
    pub fn next_deadline(&self) -> Option<Instant> {
        match (self.vrrp.next_deadline(), self.balancer.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Processes `input` at `now`; the outputs, in the order to act on
    /// them. A reload the VRRP half refuses ([`Output::ReloadRefused`])
    /// is not applied to the other half either.
    pub fn handle(&mut self, now: Instant, input: Input<'_>) -> std::vec::Drain<'_, Output> {
        let both = matches!(
            input,
            Input::Start
                | Input::Timer
                | Input::TrackerValue { .. }
                | Input::Reload { .. }
                | Input::Shutdown { .. }
        );
        let lb_only = matches!(
            input,
            Input::Mastership(_)
                | Input::ProbeDone { .. }
                | Input::IpvsDumped(_)
                | Input::IpvsApplied { .. }
        );
        let mut refused = false;
        if !lb_only {
            let outs: Vec<Output> = self.vrrp.handle(now, input.clone()).collect();
            for o in outs {
                match o {
                    Output::Mastership(m) => {
                        self.out.push(Output::Mastership(m));
                        let more: Vec<Output> =
                            self.balancer.handle(now, Input::Mastership(m)).collect();
                        self.out.extend(more);
                    }
                    Output::ReloadRefused(why) => {
                        refused = true;
                        self.out.push(Output::ReloadRefused(why));
                    }
                    o => self.out.push(o),
                }
            }
        }
        if (both || lb_only) && !refused {
            let outs: Vec<Output> = self.balancer.handle(now, input).collect();
            self.out.extend(outs);
        }
        self.out.drain(..)
    }
}
