//! One checker's timing and state, exactly as keepalived 2.2.7 runs it.
//!
//! keepalived's checkers share the same counters (`is_up`, `has_run`,
//! `retry_it`) but each kind has its own epilogue deciding the next delay
//! and when the checker flips. A [`Schedule`] holds those counters and
//! follows the [`Discipline`] of its kind:
//!
//! - [`Discipline::Tcp`] (check_tcp.c): after a failure, retry after
//!   `delay_before_retry` while retries remain, else wait `delay_loop`;
//!   the checker goes down at the failure that finds no retry left
//!   (`retry` + 1 consecutive failures), and this retry cycle goes on
//!   while it is down. It comes back on the first success.
//! - [`Discipline::RetryWhileUp`] (check_ping.c, check_udp.c,
//!   check_dns.c): the same, but a checker that is down just probes every
//!   `delay_loop`.
//! - [`Discipline::Smtp`] (check_smtp.c): every round starts with a fresh
//!   retry count, so even the first check needs `retry` + 1 failures.
//! - [`Discipline::Misc`] (check_misc.c): like `RetryWhileUp`, but the
//!   next run is timed from the start of the last one, not its end; with
//!   `misc_dynamic` the exit status sets the weight.
//! - [`Discipline::Http`] (check_http.c): one URL per probe, in order,
//!   `delay_loop` apart; a failing URL is retried after
//!   `delay_before_retry`; once down, the failed URL is probed every
//!   max(`delay_before_retry`, `delay_loop`) until it passes, then every
//!   URL again; `fast_recovery` probes at once while recovering.
//!
//! Common to all: the first probe is due `BOOTSTRAP_DELAY` + a random
//! share of `warmup` after start; a checker starts up (down with `alpha`)
//! with its retry count exhausted, so a first failure takes it down at
//! once (except SMTP); `delay` is counted from the moment the probe's
//! result arrives (MISC: from its start).
//!
//! Extensions, off by default: `rise` (consecutive passes needed to come
//! back, confirmation probes `delay_before_retry` apart, HAProxy-like) and
//! `fall` (consecutive failures to go down, replacing `retry` + 1).

use std::time::Duration;

use super::verdict::Verdict;
use crate::config::CheckTiming;
use crate::rng::Rng;
use crate::time::Instant;

/// keepalived's delay before the first check (on top of the warmup).
pub const BOOTSTRAP_DELAY: Duration = Duration::from_secs(1);

/// The smallest delay keepalived arms for a MISC_CHECK re-run.
const MISC_MIN_DELAY: Duration = Duration::from_micros(1);

/// How a checker kind times its probes and counts failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Discipline {
    /// TCP_CHECK.
    Tcp,
    /// PING_CHECK, UDP_CHECK, DNS_CHECK.
    RetryWhileUp,
    /// SMTP_CHECK.
    Smtp,
    /// MISC_CHECK.
    Misc,
    /// HTTP_GET, SSL_GET.
    Http {
        /// Number of URLs.
        urls: usize,
        /// `fast_recovery`.
        fast_recovery: bool,
    },
}

/// HAProxy-like extensions; the default keeps keepalived's behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Extensions {
    /// Consecutive passes a down checker needs to come back (1: the first
    /// pass, keepalived's rule).
    pub rise: u32,
    /// Consecutive failures that take a checker down (`None`: `retry` + 1).
    pub fall: Option<u32>,
}

impl Default for Extensions {
    fn default() -> Extensions {
        Extensions {
            rise: 1,
            fall: None,
        }
    }
}

/// A change of a checker's state, to apply to every real server using it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transition {
    /// The first result confirmed the state the checker started in
    /// (keepalived then runs the real server's notify script when the
    /// checker is in alpha mode or the state is down).
    FirstRun {
        /// The state confirmed.
        up: bool,
        /// Whether keepalived notifies for it.
        notify: bool,
    },
    /// The checker went up or down.
    Changed {
        /// The new state.
        up: bool,
    },
}

/// A change of a MISC_CHECK's dynamic weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WeightChange {
    /// The weight the checker now asks for (`None`: the configured one).
    pub weight: Option<u32>,
    /// keepalived drops a failed checker's weight without updating IPVS
    /// or the quorum (the server is going down anyway).
    pub silent: bool,
}

/// What a probe's result did to the checker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// A state change, if any.
    pub transition: Option<Transition>,
    /// A dynamic weight change, if any (applied before the transition).
    pub weight: Option<WeightChange>,
    /// When the next probe is due.
    pub next: Instant,
}

