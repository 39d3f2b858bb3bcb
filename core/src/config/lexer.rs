//! Lexing one line as keepalived does (lib/parser.c): comments start at
//! an unquoted `#` or `!` anywhere on the line (`\#`, `\!` escape them),
//! words are split on blanks, `"..."` is one word, `{` and `}` are tokens
//! of their own even without blanks around them.

use std::sync::Arc;

use super::span::Span;

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// A bare word.
    Word,
    /// A `"..."` string (text without the quotes).
    Quoted,
    /// `{`.
    Open,
    /// `}`.
    Close,
}

/// One token of a line.
#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    pub(crate) text: String,
    pub(crate) span: Span,
    /// Byte offset in the line's text just past the token.
    pub(crate) end: usize,
}

/// One logical line: its decommented text and its tokens.
#[derive(Clone, Debug)]
pub(crate) struct Line {
    pub(crate) text: String,
    pub(crate) tokens: Vec<Token>,
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | '\x0b' | '\x0c')
}

/// Removes the comment from `line` (keepalived's `decomment`): returns
/// the text up to the first unquoted `#`/`!` with trailing blanks
/// removed, and whether a `"` was left open.
pub(crate) fn decomment(line: &str) -> (String, bool) {
    let mut out = String::with_capacity(line.len());
    let mut quote = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quote = !quote;
                out.push(c);
            }
            '\\' => match chars.peek() {
                Some(&n @ ('#' | '!')) if !quote => {
                    chars.next();
                    out.push(n);
                }
                Some(&n) => {
                    chars.next();
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            },
            '#' | '!' if !quote => break,
            c => out.push(c),
        }
    }
    let trimmed = out.trim_end_matches(is_blank).len();
    out.truncate(trimmed);
    (out, quote)
}

/// Splits a decommented line into tokens; `on_error` gets the span and
/// message of an unterminated quote.
pub(crate) fn tokenize(
    text: &str,
    file: &Arc<str>,
    line: u32,
    mut on_error: impl FnMut(Span, String),
) -> Vec<Token> {
    let mut tokens = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    let span_at = |idx: usize| Span::new(file.clone(), line, idx as u32 + 1);
    while i < chars.len() {
        let (start, c) = chars[i];
        if is_blank(c) {
            i += 1;
            continue;
        }
        let col = i;
        match c {
            '{' | '}' => {
                tokens.push(Token {
                    kind: if c == '{' {
                        TokenKind::Open
                    } else {
                        TokenKind::Close
                    },
                    text: c.to_string(),
                    span: span_at(col),
                    end: start + 1,
                });
                i += 1;
            }
            '"' => {
                let mut j = i + 1;
                while j < chars.len() && chars[j].1 != '"' {
                    j += 1;
                }
                let body_start = start + 1;
                let (body_end, end) = if j < chars.len() {
                    (chars[j].0, chars[j].0 + 1)
                } else {
                    on_error(
                        span_at(col),
                        "unterminated quoted string (missing '\"')".to_string(),
                    );
                    (text.len(), text.len())
                };
                tokens.push(Token {
                    kind: TokenKind::Quoted,
                    text: text[body_start..body_end].to_string(),
                    span: span_at(col),
                    end,
                });
                i = j + 1;
            }
            _ => {
                let mut j = i;
                while j < chars.len()
                    && !is_blank(chars[j].1)
                    && !matches!(chars[j].1, '"' | '{' | '}')
                {
                    j += 1;
                }
                let end = if j < chars.len() {
                    chars[j].0
                } else {
                    text.len()
                };
                tokens.push(Token {
                    kind: TokenKind::Word,
                    text: text[start..end].to_string(),
                    span: span_at(col),
                    end,
                });
                i = j;
            }
        }
    }
    tokens
}

