//! HTTP_GET / SSL_GET: status code, MD5 digest and regex over a raw
//! response, as keepalived 2.2.7 (check_http.c, lib/html.c) judges them.
//!
//! - The header ends at the first `\r\n\r\n`; without one, nothing usable
//!   came back ("no data received") and the check fails.
//! - The status is the three digits after the first space of the status
//!   line, which must be followed by a space; anything else reads as 0.
//!   It must lie in 100..=599 and in the URL's `status_code` set
//!   (default 200-299).
//! - The digest is the MD5 of the body, cut at `Content-Length` when the
//!   header gives a smaller one: what `genhash` prints.
//! - The regex runs over the response as keepalived hands it to PCRE: the
//!   first chunk it reads holds the header too, so a pattern may match
//!   there, but only when a body follows. `regex_no_match` inverts it.

use md5::{Digest, Md5};
use regex::bytes::Regex;

use super::{Failure, Verdict};
use crate::config::{StatusCodes, Url};

/// The lowest status keepalived accepts at all.
pub const STATUS_MIN: u16 = 100;
/// The highest status keepalived accepts at all.
pub const STATUS_MAX: u16 = 599;

/// What one `url` block accepts, compiled.
#[derive(Clone, Debug)]
pub struct UrlRule {
    /// Accepted status codes.
    pub status: StatusCodes,
    /// Expected MD5 of the body.
    pub digest: Option<[u8; 16]>,
    /// Regex the response must match (or, with `regex_no_match`, not);
    /// `Err` when the pattern does not compile (the check then fails).
    pub regex: Option<Result<Regex, String>>,
    /// `regex_no_match`.
    pub regex_no_match: bool,
}

impl UrlRule {
    /// Compiles a configured URL.
    pub fn new(url: &Url) -> UrlRule {
        UrlRule {
            status: url.status_codes.clone(),
            digest: url.digest,
            regex: url
                .regex
                .as_ref()
                .map(|p| Regex::new(p).map_err(|e| e.to_string())),
            regex_no_match: url.regex_no_match,
        }
    }
}

/// A response split into its parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response<'a> {
    /// Status line and headers, including the blank line.
    pub header: &'a [u8],
    /// Everything after the header.
    pub body: &'a [u8],
    /// The status code (0 when the status line is not valid).
    pub status: u16,
    /// `Content-Length`, when given and well formed.
    pub content_length: Option<usize>,
}

/// Splits a raw response at the end of its header; `None` when no
/// complete header came back.
pub fn parse(raw: &[u8]) -> Option<Response<'_>> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let header = &raw[..end];
    Some(Response {
        header,
        body: &raw[end..],
        status: status_code(header),
        content_length: content_length(header),
    })
}

/// The status code of a status line (keepalived's extract_status_code):
/// after the first space, exactly three digits followed by a space.
pub fn status_code(header: &[u8]) -> u16 {
    let Some(sp) = header.iter().position(|&b| b == b' ' || b == b'\r') else {
        return 0;
    };
    if header[sp] != b' ' {
        return 0;
    }
    let code = &header[sp + 1..];
    if code.len() <= 3 || code[3] != b' ' || !code[..3].iter().all(u8::is_ascii_digit) {
        return 0;
    }
    code[..3]
        .iter()
        .fold(0, |n, d| n * 10 + u16::from(d - b'0'))
}

/// The `Content-Length` of a header (keepalived's
/// extract_content_length: the name is case-sensitive, the number must
/// end the line).
pub fn content_length(header: &[u8]) -> Option<usize> {
    const NAME: &[u8] = b"Content-Length:";
    let at = header.windows(NAME.len()).position(|w| w == NAME)? + NAME.len();
    let rest = &header[at..];
    // strtoul: leading white space, optional sign, digits.
    let ws = rest
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))
        .count();
    let digits = rest[ws..].iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        // No number: strtoul gives 0 and leaves the end at the start.
        return matches!(rest.first(), None | Some(b'\r' | b'\n')).then_some(0);
    }
    let end = rest.get(ws + digits);
    if !matches!(end, None | Some(b'\r' | b'\n')) {
        return None;
    }
    let mut n: usize = 0;
    for d in &rest[ws..ws + digits] {
        n = n.checked_mul(10)?.checked_add(usize::from(d - b'0'))?;
    }
    Some(n)
}

