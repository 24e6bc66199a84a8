//! The pre-exec scan of `run` and `wrap`: before the agent exists, every
//! instruction file the effective policy covers under the granted
//! directories is verified. With `enforcement: deny` a failure stops the
//! launch (exit 1). Verified files, their bundles and the policies become
//! write-protected for the session (Landlock: expanded around them).

use std::path::{Path, PathBuf};

use anyhow::Result;
use sandbox::GrantKind;
use trust::policy::FILE_NAME;
use trust::{Enforcement, TrustPolicy};

use super::check::{self, Finding};
use super::{anchor, discover};
use crate::grants::Source;
use crate::out::EXIT_NONO_ERROR;
use crate::policy::protect::{self, canonical_lenient, Denied, Protection};
use crate::policy::resolve::Policy;
use crate::stderr::errln;
use crate::ui;

/// Where the session's write protections come from.
const ORIGIN: &str = "nono trust";

/// Run the scan; `Ok(Err(code))` means the launch must stop (reported).
/// What the scan found, for the session's audit record.
pub type Summary = serde_json::Value;

/// `learn`: `nono learn --sandboxed`, whose read grant of `/` is not a
/// project tree and is left out (the working directory, granted too, is
/// scanned).
pub fn before_launch(
    override_: bool,
    skip: &[String],
    workdir: &Path,
    policy: &mut Policy,
    summary: &mut Option<Summary>,
    learn: bool,
) -> Result<Result<(), i32>> {
    if override_ {
        *summary = Some(serde_json::json!({"override": true}));
        errln!(
            "nono: WARNING: --trust-override: instruction files are NOT verified for this session; \
             unsigned or tampered files reach the command (development and testing only)"
        );
        return Ok(Ok(()));
    }
    let (trees, files) = roots(policy, learn);
    let projects: Vec<PathBuf> = trees
        .iter()
        .map(|r| r.join(FILE_NAME))
        .filter(|p| p.is_file())
        .collect();
    let Some((eff, policy_files)) = anchor::effective(&projects)? else {
        ui::info("no trust policy (user-level or in a granted directory): instruction files are not verified");
        *summary = Some(serde_json::json!({"policy": null}));
        return Ok(Ok(()));
    };
    let findings = scan(&eff, &trees, &files, skip);
    *summary = Some(serde_json::json!({
        "enforcement": eff.enforcement,
        "policies": policy_files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "files": findings.iter().map(|f| serde_json::json!({
            "path": shown(&f.path, workdir),
            "sha256": f.digest,
            "status": f.describe(),
            "verified": f.is_verified(),
        })).collect::<Vec<_>>(),
    }));
    let failed: Vec<&Finding> = findings.iter().filter(|f| !f.is_verified()).collect();
    ui::info(format!(
        "trust: {} instruction file(s) checked, {} failed",
        findings.len(),
        failed.len()
    ));
    if !failed.is_empty() {
        match eff.enforcement {
            Enforcement::Deny => {
                errln!("FATAL: instruction files failed trust verification");
                for f in &failed {
                    errln!("  {} ({})", shown(&f.path, workdir), f.reason());
                }
                errln!("nono: sign them (nono trust sign), or pass --trust-override (development only)");
                return Ok(Err(EXIT_NONO_ERROR));
            }
            Enforcement::Warn => {
                for f in &failed {
                    ui::warn(format!(
                        "instruction file {} ({})",
                        shown(&f.path, workdir),
                        f.reason()
                    ));
                }
            }
            Enforcement::Audit => {
                for f in &failed {
                    ui::info(format!(
                        "instruction file {} ({})",
                        shown(&f.path, workdir),
                        f.reason()
                    ));
                }
            }
        }
    }
    let mut paths: Vec<PathBuf> = findings.iter().flat_map(Finding::protected_paths).collect();
    paths.extend(policy_files.into_iter().filter(|p| p.exists()));
    protect_paths(policy, paths)?;
    Ok(Ok(()))
}

fn scan(eff: &TrustPolicy, trees: &[PathBuf], files: &[PathBuf], skip: &[String]) -> Vec<Finding> {
    let opts = discover::Options {
        skip,
        recursive: true,
        gitignore: false,
    };
    let mut out = Vec::new();
    let mut bundles = check::Bundles::default();
    for root in trees {
        for found in discover::find(root, eff, &opts) {
            out.push(check::file(root, &found, eff, &mut bundles));
        }
    }
    for file in files {
        let (Some(parent), Some(name)) = (file.parent(), file.file_name()) else {
            continue;
        };
        let rel = name.to_string_lossy().into_owned();
        if eff.covers(&rel) {
            let found = discover::Found {
                rel,
                path: file.clone(),
                symlink: false,
            };
            out.push(check::file(parent, &found, eff, &mut bundles));
        }
    }
    out
}

/// Granted trees (outermost only) and single files from the user's flags,
/// the working directory and the profile; built-in system grants are not
/// scanned.
fn roots(policy: &Policy, learn: bool) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut trees = Vec::new();
    let mut files = Vec::new();
    for g in &policy.grants {
        if !matches!(
            g.source,
            Source::Flag(_) | Source::Workdir | Source::Profile(_)
        ) || (learn && g.path.parent().is_none())
        {
            continue;
        }
        match g.kind {
            GrantKind::Tree => trees.push(g.path.clone()),
            GrantKind::File => files.push(g.path.clone()),
        }
    }
    // Shortest first, so a tree's ancestors are kept before it is looked
    // at; one set lookup per ancestor (policies reach thousands of trees).
    trees.sort_by_key(|p| p.as_os_str().len());
    let mut kept: std::collections::HashSet<PathBuf> = std::collections::HashSet::new();
    let beneath_kept = |p: &Path, kept: &std::collections::HashSet<PathBuf>| {
        p.ancestors().any(|a| kept.contains(a))
    };
    let mut outer: Vec<PathBuf> = Vec::new();
    for t in trees {
        if !beneath_kept(&t, &kept) {
            kept.insert(t.clone());
            outer.push(t);
        }
    }
    files.retain(|f| !beneath_kept(f, &kept));
    (outer, files)
}

fn shown(path: &Path, workdir: &Path) -> String {
    path.strip_prefix(workdir)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Write-protect `paths` for the session and recompute the rules.
fn protect_paths(policy: &mut Policy, paths: Vec<PathBuf>) -> Result<()> {
    if paths.is_empty() {
        return Ok(());
    }
    for p in paths {
        let path = canonical_lenient(&p);
        if policy.protections.iter().any(|x| x.path == path) {
            continue;
        }
        policy.protections.push(Protection {
            path,
            denied: Denied::Write,
            category: "Signed instruction file or trust policy".into(),
            origin: ORIGIN.into(),
        });
    }
    let (rules, expanded) =
        protect::apply(&policy.grants, &policy.active_protections(), &policy.bypass)?;
    policy.rules = rules;
    policy.expanded = expanded;
    Ok(())
}
