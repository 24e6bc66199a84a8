//! Files that run code later, outside the sandbox, kept read-only inside
//! writable grants: git hooks and git configuration (`core.hooksPath`,
//! `core.fsmonitor`, aliases, filters run by the user's next `git commit`)
//! and, from a profile's `policy.keep_read_only`, an agent's hook-bearing
//! settings.
//!
//! Landlock cannot take write access away beneath a writable directory,
//! and expanding the grant around `.git/config` would leave `.git` without
//! a rule of its own, so git could not create `.git/index.lock` (no
//! `git add` or `git commit`). So these paths are *pinned* instead: the
//! process that becomes the agent's parent enters a mount namespace of its
//! own (with a user namespace when unprivileged) where each pinned path is
//! bind-mounted read-only onto itself (`sys::pin_read_only`). Writing,
//! creating inside, or replacing a pinned path by rename then fails
//! (EROFS/EBUSY); everything beside it keeps the grant. The repository
//! root and `.git` are bind-mounted onto themselves too, so neither can be
//! renamed away and replaced by a copy with planted hooks. The agent
//! cannot undo the mounts: seccomp denies every mount call and it holds no
//! capability.
//!
//! Repositories found: the one holding the working directory (at any
//! depth), and `.git` directly in a writable tree grant or in one of its
//! direct subdirectories (other, deeper repositories inside a broad grant
//! such as `--allow ~` are not searched for).
//! A `.git` *file* (worktree, submodule) is kept read-only itself (it names
//! the git directory) and followed to its git directory and, for a
//! worktree, to the common directory holding hooks and config; those are
//! pinned when a writable grant reaches them. Submodules inside
//! `.git/modules/` get their own hooks and config pinned.

use std::path::{Path, PathBuf};

use sandbox::GrantKind;

use super::protect::under;
use crate::grants::Grant;

/// The flag (and profile field `security.allow_git_config_writes`) that
/// lifts the git pins.
pub const GIT_OPT_OUT: &str = "--allow-git-config-writes";

/// One path kept read-only (or, for an anchor, only kept in place).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    pub path: PathBuf,
    /// false: bind-mounted onto itself as it is, only so it cannot be
    /// renamed or removed (a repository root, `.git`).
    pub read_only: bool,
    pub category: String,
    pub origin: String,
    /// How the user lifts it.
    pub lift: String,
}

fn writable(rules: &[Grant], p: &Path) -> bool {
    rules.iter().any(|r| {
        r.mode.writes() && (r.path == p || (r.kind == GrantKind::Tree && under(p, &r.path)))
    })
}

fn git_pin(path: PathBuf, read_only: bool, category: &str) -> Pin {
    Pin {
        path,
        read_only,
        category: category.to_string(),
        origin: "git read-only by default".to_string(),
        lift: GIT_OPT_OUT.to_string(),
    }
}

/// `gitdir: X` of a `.git` file, made absolute against its directory.
fn gitdir_of(dotgit: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(dotgit).ok()?;
    let rel = text.lines().next()?.strip_prefix("gitdir:")?.trim();
    std::fs::canonicalize(dotgit.parent()?.join(rel)).ok()
}

/// The directory holding hooks and config for git directory `gd`.
fn common_dir(gd: &Path) -> PathBuf {
    std::fs::read_to_string(gd.join("commondir"))
        .ok()
        .and_then(|c| std::fs::canonicalize(gd.join(c.trim())).ok())
        .unwrap_or_else(|| gd.to_path_buf())
}

/// Hooks and config of one git directory (and its submodules').
fn git_dir_pins(gd: &Path, out: &mut Vec<Pin>) {
    let common = common_dir(gd);
    out.push(git_pin(common.join("hooks"), true, "Git hooks"));
    out.push(git_pin(common.join("config"), true, "Git configuration"));
    let wt = gd.join("config.worktree");
    if wt.exists() {
        out.push(git_pin(wt, true, "Git configuration"));
    }
    let Ok(modules) = std::fs::read_dir(common.join("modules")) else {
        return;
    };
    for m in modules.flatten().map(|e| e.path()).filter(|p| p.is_dir()) {
        out.push(git_pin(m.join("hooks"), true, "Git hooks"));
        out.push(git_pin(m.join("config"), true, "Git configuration"));
    }
}

/// The repository at `root` (which has a `.git`), if any of it is writable.
fn repo_pins(root: &Path, rules: &[Grant], out: &mut Vec<Pin>) {
    let dotgit = root.join(".git");
    let meta = match std::fs::symlink_metadata(&dotgit) {
        Ok(m) => m,
        Err(_) => return,
    };
    let mut found = Vec::new();
    if meta.is_dir() {
        git_dir_pins(&dotgit, &mut found);
        found.push(git_pin(dotgit.clone(), false, "Git directory"));
    } else if meta.is_file() {
        if let Some(gd) = gitdir_of(&dotgit) {
            git_dir_pins(&gd, &mut found);
            found.push(git_pin(gd, false, "Git directory"));
        }
        // Read-only: rewritten, it would point git at a planted directory.
        found.push(git_pin(dotgit.clone(), true, "Git directory link"));
    }
    found.push(git_pin(root.to_path_buf(), false, "Git repository"));
    out.extend(found.into_iter().filter(|p| writable(rules, &p.path)));
}

