//! Reading typed values out of statements, with keepalived's syntax
//! (lib/parser.c read_unsigned, read_int, read_timer, check_true_false)
//! and a diagnostic at the value when it is wrong.

use std::net::IpAddr;
use std::time::Duration;

use super::super::diag::Diags;
use super::super::lexer::split_quoted_escaped;
use super::super::model::{Command, ScriptUser};
use super::super::parser::{Arg, Node};

/// Diagnostics plus the helpers every block builder uses.
pub(crate) struct Cx<'d> {
    pub(crate) diags: &'d mut Diags,
}

impl Cx<'_> {
    /// The `i`th argument, or an error saying the keyword needs it.
    pub(crate) fn need<'n>(&mut self, n: &'n Node, i: usize, what: &str) -> Option<&'n Arg> {
        let a = n.arg(i);
        if a.is_none() {
            self.diags
                .error(&n.span, format!("'{}' needs {what}", n.keyword));
        }
        a
    }

    /// Warns about arguments past the first `max`.
    pub(crate) fn at_most(&mut self, n: &Node, max: usize) {
        if let Some(a) = n.arg(max) {
            self.diags.warning(
                &a.span,
                format!(
                    "extra argument '{}' after '{}' is ignored",
                    a.text, n.keyword
                ),
            );
        }
    }

    /// Warns if the statement has a block it should not have (keepalived
    /// reads it as the enclosing block's lines; Vigil skips it).
    pub(crate) fn no_block(&mut self, n: &Node) {
        if n.block.is_some() {
            self.diags.warning(
                &n.span,
                format!(
                    "'{}' does not take a {{ }} block; keepalived ignores the '{{'",
                    n.keyword
                ),
            );
        }
    }

    /// The statement's block, or an error saying it needs one.
    pub(crate) fn block<'n>(&mut self, n: &'n Node) -> &'n [Node] {
        match &n.block {
            Some(b) => &b.children,
            None => {
                self.diags
                    .error(&n.span, format!("'{}' needs a {{ }} block", n.keyword));
                &[]
            }
        }
    }

    /// A single unsigned value in `min..=max`.
    pub(crate) fn uint(&mut self, n: &Node, min: u64, max: u64) -> Option<u64> {
        self.no_block(n);
        let a = self.need(n, 0, "a number")?;
        self.at_most(n, 1);
        self.uint_arg(&n.keyword, a, min, max)
    }

    /// A single unsigned value in `min..=max`; anything else is a warning
    /// and `fallback`, as keepalived reads the keywords it resets to a
    /// default (`quorum 0` runs with quorum 1).
    pub(crate) fn uint_or(&mut self, n: &Node, min: u64, max: u64, fallback: u64) -> u64 {
        self.no_block(n);
        let Some(a) = self.need(n, 0, "a number") else {
            return fallback;
        };
        self.at_most(n, 1);
        match parse_uint(&a.text) {
            Some(v) if (min..=max).contains(&v) => v,
            _ => {
                self.diags.warning(
                    &a.span,
                    format!(
                        "{} '{}' must be in {min}..{max}; keepalived uses {fallback}",
                        n.keyword, a.text
                    ),
                );
                fallback
            }
        }
    }

    /// An unsigned argument in `min..=max`.
    pub(crate) fn uint_arg(&mut self, kw: &str, a: &Arg, min: u64, max: u64) -> Option<u64> {
        match parse_uint(&a.text) {
            Some(v) if (min..=max).contains(&v) => Some(v),
            Some(_) => {
                self.diags.warning(
                    &a.span,
                    format!(
                        "{kw} '{}' is out of range (must be {min}..{max}); keepalived ignores it",
                        a.text
                    ),
                );
                None
            }
            None if a.text.trim().parse::<i64>().is_ok() => {
                self.diags.warning(
                    &a.span,
                    format!(
                        "{kw} '{}' is out of range (must be {min}..{max}); keepalived ignores it",
                        a.text
                    ),
                );
                None
            }
            None => {
                self.diags.warning(
                    &a.span,
                    format!("{kw} '{}' is not a number; keepalived ignores it", a.text),
                );
                None
            }
        }
    }

    /// A signed argument in `min..=max`.
    pub(crate) fn int_arg(&mut self, kw: &str, a: &Arg, min: i64, max: i64) -> Option<i64> {
        match a.text.trim().parse::<i64>() {
            Ok(v) if (min..=max).contains(&v) => Some(v),
            Ok(_) => {
                self.diags.warning(
                    &a.span,
                    format!(
                        "{kw} '{}' is out of range (must be {min}..{max}); keepalived ignores it",
                        a.text
                    ),
                );
                None
            }
            Err(_) => {
                self.diags.warning(
                    &a.span,
                    format!("{kw} '{}' is not a number; keepalived ignores it", a.text),
                );
                None
            }
        }
    }

    /// A duration in seconds with up to six decimals (`read_timer`), in
    /// `min..=max`.
    pub(crate) fn secs(&mut self, n: &Node, min: Duration, max: Duration) -> Option<Duration> {
        self.no_block(n);
        let a = self.need(n, 0, "a number of seconds")?;
        self.at_most(n, 1);
        self.secs_arg(&n.keyword, a, min, max)
    }

    /// A seconds argument (decimals allowed) in `min..=max`.
    pub(crate) fn secs_arg(
        &mut self,
        kw: &str,
        a: &Arg,
        min: Duration,
        max: Duration,
    ) -> Option<Duration> {
        match parse_decimal_secs(&a.text) {
            Some(d) if d >= min && d <= max => Some(d),
            Some(_) => {
                self.diags.warning(
                    &a.span,
                    format!(
                        "{kw} '{}' is out of range (must be {}..{} s); keepalived ignores it",
                        a.text,
                        fmt_secs(min),
                        fmt_secs(max)
                    ),
                );
                None
            }
            None => {
                self.diags.warning(
                    &a.span,
                    format!(
                        "{kw} '{}' is not a number of seconds; keepalived ignores it",
                        a.text
                    ),
                );
                None
            }
        }
    }

    /// Whole seconds in `min..=max`.
    pub(crate) fn whole_secs(&mut self, n: &Node, min: u64, max: u64) -> Option<Duration> {
        self.uint(n, min, max).map(Duration::from_secs)
    }

    /// A flag keyword with an optional `true|on|yes|false|off|no`.
    pub(crate) fn flag(&mut self, n: &Node) -> Option<bool> {
        self.no_block(n);
        self.at_most(n, 1);
        match n.arg(0) {
            None => Some(true),
            Some(a) => match a.text.as_str() {
                "true" | "on" | "yes" => Some(true),
                "false" | "off" | "no" => Some(false),
                _ => {
                    self.diags.warning(
                        &a.span,
                        format!(
                            "{} '{}' must be true/on/yes or false/off/no; keepalived ignores it",
                            n.keyword, a.text
                        ),
                    );
                    None
                }
            },
        }
    }

    /// A flag keyword that takes no value at all.
    pub(crate) fn bare(&mut self, n: &Node) {
        self.no_block(n);
        self.at_most(n, 0);
    }

    /// A single word value.
    pub(crate) fn word(&mut self, n: &Node, what: &str) -> Option<String> {
        self.no_block(n);
        let a = self.need(n, 0, what)?;
        self.at_most(n, 1);
        Some(a.text.clone())
    }

    /// An IP address argument.
    pub(crate) fn ip_arg(&mut self, kw: &str, a: &Arg) -> Option<IpAddr> {
        match parse_ip(&a.text) {
            Some(ip) => Some(ip),
            None => {
                self.diags.warning(
                    &a.span,
                    format!(
                        "{kw}: '{}' is not an IP address; keepalived skips it",
                        a.text
                    ),
                );
                None
            }
        }
    }

    /// A single IP address value.
    pub(crate) fn ip(&mut self, n: &Node) -> Option<IpAddr> {
        self.no_block(n);
        let a = self.need(n, 0, "an IP address")?;
        self.at_most(n, 1);
        self.ip_arg(&n.keyword, a)
    }

    /// A port argument (1..65535, or 0 when `zero_ok`).
    pub(crate) fn port_arg(&mut self, kw: &str, a: &Arg, zero_ok: bool) -> Option<u16> {
        self.uint_arg(kw, a, u64::from(!zero_ok), 65535)
            .map(|v| v as u16)
    }

    /// A script command line (`notify_*`, `script`, `misc_path`,
    /// `quorum_up`...): the first value, split keepalived's way; with
    /// `user_after`, words after it are the user and group.
    pub(crate) fn command(&mut self, n: &Node, user_after: bool) -> Option<Command> {
        self.no_block(n);
        let words = match split_quoted_escaped(&n.raw_args) {
            Ok(w) => w,
            Err(e) => {
                self.diags.error(&n.span, format!("{}: {e}", n.keyword));
                return None;
            }
        };
        let Some(first) = words.first() else {
            self.diags
                .error(&n.span, format!("'{}' needs a command", n.keyword));
            return None;
        };
        let args = match split_quoted_escaped(first) {
            Ok(a) if !a.is_empty() => a,
            Ok(_) => {
                self.diags
                    .error(&n.span, format!("'{}' needs a command", n.keyword));
                return None;
            }
            Err(e) => {
                self.diags.error(&n.span, format!("{}: {e}", n.keyword));
                return None;
            }
        };
        let user = if user_after && words.len() > 1 {
            if words.len() > 3 {
                self.diags.warning(
                    &n.span,
                    format!(
                        "{}: words after the user and group are ignored (quote the whole command: \"{} ...\")",
                        n.keyword, args[0]
                    ),
                );
            }
            Some(ScriptUser {
                user: words[1].clone(),
                group: words.get(2).cloned(),
            })
        } else {
            if words.len() > 1 {
                self.diags.warning(
                    &n.span,
                    format!(
                        "{}: only the first word is the command; quote it to pass arguments",
                        n.keyword
                    ),
                );
            }
            None
        };
        Some(Command { args, user })
    }
}

