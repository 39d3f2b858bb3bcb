//! The generic block tree: statements (`keyword args...`) and their
//! `{ ... }` blocks, whatever the keywords mean. A statement ends at the
//! end of its line or at a brace; its block opens with a `{` on the same
//! line or as the next token.

use super::diag::Diags;
use super::lexer::{Line, Token, TokenKind};
use super::span::Span;

/// One argument of a statement.
#[derive(Clone, Debug)]
pub(crate) struct Arg {
    pub(crate) text: String,
    pub(crate) span: Span,
}

/// One statement and its block, if any.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub(crate) keyword: String,
    pub(crate) span: Span,
    pub(crate) args: Vec<Arg>,
    /// The statement's text after the keyword, as written (after comment
    /// removal): script keywords split it their own way.
    pub(crate) raw_args: String,
    pub(crate) block: Option<Block>,
}

/// A `{ ... }` block.
#[derive(Clone, Debug)]
pub(crate) struct Block {
    pub(crate) children: Vec<Node>,
}

impl Node {
    /// The argument texts.
    pub(crate) fn arg(&self, i: usize) -> Option<&Arg> {
        self.args.get(i)
    }
}

struct Tok<'a> {
    tok: &'a Token,
    line: usize,
}

/// Builds the tree of the whole token stream.
pub(crate) fn parse(lines: &[Line], diags: &mut Diags) -> Vec<Node> {
    let toks: Vec<Tok<'_>> = lines
        .iter()
        .enumerate()
        .flat_map(|(i, l)| l.tokens.iter().map(move |t| Tok { tok: t, line: i }))
        .collect();
    let mut p = Parser {
        lines,
        toks,
        pos: 0,
    };
    let mut top = Vec::new();
    loop {
        p.block_body(&mut top, diags);
        match p.peek() {
            None => break,
            Some(t) => {
                // A `}` at top level.
                diags.warning(
                    &t.tok.span,
                    "unexpected '}' with no open block; keepalived ignores it",
                );
                p.pos += 1;
            }
        }
    }
    top
}

struct Parser<'a> {
    lines: &'a [Line],
    toks: Vec<Tok<'a>>,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&Tok<'a>> {
        self.toks.get(self.pos)
    }

    /// Reads statements until a `}` (not consumed) or the end.
    fn block_body(&mut self, out: &mut Vec<Node>, diags: &mut Diags) {
        while let Some(t) = self.peek() {
            match t.tok.kind {
                TokenKind::Close => return,
                TokenKind::Open => {
                    let span = t.tok.span.clone();
                    diags.warning(
                        &span,
                        "unexpected '{' without a keyword before it; keepalived skips the block",
                    );
                    self.pos += 1;
                    let mut skipped = Vec::new();
                    self.block_body(&mut skipped, diags);
                    self.close(&span, diags);
                }
                TokenKind::Word | TokenKind::Quoted => {
                    let node = self.statement(diags);
                    out.push(node);
                }
            }
        }
    }

    /// Consumes the `}` closing a block opened at `open`.
    fn close(&mut self, open: &Span, diags: &mut Diags) {
        match self.peek() {
            Some(t) if t.tok.kind == TokenKind::Close => self.pos += 1,
            _ => diags.warning(
                open,
                "this '{' is never closed (missing '}'); keepalived closes it at the end of the file",
            ),
        }
    }

    fn statement(&mut self, diags: &mut Diags) -> Node {
        let first = &self.toks[self.pos];
        let line_idx = first.line;
        let kw = first.tok;
        self.pos += 1;
        let mut args = Vec::new();
        let mut last_end = kw.end;
        while let Some(t) = self.peek() {
            if t.line != line_idx || matches!(t.tok.kind, TokenKind::Open | TokenKind::Close) {
                break;
            }
            args.push(Arg {
                text: t.tok.text.clone(),
                span: t.tok.span.clone(),
            });
            last_end = t.tok.end;
            self.pos += 1;
        }
        let text = &self.lines[line_idx].text;
        let raw_args = text.get(kw.end..last_end).unwrap_or("").trim().to_string();
        let mut node = Node {
            keyword: kw.text.clone(),
            span: kw.span.clone(),
            args,
            raw_args,
            block: None,
        };
        if let Some(t) = self.peek()
            && t.tok.kind == TokenKind::Open
        {
            let open = t.tok.span.clone();
            self.pos += 1;
            let mut children = Vec::new();
            self.block_body(&mut children, diags);
            self.close(&open, diags);
            node.block = Some(Block { children });
        }
        node
    }
}

#[cfg(test)]
mod tests {
    use super::super::include::load;
    use super::super::source::MemorySource;
    use super::*;

    fn tree(text: &str) -> (String, Vec<String>) {
        let src = MemorySource::new().with("k.conf", text);
        let mut diags = Diags::default();
        let lines = load(&src, "k.conf", None, &mut diags);
        let nodes = parse(&lines, &mut diags);
        fn show(n: &[Node], out: &mut String) {
            for n in n {
                out.push_str(&n.keyword);
                for a in &n.args {
                    out.push(' ');
                    out.push_str(&a.text);
                }
                if let Some(b) = &n.block {
                    out.push('{');
                    show(&b.children, out);
                    out.push('}');
                }
                out.push(';');
            }
        }
        let mut s = String::new();
        show(&nodes, &mut s);
        (s, diags.list.iter().map(|d| d.to_string()).collect())
    }

    #[test]
    fn brace_placements() {
        assert_eq!(tree("a {\nb 1\n}\n").0, "a{b 1;};");
        assert_eq!(tree("a\n{\nb 1\n}\n").0, "a{b 1;};");
        assert_eq!(tree("a { b 1 }\nc 2").0, "a{b 1;};c 2;");
        assert_eq!(
            tree("a {\r\n\tb {\r\n1.2.3.4\r\n}\r\n}\r\n").0,
            "a{b{1.2.3.4;};};"
        );
        assert_eq!(tree("a { b { c } }").0, "a{b{c;};};");
    }

    #[test]
    fn unbalanced() {
        let (_, d) = tree("a {\nb 1\n");
        assert_eq!(
            d,
            vec![
                "k.conf:1:3: warning: this '{' is never closed (missing '}'); keepalived closes it at the end of the file"
            ]
        );
        let (_, d) = tree("a 1\n}\n");
        assert_eq!(
            d,
            vec!["k.conf:2:1: warning: unexpected '}' with no open block; keepalived ignores it"]
        );
    }
}
