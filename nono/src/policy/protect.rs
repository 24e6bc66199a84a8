//! Protected paths under granted directories.
//!
//! Landlock can only add access, never carve a hole beneath a granted
//! directory. So a tree grant that contains a protected path is *expanded*:
//! the directory itself gets no rule, every entry beside the protected path
//! gets the original grant, and the directories on the way down are
//! expanded the same way. A protected path that does not exist yet cannot be
//! created, since its parent gets no rule. Symbolic links in expanded
//! directories get no rule of their own (Landlock checks the target).
//!
//! After expansion, [`verify`] re-checks that no rule reaches a protected
//! path (fail closed on any bug in the expansion).

use std::fs;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};
use sandbox::{AccessMode, GrantKind};

use crate::grants::{Grant, Source};

/// What a protection denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No access at all.
    All,
    /// No writing; reading stays as granted.
    Write,
}

/// One protected path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protection {
    pub path: PathBuf,
    pub denied: Denied,
    pub category: String,
    /// The group (or profile field) it comes from.
    pub origin: String,
}

/// `path` made absolute and physical as far as it exists; the missing rest
/// is appended with `.` and `..` folded lexically.
pub fn canonical_lenient(path: &Path) -> PathBuf {
    if let Ok(c) = crate::canon::canonicalize(path) {
        return c;
    }
    if !path.components().any(|c| c == Component::ParentDir) {
        return via_existing_ancestor(path);
    }
    // With `..`, walk component by component: each prefix that exists is
    // made physical (symlinks resolved), so a later `..` climbs from the
    // real directory, as the kernel's lookup does.
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::RootDir | Component::Prefix(_) | Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(name) => {
                out.push(name);
                if let Ok(real) = fs::canonicalize(&out) {
                    out = real;
                }
            }
        }
    }
    out
}

/// The longest existing ancestor made physical, plus the missing rest
/// (one `realpath` instead of one per component).
fn via_existing_ancestor(path: &Path) -> PathBuf {
    let mut missing: Vec<&std::ffi::OsStr> = Vec::new();
    let mut cur = path;
    while let (Some(name), Some(parent)) = (cur.file_name(), cur.parent()) {
        missing.push(name);
        if let Ok(real) = crate::canon::canonicalize(parent) {
            return missing.iter().rev().fold(real, |acc, n| acc.join(n));
        }
        cur = parent;
    }
    path.to_path_buf()
}

/// `p` is `dir` or beneath it. Both are canonical absolute paths, so a
/// byte-prefix test on a `/` boundary is exact (and much cheaper than
/// component-wise `Path::starts_with` in the rules x protections loops).
pub fn under(p: &Path, dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let (p, d) = (p.as_os_str().as_bytes(), dir.as_os_str().as_bytes());
    p.starts_with(d) && (p.len() == d.len() || d == b"/" || p[d.len()] == b'/')
}

/// `p` strictly beneath `dir` (canonical, so compared as bytes too).
fn inside(p: &Path, dir: &Path) -> bool {
    p.as_os_str().len() != dir.as_os_str().len() && under(p, dir)
}

/// The same canonical path (bytes; `Path`'s `==` walks components).
fn same(a: &Path, b: &Path) -> bool {
    a.as_os_str() == b.as_os_str()
}

fn bypassed(path: &Path, prot: &Protection, bypass: &[PathBuf]) -> bool {
    bypass
        .iter()
        .any(|b| under(path, b) && under(b, &prot.path))
}

/// Protections still in force after `--bypass-protection`: a bypass equal to
/// or containing a protected path lifts it entirely.
pub fn active(protections: &[Protection], bypass: &[PathBuf]) -> Vec<Protection> {
    protections
        .iter()
        .filter(|p| !bypass.iter().any(|b| under(&p.path, b)))
        .cloned()
        .collect()
}

fn without_write(mode: AccessMode) -> Option<AccessMode> {
    mode.reads().then_some(AccessMode::Read)
}

/// The effective rules for `grants` under `protections` (already `active`),
/// and the directories that were expanded (they have no rule of their own).
pub fn apply(
    grants: &[Grant],
    protections: &[Protection],
    bypass: &[PathBuf],
) -> Result<(Vec<Grant>, Vec<PathBuf>)> {
    let mut out = Vec::new();
    let mut expanded = Vec::new();
    for g in grants {
        let Some(g) = within_protection(g, protections, bypass)? else {
            continue;
        };
        let inner: Vec<&Protection> = protections
            .iter()
            .filter(|p| g.kind == GrantKind::Tree && inside(&p.path, &g.path))
            .filter(|p| p.denied == Denied::All || g.mode.writes())
            .filter(|p| !bypassed(&p.path, p, bypass))
            .collect();
        if inner.is_empty() {
            out.push(g);
        } else {
            expand(&g.path, g.mode, &g.source, &inner, &mut out, &mut expanded)?;
        }
    }
    verify(&out, protections, bypass)?;
    Ok((out, expanded))
}