/// What to do now that the schedule's timer fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fire {
    /// Probe (the URL at this index, for HTTP checks).
    Probe {
        /// URL index (0 for other kinds).
        url: usize,
    },
    /// Suspended: no probe; the timer is re-armed a `delay_loop` later.
    Skip,
}

/// One checker's schedule and counters.
#[derive(Clone, Debug)]
pub struct Schedule {
    discipline: Discipline,
    delay_loop: Duration,
    delay_before_retry: Duration,
    warmup: Duration,
    retry: u32,
    alpha: bool,
    rise: u32,
    is_up: bool,
    has_run: bool,
    retry_it: u32,
    rise_it: u32,
    enabled: bool,
    /// SMTP: the next probe starts a round (fresh retry count).
    round_start: bool,
    /// HTTP: the URL to probe next.
    url_it: usize,
    /// HTTP: the URL that took the checker down, while it still fails.
    failed_url: Option<usize>,
    /// MISC: the weight the last passing exit status asked for.
    dyn_weight: Option<u32>,
    /// When the current or last probe started.
    started: Instant,
    due: Option<Instant>,
    in_flight: bool,
}

impl Schedule {
    /// A schedule for a checker with `timing`, not started.
    pub fn new(timing: &CheckTiming, discipline: Discipline, ext: Extensions) -> Schedule {
        let retry = ext.fall.map_or(timing.retry, |f| f.max(1) - 1);
        Schedule {
            discipline,
            delay_loop: timing.delay_loop,
            delay_before_retry: timing.delay_before_retry,
            warmup: timing.warmup,
            retry,
            alpha: timing.alpha,
            rise: ext.rise.max(1),
            is_up: !timing.alpha,
            has_run: false,
            // "For non alpha mode, one failure is enough initially."
            retry_it: retry,
            rise_it: 0,
            enabled: true,
            round_start: true,
            url_it: 0,
            failed_url: None,
            dyn_weight: None,
            started: Instant::ZERO,
            due: None,
            in_flight: false,
        }
    }

    /// Arms the first probe: `BOOTSTRAP_DELAY` plus a uniform share of
    /// `warmup` (keepalived: `warmup * random() / RAND_MAX`, in µs).
    pub fn start(&mut self, now: Instant, rng: &mut Rng) {
        self.due = Some(now + BOOTSTRAP_DELAY + warmup_delay(self.warmup, rng));
        self.in_flight = false;
    }

    /// Stops: no timer, no probe expected.
    pub fn stop(&mut self) {
        self.due = None;
        self.in_flight = false;
    }

    /// When the timer fires next (`None` while a probe is out).
    pub fn due(&self) -> Option<Instant> {
        self.due
    }

    /// Whether the checker is up.
    pub fn is_up(&self) -> bool {
        self.is_up
    }

    /// Whether a result has been taken into account yet.
    pub fn has_run(&self) -> bool {
        self.has_run
    }

    /// Failures counted towards the current retry cycle.
    pub fn retry_it(&self) -> u32 {
        self.retry_it
    }

    /// The retry count in force (`retry`, or `fall` - 1).
    pub fn retry(&self) -> u32 {
        self.retry
    }

    /// Whether probes run (false while suspended by `ha_suspend`).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Whether a probe is out.
    pub fn in_flight(&self) -> bool {
        self.in_flight
    }

    /// MISC_CHECK with `misc_dynamic`: the weight asked for, if any.
    pub fn dyn_weight(&self) -> Option<u32> {
        self.dyn_weight
    }

    /// The checker kind's discipline.
    pub fn discipline(&self) -> Discipline {
        self.discipline
    }

    /// Suspends or resumes probing (`ha_suspend`); returns whether it
    /// changed. A suspended checker keeps its state and its timer, which
    /// just re-arms every `delay_loop` without probing.
    pub fn set_enabled(&mut self, enabled: bool) -> bool {
        std::mem::replace(&mut self.enabled, enabled) != enabled
    }

    /// Carries state over from the schedule of the same checker in the
    /// previous configuration (keepalived's migrate_checkers): up/down,
    /// has-run, the retry count clamped below the new `retry`, and MISC's
    /// dynamic weight. HTTP restarts at its first URL. The timer is not
    /// carried.
    pub fn migrate_from(&mut self, old: &Schedule) {
        self.is_up = old.is_up;
        self.has_run = old.has_run;
        self.retry_it = if old.retry_it > 0 && self.retry > 0 {
            old.retry_it.min(self.retry - 1)
        } else {
            0
        };
        self.dyn_weight = old.dyn_weight;
        self.started = old.started;
    }

