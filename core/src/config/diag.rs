//! Diagnostics: `FILE:LINE:COL: error|warning: message`, and "did you
//! mean" suggestions by edit distance.

use std::fmt;

use super::span::Span;

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The config still runs (something is ignored, defaulted or not
    /// acted on by Vigil).
    Warning,
    /// The config cannot run as written.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One message about one place of the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Where.
    pub span: Span,
    /// What, in one line.
    pub message: String,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(span: &Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            span: span.clone(),
            message: message.into(),
        }
    }

    /// A warning at `span`.
    pub fn warning(span: &Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            span: span.clone(),
            message: message.into(),
        }
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// `FILE:LINE:COL: error: message`, control characters of the config's
    /// text (which a message may quote) written as `\u{..}` escapes, never
    /// raw to a terminal.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: ", self.span, self.severity)?;
        for c in self.message.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_unicode())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// Collects diagnostics during one parse.
#[derive(Debug, Default)]
pub(crate) struct Diags {
    pub(crate) list: Vec<Diagnostic>,
}

impl Diags {
    pub(crate) fn error(&mut self, span: &Span, message: impl Into<String>) {
        self.list.push(Diagnostic::error(span, message));
    }

    pub(crate) fn warning(&mut self, span: &Span, message: impl Into<String>) {
        self.list.push(Diagnostic::warning(span, message));
    }
}

/// Edit distance between two strings, by characters: insertions,
/// deletions, substitutions and transpositions of neighbours each count
/// one (optimal string alignment).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

/// The candidate closest to `word`, if it is close enough to be a likely
/// misspelling (distance at most a third of the word's length, at least
/// 1, or equal ignoring case).
pub fn did_you_mean<'a, I: IntoIterator<Item = &'a str>>(
    word: &str,
    candidates: I,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    let lower = word.to_ascii_lowercase();
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        let d = if c.to_ascii_lowercase() == lower {
            0
        } else {
            edit_distance(word, c)
        };
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("priority", "priority"), 0);
        assert_eq!(edit_distance("lable", "label"), 1);
    }

    #[test]
    fn suggestions() {
        let kws = ["priority", "advert_int", "virtual_router_id"];
        assert_eq!(did_you_mean("priorty", kws), Some("priority"));
        assert_eq!(did_you_mean("advert_interval", kws), Some("advert_int"));
        assert_eq!(did_you_mean("interface", kws), None);
        assert_eq!(did_you_mean("PRIORITY", kws), Some("priority"));
        assert_eq!(did_you_mean("xyz", kws), None);
    }

    #[test]
    fn rendering() {
        let span = Span::new("a.conf".into(), 3, 7);
        let d = Diagnostic::error(&span, "unknown keyword 'x'");
        assert_eq!(d.to_string(), "a.conf:3:7: error: unknown keyword 'x'");
    }
}
