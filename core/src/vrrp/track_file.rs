//! What a `track_file` holds, read as keepalived 2.2.7 reads it
//! (trackers/track_file.c): C `strtol` in base 0 over the file's text.

/// The value of a tracked file whose text is `text`: leading blanks, an
/// optional sign, then decimal, `0x` hex or `0` octal digits; anything
/// after the digits is ignored and text without digits is 0. `None` for a
/// number outside -2^31..=2^31 (keepalived's process_track_file accepts
/// one past `INT32_MAX`), which keepalived logs and ignores (the previous
/// value stays). A missing file counts as 0.
pub fn file_value(text: &str) -> Option<i64> {
    let s = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if (s.starts_with("0x") || s.starts_with("0X"))
        && s[2..].starts_with(|c: char| c.is_ascii_hexdigit())
    {
        (16, &s[2..])
    } else if s.starts_with('0') {
        (8, s)
    } else {
        (10, s)
    };
    let end = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    let digits = &digits[..end];
    if digits.is_empty() {
        return Some(0);
    }
    let v = i128::from_str_radix(digits, radix).unwrap_or(i128::MAX);
    let v = if neg { -v } else { v };
    (i128::from(i32::MIN)..=i128::from(i32::MAX) + 1)
        .contains(&v)
        .then_some(v as i64)
}

#[cfg(test)]
mod tests {
    use super::file_value;

    #[test]
    fn strtol_base_zero() {
        assert_eq!(file_value("5\n"), Some(5));
        assert_eq!(file_value("  -30"), Some(-30));
        assert_eq!(file_value("0x10 junk"), Some(16));
        assert_eq!(file_value("010"), Some(8));
        assert_eq!(file_value("09"), Some(0));
        assert_eq!(file_value("up"), Some(0));
        assert_eq!(file_value(""), Some(0));
        assert_eq!(file_value("+7x"), Some(7));
        assert_eq!(file_value("0x"), Some(0));
        assert_eq!(file_value("4294967296"), None);
        assert_eq!(file_value("-2147483648"), Some(-2147483648));
        assert_eq!(file_value("2147483648"), Some(2147483648));
        assert_eq!(file_value("2147483649"), None);
    }
}
