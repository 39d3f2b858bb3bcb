//! A `vrrp_script`'s verdict from the exit statuses of its runs, counted
//! as keepalived 2.2.7 counts them (vrrp_scheduler.c,
//! vrrp_script_child_thread): `rise` successes in a row bring it up,
//! `fall` failures in a row take it down, and before its first run one
//! result decides either way (unless `init_fail` starts it down).

use crate::config::VrrpScript;

/// The running count of one `vrrp_script`'s results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptVerdict {
    rise: u32,
    fall: u32,
    /// keepalived's `result`: 0..rise+fall-1; at or above `rise` is up.
    result: u32,
    /// No run has finished yet and the script did not start failed.
    initial: bool,
}

impl ScriptVerdict {
    /// The count before `script`'s first run.
    pub fn new(script: &VrrpScript) -> ScriptVerdict {
        ScriptVerdict::with(script.rise, script.fall, script.init_fail)
    }

    /// The count before the first run of a script with `rise`, `fall`
    /// (each at least 1) and `init_fail`.
    pub fn with(rise: u32, fall: u32, init_fail: bool) -> ScriptVerdict {
        let (rise, fall) = (rise.max(1), fall.max(1));
        ScriptVerdict {
            rise,
            fall,
            result: if init_fail { 0 } else { rise - 1 },
            initial: !init_fail,
        }
    }

    /// Whether the script counts as up (succeeding) now.
    pub fn up(&self) -> bool {
        self.result >= self.rise
    }

    /// Counts one run's outcome (`ok`: exit status 0); the new verdict
    /// when keepalived would report one to the instances tracking it.
    pub fn run(&mut self, ok: bool) -> Option<bool> {
        let initial = std::mem::replace(&mut self.initial, false);
        let top = self.rise + self.fall - 1;
        if ok {
            if self.result + 1 < self.rise {
                self.result += 1;
                return None;
            }
            if self.result == top {
                return None;
            }
            let rose = self.result < self.rise;
            self.result = top;
            rose.then_some(true)
        } else {
            if self.result > self.rise {
                self.result -= 1;
                return None;
            }
            let fell = self.result == self.rise || initial;
            self.result = 0;
            fell.then_some(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(v: &mut ScriptVerdict, runs: &str) -> Vec<Option<bool>> {
        runs.chars().map(|c| v.run(c == '+')).collect()
    }

    #[test]
    fn one_result_decides_before_the_first_run() {
        let mut v = ScriptVerdict::with(3, 3, false);
        assert_eq!(feed(&mut v, "-"), [Some(false)]);
        let mut v = ScriptVerdict::with(3, 3, false);
        assert_eq!(feed(&mut v, "+"), [Some(true)]);
        assert!(v.up());
    }

    #[test]
    fn fall_failures_in_a_row_take_it_down_rise_successes_bring_it_up() {
        let mut v = ScriptVerdict::with(2, 3, false);
        assert_eq!(v.run(true), Some(true));
        // Two failures, then a success: the count starts again.
        assert_eq!(feed(&mut v, "--+--"), [None, None, None, None, None]);
        assert_eq!(v.run(false), Some(false));
        assert!(!v.up());
        // One success, a failure (back to 0), then two successes.
        assert_eq!(feed(&mut v, "+-+"), [None, None, None]);
        assert_eq!(v.run(true), Some(true));
    }

    #[test]
    fn init_fail_starts_down_and_a_failure_reports_nothing() {
        let mut v = ScriptVerdict::with(2, 2, true);
        assert!(!v.up());
        assert_eq!(feed(&mut v, "-+"), [None, None]);
        assert_eq!(v.run(true), Some(true));
    }

    #[test]
    fn rise_and_fall_of_one() {
        let mut v = ScriptVerdict::with(1, 1, false);
        assert_eq!(
            feed(&mut v, "+-+-"),
            [Some(true), Some(false), Some(true), Some(false)]
        );
    }

    #[test]
    fn zero_counts_as_one() {
        let mut v = ScriptVerdict::with(0, 0, true);
        assert_eq!(feed(&mut v, "+-"), [Some(true), Some(false)]);
    }
}
