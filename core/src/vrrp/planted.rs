//! Deliberate bugs for proving that exploration finds and shrinks real
//! ones: a knob of the director's options, all off by default. Only tests
//! turn one on.

/// The bugs an instance runs with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Planted {
    /// No tie-break on equal priority (RFC 5798 section 6.4.3: the higher
    /// primary address wins): two masters of equal priority then both
    /// stay master.
    pub no_tie_break: bool,
}
