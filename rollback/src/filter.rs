//! What a snapshot leaves out: known regenerable directories and, unless
//! included, any directory holding more than [`MAX_DIR_FILES`] entries
//! (auto-exclusions, off with `all`), plus the user's exclusions (a glob
//! matched against file names, a name with `/` matched as a substring of
//! the relative path, or a plain name matched against path components) and
//! skipped directory names.

/// A directory with more entries than this (recursively) is left out.
pub const MAX_DIR_FILES: usize = 10_000;

/// Directory names auto-excluded (regenerable or version control).
pub const AUTO_EXCLUDED: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "target",
    "node_modules",
    ".venv",
    "venv",
    "__pycache__",
    ".tox",
    ".mypy_cache",
    ".pytest_cache",
    ".gradle",
    ".next",
    ".cache",
];

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Filter {
    /// `--rollback-all`: no auto-exclusion at all.
    pub all: bool,
    /// `--rollback-include`: names exempt from auto-exclusion.
    pub include: Vec<String>,
    /// `--rollback-exclude`.
    pub exclude: Vec<String>,
    /// `--skip-dir`: directory names never descended into.
    pub skip: Vec<String>,
}

impl Filter {
    /// Why `rel` (relative to the grant, `/`-separated) is left out.
    pub fn excluded(&self, rel: &str, name: &str, is_dir: bool) -> Option<String> {
        if is_dir && self.skip.iter().any(|s| s == name) {
            return Some(format!("--skip-dir {name}"));
        }
        if let Some(p) = self.exclude.iter().find(|p| matches_exclude(p, rel, name)) {
            return Some(format!("--rollback-exclude {p}"));
        }
        let auto = is_dir && !self.all && AUTO_EXCLUDED.contains(&name);
        (auto && !self.included(name)).then(|| format!("auto-excluded ({name})"))
    }

    /// Whether the size limit applies to directory `name`.
    pub fn size_limited(&self, name: &str) -> bool {
        !self.all && !self.included(name)
    }

    fn included(&self, name: &str) -> bool {
        self.include.iter().any(|i| i == name)
    }
}

fn matches_exclude(pattern: &str, rel: &str, name: &str) -> bool {
    if pattern.contains(['*', '?', '[']) {
        glob(pattern.as_bytes(), name.as_bytes())
    } else if pattern.contains('/') {
        rel.contains(pattern.trim_end_matches('/'))
    } else {
        rel.split('/').any(|c| c == pattern)
    }
}

/// `*`, `?` and `[...]` (with `!`/`^` negation and ranges) over bytes.
pub fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| glob(rest, &s[i..])),
        Some((b'?', rest)) => !s.is_empty() && glob(rest, &s[1..]),
        Some((b'[', rest)) => match (class(rest, s.first().copied()), s.get(1..)) {
            (Some((true, after)), Some(tail)) => glob(after, tail),
            _ => false,
        },
        Some((c, rest)) => s.first() == Some(c) && glob(rest, &s[1..]),
    }
}

/// Match one byte against a class body; the pattern after `]`.
fn class(body: &[u8], c: Option<u8>) -> Option<(bool, &[u8])> {
    let c = c?;
    let (neg, mut i) = match body.first() {
        Some(b'!' | b'^') => (true, 1),
        _ => (false, 0),
    };
    let mut hit = false;
    let start = i;
    while i < body.len() && (body[i] != b']' || i == start) {
        if body.get(i + 1) == Some(&b'-') && i + 2 < body.len() && body[i + 2] != b']' {
            hit |= body[i] <= c && c <= body[i + 2];
            i += 3;
        } else {
            hit |= body[i] == c;
            i += 1;
        }
    }
    (i < body.len()).then(|| (hit != neg, &body[i + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusions() {
        let f = Filter {
            exclude: vec!["*.log".into(), "vendor".into(), "gen/out".into()],
            include: vec!["target".into()],
            skip: vec!["big".into()],
            all: false,
        };
        assert!(f.excluded("a/x.log", "x.log", false).is_some());
        assert!(f.excluded("a/vendor", "vendor", true).is_some());
        assert!(f.excluded("a/gen/out/x", "x", false).is_some());
        assert!(f.excluded("node_modules", "node_modules", true).is_some());
        assert!(f.excluded("target", "target", true).is_none());
        assert!(f.excluded("big", "big", true).is_some());
        assert!(f.excluded("src/main.rs", "main.rs", false).is_none());
        assert!(glob(b"[a-c]?.t*", b"bx.txt"));
        assert!(!glob(b"[!a-c]x", b"bx"));
    }
}
