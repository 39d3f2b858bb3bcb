//! Deliberate bugs for proving that exploration finds and shrinks real
//! ones. They exist only with the `planted-bugs` cargo feature (enabled by
//! the simulator's tests, never in a build anyone runs) and are off until
//! a test turns one on.

#[cfg(feature = "planted-bugs")]
use std::sync::atomic::{AtomicBool, Ordering};

#[cfg(feature = "planted-bugs")]
static NO_TIE_BREAK: AtomicBool = AtomicBool::new(false);

/// Turns off the tie-break on equal priority (RFC 5798 section 6.4.3: the
/// higher primary address wins): two masters of equal priority then both
/// stay master.
#[cfg(feature = "planted-bugs")]
pub fn set_no_tie_break(on: bool) {
    NO_TIE_BREAK.store(on, Ordering::SeqCst);
}

/// Whether the tie-break is turned off.
pub(crate) fn no_tie_break() -> bool {
    #[cfg(feature = "planted-bugs")]
    {
        NO_TIE_BREAK.load(Ordering::SeqCst)
    }
    #[cfg(not(feature = "planted-bugs"))]
    {
        false
    }
}
