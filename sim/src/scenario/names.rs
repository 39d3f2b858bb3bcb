//! The words a scenario file may use for actions, checks and real-server
//! modes: one table each, from which the loader both parses a word and
//! suggests the nearest one when it knows no such word.

/// Declares a closed set of words: an enum with one variant per word, its
/// table of (word, variant) pairs, and lookups over that table.
macro_rules! words {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $word:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every word with its variant, in the order written.
            pub const ALL: &'static [(&'static str, $name)] = &[$(($word, $name::$variant),)+];

            /// The variant written as `word`.
            pub fn parse(word: &str) -> Option<$name> {
                Self::ALL.iter().find(|(w, _)| *w == word).map(|(_, v)| *v)
            }

            /// Every word, in the order written.
            pub fn words() -> impl Iterator<Item = &'static str> + Clone {
                Self::ALL.iter().map(|(w, _)| *w)
            }
        }
    };
}

words! {
    /// `action = "…"` of a `[[timeline]]` entry.
    Verb {
        /// `crash`: a host stops at once.
        Crash = "crash",
        /// `restart`: a host starts again.
        Restart = "restart",
        /// `stop`: a director stops gracefully.
        Stop = "stop",
        /// `start`: a stopped director starts.
        Start = "start",
        /// `reload`: a director reloads its configuration.
        Reload = "reload",
        /// `partition`: a link is cut.
        Partition = "partition",
        /// `heal`: a partition ends.
        Heal = "heal",
        /// `loss`: datagram loss on a link.
        Loss = "loss",
        /// `latency`: latency on a link.
        Latency = "latency",
        /// `link-down`: a director's interface goes down.
        LinkDown = "link-down",
        /// `link-up`: it comes back.
        LinkUp = "link-up",
        /// `drift`: a director's clock drifts.
        Drift = "drift",
        /// `rs`: a real server's behaviour changes.
        Rs = "rs",
        /// `script`: a `vrrp_script`'s next runs succeed or fail.
        Script = "script",
        /// `file`: a tracked file's content changes.
        File = "file",
        /// `process`: a tracked process starts or stops.
        Process = "process",
        /// `vip-removed`: someone deletes a director's VIP.
        VipRemoved = "vip-removed",
    }
}

words! {
    /// `check = "…"` of an `[[expect]]` entry.
    CheckWord {
        /// `master`: a director is the only master at a time.
        Master = "master",
        /// `vip-holder`: a director is the only VIP holder at a time.
        VipHolder = "vip-holder",
        /// `max-failover`: every failover within a bound.
        MaxFailover = "max-failover",
        /// `success-ratio`: enough requests succeed in a window.
        SuccessRatio = "success-ratio",
        /// `in-table`: a real server is (or is not) in the master's table.
        InTable = "in-table",
        /// `single-master`: never two masters.
        SingleMaster = "single-master",
        /// `state`: an instance's state at a time.
        State = "state",
        /// `priority`: an instance's effective priority at a time.
        Priority = "priority",
        /// `notify`: a notify script called within a window.
        Notify = "notify",
    }
}

words! {
    /// `mode = "…"` of an `rs` action.
    ModeWord {
        /// `ok`: serves its page.
        Ok = "ok",
        /// `hang`: accepts and never answers.
        Hang = "hang",
        /// `slow`: answers after `delay`.
        Slow = "slow",
        /// `status`: answers with another status code.
        Status = "status",
        /// `body`: answers with another page.
        Body = "body",
        /// `refuse`: refuses connections.
        Refuse = "refuse",
        /// `udp-silent`: its UDP_CHECK ports stay silent.
        UdpSilent = "udp-silent",
        /// `dns-nxdomain`: its DNS service answers NXDOMAIN.
        DnsNxdomain = "dns-nxdomain",
        /// `smtp-refuse`: its SMTP service refuses connections.
        SmtpRefuse = "smtp-refuse",
        /// `misc-exit`: MISC_CHECK scripts about it exit with `exit`.
        MiscExit = "misc-exit",
    }
}

/// `unknown WHAT "word"` with the nearest known word, or the list of
/// known words when none is near.
pub fn unknown(
    what: &str,
    word: &str,
    known: impl Iterator<Item = &'static str> + Clone,
) -> String {
    match vigil_core::config::did_you_mean(word, known.clone()) {
        Some(s) => format!("unknown {what} {word:?}; did you mean {s:?}?"),
        None => format!(
            "unknown {what} {word:?} (known: {})",
            known.collect::<Vec<_>>().join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_parses_to_its_own_variant() {
        for (w, v) in Verb::ALL {
            assert_eq!(Verb::parse(w), Some(*v));
        }
        for (w, v) in CheckWord::ALL {
            assert_eq!(CheckWord::parse(w), Some(*v));
        }
        for (w, v) in ModeWord::ALL {
            assert_eq!(ModeWord::parse(w), Some(*v));
        }
        assert_eq!(Verb::parse("reload"), Some(Verb::Reload));
    }

    #[test]
    fn unknown_words_get_the_nearest_or_the_list() {
        assert_eq!(
            unknown("action", "relaod", Verb::words()),
            "unknown action \"relaod\"; did you mean \"reload\"?"
        );
        assert_eq!(
            unknown("mode", "xyzzy", ModeWord::words()),
            "unknown mode \"xyzzy\" (known: ok, hang, slow, status, body, refuse, udp-silent, dns-nxdomain, smtp-refuse, misc-exit)"
        );
    }
}