    /// The timer fired at `now`.
    pub fn fire(&mut self, now: Instant) -> Fire {
        self.due = None;
        if !self.enabled {
            self.due = Some(now + self.delay_loop);
            self.round_start = true;
            return Fire::Skip;
        }
        if self.discipline == Discipline::Smtp && self.round_start {
            self.retry_it = 0;
        }
        self.in_flight = true;
        self.started = now;
        Fire::Probe { url: self.url_it }
    }

    /// The probe's result arrived at `now`, judged `verdict`.
    pub fn complete(&mut self, now: Instant, verdict: Verdict) -> Step {
        self.in_flight = false;
        if !verdict.passed() {
            self.rise_it = 0;
        }
        let mut step = Step {
            transition: None,
            weight: None,
            next: now,
        };
        let delay = match self.discipline {
            Discipline::Tcp => self.tcp(verdict, &mut step),
            Discipline::RetryWhileUp => self.retry_while_up(verdict, &mut step),
            Discipline::Smtp => self.smtp(verdict, &mut step),
            Discipline::Misc => {
                let delay = self.misc(verdict, &mut step);
                let next = self.started + delay;
                step.next = next.max(now + MISC_MIN_DELAY);
                self.due = Some(step.next);
                return step;
            }
            Discipline::Http {
                urls,
                fast_recovery,
            } => self.http(verdict, urls, fast_recovery, &mut step),
        };
        step.next = now + delay;
        self.due = Some(step.next);
        step
    }

    /// keepalived's update_svr_checker_state, checker side.
    fn update(&mut self, up: bool) -> Option<Transition> {
        if self.is_up == up {
            if !self.has_run {
                self.has_run = true;
                return Some(Transition::FirstRun {
                    up,
                    notify: self.alpha || !up,
                });
            }
            return None;
        }
        self.has_run = true;
        self.is_up = up;
        Some(Transition::Changed { up })
    }

    /// A pass that would bring a down checker up: whether `rise` allows
    /// it now.
    fn rise_reached(&mut self) -> bool {
        if self.is_up || self.rise <= 1 {
            return true;
        }
        self.rise_it += 1;
        if self.rise_it >= self.rise {
            self.rise_it = 0;
            true
        } else {
            false
        }
    }

    /// A pass that may bring the checker up; returns false when `rise`
    /// holds it down (the caller then re-probes after
    /// `delay_before_retry`).
    fn pass_up(&mut self, step: &mut Step) -> bool {
        if !self.rise_reached() {
            return false;
        }
        step.transition = self.update(true);
        true
    }

    fn tcp(&mut self, v: Verdict, step: &mut Step) -> Duration {
        let pass = v.passed();
        let mut delay;
        if pass || self.retry_it >= self.retry {
            delay = self.delay_loop;
            self.retry_it = 0;
            if pass && (!self.is_up || !self.has_run) {
                if !self.pass_up(step) {
                    delay = self.delay_before_retry;
                }
            } else if !pass && (self.is_up || !self.has_run) {
                step.transition = self.update(false);
            }
        } else {
            delay = self.delay_before_retry;
            self.retry_it += 1;
        }
        self.has_run = true;
        delay
    }

    fn retry_while_up(&mut self, v: Verdict, step: &mut Step) -> Duration {
        let pass = v.passed();
        let mut delay = self.delay_loop;
        if pass || ((self.is_up || !self.has_run) && self.retry_it >= self.retry) {
            self.retry_it = 0;
            if pass && (!self.is_up || !self.has_run) {
                if !self.pass_up(step) {
                    delay = self.delay_before_retry;
                }
            } else if !pass && (self.is_up || !self.has_run) {
                step.transition = self.update(false);
            }
        } else if self.is_up {
            delay = self.delay_before_retry;
            self.retry_it += 1;
        }
        self.has_run = true;
        delay
    }

