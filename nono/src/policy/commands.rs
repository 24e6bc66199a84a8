//! The startup-only command blocklist (`profiles/commands.toml`): deprecated
//! in the spec, and not a boundary. It refuses to start a command whose own
//! name is listed; it never sees what that command starts. The kernel's
//! grants are what confine the command.

use std::ffi::OsStr;
use std::path::Path;
use std::sync::OnceLock;

use anyhow::{anyhow, bail, Result};

use super::glob;
use super::profile::Profile;

const COMMANDS_TOML: &str = include_str!("../../../profiles/commands.toml");

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandsFile {
    blocked: Vec<String>,
}

/// The default blocklist.
pub fn defaults() -> Result<&'static [String]> {
    static LIST: OnceLock<std::result::Result<Vec<String>, String>> = OnceLock::new();
    LIST.get_or_init(|| {
        toml::from_str::<CommandsFile>(COMMANDS_TOML)
            .map(|f| f.blocked)
            .map_err(|e| format!("built-in profiles/commands.toml is malformed: {e}"))
    })
    .as_deref()
    .map_err(|e| anyhow!("{e}"))
}

/// What the user said: flags first, then the profile.
#[derive(Debug, Default)]
pub struct Asked<'a> {
    pub allow_flag: &'a [String],
    pub block_flag: &'a [String],
}

const NOT_A_BOUNDARY: &str = "a startup-only check of the directly invoked command, not a \
sandbox boundary: child processes are not checked";

/// Deprecation warnings for each spelling in use.
pub fn warnings(asked: &Asked, p: &Profile) -> Vec<String> {
    let mut w = Vec::new();
    for (used, what) in [
        (!asked.allow_flag.is_empty(), "--allow-command"),
        (!asked.block_flag.is_empty(), "--block-command"),
    ] {
        if used {
            w.push(format!("{what} is deprecated: {NOT_A_BOUNDARY}"));
        }
    }
    if p.commands
        .as_ref()
        .is_some_and(|c| !c.allow.is_empty() || !c.block.is_empty())
    {
        w.push(format!(
            "profile commands.allow/commands.block are deprecated: {NOT_A_BOUNDARY}"
        ));
    }
    if !p.security.allowed_commands.is_empty() {
        w.push(
            "profile security.allowed_commands is deprecated: use commands.allow (issue #594)"
                .to_string(),
        );
    }
    w
}

fn listed(list: &[String], name: &str) -> bool {
    list.iter()
        .any(|p| glob::matches(p.as_bytes(), name.as_bytes()))
}

/// Refuse `program` (as named, and as resolved) when it is blocked.
/// `--allow-command` wins over everything; `--block-command` over the
/// profile's allow lists.
pub fn check(asked: &Asked, p: &Profile, named: &OsStr, resolved: &Path) -> Result<()> {
    let names = [Path::new(named).file_name(), resolved.file_name()];
    let profile_allow: Vec<String> = p
        .commands
        .iter()
        .flat_map(|c| c.allow.iter())
        .chain(&p.security.allowed_commands)
        .cloned()
        .collect();
    let profile_block: Vec<String> = p
        .commands
        .iter()
        .flat_map(|c| c.block.iter())
        .cloned()
        .collect();
    for name in names.into_iter().flatten() {
        let name = name.to_string_lossy();
        if listed(asked.allow_flag, &name) {
            continue;
        }
        let blocked_by_flag = listed(asked.block_flag, &name);
        let blocked = blocked_by_flag
            || ((listed(defaults()?, &name) || listed(&profile_block, &name))
                && !listed(&profile_allow, &name));
        if blocked {
            bail!("blocked command: {name} ({NOT_A_BOUNDARY}; --allow-command {name} runs it)");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(toml: &str) -> Profile {
        super::super::profile::parse(toml, super::super::profile::Format::Toml, "t.toml").unwrap()
    }

    fn blocked(asked: &Asked, p: &Profile, cmd: &str) -> bool {
        check(asked, p, OsStr::new(cmd), Path::new(cmd)).is_err()
    }

    #[test]
    fn defaults_block_the_spec_examples_by_own_name_only() {
        let p = Profile::default();
        let a = Asked::default();
        for cmd in ["rm", "dd", "chmod", "sudo", "scp", "/bin/rm", "mkfs.ext4"] {
            assert!(blocked(&a, &p, cmd), "{cmd}");
        }
        for cmd in ["sh", "ls", "rmx", "claude"] {
            assert!(!blocked(&a, &p, cmd), "{cmd}");
        }
        let e = check(&a, &p, OsStr::new("rm"), Path::new("/usr/bin/rm"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("blocked command: rm (") && e.contains("--allow-command rm"),
            "{e}"
        );
        let renamed = check(&a, &p, OsStr::new("./x"), Path::new("/usr/bin/rm"));
        assert!(renamed.is_err(), "the resolved file's name counts too");
    }

    #[test]
    fn flags_and_profile_lists_combine_in_order() {
        let allow = ["rm".to_string()];
        let block = ["mytool".to_string()];
        let a = Asked {
            allow_flag: &allow,
            block_flag: &block,
        };
        let p = Profile::default();
        assert!(!blocked(&a, &p, "rm") && blocked(&a, &p, "mytool"));
        let p = profile("[commands]\nallow = [\"chmod\"]\nblock = [\"curl\"]\n");
        let none = Asked::default();
        assert!(!blocked(&none, &p, "chmod") && blocked(&none, &p, "curl"));
        let chmod = ["chmod".to_string()];
        let a = Asked {
            allow_flag: &[],
            block_flag: &chmod,
        };
        assert!(
            blocked(&a, &p, "chmod"),
            "--block-command beats the profile's allow"
        );
        let p = profile("[security]\nallowed_commands = [\"dd\"]\n");
        assert!(!blocked(&none, &p, "dd"));
        assert!(warnings(&none, &p)[0].contains("security.allowed_commands is deprecated"));
    }
}
