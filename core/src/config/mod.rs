//! keepalived.conf: lexer, parser, typed configuration and diagnostics.
//!
//! [`model`] holds the typed configuration ([`Config`]) that the rest of
//! Vigil consumes; every value is typed (addresses, durations, enums),
//! keepalived's defaults and inheritance are applied, and every item
//! carries the [`Span`] of its definition.

mod diag;
pub mod model;
mod span;

pub use diag::{Diagnostic, Severity, did_you_mean, edit_distance};
pub use model::*;
pub use span::Span;
