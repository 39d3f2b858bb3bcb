//! Where configuration text comes from: the [`Source`] trait (read a
//! file, expand a glob), an in-memory source, and (feature `fs`) the
//! filesystem. Paths are `/`-separated strings; includes are resolved
//! relative to the directory of the including file, as keepalived does.

use std::collections::BTreeMap;

/// A provider of configuration files.
pub trait Source {
    /// The bytes of the file at `path`, or a one-line reason it cannot
    /// be read.
    fn read(&self, path: &str) -> Result<Vec<u8>, String>;

    /// The existing files matching the glob `pattern` (`*`, `?`, `[...]`,
    /// `{a,b}`), sorted; an empty list when none match.
    fn glob(&self, pattern: &str) -> Result<Vec<String>, String>;
}

/// Files held in memory: for tests, fuzzing and embedding.
#[derive(Clone, Debug, Default)]
pub struct MemorySource {
    files: BTreeMap<String, Vec<u8>>,
}

impl MemorySource {
    /// An empty source.
    pub fn new() -> MemorySource {
        MemorySource::default()
    }

    /// Adds (or replaces) the file at `path`.
    pub fn insert(&mut self, path: impl Into<String>, contents: impl Into<Vec<u8>>) {
        self.files.insert(path.into(), contents.into());
    }

    /// Builder form of [`insert`](Self::insert).
    pub fn with(mut self, path: impl Into<String>, contents: impl Into<Vec<u8>>) -> MemorySource {
        self.insert(path, contents);
        self
    }
}

impl Source for MemorySource {
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        self.files
            .get(&normalize(path))
            .cloned()
            .ok_or_else(|| "no such file".to_string())
    }

    fn glob(&self, pattern: &str) -> Result<Vec<String>, String> {
        let pattern = normalize(pattern);
        Ok(self
            .files
            .keys()
            .filter(|p| glob_match(&pattern, p))
            .cloned()
            .collect())
    }
}

/// keepalived's default config id (`-i`): this host's name up to its
/// first dot; `None` when the host name cannot be read.
#[cfg(feature = "fs")]
pub fn host_config_id() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let short = name.trim().split('.').next().unwrap_or_default();
    (!short.is_empty()).then(|| short.to_string())
}

/// The real filesystem.
#[cfg(feature = "fs")]
#[derive(Clone, Copy, Debug, Default)]
pub struct FsSource;

#[cfg(feature = "fs")]
impl Source for FsSource {
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        std::fs::read(path).map_err(|e| e.to_string())
    }

    fn glob(&self, pattern: &str) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        for alt in expand_braces(pattern) {
            let paths = glob::glob(&alt).map_err(|e| e.to_string())?;
            for p in paths {
                let p = p.map_err(|e| e.to_string())?;
                if p.is_file() {
                    out.push(p.to_string_lossy().into_owned());
                }
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}

/// `path` made relative to the directory of `including` when it is not
/// absolute (keepalived changes into the including file's directory).
pub fn resolve(including: &str, path: &str) -> String {
    if path.starts_with('/') {
        return normalize(path);
    }
    match including.rfind('/') {
        Some(i) => normalize(&format!("{}/{}", &including[..i], path)),
        None => normalize(path),
    }
}

/// Whether `path` holds glob wildcards.
pub fn has_wildcards(path: &str) -> bool {
    path.contains(['*', '?', '[', '{'])
}

/// Removes `.` components and folds `dir/..` pairs, keeping a leading
/// `/` and leading `..` components.
pub fn normalize(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            c => parts.push(c),
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".to_string()
    } else {
        joined
    }
}

/// `{a,b}` alternatives expanded (GLOB_BRACE), innermost-first, bounded.
pub fn expand_braces(pattern: &str) -> Vec<String> {
    let mut out = vec![pattern.to_string()];
    for _ in 0..8 {
        let mut next = Vec::new();
        let mut changed = false;
        for p in &out {
            match find_brace(p) {
                Some((open, close)) => {
                    changed = true;
                    for alt in p[open + 1..close].split(',') {
                        next.push(format!("{}{}{}", &p[..open], alt, &p[close + 1..]));
                    }
                }
                None => next.push(p.clone()),
            }
        }
        out = next;
        if !changed || out.len() > 256 {
            break;
        }
    }
    out
}

fn find_brace(p: &str) -> Option<(usize, usize)> {
    let open = p.find('{')?;
    let close = open + p[open..].find('}')?;
    Some((open, close))
}

/// Whether `path` matches the glob `pattern`: `*` and `?` do not match
/// `/`, `[...]` is a class (`!` or `^` negates), `{a,b}` alternatives.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    expand_braces(pattern).iter().any(|p| {
        let p: Vec<char> = p.chars().collect();
        let s: Vec<char> = path.chars().collect();
        match_from(&p, &s)
    })
}

fn match_from(p: &[char], s: &[char]) -> bool {
    // Iterative matcher with single-star backtracking per path segment.
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, si));
                    pi += 1;
                    continue;
                }
                '?' if s[si] != '/' => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                '[' => match class(&p[pi..], s[si]) {
                    Some((true, len)) if s[si] != '/' => {
                        pi += len;
                        si += 1;
                        continue;
                    }
                    None if s[si] == '[' => {
                        pi += 1;
                        si += 1;
                        continue;
                    }
                    _ => {}
                },
                c if c == s[si] && c != '?' && c != '[' => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, ss)) if s[ss] != '/' => {
                star = Some((sp, ss + 1));
                pi = sp + 1;
                si = ss + 1;
            }
            _ => return false,
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Matches `c` against the class at the start of `p` (`[...]`); returns
/// (matched, length of the class) or None when the class is unclosed.
fn class(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(1), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolving() {
        assert_eq!(
            resolve("/etc/keepalived/keepalived.conf", "conf.d/*.conf"),
            "/etc/keepalived/conf.d/*.conf"
        );
        assert_eq!(
            resolve("/etc/keepalived/keepalived.conf", "/abs/x"),
            "/abs/x"
        );
        assert_eq!(resolve("keepalived.conf", "x.conf"), "x.conf");
        assert_eq!(resolve("a/b/c.conf", "../d.conf"), "a/d.conf");
        assert_eq!(normalize("./a/./b"), "a/b");
        assert_eq!(normalize("../a"), "../a");
    }

    #[test]
    fn globbing() {
        assert!(glob_match("/etc/*.conf", "/etc/a.conf"));
        assert!(!glob_match("/etc/*.conf", "/etc/sub/a.conf"));
        assert!(glob_match("/etc/?.conf", "/etc/a.conf"));
        assert!(glob_match("/etc/[ab].conf", "/etc/b.conf"));
        assert!(!glob_match("/etc/[!ab].conf", "/etc/b.conf"));
        assert!(glob_match("/etc/{x,y}.conf", "/etc/y.conf"));
        assert!(glob_match("*a*b*", "xxaxxbxx"));
        assert!(glob_match("a[", "a["));
    }

    #[test]
    fn memory_source() {
        let s = MemorySource::new()
            .with("/a/x.conf", "x")
            .with("/a/y.conf", "y")
            .with("/b/z.conf", "z");
        assert_eq!(s.glob("/a/*.conf").unwrap(), vec!["/a/x.conf", "/a/y.conf"]);
        assert_eq!(s.read("/a/./x.conf").unwrap(), b"x");
        assert!(s.read("/nope").is_err());
    }
}