/// A grant on or beneath a protected path: refused for the user's own flags
/// (with the fix), dropped or narrowed for built-in and profile grants.
fn within_protection(
    g: &Grant,
    protections: &[Protection],
    bypass: &[PathBuf],
) -> Result<Option<Grant>> {
    let mut g = g.clone();
    for p in protections.iter().filter(|p| under(&g.path, &p.path)) {
        if bypassed(&g.path, p, bypass) || (p.denied == Denied::Write && !g.mode.writes()) {
            continue;
        }
        if let Source::Flag(flag) = g.source {
            bail!(
                "{flag} {}: {} is protected ({}, {}); to grant it anyway add --bypass-protection {}",
                g.path.display(),
                p.path.display(),
                p.category,
                p.origin,
                p.path.display()
            );
        }
        match (p.denied, without_write(g.mode)) {
            (Denied::Write, Some(m)) => g.mode = m,
            _ => return Ok(None),
        }
    }
    Ok(Some(g))
}

fn expand(
    dir: &Path,
    mode: AccessMode,
    source: &Source,
    inner: &[&Protection],
    out: &mut Vec<Grant>,
    expanded: &mut Vec<PathBuf>,
) -> Result<()> {
    expanded.push(dir.to_path_buf());
    let entries = fs::read_dir(dir).with_context(|| {
        format!(
            "cannot list {} to grant around the protected paths in it",
            dir.display()
        )
    })?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let path = entry.path();
        let ft = entry
            .file_type()
            .with_context(|| format!("cannot stat {}", path.display()))?;
        if ft.is_symlink() {
            continue;
        }
        let kind = if ft.is_dir() {
            GrantKind::Tree
        } else {
            GrantKind::File
        };
        if let Some(p) = inner.iter().find(|p| same(&p.path, &path)) {
            if let (Denied::Write, Some(m)) = (p.denied, without_write(mode)) {
                out.push(Grant {
                    path,
                    mode: m,
                    kind,
                    source: source.clone(),
                });
            }
            continue;
        }
        let below: Vec<&Protection> = inner
            .iter()
            .copied()
            .filter(|p| inside(&p.path, &path))
            .collect();
        if below.is_empty() {
            out.push(Grant {
                path,
                mode,
                kind,
                source: source.clone(),
            });
        } else if ft.is_dir() {
            expand(&path, mode, source, &below, out, expanded)?;
        }
    }
    Ok(())
}

