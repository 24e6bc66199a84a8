//! The built-in policy groups (`profiles/groups.toml`), embedded at build time.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use sandbox::AccessMode;
use serde::Deserialize;

const GROUPS_TOML: &str = include_str!("../../profiles/groups.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupsFile {
    defaults: Defaults,
    groups: BTreeMap<String, Group>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Defaults {
    groups: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Group {
    #[allow(dead_code)]
    description: String,
    #[serde(default)]
    read: Vec<String>,
    #[serde(default)]
    write: Vec<String>,
    #[serde(default)]
    readwrite: Vec<String>,
}

/// One built-in path grant, before existence checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultGrant {
    pub path: PathBuf,
    pub mode: AccessMode,
    pub group: String,
}

/// The grants of the default seal, in file order.
pub fn default_grants() -> Result<Vec<DefaultGrant>> {
    let file: GroupsFile =
        toml::from_str(GROUPS_TOML).context("built-in profiles/groups.toml is malformed")?;
    let mut out = Vec::new();
    for name in &file.defaults.groups {
        let group = file
            .groups
            .get(name)
            .with_context(|| format!("built-in default group {name} is not defined"))?;
        let lists = [
            (&group.read, AccessMode::Read),
            (&group.write, AccessMode::Write),
            (&group.readwrite, AccessMode::ReadWrite),
        ];
        for (paths, mode) in lists {
            for p in paths {
                let Some(path) = expand(p) else { continue };
                out.push(DefaultGrant {
                    path,
                    mode,
                    group: name.clone(),
                });
            }
        }
    }
    Ok(out)
}

/// Expand a leading `$HOME/`; `None` when HOME is unset or not absolute
/// (the grant is then skipped, never widened).
fn expand(p: &str) -> Option<PathBuf> {
    match p.strip_prefix("$HOME/") {
        None => Some(PathBuf::from(p)),
        Some(rest) => std::env::var_os("HOME")
            .map(PathBuf::from)
            .filter(|h| h.is_absolute() && h != std::path::Path::new("/"))
            .map(|h| h.join(rest)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_groups_parse_and_are_absolute() {
        let grants = default_grants().unwrap();
        assert!(grants.len() > 20);
        assert!(grants.iter().all(|g| g.path.is_absolute()));
    }

    #[test]
    fn defaults_never_reach_secrets_or_home() {
        let grants = default_grants().unwrap();
        for bad in [
            "/etc/shadow",
            "/etc",
            "/root",
            "/home",
            "/",
            "/tmp",
            "/etc/sudoers",
        ] {
            assert!(
                !grants
                    .iter()
                    .any(|g| g.path.as_path() == std::path::Path::new(bad)),
                "{bad} must not be a default grant"
            );
        }
        for g in &grants {
            if g.mode.writes() {
                assert!(
                    g.path.starts_with("/dev"),
                    "{} is writable by default",
                    g.path.display()
                );
            }
        }
    }
}