    fn smtp(&mut self, v: Verdict, step: &mut Step) -> Duration {
        if !v.passed() {
            self.retry_it += 1;
            if self.retry_it <= self.retry {
                self.round_start = false;
                return self.delay_before_retry;
            }
            if self.is_up || !self.has_run {
                step.transition = self.update(false);
            }
            self.round_start = true;
            return self.delay_loop;
        }
        self.retry_it = 0;
        self.round_start = true;
        let mut delay = self.delay_loop;
        if (!self.is_up || !self.has_run) && !self.pass_up(step) {
            delay = self.delay_before_retry;
        }
        self.has_run = true;
        delay
    }

    /// Returns the delay from the probe's start.
    fn misc(&mut self, v: Verdict, step: &mut Step) -> Duration {
        let mut held = false;
        match v {
            Verdict::Pass { weight } => {
                if weight != self.dyn_weight {
                    self.dyn_weight = weight;
                    step.weight = Some(WeightChange {
                        weight,
                        silent: false,
                    });
                }
                if (!self.is_up || !self.has_run) && !self.pass_up(step) {
                    held = true;
                }
                self.retry_it = 0;
            }
            Verdict::Fail(_) if self.is_up || !self.has_run => {
                if self.retry_it < self.retry {
                    self.retry_it += 1;
                } else {
                    self.retry_it = 0;
                    if self.dyn_weight.take().is_some() {
                        step.weight = Some(WeightChange {
                            weight: None,
                            silent: true,
                        });
                    }
                    step.transition = self.update(false);
                }
            }
            Verdict::Fail(_) => {}
        }
        self.has_run = true;
        if self.retry_it > 0 || held {
            self.delay_before_retry
        } else {
            self.delay_loop
        }
    }

    fn http(&mut self, v: Verdict, urls: usize, fast_recovery: bool, step: &mut Step) -> Duration {
        enum Method {
            New,
            Retry,
            Failed,
        }
        let method = if v.passed() {
            Method::New
        } else if self.is_up || !self.has_run {
            self.has_run = true;
            Method::Retry
        } else {
            Method::Failed
        };
        // `url_it` past the last URL stands for keepalived's NULL.
        let mut held = false;
        match method {
            Method::New => {
                self.url_it += 1;
                self.retry_it = 0;
            }
            Method::Retry => self.retry_it += 1,
            Method::Failed => {}
        }
        match method {
            Method::New if self.url_it >= urls && self.failed_url.is_none() => {
                if (!self.is_up || !self.has_run) && !self.pass_up(step) {
                    held = true;
                }
                self.has_run = true;
                self.url_it = 0;
                self.retry_it = 0;
            }
            Method::Retry if self.retry_it > self.retry => {
                if self.is_up {
                    step.transition = self.update(false);
                }
                self.failed_url = Some(self.url_it);
            }
            Method::New if self.failed_url.is_some() => {
                self.failed_url = None;
                self.url_it = 0;
                self.retry_it = 0;
            }
            _ => {}
        }
        let mut delay = match method {
            Method::New => {
                if !self.has_run {
                    self.retry_it = self.retry;
                }
                self.delay_loop
            }
            _ if self.failed_url.is_some() => self.delay_before_retry.max(self.delay_loop),
            _ => self.delay_before_retry,
        };
        if held {
            delay = self.delay_before_retry;
        }
        if fast_recovery && (!self.has_run || (!self.is_up && self.failed_url.is_none())) {
            delay = Duration::ZERO;
        }
        delay
    }
}

