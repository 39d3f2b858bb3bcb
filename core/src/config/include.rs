//! Reading the configuration files: `include` with globs (relative to the
//! including file), `$NAME=value` definitions and their `$NAME` /
//! `${NAME}` substitution, `@ID` line prefixes, CRLF line ends; the
//! result is the stream of logical lines the parser reads.

use std::sync::Arc;

use super::diag::Diags;
use super::lexer::{Line, decomment, tokenize};
use super::source::{Source, has_wildcards, normalize, resolve};
use super::span::Span;

/// Deepest include nesting accepted.
const MAX_DEPTH: usize = 32;
/// Most substitution rounds on one line (definitions may use others).
const MAX_SUBST_ROUNDS: usize = 16;
/// Longest line substitution may produce.
const MAX_LINE: usize = 64 * 1024;

struct Loader<'a> {
    source: &'a dyn Source,
    config_id: Option<&'a str>,
    defs: Vec<(String, String)>,
    stack: Vec<String>,
    lines: Vec<Line>,
}

/// Reads `path` and everything it includes into logical lines.
pub(crate) fn load(
    source: &dyn Source,
    path: &str,
    config_id: Option<&str>,
    diags: &mut Diags,
) -> Vec<Line> {
    let mut l = Loader {
        source,
        config_id,
        defs: Vec::new(),
        stack: Vec::new(),
        lines: Vec::new(),
    };
    let top = normalize(path);
    match source.read(&top) {
        Ok(bytes) => l.file(&top, &bytes, diags),
        Err(e) => diags.error(
            &Span::new(top.as_str().into(), 1, 1),
            format!("cannot read configuration file '{top}': {e}"),
        ),
    }
    l.lines
}

