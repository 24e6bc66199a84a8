//! Token checks in constant time, and where clients put them.

use base64::Engine;
use subtle::ConstantTimeEq;

/// Constant-time equality (the length is not secret: tokens are fixed-size).
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// The password of a `Basic` credential (`Proxy-Authorization` or
/// `Authorization`): clients put the session token there from
/// `http://nono:TOKEN@127.0.0.1:PORT`.
pub fn basic_password(value: &[u8]) -> Option<Vec<u8>> {
    let s = std::str::from_utf8(value).ok()?.trim();
    let (scheme, b64) = s.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    Some(decoded[colon + 1..].to_vec())
}

/// Strip the literal parts of a `credential_format` (`Bearer {}`) from a
/// header value, leaving what stands for `{}`.
pub fn unformat<'a>(format: &str, value: &'a [u8]) -> Option<&'a [u8]> {
    let (pre, post) = format.split_once("{}")?;
    let v = value.strip_prefix(pre.as_bytes()).or_else(|| {
        // Schemes are case-insensitive: accept "bearer X" for "Bearer {}".
        let n = pre.len();
        (value.len() >= n && value[..n].eq_ignore_ascii_case(pre.as_bytes())).then(|| &value[n..])
    })?;
    v.strip_suffix(post.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_equality() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"abcd"));
    }

    #[test]
    fn basic_passwords() {
        // "nono:s3cret"
        assert_eq!(
            basic_password(b"Basic bm9ubzpzM2NyZXQ="),
            Some(b"s3cret".to_vec())
        );
        assert_eq!(basic_password(b"Bearer bm9ubzpzM2NyZXQ="), None);
        assert_eq!(basic_password(b"Basic !!!"), None);
    }

    #[test]
    fn unformatting() {
        assert_eq!(unformat("Bearer {}", b"Bearer tok"), Some(&b"tok"[..]));
        assert_eq!(unformat("Bearer {}", b"bearer tok"), Some(&b"tok"[..]));
        assert_eq!(unformat("token {}", b"Bearer tok"), None);
        assert_eq!(unformat("{}", b"tok"), Some(&b"tok"[..]));
    }
}
