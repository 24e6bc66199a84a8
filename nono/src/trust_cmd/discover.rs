//! Finding instruction files under a directory. The pre-exec scan and
//! `sign --all`/`verify --all`/`list` ignore `.gitignore` (ignoring a file
//! must not bypass verification); `init` honours the root's `.gitignore`.
//! Directories in the built-in heavy list and `--skip-dir` names are
//! pruned; symbolic links to directories are not followed.

use std::path::{Path, PathBuf};

use trust::patterns::{self, HEAVY_DIRS};
use trust::TrustPolicy;

/// One instruction file.
#[derive(Debug, Clone)]
pub struct Found {
    /// `/`-separated, relative to the root.
    pub rel: String,
    pub path: PathBuf,
    pub symlink: bool,
}

#[derive(Debug, Default)]
pub struct Options<'a> {
    pub skip: &'a [String],
    pub recursive: bool,
    /// `init` only.
    pub gitignore: bool,
}

/// Instruction files under `root` that `policy` covers, sorted.
pub fn find(root: &Path, policy: &TrustPolicy, opts: &Options) -> Vec<Found> {
    let ignore = if opts.gitignore {
        gitignore(root)
    } else {
        Vec::new()
    };
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            crate::ui::info(format!(
                "trust scan: cannot list {}; skipped",
                dir.display()
            ));
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = format!("{prefix}{name}");
            if ignore.iter().any(|p| patterns::matches(p, &rel)) {
                continue;
            }
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_dir() {
                if opts.recursive && !pruned(&name, opts.skip) {
                    stack.push((entry.path(), format!("{rel}/")));
                }
            } else if (ft.is_file() || ft.is_symlink()) && policy.covers(&rel) {
                out.push(Found {
                    rel,
                    path: entry.path(),
                    symlink: ft.is_symlink(),
                });
            }
        }
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    out
}

fn pruned(name: &str, skip: &[String]) -> bool {
    name == ".git" || HEAVY_DIRS.contains(&name) || skip.iter().any(|s| s == name)
}

/// The root's `.gitignore` as patterns (negations are not supported and
/// skipped, so they can only make `init` list more files).
fn gitignore(root: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(root.join(".gitignore")) else {
        return Vec::new();
    };
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .map(|l| l.trim_start_matches('/').trim_end_matches('/').to_string())
        .filter(|l| patterns::validate(l).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> TrustPolicy {
        TrustPolicy::parse(br#"{"version": 1, "includes": ["docs/*.prompt"]}"#).unwrap()
    }

    #[test]
    fn walks_prunes_and_ignores() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        for dir in [".claude/commands", "node_modules/x", "gen", "docs", "sub"] {
            std::fs::create_dir_all(r.join(dir)).unwrap();
        }
        for f in [
            "CLAUDE.md",
            "CLAUDE.md.bundle",
            ".claude/commands/a.md",
            "node_modules/x/AGENTS.md",
            "gen/AGENTS.md",
            "docs/x.prompt",
            "sub/GEMINI.md",
            "README.md",
        ] {
            std::fs::write(r.join(f), "x").unwrap();
        }
        std::fs::write(r.join(".gitignore"), "sub/\n").unwrap();
        let skip = vec!["gen".to_string()];
        let rels = |o: &Options| -> Vec<String> {
            find(r, &policy(), o).into_iter().map(|f| f.rel).collect()
        };
        let scan = Options {
            skip: &skip,
            recursive: true,
            gitignore: false,
        };
        assert_eq!(
            rels(&scan),
            [
                ".claude/commands/a.md",
                "CLAUDE.md",
                "docs/x.prompt",
                "sub/GEMINI.md"
            ]
        );
        let init = Options {
            skip: &[],
            recursive: true,
            gitignore: true,
        };
        assert!(!rels(&init).contains(&"sub/GEMINI.md".to_string()));
        assert!(rels(&init).contains(&"gen/AGENTS.md".to_string()));
        assert_eq!(rels(&Options::default()), ["CLAUDE.md"]);
    }
}
