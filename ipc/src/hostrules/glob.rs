//! Path globs for URL rules and endpoint rules: `*` matches one path
//! segment, `**` zero or more. Request paths that a server could
//! interpret as some other path never match (refusing is the safe choice):
//! `.`/`..` segments; empty segments (`//`, which nginx merges); `;` path
//! parameters, raw or encoded (Tomcat and Spring drop `;…` from a segment,
//! so `/allowed/..;/admin` is `/admin` there); encoded slashes, dots,
//! backslashes, semicolons, NULs and percent signs (double encoding);
//! backslashes and control characters.

/// Validate a pattern (must start with `/`).
pub fn check_pattern(p: &str) -> Result<String, crate::IpcError> {
    if !p.starts_with('/') {
        return Err(crate::IpcError::PathPattern(p.to_string()));
    }
    Ok(p.to_string())
}

/// Segments of a request path (without its query), or None when the path
/// is ambiguous.
fn segments(path: &str) -> Option<Vec<&str>> {
    let rest = path.strip_prefix('/')?;
    let lower = rest.to_ascii_lowercase();
    if ["%2e", "%2f", "%5c", "%3b", "%25", "%00", "\\", ";"]
        .iter()
        .any(|b| lower.contains(b))
        || rest.bytes().any(|b| b.is_ascii_control() || b == b' ')
    {
        return None;
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Some(Vec::new());
    }
    let segs: Vec<&str> = rest.split('/').collect();
    if segs.iter().any(|s| s.is_empty() || *s == "." || *s == "..") {
        return None;
    }
    Some(segs)
}

fn match_segs(pat: &[&str], path: &[&str]) -> bool {
    match pat.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|i| match_segs(rest, &path[i..])),
        Some((p, rest)) => match path.split_first() {
            Some((s, prest)) => (*p == "*" || p == s) && match_segs(rest, prest),
            None => false,
        },
    }
}

/// Whether the request `path` (query excluded) matches `pattern`.
pub fn matches(pattern: &str, path: &str) -> bool {
    let Some(segs) = segments(path) else {
        return false;
    };
    let pat: Vec<&str> = pattern
        .trim_start_matches('/')
        .trim_end_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match_segs(&pat, &segs)
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn single_and_double_stars() {
        assert!(matches("/my-org/**", "/my-org"));
        assert!(matches("/my-org/**", "/my-org/repo/issues/1"));
        assert!(!matches("/my-org/**", "/other-org/repo"));
        assert!(matches("/repos/*/issues/**", "/repos/x/issues/3/comments"));
        assert!(!matches("/repos/*/issues/**", "/repos/x/y/issues/3"));
        assert!(matches("/v1/chat/completions", "/v1/chat/completions/"));
        assert!(!matches("/v1/chat/completions", "/v1/chat/completions/x"));
    }

    #[test]
    fn ambiguous_paths_never_match() {
        for p in [
            "/my-org/../other/x",
            "/my-org/./x",
            "/my-org//x",
            "/my-org/%2e%2e/other",
            "/my-org%2Fother",
            "/my-org/..\\other",
            "my-org/x",
            "/my-org/..;/admin",
            "/my-org/x;jsessionid=1",
            "/my-org;/x",
            "/my-org/%3b/x",
            "/my-org/%252e%252e/admin",
            "/my-org/%2F..%2Fadmin",
            "/my-org/x%00",
            "//my-org/x",
            "/my-org/x//",
        ] {
            assert!(!matches("/my-org/**", p), "{p}");
        }
    }
}