impl Loader<'_> {
    fn file(&mut self, path: &str, bytes: &[u8], diags: &mut Diags) {
        let name: Arc<str> = path.into();
        self.stack.push(path.to_string());
        if let Err(e) = std::str::from_utf8(bytes) {
            let at = e.valid_up_to();
            let line = bytes[..at].iter().filter(|b| **b == b'\n').count() + 1;
            let col = at
                - bytes[..at]
                    .iter()
                    .rposition(|b| *b == b'\n')
                    .map_or(0, |p| p + 1)
                + 1;
            diags.warning(
                &Span::new(
                    name.clone(),
                    u32::try_from(line).unwrap_or(u32::MAX),
                    u32::try_from(col).unwrap_or(u32::MAX),
                ),
                format!(
                    "'{path}' is not UTF-8 text (byte {at}); its invalid bytes are read as U+FFFD"
                ),
            );
        }
        let before = self.lines.len();
        let text = String::from_utf8_lossy(bytes);
        for (idx, raw) in text.split('\n').enumerate() {
            let lineno = u32::try_from(idx + 1).unwrap_or(u32::MAX);
            let raw = raw.trim_end_matches('\r');
            self.line(&name, lineno, raw, diags);
        }
        if self.stack.len() == 1 && self.lines.len() == before {
            diags.warning(
                &Span::new(name.clone(), 1, 1),
                format!("'{path}' has no configuration; keepalived runs with nothing to do"),
            );
        }
        self.stack.pop();
    }

    fn line(&mut self, file: &Arc<str>, lineno: u32, raw: &str, diags: &mut Diags) {
        let (mut text, _open_quote) = decomment(raw);
        let lead = |t: &str| t.len() - t.trim_start().len();
        let span_at = |t: &str| {
            let col = t[..lead(t)].chars().count() as u32 + 1;
            Span::new(file.clone(), lineno, col)
        };
        if text.trim().is_empty() {
            return;
        }
        // `@ID line` is read only by the keepalived started with
        // `-i ID`, `@^ID line` by every other (lib/parser.c read_line); a
        // line with nothing after the id is dropped.
        let trimmed = text.trim_start();
        if let Some(rest) = trimmed.strip_prefix('@') {
            let (rev, rest) = match rest.strip_prefix('^') {
                Some(r) => (true, r),
                None => (false, rest),
            };
            let Some(i) = rest.find([' ', '\t']) else {
                return;
            };
            if (self.config_id == Some(&rest[..i])) == rev {
                return;
            }
            // Blank the prefix out, so that columns stay where they were.
            let prefix = text.len() - rest.len() + i;
            let blanks = " ".repeat(text[..prefix].chars().count());
            text = blanks + &rest[i..];
        }
        let trimmed = text.trim_start();
        if trimmed.starts_with('$')
            && let Some((name, value)) = definition(trimmed)
        {
            if value.ends_with('\\') {
                diags.error(
                    &span_at(&text),
                    format!("multi-line definition ${name} is not supported by Vigil"),
                );
                return;
            }
            match self.defs.iter_mut().find(|(n, _)| *n == name) {
                Some(d) => d.1 = value,
                None => self.defs.push((name, value)),
            }
            return;
        }
        if trimmed.starts_with("~SEQ") || trimmed.starts_with("~LST") {
            diags.error(
                &span_at(&text),
                format!("{} is not supported by Vigil", &trimmed[..4]),
            );
            return;
        }
        if !self.defs.is_empty() && text.contains('$') {
            for _ in 0..MAX_SUBST_ROUNDS {
                match substitute(&text, &self.defs) {
                    Some(t) if t.len() <= MAX_LINE => text = decomment(&t).0,
                    Some(_) => {
                        diags.error(&span_at(&text), "line too long after $ substitution");
                        return;
                    }
                    None => break,
                }
            }
        }
        if let Some(pattern) = include_target(text.trim_start()) {
            let span = span_at(&text);
            self.include(file, &span, pattern.trim(), diags);
            return;
        }
        let tokens = tokenize(&text, file, lineno, |span, msg| diags.error(&span, msg));
        if !tokens.is_empty() {
            self.lines.push(Line { text, tokens });
        }
    }

    fn include(&mut self, file: &Arc<str>, span: &Span, pattern: &str, diags: &mut Diags) {
        if pattern.is_empty() {
            diags.error(span, "include needs a file name");
            return;
        }
        let pattern = pattern.trim_matches('"');
        let target = resolve(file, pattern);
        if self.stack.len() >= MAX_DEPTH {
            diags.error(
                span,
                format!("includes nested deeper than {MAX_DEPTH} at '{target}'"),
            );
            return;
        }
        let paths = if has_wildcards(&target) {
            match self.source.glob(&target) {
                Ok(p) if p.is_empty() => {
                    diags.warning(span, format!("include '{pattern}' matched no file"));
                    return;
                }
                Ok(p) => p,
                Err(e) => {
                    diags.error(span, format!("cannot expand include '{pattern}': {e}"));
                    return;
                }
            }
        } else {
            vec![target]
        };
        for p in paths {
            if self.stack.contains(&p) {
                diags.error(span, format!("include cycle: '{p}' includes itself"));
                continue;
            }
            match self.source.read(&p) {
                Ok(bytes) => self.file(&p, &bytes, diags),
                Err(e) => diags.error(span, format!("cannot read included file '{p}': {e}")),
            }
        }
    }
}

/// `include[rmwba] PATH`: the PATH part.
fn include_target(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("include")?;
    let mut chars = rest.chars();
    match chars.next() {
        Some(' ' | '\t') => Some(rest.trim_start()),
        Some('r' | 'm' | 'w' | 'b' | 'a') if matches!(chars.next(), Some(' ' | '\t')) => {
            Some(rest[1..].trim_start())
        }
        _ => None,
    }
}

/// `$NAME=value` (blanks allowed before `=`): the name and the value with
/// leading blanks removed.
fn definition(line: &str) -> Option<(String, String)> {
    let body = line.strip_prefix('$')?;
    let mut chars = body.char_indices();
    let (_, first) = chars.next()?;
    if !(first.is_ascii_alphabetic() || first == '_') {
        return None;
    }
    let end = body
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
        .map_or(body.len(), |(i, _)| i);
    let name = &body[..end];
    let rest = body[end..].trim_start_matches([' ', '\t']);
    let value = rest.strip_prefix('=')?;
    Some((
        name.to_string(),
        value.trim_start_matches([' ', '\t']).to_string(),
    ))
}