/// Splits `s` the way keepalived's `alloc_strvec_quoted_escaped` does for
/// script command lines: blanks separate words, `'...'` and `"..."`
/// group, and `\` escapes (`\n`, `\t`, `\xHH`, `\NNN` octal, `\cX`, any
/// other char literally). Returns an error message on an unterminated
/// quote or a trailing backslash.
pub(crate) fn split_quoted_escaped(s: &str) -> Result<Vec<String>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut words = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        while i < chars.len() && is_blank(chars[i]) {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while i < chars.len() {
            let c = chars[i];
            match (quote, c) {
                (_, '\\') => {
                    i += 1;
                    let Some(&e) = chars.get(i) else {
                        return Err("missing escaped character after '\\' at end".to_string());
                    };
                    match e {
                        'x' if chars.get(i + 1).is_some_and(|c| c.is_ascii_hexdigit()) => {
                            let mut v: u32 = 0;
                            i += 1;
                            while let Some(d) = chars.get(i).and_then(|c| c.to_digit(16)) {
                                v = (v << 4 | d) & 0xff;
                                i += 1;
                            }
                            word.push(char::from(v as u8));
                        }
                        'c' if i + 1 < chars.len() => {
                            word.push(char::from(chars[i + 1] as u8 & 0x1f));
                            i += 2;
                        }
                        '0'..='7' => {
                            let mut v: u32 = 0;
                            let mut n = 0;
                            while n < 3 && chars.get(i).is_some_and(|c| ('0'..='7').contains(c)) {
                                v = (v << 3) + chars[i].to_digit(8).unwrap_or(0);
                                i += 1;
                                n += 1;
                            }
                            word.push(char::from((v & 0xff) as u8));
                        }
                        e => {
                            word.push(match e {
                                'a' => '\x07',
                                'b' => '\x08',
                                'E' => '\x1b',
                                'f' => '\x0c',
                                'n' => '\n',
                                'r' => '\r',
                                't' => '\t',
                                'v' => '\x0b',
                                other => other,
                            });
                            i += 1;
                        }
                    }
                }
                (Some(q), c) if c == q => {
                    quote = None;
                    i += 1;
                }
                (Some(_), c) => {
                    word.push(c);
                    i += 1;
                }
                (None, '"' | '\'') => {
                    quote = Some(c);
                    i += 1;
                }
                (None, c) if is_blank(c) => break,
                (None, c) => {
                    word.push(c);
                    i += 1;
                }
            }
        }
        if let Some(q) = quote {
            return Err(format!("missing terminating {q}"));
        }
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        let f: Arc<str> = "t".into();
        tokenize(&decomment(s).0, &f, 1, |_, _| {})
            .into_iter()
            .map(|t| t.text)
            .collect()
    }

    #[test]
    fn comments_anywhere() {
        assert_eq!(
            toks("priority 100 #主节点的优先级"),
            vec!["priority", "100"]
        );
        assert_eq!(toks("state MASTER ! note"), vec!["state", "MASTER"]);
        assert_eq!(toks("# whole line"), Vec::<String>::new());
        assert_eq!(toks("auth_pass a\\#b"), vec!["auth_pass", "a#b"]);
        assert_eq!(toks("script \"a # b\" # c"), vec!["script", "a # b"]);
    }

    #[test]
    fn braces_are_tokens() {
        assert_eq!(
            toks("authentication{auth_type PASS}"),
            vec!["authentication", "{", "auth_type", "PASS", "}"]
        );
        assert_eq!(
            toks("\tvirtual_ipaddress {\r"),
            vec!["virtual_ipaddress", "{"]
        );
        assert_eq!(toks("x \"{\""), vec!["x", "{"]);
    }

    #[test]
    fn columns() {
        let f: Arc<str> = "t".into();
        let t = tokenize("\tpriority  100", &f, 4, |_, _| {});
        assert_eq!(t[0].span.to_string(), "t:4:2");
        assert_eq!(t[1].span.to_string(), "t:4:12");
    }

    #[test]
    fn unterminated_quote() {
        let f: Arc<str> = "t".into();
        let mut errs = Vec::new();
        let t = tokenize("x \"abc", &f, 1, |s, m| errs.push(format!("{s}: {m}")));
        assert_eq!(t[1].text, "abc");
        assert_eq!(errs.len(), 1);
    }

    #[test]
    fn quoted_escaped() {
        assert_eq!(
            split_quoted_escaped("/bin/x 'a b' \"c d\" e\\ f").unwrap(),
            vec!["/bin/x", "a b", "c d", "e f"]
        );
        assert_eq!(split_quoted_escaped("'it\\'s'").unwrap(), vec!["it's"]);
        assert_eq!(split_quoted_escaped("a\\tb").unwrap(), vec!["a\tb"]);
        assert_eq!(split_quoted_escaped("\\001").unwrap(), vec!["\u{1}"]);
        assert!(split_quoted_escaped("'open").is_err());
        assert!(split_quoted_escaped("x\\").is_err());
    }
}
