//! Which files are instruction files: the built-in patterns plus a policy's
//! `includes`. A pattern without `/` matches a file name at any depth; one
//! with `/` matches the path relative to the scanned root, or any tail of it
//! that starts at a directory boundary (so `.claude/**/*.md` also covers a
//! nested `.claude/`). `*` and `?` stay within one component; a `**`
//! component matches any number of components. Bundles never match.

use crate::error::{Result, TrustError};

/// Instruction files every scan covers.
pub const BUILTIN: &[&str] = &[
    "SKILLS*",
    "CLAUDE*",
    "AGENT*",
    "AGENTS.md",
    "GEMINI.md",
    ".claude/**/*.md",
];

/// Directories never descended into by discovery (regenerable, large).
pub const HEAVY_DIRS: &[&str] = &[
    "node_modules",
    "target",
    ".venv",
    "venv",
    "__pycache__",
    ".tox",
    ".mypy_cache",
    ".pytest_cache",
    ".gradle",
    ".next",
    "dist",
    "build",
    ".cache",
];

/// Sidecar suffix of a single-file bundle.
pub const BUNDLE_SUFFIX: &str = ".bundle";
/// The multi-subject bundle of one directory.
pub const MULTI_BUNDLE: &str = ".nono-trust.bundle";

/// Reject patterns that could never match or would match everything.
pub fn validate(pattern: &str) -> Result<()> {
    let why = if pattern.is_empty() {
        "empty"
    } else if pattern.starts_with('/') {
        "must be relative"
    } else if pattern.split('/').any(|c| c == ".." || c.is_empty()) {
        "no '..' or empty components"
    } else {
        return Ok(());
    };
    Err(TrustError::Pattern {
        pattern: pattern.to_string(),
        why,
    })
}

/// Whether `rel` (a `/`-separated path relative to the scan root) is an
/// instruction file under the built-in patterns and `includes`.
pub fn is_instruction_file(rel: &str, includes: &[String]) -> bool {
    if rel.ends_with(BUNDLE_SUFFIX) {
        return false;
    }
    BUILTIN
        .iter()
        .copied()
        .chain(includes.iter().map(String::as_str))
        .any(|p| matches(p, rel))
}

/// Whether `pattern` matches `rel` under the rules above.
pub fn matches(pattern: &str, rel: &str) -> bool {
    // Cheap rejection first: a literal last component must end the path.
    let last = pattern.rsplit('/').next().unwrap_or(pattern);
    if !last.contains(['*', '?']) && !rel.ends_with(last) {
        return false;
    }
    if !pattern.contains('/') {
        // The common case, without allocating: the file name alone.
        let name = rel.rsplit('/').next().unwrap_or(rel);
        return component(pattern.as_bytes(), name.as_bytes());
    }
    let path: Vec<&str> = rel.split('/').collect();
    let pat: Vec<&str> = pattern.split('/').collect();
    (0..path.len()).any(|start| components(&pat, &path[start..]))
}

fn components(pat: &[&str], path: &[&str]) -> bool {
    match pat.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|i| components(rest, &path[i..])),
        Some((p, rest)) => match path.split_first() {
            Some((c, tail)) => component(p.as_bytes(), c.as_bytes()) && components(rest, tail),
            None => false,
        },
    }
}

fn component(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| component(rest, &s[i..])),
        Some((b'?', rest)) => !s.is_empty() && component(rest, &s[1..]),
        Some((c, rest)) => s.first() == Some(c) && component(rest, &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_patterns() {
        for yes in [
            "CLAUDE.md",
            "sub/CLAUDE.md",
            "AGENTS.md",
            "AGENT.MD",
            "SKILLS.md",
            "GEMINI.md",
            ".claude/commands/x.md",
            "a/.claude/agents/deep/y.md",
            ".claude/z.md",
        ] {
            assert!(is_instruction_file(yes, &[]), "{yes}");
        }
        for no in [
            "README.md",
            "CLAUDE.md.bundle",
            ".claude/settings.json",
            "claude.md",
            "docs/GEMINI.md.txt",
            ".nono-trust.bundle",
        ] {
            assert!(!is_instruction_file(no, &[]), "{no}");
        }
    }

    #[test]
    fn includes_extend() {
        let inc = vec!["prompts/*.txt".to_string(), "*.prompt".to_string()];
        assert!(is_instruction_file("prompts/a.txt", &inc));
        assert!(is_instruction_file("x/prompts/a.txt", &inc));
        assert!(is_instruction_file("deep/x.prompt", &inc));
        assert!(!is_instruction_file("prompts/sub/a.txt", &inc));
    }

    #[test]
    fn validation() {
        assert!(validate("docs/*.md").is_ok());
        for bad in ["", "/etc/x", "../x", "a//b"] {
            assert!(validate(bad).is_err(), "{bad}");
        }
    }
}