/// Replaces defined `$NAME` (followed by a blank, `,`, `)` or the end)
/// and `${NAME}`; None when nothing was replaced (lib/parser.c
/// replace_param).
fn substitute(text: &str, defs: &[(String, String)]) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (braced, body) = match after.strip_prefix('{') {
            Some(b) => (true, b),
            None => (false, after),
        };
        let len = body
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
            .map_or(body.len(), |(i, _)| i);
        let name = &body[..len];
        let starts_ok = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        let next = body[len..].chars().next();
        let end_ok = if braced {
            next == Some('}')
        } else {
            matches!(next, None | Some(' ' | '\t' | ',' | ')'))
        };
        let def = defs.iter().find(|(n, _)| n == name);
        match def {
            Some((_, value)) if starts_ok && end_ok => {
                out.push_str(value);
                changed = true;
                rest = &body[len + usize::from(braced)..];
            }
            _ => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions() {
        assert_eq!(
            definition("$VIP=1.2.3.4"),
            Some(("VIP".into(), "1.2.3.4".into()))
        );
        assert_eq!(definition("$_A1 = x y"), Some(("_A1".into(), "x y".into())));
        assert_eq!(definition("$1=x"), None);
        assert_eq!(definition("$A x"), None);
    }

    #[test]
    fn substitution() {
        let defs = vec![
            ("VIP".to_string(), "10.0.0.1".to_string()),
            ("P".to_string(), "80".to_string()),
        ];
        assert_eq!(
            substitute("virtual_server $VIP $P", &defs).unwrap(),
            "virtual_server 10.0.0.1 80"
        );
        assert_eq!(substitute("x ${VIP}/24", &defs).unwrap(), "x 10.0.0.1/24");
        assert_eq!(substitute("x $VIPX", &defs), None);
        assert_eq!(substitute("x $UNDEF", &defs), None);
        assert_eq!(substitute("$", &defs), None);
    }

    #[test]
    fn include_forms() {
        assert_eq!(include_target("include a.conf"), Some("a.conf"));
        assert_eq!(include_target("includew  b/*.conf"), Some("b/*.conf"));
        assert_eq!(include_target("included x"), None);
        assert_eq!(include_target("include"), None);
    }

    /// keepalived's `@ID` / `@^ID` lines (lib/parser.c read_line): kept or
    /// dropped by the config id, the prefix blanked so columns hold.
    #[test]
    fn config_id_lines() {
        use crate::config::MemorySource;
        let text = "@lb1 a 1\n@^lb1 b 2\n  @lb2 c 3\n@^lb2 d 4\n@lb1\n@^x\n";
        let src = MemorySource::new().with("k.conf", text);
        let words = |id: Option<&str>| {
            let mut diags = Diags::default();
            load(&src, "k.conf", id, &mut diags)
                .iter()
                .map(|l| {
                    let t = &l.tokens[0];
                    format!("{}@{}", t.text, t.span.col)
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(words(Some("lb1")), ["a@6", "d@7"]);
        assert_eq!(words(Some("lb2")), ["b@7", "c@8"]);
        assert_eq!(words(None), ["b@7", "d@7"]);
    }

    /// An empty file and one that is not UTF-8 are warnings; control
    /// characters quoted in a message are escaped, never echoed raw.
    #[test]
    fn empty_and_binary_files() {
        use crate::config::{MemorySource, parse};
        let src = MemorySource::new()
            .with("empty.conf", "# only a comment\n")
            .with("bin.conf", &b"vrrp_instance \x1b[31mx\xff {\n}\n"[..]);
        let p = parse(&src, "empty.conf");
        let d: Vec<String> = p.diagnostics.iter().map(ToString::to_string).collect();
        assert_eq!(
            d,
            [
                "empty.conf:1:1: warning: 'empty.conf' has no configuration; keepalived runs with nothing to do"
            ]
        );
        assert!(p.config.is_some());
        let p = parse(&src, "bin.conf");
        let d: Vec<String> = p.diagnostics.iter().map(ToString::to_string).collect();
        assert!(
            d.iter()
                .any(|l| l
                    .starts_with("bin.conf:1:21: warning: 'bin.conf' is not UTF-8 text (byte 20)")),
            "{d:?}"
        );
        assert!(d.iter().all(|l| !l.contains('\x1b')), "{d:?}");
        assert!(d.iter().any(|l| l.contains("\\u{1b}")), "{d:?}");
    }
}
