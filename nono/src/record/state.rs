//! Where records live, the user's `[redaction]` configuration, and the
//! audit signing key.
//!
//! `${XDG_STATE_HOME:-~/.local/state}/nono/` holds `audit/<id>/` and
//! `rollbacks/` (the blob store and `<id>/` manifests); the older
//! `~/.nono/audit/` is read too. Both are in the required `deny_nono_state`
//! policy group, so no sandbox can reach them.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

fn env_dir(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

fn home() -> Result<PathBuf> {
    env_dir("HOME")
        .filter(|h| h != Path::new("/"))
        .context("HOME is not set: nono cannot place its state directory")
}

/// `${XDG_STATE_HOME:-~/.local/state}/nono`.
pub fn state_dir() -> Result<PathBuf> {
    Ok(match env_dir("XDG_STATE_HOME") {
        Some(d) => d.join("nono"),
        None => home()?.join(".local/state/nono"),
    })
}

pub fn audit_root() -> Result<PathBuf> {
    Ok(state_dir()?.join("audit"))
}

/// Where sessions are looked up: the current layout, then `~/.nono/audit`.
pub fn audit_roots() -> Result<Vec<PathBuf>> {
    let mut roots = vec![audit_root()?];
    if let Ok(h) = home() {
        roots.push(h.join(".nono/audit"));
    }
    Ok(roots)
}

pub fn rollback_root() -> Result<PathBuf> {
    Ok(state_dir()?.join("rollbacks"))
}

fn config_file() -> Option<PathBuf> {
    env_dir("XDG_CONFIG_HOME")
        .or_else(|| home().ok().map(|h| h.join(".config")))
        .map(|c| c.join("nono/config.toml"))
}

#[derive(Debug, Default, serde::Deserialize)]
struct ConfigFile {
    #[serde(default)]
    redaction: audit::RedactionConfig,
}

/// The redaction policy: the default plus `[redaction]` of the user's
/// configuration. A configuration that cannot be read or parsed is an
/// error: recording with a policy the user did not ask for fails closed.
pub fn redaction() -> Result<audit::Policy> {
    let Some(path) = config_file().filter(|p| p.exists()) else {
        return Ok(audit::Policy::default());
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let raw: toml::Value =
        toml::from_str(&text).with_context(|| format!("{} is not valid TOML", path.display()))?;
    let Some(section) = raw.get("redaction") else {
        return Ok(audit::Policy::default());
    };
    let cfg: ConfigFile = toml::from_str(&format!("[redaction]\n{}", toml::to_string(section)?))
        .with_context(|| format!("{}: [redaction]", path.display()))?;
    audit::Policy::from_config(&cfg.redaction).with_context(|| path.display().to_string())
}

/// The key `--audit-sign-key` names, loaded before the session starts.
pub fn sign_key(reference: &str) -> Result<(String, trust::LocalKey)> {
    let Some(path) = reference.strip_prefix("file://") else {
        bail!(
            "--audit-sign-key {reference}: only file:///PATH.pem keys are available in this build; \
             keystore-backed keys (bare names, keystore://, op://, keyring://, env://, \
             apple-password://) need signing inside nono-keyholder, which does not exist yet"
        );
    };
    if !path.starts_with('/') {
        bail!(
            "--audit-sign-key {reference}: a file reference needs an absolute path (file:///PATH)"
        );
    }
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("--audit-sign-key: cannot read the key file {path}"))?,
    );
    let key =
        trust::LocalKey::from_pem(&text).with_context(|| format!("--audit-sign-key {path}"))?;
    let id = Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file-key".into());
    Ok((id, key))
}
