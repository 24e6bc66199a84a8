//! Policies and bundles on disk: the user-level policy (the anchor), project
//! policies and whether they are authoritative, and the bundle of a file.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use trust::patterns::{BUNDLE_SUFFIX, MULTI_BUNDLE};
use trust::policy::FILE_NAME;
use trust::{keys, Purpose, Status, TrustPolicy};

use crate::ui;

/// `$XDG_CONFIG_HOME/nono/trust-policy.json` (or `~/.config/nono/...`).
pub fn user_policy_path() -> Result<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .context(
            "neither XDG_CONFIG_HOME nor HOME is set: cannot find the user-level trust policy",
        )?;
    Ok(base.join("nono").join(FILE_NAME))
}

/// `PATH.bundle`.
pub fn sidecar(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(BUNDLE_SUFFIX);
    PathBuf::from(s)
}

pub fn load(path: &Path) -> Result<TrustPolicy> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the trust policy {}", path.display()))?;
    TrustPolicy::parse(&bytes).with_context(|| format!("trust policy {}", path.display()))
}

/// A policy file checked against `anchor` through its `.bundle`.
pub fn policy_status(path: &Path, anchor: &TrustPolicy) -> Result<Status> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the trust policy {}", path.display()))?;
    let bundle = std::fs::read(sidecar(path)).ok();
    let name = file_name(path);
    Ok(trust::check(
        &name,
        &keys::sha256_hex(&bytes),
        bundle.as_deref(),
        anchor,
        Purpose::TrustPolicy,
    ))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The user-level policy, if there is one. It must verify against itself
/// when it has a bundle; without one it is used with a warning.
pub fn user_policy() -> Result<Option<(PathBuf, TrustPolicy)>> {
    // Without HOME there is no user-level policy to find.
    let Ok(path) = user_policy_path() else {
        return Ok(None);
    };
    if !path.exists() {
        return Ok(None);
    }
    let policy = load(&path)?;
    if !sidecar(&path).exists() {
        ui::warn(format!(
            "the user-level trust policy {} is not signed; sign it with nono trust sign-policy --user",
            path.display()
        ));
        return Ok(Some((path, policy)));
    }
    let status = policy_status(&path, &policy)?;
    if !status.is_verified() {
        bail!(
            "the user-level trust policy {} failed verification: {}; re-sign it with \
             nono trust sign-policy --user if you changed it",
            path.display(),
            status.describe()
        );
    }
    Ok(Some((path, policy)))
}

/// The policy in force: the user's, plus each project policy (its
/// publishers only when its bundle verifies against the user's policy).
/// `None` when there is no policy at all.
pub fn effective(projects: &[PathBuf]) -> Result<Option<(TrustPolicy, Vec<PathBuf>)>> {
    let user = user_policy()?;
    if user.is_none() && projects.is_empty() {
        return Ok(None);
    }
    let mut files = Vec::new();
    let mut eff = match &user {
        Some((path, p)) => {
            files.push(path.clone());
            p.clone()
        }
        None => TrustPolicy::parse(br#"{"version": 1}"#)?,
    };
    for path in projects {
        let project = load(path)?;
        let anchored = match &user {
            Some((_, u)) => policy_status(path, u)?,
            None => Status::UntrustedSigner,
        };
        if !anchored.is_verified() {
            ui::warn(not_authoritative(path, &anchored, user.is_some()));
        }
        eff.merge(&project, anchored.is_verified());
        files.push(path.clone());
        files.push(sidecar(path));
    }
    Ok(Some((eff, files)))
}

fn not_authoritative(path: &Path, status: &Status, have_user: bool) -> String {
    let why = if have_user {
        format!(
            "{}; sign it with a key the user-level policy trusts: nono trust sign-policy --key ID",
            status.describe()
        )
    } else {
        "there is no user-level trust policy; create one with nono trust init --user and \
         nono trust sign-policy --user"
            .to_string()
    };
    format!(
        "project trust policy {} is not authoritative ({why}); its publishers are not trusted",
        path.display()
    )
}

/// The bundle for `file` (relative name `rel` under `root`): its sidecar,
/// else the nearest `.nono-trust.bundle` from its directory up to `root`.
/// Returns the name the bundle must give the file, and the bundle's path.
pub fn bundle_for(root: &Path, file: &Path) -> Option<(String, PathBuf)> {
    let side = sidecar(file);
    if side.is_file() {
        return Some((file_name(file), side));
    }
    let mut dir = file.parent()?;
    loop {
        let multi = dir.join(MULTI_BUNDLE);
        if multi.is_file() {
            let rel = file.strip_prefix(dir).ok()?.to_string_lossy().into_owned();
            return Some((rel, multi));
        }
        if dir == root {
            return None;
        }
        dir = dir.parent()?;
    }
}

/// `verify --policy FILE`: the named policy is used as given; say so when
/// the user-level policy does not anchor it.
pub fn effective_note(path: &Path) -> Result<()> {
    let why = match user_policy()? {
        None => "there is no user-level trust policy".to_string(),
        Some((user_path, _)) if same_file(&user_path, path) => return Ok(()),
        Some((_, user)) => match policy_status(path, &user)? {
            s if s.is_verified() => return Ok(()),
            s => s.describe(),
        },
    };
    ui::warn(format!(
        "trust policy {} is not anchored by the user-level policy ({why}); \
         verifying against it because --policy names it",
        path.display()
    ));
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(x), Ok(y)) if x == y)
}
