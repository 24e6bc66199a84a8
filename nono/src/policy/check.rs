//! Checks of one profile file's own fields, run as each file of an
//! `extends` chain is loaded: an error names the file that holds the bad
//! field (with the line and column where the value is found), never the
//! profile it extends or the one that extends it. `nono run`, `why`,
//! `profile show` and `profile validate` all load through here.

use std::path::Path;

use anyhow::{anyhow, Result};
use sandbox::GrantKind;

use super::groups;
use super::profile::{locate, Profile};
use super::vars::Vars;
use crate::grants::{self, Source};

struct Blame<'a> {
    file: &'a str,
    text: String,
}

impl Blame<'_> {
    /// `file:line:column` of `value` in the file, or the file alone.
    fn at(&self, value: &str) -> String {
        match locate(&self.text, &format!("\"{value}\"")).or_else(|| locate(&self.text, value)) {
            Some((l, c)) => format!("{}:{l}:{c}", self.file),
            None => self.file.to_string(),
        }
    }

    fn err(&self, field: &str, value: &str, msg: impl std::fmt::Display) -> anyhow::Error {
        anyhow!("{}: {field}: {msg}", self.at(value))
    }
}

/// Every check of `p`'s own fields that does not depend on flags.
pub fn own_fields(p: &Profile, file: &Path) -> Result<()> {
    let name = file.display().to_string();
    let b = Blame {
        file: &name,
        text: std::fs::read_to_string(file).unwrap_or_default(),
    };
    groups_exist(p, &b)?;
    paths(p, &b)?;
    credential_targets(p, &b)?;
    env_path_names(p, &b)?;
    network(p, &b)?;
    custom_credentials(p, &b)?;
    let at = super::modes::At {
        file: &name,
        text: &b.text,
    };
    for w in super::modes::check(p, &at)? {
        crate::ui::warn(w);
    }
    Ok(())
}

fn groups_exist(p: &Profile, b: &Blame) -> Result<()> {
    for g in p.group_names() {
        groups::get(&g).map_err(|e| b.err("security.groups", &g, format!("{e:#}")))?;
    }
    Ok(())
}

fn paths(p: &Profile, b: &Blame) -> Result<()> {
    let vars = Vars::from_env(std::env::current_dir().unwrap_or_else(|_| "/".into()));
    let f = &p.filesystem;
    let kinds = [
        ("filesystem.allow", &f.allow, Some(GrantKind::Tree)),
        ("filesystem.read", &f.read, Some(GrantKind::Tree)),
        ("filesystem.write", &f.write, Some(GrantKind::Tree)),
        (
            "filesystem.allow_file",
            &f.allow_file,
            Some(GrantKind::File),
        ),
        ("filesystem.read_file", &f.read_file, Some(GrantKind::File)),
        (
            "filesystem.write_file",
            &f.write_file,
            Some(GrantKind::File),
        ),
        ("policy.add_deny_access", &p.policy.add_deny_access, None),
        ("policy.add_deny_write", &p.policy.add_deny_write, None),
        ("policy.keep_read_only", &p.policy.keep_read_only, None),
        ("filesystem.allow_unix_socket", &f.allow_unix_socket, None),
        (
            "filesystem.allow_unix_socket_bind",
            &f.allow_unix_socket_bind,
            None,
        ),
        (
            "filesystem.allow_unix_socket_dir",
            &f.allow_unix_socket_dir,
            None,
        ),
        (
            "filesystem.allow_unix_socket_dir_bind",
            &f.allow_unix_socket_dir_bind,
            None,
        ),
        (
            "filesystem.allow_unix_socket_subtree",
            &f.allow_unix_socket_subtree,
            None,
        ),
        (
            "filesystem.allow_unix_socket_subtree_bind",
            &f.allow_unix_socket_subtree_bind,
            None,
        ),
    ];
    for (field, list, kind) in kinds {
        for raw in list {
            let path = vars
                .expand(raw)
                .map_err(|e| b.err(field, raw, format!("{e:#}")))?;
            let (Some(path), Some(want)) = (path, kind) else {
                continue;
            };
            if raw.contains("WORKDIR") {
                continue; // decided by --workdir at run time, not here
            }
            let Some(g) = grants::existing(&path, sandbox::AccessMode::Read, Source::Workdir)
            else {
                continue;
            };
            if g.kind != want {
                let fix = match g.kind {
                    GrantKind::Tree => "a directory; use the directory fields (allow, read, write)",
                    _ => "a file; use the *_file fields",
                };
                return Err(b.err(field, raw, format!("{} is {fix}", path.display())));
            }
        }
    }
    let mut more: Vec<(&str, &String)> = Vec::new();
    more.extend(p.env_paths.values().map(|v| ("env_paths", v)));
    more.extend(
        p.mirror_files
            .iter()
            .flat_map(|(k, v)| [("mirror_files", k), ("mirror_files", v)]),
    );
    if let Some(c) = &p.codex {
        more.push(("codex.home", &c.home));
    }
    for (field, raw) in more {
        vars.expand(raw)
            .map_err(|e| b.err(field, raw, format!("{e:#}")))?;
    }
    Ok(())
}