/// Decimal unsigned (keepalived's strtoul base 10, whole string).
pub(crate) fn parse_uint(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `N[.DDDDDD]` seconds, exactly (no float rounding); at most six
/// decimals.
pub(crate) fn parse_decimal_secs(s: &str) -> Option<Duration> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 6
    {
        return None;
    }
    let secs: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut micros: u32 = 0;
    for (i, b) in frac.bytes().enumerate() {
        micros += u32::from(b - b'0') * 10u32.pow(5 - i as u32);
    }
    if secs > u64::from(u32::MAX) {
        return None;
    }
    Some(Duration::from_secs(secs) + Duration::from_micros(u64::from(micros)))
}

/// Seconds as keepalived.conf writes them: `3`, `0.5`, `1.25`.
pub(crate) fn fmt_secs(d: Duration) -> String {
    let micros = d.subsec_micros();
    if micros == 0 {
        format!("{}", d.as_secs())
    } else {
        let s = format!("{}.{:06}", d.as_secs(), micros);
        s.trim_end_matches('0').to_string()
    }
}

/// An IPv4 or IPv6 address (an IPv6 zone `%if` is not accepted).
pub(crate) fn parse_ip(s: &str) -> Option<IpAddr> {
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_seconds() {
        assert_eq!(parse_decimal_secs("1"), Some(Duration::from_secs(1)));
        assert_eq!(parse_decimal_secs("0.01"), Some(Duration::from_millis(10)));
        assert_eq!(
            parse_decimal_secs("40.95"),
            Some(Duration::from_millis(40950))
        );
        assert_eq!(parse_decimal_secs(".5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_decimal_secs("1.0000001"), None);
        assert_eq!(parse_decimal_secs("-1"), None);
        assert_eq!(parse_decimal_secs("1e3"), None);
        assert_eq!(parse_decimal_secs("."), None);
        assert_eq!(fmt_secs(Duration::from_millis(40950)), "40.95");
        assert_eq!(fmt_secs(Duration::from_secs(3)), "3");
    }

    #[test]
    fn unsigned() {
        assert_eq!(parse_uint("42"), Some(42));
        assert_eq!(parse_uint("-1"), None);
        assert_eq!(parse_uint("4x"), None);
        assert_eq!(parse_uint("99999999999999999999999"), None);
    }
}