/// The MD5 of the body as keepalived (and `genhash`) computes it: the
/// body received, cut at `Content-Length` when that is smaller.
pub fn digest(resp: &Response<'_>) -> [u8; 16] {
    let n = resp
        .content_length
        .map_or(resp.body.len(), |l| l.min(resp.body.len()));
    Md5::digest(&resp.body[..n]).into()
}

/// What `genhash` prints for a raw response: the body digest, or `None`
/// when no complete header came back.
pub fn genhash(raw: &[u8]) -> Option<[u8; 16]> {
    parse(raw).map(|r| digest(&r))
}

/// A digest as 32 lower-case hex digits.
pub fn hex(d: &[u8; 16]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Judges a raw response by one URL's rule.
pub fn judge(rule: &UrlRule, raw: &[u8]) -> Verdict {
    let Some(resp) = parse(raw) else {
        return Verdict::Fail(Failure::NoData);
    };
    if !(STATUS_MIN..=STATUS_MAX).contains(&resp.status) || !rule.status.contains(resp.status) {
        return Verdict::Fail(Failure::Status(resp.status));
    }
    if let Some(want) = &rule.digest
        && digest(&resp) != *want
    {
        return Verdict::Fail(Failure::Digest);
    }
    if let Some(re) = &rule.regex {
        let matched = match re {
            Ok(re) => !resp.body.is_empty() && re.is_match(raw),
            Err(_) => return Verdict::Fail(Failure::Regex),
        };
        if matched == rule.regex_no_match {
            return Verdict::Fail(Failure::Regex);
        }
    }
    Verdict::PASS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::probe::ProbeResult;
    use crate::config::Span;

    fn url() -> Url {
        Url {
            path: "/".into(),
            status_codes: StatusCodes::default_2xx(),
            digest: None,
            regex: None,
            regex_no_match: false,
            virtualhost: None,
            span: Span::default(),
        }
    }

    fn raw(status: u16, body: &[u8]) -> Vec<u8> {
        match ProbeResult::http_response(status, body) {
            ProbeResult::Http(r) => r,
            _ => unreachable!(),
        }
    }

    #[test]
    fn status_line_parsing_follows_keepalived() {
        assert_eq!(status_code(b"HTTP/1.1 200 OK\r\n\r\n"), 200);
        assert_eq!(status_code(b"HTTP/1.0 404 Not Found\r\n"), 404);
        // No reason phrase: keepalived needs a space after the code.
        assert_eq!(status_code(b"HTTP/1.1 200\r\n\r\n"), 0);
        assert_eq!(status_code(b"HTTP/1.1 20x OK\r\n"), 0);
        assert_eq!(status_code(b"HTTP/1.1\r\n 200 OK"), 0);
        assert_eq!(status_code(b"garbage"), 0);
        assert_eq!(status_code(b""), 0);
    }

    #[test]
    fn content_length_parsing_follows_strtoul() {
        assert_eq!(content_length(b"X\r\nContent-Length: 12\r\n\r\n"), Some(12));
        assert_eq!(content_length(b"X\r\nContent-Length:12\r\n\r\n"), Some(12));
        assert_eq!(content_length(b"X\r\nContent-Length: 12x\r\n\r\n"), None);
        assert_eq!(content_length(b"X\r\ncontent-length: 12\r\n\r\n"), None);
        assert_eq!(content_length(b"X\r\nContent-Length: \r\n\r\n"), None);
        assert_eq!(content_length(b"X\r\nContent-Length:\r\n\r\n"), Some(0));
        assert_eq!(content_length(b"X\r\n\r\n"), None);
    }

    #[test]
    fn default_status_set_is_2xx() {
        let r = UrlRule::new(&url());
        assert_eq!(judge(&r, &raw(200, b"hi")), Verdict::PASS);
        assert_eq!(judge(&r, &raw(299, b"")), Verdict::PASS);
        assert_eq!(
            judge(&r, &raw(301, b"")),
            Verdict::Fail(Failure::Status(301))
        );
        assert_eq!(
            judge(&r, &raw(503, b"")),
            Verdict::Fail(Failure::Status(503))
        );
    }

    #[test]
    fn status_ranges_are_honoured() {
        let mut u = url();
        u.status_codes = StatusCodes::from_ranges(vec![200..=200, 300..=399]);
        let r = UrlRule::new(&u);
        assert_eq!(judge(&r, &raw(200, b"")), Verdict::PASS);
        assert_eq!(judge(&r, &raw(302, b"")), Verdict::PASS);
        assert_eq!(
            judge(&r, &raw(204, b"")),
            Verdict::Fail(Failure::Status(204))
        );
        // Outside 100..=599 never passes, whatever the set says.
        u.status_codes = StatusCodes::from_ranges(vec![0..=999]);
        let r = UrlRule::new(&u);
        assert_eq!(
            judge(&r, &raw(600, b"")),
            Verdict::Fail(Failure::Status(600))
        );
        assert_eq!(judge(&r, &raw(100, b"")), Verdict::PASS);
    }

    #[test]
    fn no_header_end_is_no_data() {
        let r = UrlRule::new(&url());
        assert_eq!(judge(&r, b""), Verdict::Fail(Failure::NoData));
        assert_eq!(
            judge(&r, b"HTTP/1.0 200 OK\r\n"),
            Verdict::Fail(Failure::NoData)
        );
    }

    #[test]
    fn digest_is_md5_of_body_cut_at_content_length() {
        // md5("hello\n"), as `echo hello | md5sum` prints it.
        let want = "b1946ac92492d2347c6235b4d2611184";
        assert_eq!(hex(&genhash(&raw(200, b"hello\n")).unwrap()), want);
        // Extra bytes past Content-Length are not hashed.
        let mut r = raw(200, b"hello\n");
        r.extend_from_slice(b"trailing junk");
        assert_eq!(hex(&genhash(&r).unwrap()), want);
        // Without Content-Length, the whole body is hashed.
        let r = b"HTTP/1.0 200 OK\r\n\r\nhello\n";
        assert_eq!(hex(&genhash(r).unwrap()), want);
        // Empty body: md5 of nothing.
        assert_eq!(
            hex(&genhash(&raw(200, b"")).unwrap()),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        assert_eq!(genhash(b"HTTP/1.0 200 OK\r\n"), None);

        let mut u = url();
        u.digest = Some(genhash(&raw(200, b"hello\n")).unwrap());
        let rule = UrlRule::new(&u);
        assert_eq!(judge(&rule, &raw(200, b"hello\n")), Verdict::PASS);
        assert_eq!(
            judge(&rule, &raw(200, b"hello!")),
            Verdict::Fail(Failure::Digest)
        );
        // The status is checked first.
        assert_eq!(
            judge(&rule, &raw(500, b"hello\n")),
            Verdict::Fail(Failure::Status(500))
        );
    }

    #[test]
    fn regex_and_regex_no_match() {
        let mut u = url();
        u.regex = Some("ready|healthy".into());
        let rule = UrlRule::new(&u);
        assert_eq!(judge(&rule, &raw(200, b"status: healthy")), Verdict::PASS);
        assert_eq!(
            judge(&rule, &raw(200, b"status: sick")),
            Verdict::Fail(Failure::Regex)
        );
        // The regex only runs when a body came back.
        assert_eq!(judge(&rule, &raw(200, b"")), Verdict::Fail(Failure::Regex));
        u.regex_no_match = true;
        let rule = UrlRule::new(&u);
        assert_eq!(
            judge(&rule, &raw(200, b"status: healthy")),
            Verdict::Fail(Failure::Regex)
        );
        assert_eq!(judge(&rule, &raw(200, b"status: sick")), Verdict::PASS);
        assert_eq!(judge(&rule, &raw(200, b"")), Verdict::PASS);
    }

    #[test]
    fn invalid_regex_fails_the_check() {
        let mut u = url();
        u.regex = Some("(".into());
        assert_eq!(
            judge(&UrlRule::new(&u), &raw(200, b"x")),
            Verdict::Fail(Failure::Regex)
        );
    }
}
