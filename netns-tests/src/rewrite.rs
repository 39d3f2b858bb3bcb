//! Moving a scenario onto documentation addresses: the seed's
//! 172.17.1.0/24 becomes 192.0.2.0/24 (same last octet), in the scenario
//! file and in every config it names, as text. Real interfaces only ever
//! carry documentation addresses; the mapping is shown in the trace
//! header.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use vigil_core::config::Source;

/// The network moved, as written in files.
pub const FROM: &str = "172.17.1.";
/// Where it goes.
pub const TO: &str = "192.0.2.";

/// Rewrites every `172.17.1.N` address in `text` to `192.0.2.N`, and
/// records each address rewritten in `seen`.
pub fn rewrite_text(text: &str, seen: &mut BTreeMap<Ipv4Addr, Ipv4Addr>) -> String {
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < text.len() {
        let starts_here = text[i..].starts_with(FROM)
            && (i == 0 || !is_addr_char(bytes[i - 1]))
            && last_octet(&text[i + FROM.len()..]).is_some();
        if starts_here {
            let (n, len) = last_octet(&text[i + FROM.len()..]).expect("checked");
            let from = Ipv4Addr::new(172, 17, 1, n);
            let to = Ipv4Addr::new(192, 0, 2, n);
            seen.insert(from, to);
            out.push_str(&to.to_string());
            i += FROM.len() + len;
        } else {
            let c = text[i..].chars().next().expect("in bounds");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn is_addr_char(b: u8) -> bool {
    b.is_ascii_digit() || b == b'.'
}

/// The octet at the start of `rest` (1 to 3 digits, 0..=255, not followed
/// by another digit or a dot and digit) and its length.
fn last_octet(rest: &str) -> Option<(u8, usize)> {
    let len = rest.bytes().take_while(u8::is_ascii_digit).count();
    if len == 0 || len > 3 {
        return None;
    }
    let after = rest.as_bytes().get(len).copied();
    let next = rest.as_bytes().get(len + 1).copied();
    if after == Some(b'.') && next.is_some_and(|b| b.is_ascii_digit()) {
        return None;
    }
    rest[..len].parse::<u8>().ok().map(|n| (n, len))
}

/// The address `a` after the rewrite.
pub fn rewrite_addr(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V4(v4) if v4.octets()[..3] == [172, 17, 1] => {
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, v4.octets()[3]))
        }
        other => other,
    }
}

/// A [`Source`] that rewrites every file it reads, and remembers what
/// it rewrote.
pub struct Rewriting<'a> {
    inner: &'a dyn Source,
    seen: std::sync::Mutex<BTreeMap<Ipv4Addr, Ipv4Addr>>,
}

impl<'a> Rewriting<'a> {
    /// Wraps `inner`.
    pub fn new(inner: &'a dyn Source) -> Rewriting<'a> {
        Rewriting {
            inner,
            seen: std::sync::Mutex::new(BTreeMap::new()),
        }
    }

    /// The rewritten text of `path`.
    pub fn text(&self, path: &str) -> Result<String, String> {
        let bytes = self.read(path)?;
        String::from_utf8(bytes).map_err(|e| format!("{path}: not UTF-8 ({e})"))
    }

    /// Every address rewritten so far: old -> new.
    pub fn mapping(&self) -> BTreeMap<Ipv4Addr, Ipv4Addr> {
        self.seen.lock().expect("not poisoned").clone()
    }
}

impl Source for Rewriting<'_> {
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        let bytes = self.inner.read(path)?;
        match String::from_utf8(bytes) {
            Ok(text) => {
                let mut seen = self.seen.lock().expect("not poisoned");
                Ok(rewrite_text(&text, &mut seen).into_bytes())
            }
            // Not text: no address to rewrite.
            Err(e) => Ok(e.into_bytes()),
        }
    }

    fn glob(&self, pattern: &str) -> Result<Vec<String>, String> {
        self.inner.glob(pattern)
    }
}

/// The header lines showing a rewrite: `# rewrite 172.17.1.0/24 ->
/// 192.0.2.0/24: 172.17.1.150 -> 192.0.2.150, ...` (nothing when no
/// address was rewritten).
pub fn header(mapping: &BTreeMap<Ipv4Addr, Ipv4Addr>) -> String {
    if mapping.is_empty() {
        return "# rewrite none: the scenario already uses documentation addresses\n".into();
    }
    let pairs: Vec<String> = mapping.iter().map(|(a, b)| format!("{a} -> {b}")).collect();
    format!(
        "# rewrite 172.17.1.0/24 -> 192.0.2.0/24 (documentation range; same last octet): {}\n",
        pairs.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_whole_addresses_only() {
        let mut seen = BTreeMap::new();
        let t = "virtual_server 172.17.1.160 80 { # 172.17.1.1600 x172.17.1.5\n real_server 172.17.1.152 80\n 10.172.17.1.3 172.17.1.7.8 172.17.1.256 }";
        let out = rewrite_text(t, &mut seen);
        assert_eq!(
            out,
            "virtual_server 192.0.2.160 80 { # 172.17.1.1600 x192.0.2.5\n real_server 192.0.2.152 80\n 10.172.17.1.3 172.17.1.7.8 172.17.1.256 }"
        );
        let keys: Vec<String> = seen.keys().map(|k| k.to_string()).collect();
        assert_eq!(keys, ["172.17.1.5", "172.17.1.152", "172.17.1.160"]);
    }

    #[test]
    fn keeps_other_text_and_utf8() {
        let mut seen = BTreeMap::new();
        let t = "172.17.1.150 #指定虚拟IP\naddress = \"172.17.1.200\"\n";
        assert_eq!(
            rewrite_text(t, &mut seen),
            "192.0.2.150 #指定虚拟IP\naddress = \"192.0.2.200\"\n"
        );
        assert!(header(&seen).contains("172.17.1.150 -> 192.0.2.150, 172.17.1.200 -> 192.0.2.200"));
        assert_eq!(
            rewrite_addr("172.17.1.9".parse().unwrap()),
            "192.0.2.9".parse::<IpAddr>().unwrap()
        );
        assert!(header(&BTreeMap::new()).starts_with("# rewrite none"));
    }
}
