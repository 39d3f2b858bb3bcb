//! MISC_CHECK: the command's exit status (keepalived check_misc.c).
//!
//! Exit 0 passes. With `misc_dynamic`, exit 2..=255 also passes and sets
//! the real server's weight to status - 2 (0..=253); exit 1 fails. Without
//! it, any non-zero status fails. A signal, a timeout or a failure to
//! start fails.

use super::{Failure, Verdict};
use crate::check::probe::ScriptExit;

/// Judges how the command ended.
pub fn judge(exit: ScriptExit, dynamic: bool) -> Verdict {
    match exit {
        ScriptExit::Code(0) => Verdict::PASS,
        ScriptExit::Code(c) if dynamic && c >= 2 => Verdict::Pass {
            weight: Some(u32::from(c) - 2),
        },
        ScriptExit::Code(c) => Verdict::Fail(Failure::Exit(c)),
        ScriptExit::Signal(s) => Verdict::Fail(Failure::Signal(s)),
        ScriptExit::TimedOut => Verdict::Fail(Failure::ScriptTimeout),
        ScriptExit::NotStarted => Verdict::Fail(Failure::NotStarted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_exit_codes() {
        assert_eq!(judge(ScriptExit::Code(0), false), Verdict::PASS);
        assert_eq!(
            judge(ScriptExit::Code(1), false),
            Verdict::Fail(Failure::Exit(1))
        );
        assert_eq!(
            judge(ScriptExit::Code(2), false),
            Verdict::Fail(Failure::Exit(2))
        );
        assert_eq!(
            judge(ScriptExit::Code(255), false),
            Verdict::Fail(Failure::Exit(255))
        );
    }

    #[test]
    fn dynamic_codes_set_weight_status_minus_two() {
        assert_eq!(judge(ScriptExit::Code(0), true), Verdict::PASS);
        assert_eq!(
            judge(ScriptExit::Code(1), true),
            Verdict::Fail(Failure::Exit(1))
        );
        assert_eq!(
            judge(ScriptExit::Code(2), true),
            Verdict::Pass { weight: Some(0) }
        );
        assert_eq!(
            judge(ScriptExit::Code(12), true),
            Verdict::Pass { weight: Some(10) }
        );
        assert_eq!(
            judge(ScriptExit::Code(255), true),
            Verdict::Pass { weight: Some(253) }
        );
    }

    #[test]
    fn signals_and_timeouts_fail() {
        assert_eq!(
            judge(ScriptExit::Signal(9), true),
            Verdict::Fail(Failure::Signal(9))
        );
        assert_eq!(
            judge(ScriptExit::TimedOut, true),
            Verdict::Fail(Failure::ScriptTimeout)
        );
        assert_eq!(
            judge(ScriptExit::NotStarted, false),
            Verdict::Fail(Failure::NotStarted)
        );
    }
}