fn credential_targets(p: &Profile, b: &Blame) -> Result<()> {
    for (field, map) in [
        ("env_credentials", &p.env_credentials),
        ("secrets", &p.secrets),
    ] {
        for (account, var) in map {
            if let Err(e) = ipc::reference::CredentialRef::parse(account) {
                return Err(b.err(&format!("{field}.{account}"), account, e));
            }
            if !crate::env_policy::valid_var_name(var) {
                return Err(b.err(
                    &format!("{field}.{account}"),
                    var,
                    format!("invalid environment variable name '{var}' (use A-Z, 0-9, _)"),
                ));
            }
            if let Some(why) = crate::env_policy::refuse_credential_target(var)? {
                return Err(b.err(&format!("{field}.{account}"), var, why));
            }
        }
    }
    Ok(())
}

fn env_path_names(p: &Profile, b: &Blame) -> Result<()> {
    for k in p.env_paths.keys() {
        if !crate::env_policy::valid_var_name(k) {
            return Err(b.err(
                "env_paths",
                k,
                format!("invalid environment variable name '{k}' (use A-Z, 0-9, _)"),
            ));
        }
        if crate::env_policy::is_removed(k)? {
            return Err(b.err(
                "env_paths",
                k,
                format!("nono removes {k} from every agent's environment; a profile cannot set it"),
            ));
        }
    }
    Ok(())
}

fn network(p: &Profile, b: &Blame) -> Result<()> {
    let n = &p.network;
    if let Some(np) = &n.network_profile {
        let cat = crate::network::catalog::load()?;
        if !cat.profiles.contains_key(np) {
            let known: Vec<&str> = cat.profiles.keys().map(String::as_str).collect();
            return Err(b.err(
                "network.network_profile",
                np,
                format!(
                    "unknown network profile '{np}' (available: {})",
                    known.join(", ")
                ),
            ));
        }
    }
    block_and_proxy(n, b)?;
    for (field, list) in [
        ("network.allow_hosts", &n.allow_hosts),
        ("network.allow_domain", &n.allow_domain),
    ] {
        for h in list {
            if h.trim() == ipc::hostrules::allowlist::ANY {
                return Err(b.err(field, h, "'*' is not a host: name each host"));
            }
            if let Err(e) = ipc::hostrules::Allowlist::parse(std::slice::from_ref(h)) {
                return Err(b.err(field, h, e));
            }
        }
    }
    Ok(())
}

/// `block = true` beside a proxy field: refused as `--block-net` is beside
/// `--allow-domain`.
fn block_and_proxy(n: &super::profile::Network, b: &Blame) -> Result<()> {
    if n.block != Some(true) {
        return Ok(());
    }
    let proxy = [
        ("network.network_profile", n.network_profile.is_some()),
        ("network.allow_domain", !n.allow_domain.is_empty()),
        ("network.allow_hosts", !n.allow_hosts.is_empty()),
        ("network.credentials", !n.credentials.is_empty()),
        ("network.proxy_credentials", !n.proxy_credentials.is_empty()),
    ];
    match proxy.into_iter().find(|(_, set)| *set) {
        Some((field, _)) => Err(anyhow!(
            "{}: network.block = true conflicts with {field}: choose a blocked network or the filtering proxy",
            b.at("block")
        )),
        None => Ok(()),
    }
}

/// Each `network.custom_credentials` entry as a run would use it (fields,
/// upstream URL, `credential_key` reference, `inject_mode`), whether or not
/// this run names it with `--credential`.
fn custom_credentials(p: &Profile, b: &Blame) -> Result<()> {
    for (name, v) in &p.network.custom_credentials {
        if let Err(e) = crate::network::routes::custom(name, v) {
            let field = match e.field.as_str() {
                "" => format!("network.custom_credentials.{name}"),
                f => format!("network.custom_credentials.{name}.{f}"),
            };
            let needle = if e.needle.is_empty() { name } else { &e.needle };
            return Err(b.err(&field, needle, e.message));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_finds_line_and_column() {
        assert_eq!(locate("a\n  \"x\"\n", "\"x\""), Some((2, 3)));
        assert_eq!(locate("abc", "zz"), None);
    }
}
