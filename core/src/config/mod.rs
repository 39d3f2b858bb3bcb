//! keepalived.conf: lexer, parser, typed configuration and diagnostics.
//!
//! [`model`] holds the typed configuration ([`Config`]) that the rest of
//! Vigil consumes; every value is typed (addresses, durations, enums),
//! keepalived's defaults and inheritance are applied, and every item
//! carries the [`Span`] of its definition.

mod build;
mod diag;
mod dump;
mod include;
mod lexer;
pub mod model;
mod parser;
pub mod source;
mod span;
mod summary;
mod validate;

pub use diag::{Diagnostic, Severity, did_you_mean, edit_distance};
pub use dump::dump;
pub use model::*;
#[cfg(feature = "fs")]
pub use source::host_config_id;
pub use source::{MemorySource, Source};
pub use span::Span;
pub use summary::summary;

/// The result of parsing: the config (when there is no error) and every
/// diagnostic, in file order.
#[derive(Clone, Debug)]
pub struct Parsed {
    /// The typed config; None when any diagnostic is an error.
    pub config: Option<Config>,
    /// Errors and warnings, all of them, from one pass.
    pub diagnostics: Vec<Diagnostic>,
}

impl Parsed {
    /// True when some diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// How to read a configuration: what keepalived's command line says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// keepalived's `-i`/`--config-id`: lines starting `@ID ` are read only
    /// when it is `ID`, lines starting `@^ID ` only when it is not. `None`
    /// matches no id (keepalived's default is the host name up to its
    /// first dot; drivers pass it in, core reads no host facts).
    pub config_id: Option<String>,
}

/// Parses the configuration at `path` (and its includes) from `source`.
/// Never panics, whatever the bytes.
pub fn parse(source: &dyn Source, path: &str) -> Parsed {
    parse_with(source, path, &ParseOptions::default())
}

/// [`parse`] with keepalived's command-line options.
pub fn parse_with(source: &dyn Source, path: &str, opts: &ParseOptions) -> Parsed {
    let (config, mut diags) = parse_lenient_with(source, path, opts);
    diags.sort_by(|a, b| {
        (a.span.file.as_ref(), a.span.line, a.span.col).cmp(&(
            b.span.file.as_ref(),
            b.span.line,
            b.span.col,
        ))
    });
    let ok = !diags.iter().any(Diagnostic::is_error);
    Parsed {
        config: ok.then_some(config),
        diagnostics: diags,
    }
}

/// Parses keepalived.conf text held in memory, named `name` in
/// diagnostics (includes resolve against nothing and fail).
pub fn parse_str(name: &str, text: &str) -> Parsed {
    let src = MemorySource::new().with(name, text);
    parse(&src, name)
}

/// Parses and returns whatever config could be built, even with errors
/// (bad values are left at their defaults), with the diagnostics in the
/// order they were found.
pub fn parse_lenient(source: &dyn Source, path: &str) -> (Config, Vec<Diagnostic>) {
    parse_lenient_with(source, path, &ParseOptions::default())
}

/// [`parse_lenient`] with keepalived's command-line options.
pub fn parse_lenient_with(
    source: &dyn Source,
    path: &str,
    opts: &ParseOptions,
) -> (Config, Vec<Diagnostic>) {
    let mut diags = diag::Diags::default();
    let lines = include::load(source, path, opts.config_id.as_deref(), &mut diags);
    let nodes = parser::parse(&lines, &mut diags);
    let mut config = build::build(&nodes, &mut diags);
    validate::validate(&mut config, &mut diags);
    (config, diags.list)
}