/// A uniform share of `warmup`: `warmup * r / (2^31 - 1)` with `r` in
/// `0..2^31`, in microseconds, as keepalived draws it from `random()`.
pub fn warmup_delay(warmup: Duration, rng: &mut Rng) -> Duration {
    const RAND_MAX: u128 = (1 << 31) - 1;
    let us = warmup.as_micros();
    if us == 0 {
        return Duration::ZERO;
    }
    let r = u128::from(rng.below(1 << 31));
    Duration::from_micros((us * r / RAND_MAX) as u64)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::check::probe::NetError;
    use crate::check::verdict::Failure;
    use crate::rng::Rng;

    const LOOP: Duration = Duration::from_secs(10);
    const DBR: Duration = Duration::from_secs(3);

    fn timing(retry: u32, alpha: bool) -> CheckTiming {
        CheckTiming {
            delay_loop: LOOP,
            retry,
            delay_before_retry: DBR,
            warmup: Duration::ZERO,
            alpha,
            log_all_failures: false,
        }
    }

    fn verdict(pass: bool) -> Verdict {
        if pass {
            Verdict::PASS
        } else {
            Verdict::Fail(Failure::Net(NetError::Refused))
        }
    }

    /// Feeds `results` one probe at a time; returns (up, delay) after each.
    fn drive(s: &mut Schedule, results: &[bool]) -> Vec<(bool, Duration)> {
        let mut now = Instant::ZERO;
        s.start(now, &mut Rng::new(1));
        let mut out = Vec::new();
        for &r in results {
            now = s.due().unwrap();
            assert_eq!(s.fire(now), Fire::Probe { url: 0 });
            let step = s.complete(now, verdict(r));
            out.push((s.is_up(), step.next - now));
        }
        out
    }

    proptest! {
        #![proptest_config(crate::proptest_config::config(256))]

        /// TCP_CHECK against a plain model of keepalived's rule: the first
        /// result decides; then a pass brings it up at once, and retry + 1
        /// consecutive failures take it down; a failure with retries left
        /// is retried after delay_before_retry, the others wait
        /// delay_loop; the cycle goes on while down.
        #[test]
        fn tcp_matches_the_retry_model(retry in 0u32..4, alpha: bool,
                                       results in proptest::collection::vec(any::<bool>(), 1..60)) {
            let mut s = Schedule::new(&timing(retry, alpha), Discipline::Tcp, Extensions::default());
            let got = drive(&mut s, &results);
            let (mut up, mut c, mut first) = (!alpha, 0u32, true);
            for (i, &r) in results.iter().enumerate() {
                let delay;
                if r {
                    up = true;
                    c = 0;
                    delay = LOOP;
                } else if first {
                    up = false;
                    delay = LOOP;
                } else {
                    c += 1;
                    if c > retry {
                        c = 0;
                        up = false;
                        delay = LOOP;
                    } else {
                        delay = DBR;
                    }
                }
                first = false;
                prop_assert_eq!(got[i], (up, delay), "step {} of {:?}", i, results);
            }
        }

        /// PING/UDP/DNS: the same while up, but no retry cycle while down.
        #[test]
        fn retry_while_up_matches_the_model(retry in 0u32..4,
                                            results in proptest::collection::vec(any::<bool>(), 1..60)) {
            let mut s = Schedule::new(&timing(retry, false), Discipline::RetryWhileUp, Extensions::default());
            let got = drive(&mut s, &results);
            let (mut up, mut c, mut first) = (true, 0u32, true);
            for (i, &r) in results.iter().enumerate() {
                let delay;
                if r {
                    up = true;
                    c = 0;
                    delay = LOOP;
                } else if first || !up {
                    up = false;
                    delay = LOOP;
                } else {
                    c += 1;
                    if c > retry {
                        c = 0;
                        up = false;
                        delay = LOOP;
                    } else {
                        delay = DBR;
                    }
                }
                first = false;
                prop_assert_eq!(got[i], (up, delay), "step {} of {:?}", i, results);
            }
        }

        /// The warmup share stays within [0, warmup].
        #[test]
        fn warmup_within_bounds(seed: u64, ms in 0u64..100_000) {
            let w = Duration::from_millis(ms);
            prop_assert!(warmup_delay(w, &mut Rng::new(seed)) <= w);
        }
    }

    #[test]
    fn transitions_are_reported_once() {
        let mut s = Schedule::new(&timing(1, false), Discipline::Tcp, Extensions::default());
        let mut now = Instant::ZERO;
        s.start(now, &mut Rng::new(1));
        let mut seen = Vec::new();
        for r in [true, true, false, false, false, true] {
            now = s.due().unwrap();
            s.fire(now);
            seen.push(s.complete(now, verdict(r)).transition);
        }
        assert_eq!(
            seen,
            vec![
                Some(Transition::FirstRun {
                    up: true,
                    notify: false
                }),
                None,
                None,
                Some(Transition::Changed { up: false }),
                None,
                Some(Transition::Changed { up: true }),
            ]
        );
    }

    #[test]
    fn suspended_schedule_skips_and_keeps_its_state() {
        let mut s = Schedule::new(&timing(1, false), Discipline::Tcp, Extensions::default());
        s.start(Instant::ZERO, &mut Rng::new(1));
        assert!(s.set_enabled(false));
        assert!(!s.set_enabled(false));
        let at = s.due().unwrap();
        assert_eq!(s.fire(at), Fire::Skip);
        assert_eq!(s.due(), Some(at + LOOP));
        assert!(s.is_up() && !s.has_run() && !s.in_flight());
    }
}
