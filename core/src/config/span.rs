//! Where a piece of configuration was written: file, line, column.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// A place in a configuration file: the file's path as the parser was
/// given it, a 1-based line and a 1-based column (in characters).
///
/// Spans are locations, not content: every span compares equal to every
/// other span (and hashes to nothing), so that two configurations compare
/// by what they say, not by where they said it.
#[derive(Clone, Debug, Default)]
pub struct Span {
    /// The file, as named by the include that read it (or the top path).
    pub file: Arc<str>,
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, counted in characters (a tab is one).
    pub col: u32,
}

impl Span {
    /// A span at `line`:`col` of `file`.
    pub fn new(file: Arc<str>, line: u32, col: u32) -> Span {
        Span { file, line, col }
    }
}

impl PartialEq for Span {
    fn eq(&self, _other: &Span) -> bool {
        true
    }
}

impl Eq for Span {}

impl Hash for Span {
    fn hash<H: Hasher>(&self, _state: &mut H) {}
}

impl fmt::Display for Span {
    /// `FILE:LINE:COL`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}