/// Fail closed: no rule may reach a protected path it should not.
pub fn verify(rules: &[Grant], protections: &[Protection], bypass: &[PathBuf]) -> Result<()> {
    for r in rules {
        for p in protections {
            let covers =
                under(&p.path, &r.path) && (r.kind == GrantKind::Tree || same(&r.path, &p.path));
            let within = under(&r.path, &p.path);
            let reaches = (covers || within) && !bypassed(&r.path, p, bypass);
            let harmful = p.denied == Denied::All || r.mode.writes();
            if reaches && harmful {
                bail!(
                    "refusing to run: the rule for {} would reach the protected path {} ({})",
                    r.path.display(),
                    p.path.display(),
                    p.category
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prot(path: &Path, denied: Denied) -> Protection {
        Protection {
            path: path.to_path_buf(),
            denied,
            category: "test".into(),
            origin: "test".into(),
        }
    }

    fn tree(path: &Path, mode: AccessMode, source: Source) -> Grant {
        Grant {
            path: path.to_path_buf(),
            mode,
            kind: GrantKind::Tree,
            source,
        }
    }

    fn home() -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let h = fs::canonicalize(d.path()).unwrap();
        for dir in [".ssh", "projects/a", ".config/gcloud", ".config/app"] {
            fs::create_dir_all(h.join(dir)).unwrap();
        }
        for f in [
            ".ssh/id_rsa",
            "notes.txt",
            ".config/app/x",
            ".config/gcloud/creds",
            "projects/a/main.rs",
        ] {
            fs::write(h.join(f), "x").unwrap();
        }
        std::os::unix::fs::symlink(h.join(".ssh/id_rsa"), h.join("key-link")).unwrap();
        (d, h)
    }

    #[test]
    fn grant_is_expanded_around_nested_protections() {
        let (_d, h) = home();
        let prots = vec![
            prot(&h.join(".ssh"), Denied::All),
            prot(&h.join(".config/gcloud"), Denied::All),
        ];
        let (rules, _) = apply(
            &[tree(&h, AccessMode::ReadWrite, Source::Flag("--allow"))],
            &prots,
            &[],
        )
        .unwrap();
        let paths: Vec<&Path> = rules.iter().map(|r| r.path.as_path()).collect();
        assert!(paths.contains(&h.join("projects").as_path()));
        assert!(paths.contains(&h.join("notes.txt").as_path()));
        assert!(paths.contains(&h.join(".config/app").as_path()));
        assert!(
            !paths.contains(&h.as_path()),
            "the home itself gets no rule"
        );
        assert!(!paths.contains(&h.join(".config").as_path()));
        assert!(!paths
            .iter()
            .any(|p| p.starts_with(h.join(".ssh")) || p.starts_with(h.join(".config/gcloud"))));
        assert!(
            !paths.contains(&h.join("key-link").as_path()),
            "symlinks get no rule"
        );
    }

    #[test]
    fn missing_protected_path_still_forces_expansion() {
        let (_d, h) = home();
        let prots = vec![prot(&h.join(".aws"), Denied::All)];
        let (rules, _) = apply(
            &[tree(&h, AccessMode::ReadWrite, Source::Flag("--allow"))],
            &prots,
            &[],
        )
        .unwrap();
        assert!(
            !rules.iter().any(|r| r.path == h),
            "home must get no rule so .aws cannot be created"
        );
    }

    #[test]
    fn user_grant_of_a_protected_path_is_refused_with_the_fix() {
        let (_d, h) = home();
        let prots = vec![prot(&h.join(".ssh"), Denied::All)];
        let g = tree(&h.join(".ssh"), AccessMode::Read, Source::Flag("--read"));
        let e = apply(std::slice::from_ref(&g), &prots, &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("--bypass-protection"), "{e}");
        // With the bypass the grant stands as given.
        let active = active(&prots, &[h.join(".ssh")]);
        let (rules, _) = apply(&[g], &active, &[h.join(".ssh")]).unwrap();
        assert_eq!(rules.len(), 1);
    }

    #[test]
    fn builtin_grant_of_a_protected_path_is_dropped() {
        let (_d, h) = home();
        let prots = vec![prot(&h.join(".ssh"), Denied::All)];
        let g = tree(&h.join(".ssh"), AccessMode::Read, Source::Group("x".into()));
        assert!(apply(&[g], &prots, &[]).unwrap().0.is_empty());
    }

    #[test]
    fn write_protection_keeps_reading() {
        let (_d, h) = home();
        let prots = vec![prot(&h.join("notes.txt"), Denied::Write)];
        let (rules, _) = apply(
            &[tree(&h, AccessMode::ReadWrite, Source::Flag("--allow"))],
            &prots,
            &[],
        )
        .unwrap();
        let notes = rules
            .iter()
            .find(|r| r.path == h.join("notes.txt"))
            .unwrap();
        assert_eq!(notes.mode, AccessMode::Read);
        // A read-only grant needs no expansion at all.
        let (rules, _) = apply(
            &[tree(&h, AccessMode::Read, Source::Flag("--read"))],
            &prots,
            &[],
        )
        .unwrap();
        assert_eq!(rules.len(), 1);
    }

    #[test]
    fn verify_rejects_a_rule_covering_a_protection() {
        let (_d, h) = home();
        let prots = vec![prot(&h.join(".ssh"), Denied::All)];
        let bad = vec![tree(&h, AccessMode::Read, Source::PrivateTmp)];
        assert!(verify(&bad, &prots, &[]).is_err());
    }

    #[test]
    fn under_is_exact_on_component_boundaries() {
        assert!(under(Path::new("/a/b"), Path::new("/a")));
        assert!(under(Path::new("/a"), Path::new("/a")));
        assert!(!under(Path::new("/ab"), Path::new("/a")));
        assert!(under(Path::new("/x"), Path::new("/")));
        assert!(!under(Path::new("/a"), Path::new("/a/b")));
    }

    #[test]
    fn lenient_canonicalisation_folds_missing_parts() {
        let (_d, h) = home();
        assert_eq!(canonical_lenient(&h.join("a/b/c")), h.join("a/b/c"));
        std::os::unix::fs::symlink(h.join("projects"), h.join("plink")).unwrap();
        assert_eq!(
            canonical_lenient(&h.join("plink/new/x")),
            h.join("projects/new/x")
        );
        assert_eq!(
            canonical_lenient(&h.join("missing/../projects")),
            h.join("projects")
        );
        assert_eq!(canonical_lenient(&h.join("nope/x")), h.join("nope/x"));
    }
}
