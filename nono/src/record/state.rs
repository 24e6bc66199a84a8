//! Where records live, and the user's `[redaction]` and `[rollback]`
//! configuration.
//!
//! `${XDG_STATE_HOME:-~/.local/state}/nono/` holds `audit/<id>/` and
//! `rollbacks/` (the blob store and `<id>/` manifests); the older
//! `~/.nono/audit/` is read too. Both are in the required `deny_nono_state`
//! policy group, so no sandbox can reach them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

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

/// `[rollback]` of the user's configuration: how much the rollback store
/// keeps. 0 turns a limit off.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Retention {
    pub max_sessions: u64,
    pub max_age_days: u64,
    pub max_bytes: u64,
}

impl Default for Retention {
    fn default() -> Retention {
        Retention {
            max_sessions: 50,
            max_age_days: 30,
            max_bytes: 5_000_000_000,
        }
    }
}

impl Retention {
    pub fn limits(&self, now_secs: u64) -> rollback::retention::Limits {
        let on = |v: u64| Some(v).filter(|v| *v > 0);
        rollback::retention::Limits {
            max_sessions: on(self.max_sessions).map(|v| usize::try_from(v).unwrap_or(usize::MAX)),
            started_before: on(self.max_age_days)
                .map(|d| trust::time::rfc3339(now_secs.saturating_sub(d.saturating_mul(86_400)))),
            max_bytes: on(self.max_bytes),
        }
    }
}

/// The retention limits: the defaults, or `[rollback]` of the user's
/// configuration (an unreadable or invalid one is an error).
pub fn retention() -> Result<Retention> {
    let Some(path) = config_file().filter(|p| p.exists()) else {
        return Ok(Retention::default());
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let raw: toml::Value =
        toml::from_str(&text).with_context(|| format!("{} is not valid TOML", path.display()))?;
    let Some(section) = raw.get("rollback") else {
        return Ok(Retention::default());
    };
    section
        .clone()
        .try_into()
        .with_context(|| format!("{}: [rollback]", path.display()))
}
