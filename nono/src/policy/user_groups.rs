//! User-defined policy groups: `~/.config/nono/groups.toml`, in the format
//! of the built-in `profiles/groups.toml` (`[groups.NAME]` with
//! `description`, `read`, `readwrite`, `write`, `deny`, `deny_write`).
//! Profiles include them by name (`security.groups`), like built-ins.
//!
//! Rules, checked with errors naming file:line:column and field: a user
//! group may not reuse a built-in's name (it could not then be told apart
//! in `why`), and `required = true` (always applied) is allowed only for a
//! group that grants nothing, so a file outside any profile can add
//! protections everywhere but never grants. Only the user's configuration
//! directory is read, never the working directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};

use super::group::Group;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct UserGroupsFile {
    #[serde(default)]
    groups: BTreeMap<String, Group>,
}

/// `~/.config/nono/groups.toml` (`$XDG_CONFIG_HOME` first).
pub fn file() -> Option<PathBuf> {
    super::vars::user_dir().and_then(|d| d.parent().map(|p| p.join("groups.toml")))
}

/// The user's groups, checked against the built-in names; none without a file.
pub fn load(builtin: &BTreeMap<String, Group>) -> Result<BTreeMap<String, Group>> {
    let Some(path) = file().filter(|p| p.exists()) else {
        return Ok(BTreeMap::new());
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
    parse(&text, &path, builtin)
}

fn at(text: &str, file: &Path, needle: &str) -> String {
    match super::profile::locate(text, needle) {
        Some((l, c)) => format!("{}:{l}:{c}", file.display()),
        None => file.display().to_string(),
    }
}

/// Parse and check `text` (the file `file`).
pub fn parse(
    text: &str,
    file: &Path,
    builtin: &BTreeMap<String, Group>,
) -> Result<BTreeMap<String, Group>> {
    let de = toml::Deserializer::new(text);
    let parsed: UserGroupsFile = serde_path_to_error::deserialize(de)
        .map_err(|e| anyhow!(super::plain::toml(text, &file.display().to_string(), &e)))?;
    for (name, g) in &parsed.groups {
        if builtin.contains_key(name) {
            return Err(anyhow!(
                "{}: groups.{name}: a built-in group has this name; choose another \
                 ('nono profile groups' lists the built-ins)",
                at(text, file, &format!("groups.{name}"))
            ));
        }
        let grants = !(g.read.is_empty() && g.readwrite.is_empty() && g.write.is_empty());
        if g.required && grants {
            return Err(anyhow!(
                "{}: groups.{name}.required: a group applied to every profile may only protect \
                 (deny, deny_write), never grant; include it in a profile's security.groups instead",
                at(text, file, "required")
            ));
        }
    }
    Ok(parsed.groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtin() -> BTreeMap<String, Group> {
        super::super::groups::builtin().unwrap().clone()
    }

    #[test]
    fn user_groups_parse_in_the_built_in_format() {
        let text = "[groups.my_data]\ndescription = \"d\"\nread = [\"/srv/data\"]\n\
                    [groups.my_secrets]\ndescription = \"s\"\nrequired = true\n\
                    deny = [{ path = \"/srv/keys\", category = \"my keys\" }]\n";
        let g = parse(text, Path::new("/g.toml"), &builtin()).unwrap();
        assert_eq!(g["my_data"].read, vec!["/srv/data".to_string()]);
        assert!(g["my_secrets"].required);
    }

    #[test]
    fn collisions_grants_in_required_groups_and_typos_are_errors_with_location() {
        let f = Path::new("/g.toml");
        let e = parse(
            "[groups.deny_credentials]\ndescription = \"x\"\n",
            f,
            &builtin(),
        );
        let e = e.unwrap_err().to_string();
        assert!(
            e.starts_with("/g.toml:1:2: groups.deny_credentials: a built-in group"),
            "{e}"
        );
        let text = "[groups.all]\ndescription = \"x\"\nrequired = true\nread = [\"/\"]\n";
        let e = parse(text, f, &builtin()).unwrap_err().to_string();
        assert!(
            e.starts_with("/g.toml:3:1: groups.all.required: a group applied"),
            "{e}"
        );
        let e = parse(
            "[groups.x]\ndescription = \"x\"\nreads = []\n",
            f,
            &builtin(),
        );
        let e = e.unwrap_err().to_string();
        assert!(
            e.starts_with("/g.toml:3:1: field 'groups.x.reads'") && e.contains("reads"),
            "{e}"
        );
    }
}
