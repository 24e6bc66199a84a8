//! Policy groups (`profiles/groups.toml`), turned into code at build time
//! (`build.rs`: the file is checked there, so a start-up never parses it).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use anyhow::{anyhow, Result};

pub use super::group::{DenyEntry, Group};

include!(concat!(env!("OUT_DIR"), "/groups.rs"));

type Groups = std::result::Result<BTreeMap<String, Group>, String>;

static BUILTIN: OnceLock<BTreeMap<String, Group>> = OnceLock::new();
static GROUPS: OnceLock<Groups> = OnceLock::new();

/// The built-in groups by name.
pub fn builtin() -> Result<&'static BTreeMap<String, Group>> {
    Ok(BUILTIN.get_or_init(generated))
}

/// Every group by name: the built-ins and the user's
/// (`~/.config/nono/groups.toml`, see `user_groups`). An invalid user file
/// is an error wherever groups are used: fail closed.
pub fn all() -> Result<&'static BTreeMap<String, Group>> {
    GROUPS
        .get_or_init(|| {
            let builtin = builtin().map_err(|e| e.to_string())?;
            let user = super::user_groups::load(builtin).map_err(|e| format!("{e:#}"))?;
            let mut all = builtin.clone();
            all.extend(user);
            Ok(all)
        })
        .as_ref()
        .map_err(|e| anyhow!("{e}"))
}

/// Whether `name` is a user-defined group.
pub fn is_user(name: &str) -> bool {
    builtin().is_ok_and(|b| !b.contains_key(name)) && all().is_ok_and(|a| a.contains_key(name))
}

/// One group by name, or an error listing the nearest valid name.
pub fn get(name: &str) -> Result<&'static Group> {
    let groups = all()?;
    groups.get(name).ok_or_else(|| {
        let hint = crate::policy::nearest(name, groups.keys().map(String::as_str))
            .map(|n| format!(" (did you mean '{n}'?)"))
            .unwrap_or_default();
        anyhow!("unknown policy group '{name}'{hint}; 'nono profile groups' lists them")
    })
}

/// Names of the groups that are always applied.
pub fn required() -> Result<Vec<&'static str>> {
    Ok(all()?
        .iter()
        .filter(|(_, g)| g.required)
        .map(|(n, _)| n.as_str())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `toml` makes of the file, as the build script read it.
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct GroupsFile {
        groups: BTreeMap<String, Group>,
    }

    #[test]
    fn generated_groups_are_what_the_file_says() {
        let text = include_str!("../../../profiles/groups.toml");
        let parsed = toml::from_str::<GroupsFile>(text).unwrap().groups;
        let json = |g: &BTreeMap<String, Group>| serde_json::to_value(g).unwrap();
        assert_eq!(json(builtin().unwrap()), json(&parsed));
        assert!(parsed.len() > 10, "{}", parsed.len());
    }

    #[test]
    fn groups_parse_and_protect_the_credential_paths() {
        let g = get("deny_credentials").unwrap();
        assert!(g.required);
        for p in [
            "$HOME/.ssh",
            "$HOME/.gnupg",
            "$HOME/.aws",
            "$HOME/.kube",
            "$HOME/.config/gcloud",
            "$HOME/.docker",
        ] {
            assert!(g.deny.iter().any(|d| d.path == p), "{p}");
        }
        let req = required().unwrap();
        for name in [
            "deny_credentials",
            "deny_keychains_linux",
            "deny_browser_data_linux",
            "deny_shell_history",
        ] {
            assert!(req.contains(&name), "{name}");
        }
    }

    #[test]
    fn persistence_group_is_opt_in_and_write_only() {
        let g = get("protect_persistence").unwrap();
        assert!(!g.required && g.deny.is_empty() && !g.deny_write.is_empty());
    }

    #[test]
    fn unknown_group_suggests_nearest() {
        let e = get("deny_credential").unwrap_err().to_string();
        assert!(e.contains("did you mean 'deny_credentials'"), "{e}");
    }

    #[test]
    fn no_group_writes_outside_home_devices_or_caches() {
        for (name, g) in builtin().unwrap() {
            for p in g.readwrite.iter().chain(&g.write) {
                assert!(
                    p.starts_with("$HOME/") || p.starts_with("/dev/"),
                    "{name}: {p}"
                );
            }
        }
    }
}
