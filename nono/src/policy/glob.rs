//! Wildcards in built-in group paths (`/dev/dri/renderD*`,
//! `/dev/nvidia[0-9]*`): each component may use `*` (any run of
//! characters), `?` (one character) and `[a-z0-9]` (one of a set or
//! range). Expanded against the directories as they are at launch; a
//! pattern matching nothing grants nothing. Hidden entries only match a
//! pattern that starts with `.`.

use std::path::{Component, Path, PathBuf};

/// Whether `s` has a wildcard.
pub fn is_pattern(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// The existing paths `pattern` (absolute) matches, sorted.
pub fn expand(pattern: &Path) -> Vec<PathBuf> {
    let mut found = vec![PathBuf::from("/")];
    for c in pattern.components() {
        let Component::Normal(part) = c else {
            continue;
        };
        let part = part.to_string_lossy();
        found = if is_pattern(&part) {
            found.iter().flat_map(|dir| matching(dir, &part)).collect()
        } else {
            found
                .into_iter()
                .map(|d| d.join(&*part))
                .filter(|p| p.symlink_metadata().is_ok())
                .collect()
        };
    }
    found.sort();
    found
}

fn matching(dir: &Path, pat: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') || pat.starts_with('.'))
        .filter(|n| matches(pat.as_bytes(), n.as_bytes()))
        .map(|n| dir.join(n))
        .collect()
}

/// Whether the absolute `path` matches `pattern` component by component.
pub fn matches_path(pattern: &str, path: &Path) -> bool {
    let pat: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
    let comps: Vec<String> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    pat.len() == comps.len()
        && pat
            .iter()
            .zip(&comps)
            .all(|(p, c)| matches(p.as_bytes(), c.as_bytes()))
}

/// Whether `name` matches `pat` (one component).
pub fn matches(pat: &[u8], name: &[u8]) -> bool {
    match pat.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|i| matches(rest, &name[i..])),
        Some((b'?', rest)) => !name.is_empty() && matches(rest, &name[1..]),
        Some((b'[', rest)) => match (rest.iter().position(|&b| b == b']'), name.split_first()) {
            (Some(end), Some((&c, tail))) => {
                in_set(&rest[..end], c) && matches(&rest[end + 1..], tail)
            }
            _ => false,
        },
        Some((&p, rest)) => name.first() == Some(&p) && matches(rest, &name[1..]),
    }
}

fn in_set(set: &[u8], c: u8) -> bool {
    let mut i = 0;
    while i < set.len() {
        if i + 2 < set.len() && set[i + 1] == b'-' {
            if (set[i]..=set[i + 2]).contains(&c) {
                return true;
            }
            i += 3;
        } else {
            if set[i] == c {
                return true;
            }
            i += 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_documented() {
        let m = |p: &str, n: &str| matches(p.as_bytes(), n.as_bytes());
        assert!(m("renderD*", "renderD128") && !m("renderD*", "card0"));
        assert!(m("nvidia[0-9]*", "nvidia0") && m("nvidia[0-9]*", "nvidia12"));
        assert!(!m("nvidia[0-9]*", "nvidiactl") && !m("nvidia[0-9]*", "nvidia-uvm"));
        assert!(!m("nvidia[0-9]*", "nvidia-modeset") && !m("nvidia[0-9]*", "nvidia"));
        assert!(m("nvidia-cap?", "nvidia-cap1") && !m("nvidia-cap?", "nvidia-cap12"));
        assert!(!m("[ab", "a"), "an unclosed set matches nothing");
    }

    #[test]
    fn expansion_walks_every_wildcard_component() {
        let d = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(d.path()).unwrap();
        for p in [
            "dri/renderD128",
            "dri/renderD129",
            "dri/card0",
            "x/card1/device",
            "x/card2",
        ] {
            let p = root.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "").unwrap();
        }
        std::fs::write(root.join("dri/.renderD1"), "").unwrap();
        let got = expand(&root.join("dri/renderD*"));
        assert_eq!(
            got,
            vec![root.join("dri/renderD128"), root.join("dri/renderD129")]
        );
        assert_eq!(
            expand(&root.join("x/*/device")),
            vec![root.join("x/card1/device")]
        );
        assert!(expand(&root.join("none/renderD*")).is_empty());
        assert!(is_pattern("/dev/nvidia[0-9]*") && !is_pattern("/dev/kfd"));
        assert!(matches_path(
            "/dev/dri/renderD*",
            Path::new("/dev/dri/renderD128")
        ));
        assert!(!matches_path(
            "/dev/dri/renderD*",
            Path::new("/dev/dri/card0")
        ));
        assert!(!matches_path(
            "/dev/dri/renderD*",
            Path::new("/dev/dri/renderD1/x")
        ));
    }
}
