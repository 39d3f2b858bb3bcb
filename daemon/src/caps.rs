//! The capabilities vigild needs (CAP_NET_ADMIN, CAP_NET_RAW), read from
//! `/proc/self/status`.

/// `CAP_NET_ADMIN`.
pub const CAP_NET_ADMIN: u32 = 12;
/// `CAP_NET_RAW`.
pub const CAP_NET_RAW: u32 = 13;

/// The effective capability mask of this process (`CapEff`).
pub fn effective() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_cap_eff(&status)
}

/// The `CapEff:` mask of a `/proc/PID/status` text.
pub fn parse_cap_eff(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
}

/// The names of the needed capabilities missing from `mask`.
pub fn missing(mask: u64) -> Vec<&'static str> {
    [
        (CAP_NET_ADMIN, "CAP_NET_ADMIN"),
        (CAP_NET_RAW, "CAP_NET_RAW"),
    ]
    .into_iter()
    .filter(|(bit, _)| mask & (1 << bit) == 0)
    .map(|(_, n)| n)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_names_missing() {
        let s = "Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t0000000000003000\n";
        assert_eq!(parse_cap_eff(s), Some(0x3000));
        assert!(missing(0x3000).is_empty());
        assert_eq!(missing(0x1000), vec!["CAP_NET_RAW"]);
        assert_eq!(missing(0), vec!["CAP_NET_ADMIN", "CAP_NET_RAW"]);
        assert_eq!(parse_cap_eff("nothing"), None);
    }
}