/// Git pins for every repository at or directly inside a writable tree
/// grant (`grants`, as asked: before expansion around protected paths),
/// plus the user's global git configuration, each where one of the
/// effective `rules` lets it be written.
pub fn git(grants: &[Grant], rules: &[Grant], home: Option<&Path>, workdir: &Path) -> Vec<Pin> {
    let mut out = Vec::new();
    // The repository the command works in, however deep in a grant.
    let mut roots: Vec<PathBuf> = workdir.ancestors().map(Path::to_path_buf).collect();
    for r in grants
        .iter()
        .chain(rules)
        .filter(|r| r.kind == GrantKind::Tree && r.mode.writes())
    {
        roots.push(r.path.clone());
        if let Ok(entries) = std::fs::read_dir(&r.path) {
            roots.extend(
                entries
                    .flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.path()),
            );
        }
    }
    roots.sort();
    roots.dedup();
    for root in roots.iter().filter(|r| r.join(".git").exists()) {
        repo_pins(root, rules, &mut out);
    }
    if let Some(h) = home {
        for f in [h.join(".gitconfig"), h.join(".config/git/config")] {
            if f.is_file() && writable(rules, &f) {
                out.push(git_pin(f, true, "Git configuration"));
            }
        }
    }
    dedup(out)
}

/// Drop repeated paths (a path kept read-only wins over an anchor).
pub fn dedup(mut pins: Vec<Pin>) -> Vec<Pin> {
    pins.sort_by(|a, b| a.path.cmp(&b.path).then(b.read_only.cmp(&a.read_only)));
    pins.dedup_by(|a, b| a.path == b.path);
    pins
}

/// The pins to mount. One whose path does not exist yet is made (an empty
/// hooks directory, an empty config file) so there is something to mount:
/// otherwise the agent could create it. Where the user's own permissions
/// forbid creating it, the agent (same user) cannot either: it is left
/// out. Anchors are never created.
pub fn materialize(pins: Vec<Pin>) -> anyhow::Result<Vec<Pin>> {
    use anyhow::Context;
    let mut out = Vec::new();
    for p in pins {
        if p.path.exists() {
            out.push(p);
            continue;
        }
        if !p.read_only {
            continue;
        }
        let made = if p.path.file_name().is_some_and(|n| n == "hooks") {
            std::fs::create_dir(&p.path)
        } else {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&p.path)
                .map(drop)
        };
        match made {
            Ok(()) => out.push(p),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {}
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "cannot create {} to keep it read-only ({}; {} lifts this)",
                        p.path.display(),
                        p.category,
                        p.lift
                    )
                })
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grants::Source;
    use sandbox::AccessMode;

    fn rw(p: &Path) -> Grant {
        Grant {
            path: p.to_path_buf(),
            mode: AccessMode::ReadWrite,
            kind: GrantKind::Tree,
            source: Source::Workdir,
        }
    }

    #[test]
    fn repository_in_a_writable_grant_gets_hooks_and_config_pinned() {
        let d = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(d.path()).unwrap();
        std::fs::create_dir_all(root.join("repo/.git/hooks")).unwrap();
        std::fs::write(root.join("repo/.git/config"), "").unwrap();
        let pins = git(&[rw(&root)], &[rw(&root)], None, Path::new("/nonexistent"));
        let ro: Vec<&Path> = pins
            .iter()
            .filter(|p| p.read_only)
            .map(|p| p.path.as_path())
            .collect();
        assert!(
            ro.contains(&root.join("repo/.git/hooks").as_path()),
            "{pins:?}"
        );
        assert!(
            ro.contains(&root.join("repo/.git/config").as_path()),
            "{pins:?}"
        );
        assert!(pins
            .iter()
            .any(|p| p.path == root.join("repo") && !p.read_only));
        // Read-only grants need nothing.
        let ro_grant = Grant {
            mode: AccessMode::Read,
            ..rw(&root)
        };
        assert!(git(
            std::slice::from_ref(&ro_grant),
            std::slice::from_ref(&ro_grant),
            None,
            Path::new("/nonexistent")
        )
        .is_empty());
    }

    #[test]
    fn the_repository_of_the_working_directory_is_found_at_any_depth() {
        let d = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(d.path()).unwrap();
        let repo = root.join("a/b/c/repo");
        std::fs::create_dir_all(repo.join(".git/hooks")).unwrap();
        std::fs::create_dir_all(repo.join("src")).unwrap();
        let pins = git(&[rw(&root)], &[rw(&root)], None, &repo.join("src"));
        assert!(
            pins.iter()
                .any(|p| p.path == repo.join(".git/hooks") && p.read_only),
            "{pins:?}"
        );
        assert!(git(&[rw(&root)], &[rw(&root)], None, &root).is_empty());
    }

    #[test]
    fn a_worktree_link_is_followed_to_the_common_directory() {
        let d = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(d.path()).unwrap();
        let main = root.join("main/.git");
        std::fs::create_dir_all(main.join("worktrees/wt")).unwrap();
        std::fs::write(main.join("worktrees/wt/commondir"), "../..\n").unwrap();
        std::fs::create_dir_all(root.join("wt")).unwrap();
        std::fs::write(
            root.join("wt/.git"),
            format!("gitdir: {}\n", main.join("worktrees/wt").display()),
        )
        .unwrap();
        let pins = git(
            &[],
            &[rw(&root.join("wt")), rw(&root.join("main"))],
            None,
            Path::new("/nonexistent"),
        );
        assert!(
            pins.iter()
                .any(|p| p.path == main.join("config") && p.read_only),
            "{pins:?}"
        );
        // Only the worktree granted: the main repository is not writable anyway.
        let pins = git(
            &[],
            &[rw(&root.join("wt"))],
            None,
            Path::new("/nonexistent"),
        );
        assert!(!pins.iter().any(|p| p.path.starts_with(&main)), "{pins:?}");
    }
}
