//! The agent's environment: the host's, minus injection variables
//! (`profiles/environment.toml`), plus what nono sets.

use std::ffi::{OsStr, OsString};

use anyhow::{Context, Result};
use serde::Deserialize;

const ENVIRONMENT_TOML: &str = include_str!("../../profiles/environment.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvPolicy {
    remove_prefixes: Vec<String>,
    remove: Vec<String>,
    not_credential_target_prefixes: Vec<String>,
    not_credential_targets: Vec<String>,
}

fn policy() -> Result<EnvPolicy> {
    toml::from_str(ENVIRONMENT_TOML).context("built-in profiles/environment.toml is malformed")
}

fn removed(p: &EnvPolicy, name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return true; // not valid UTF-8: nothing legitimate looks like that
    };
    p.remove.iter().any(|r| r == name)
        || p.remove_prefixes
            .iter()
            .any(|pre| name.starts_with(pre.as_str()))
}

/// Whether nono strips `name` from every agent's environment.
pub fn is_removed(name: &str) -> Result<bool> {
    Ok(removed(&policy()?, OsStr::new(name)))
}

/// Why `name` cannot carry a credential, if it cannot: a variable nono
/// removes, or one that steers loading, search paths or nono itself.
pub fn refuse_credential_target(name: &str) -> Result<Option<String>> {
    let p = policy()?;
    if removed(&p, OsStr::new(name)) {
        return Ok(Some(format!(
            "{name} cannot carry a credential: nono removes it from every agent's environment"
        )));
    }
    let steers = p.not_credential_targets.iter().any(|n| n == name)
        || p.not_credential_target_prefixes
            .iter()
            .any(|pre| name.starts_with(pre.as_str()));
    Ok(steers.then(|| {
        format!(
            "{name} cannot carry a credential: it decides where programs, libraries or \
             configuration are found (or is nono's own); choose another variable name"
        )
    }))
}

/// The sanitised environment for the agent, with `overrides` set last.
pub fn agent_env(
    host: impl IntoIterator<Item = (OsString, OsString)>,
    overrides: &[(&str, OsString)],
) -> Result<Vec<(OsString, OsString)>> {
    let p = policy()?;
    let mut env: Vec<(OsString, OsString)> = host
        .into_iter()
        .filter(|(k, _)| !removed(&p, k))
        .filter(|(k, _)| !overrides.iter().any(|(o, _)| OsStr::new(o) == k))
        .collect();
    env.extend(
        overrides
            .iter()
            .map(|(k, v)| (OsString::from(k), v.clone())),
    );
    Ok(env)
}

/// A name a credential or profile path may be given as (A-Z, 0-9, _).
pub fn valid_var_name(v: &str) -> bool {
    let mut c = v.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_uppercase() || ch == '_')
        && c.all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(k: &str, v: &str) -> (OsString, OsString) {
        (k.into(), v.into())
    }

    #[test]
    fn injection_variables_are_removed_and_others_kept() {
        let host = vec![
            kv("LD_PRELOAD", "/tmp/evil.so"),
            kv("LD_LIBRARY_PATH", "/x"),
            kv("BASH_ENV", "/x"),
            kv("BASH_FUNC_ls%%", "() { evil; }"),
            kv("NODE_OPTIONS", "--require /x"),
            kv("PYTHONSTARTUP", "/x"),
            kv("PATH", "/usr/bin"),
            kv("HOME", "/home/u"),
            kv("TMPDIR", "/tmp"),
        ];
        let env = agent_env(host, &[("TMPDIR", "/tmp/nono-1".into())]).unwrap();
        let names: Vec<_> = env.iter().map(|(k, _)| k.to_str().unwrap()).collect();
        assert_eq!(names, ["PATH", "HOME", "TMPDIR"]);
        assert_eq!(env[2].1, "/tmp/nono-1");
    }

    #[test]
    fn search_path_and_own_variables_cannot_carry_credentials() {
        for v in [
            "PATH",
            "HOME",
            "PYTHONPATH",
            "NODE_PATH",
            "LD_PRELOAD",
            "NONO_POLICY",
            "OP_SERVICE_ACCOUNT_TOKEN",
            "XDG_CONFIG_HOME",
        ] {
            assert!(refuse_credential_target(v).unwrap().is_some(), "{v}");
        }
        for v in ["OPENAI_API_KEY", "GH_TOKEN", "GITHUB_PASSWORD"] {
            assert_eq!(refuse_credential_target(v).unwrap(), None, "{v}");
        }
    }

    #[test]
    fn nono_source_credentials_never_reach_the_agent() {
        let host = vec![
            kv("OP_SERVICE_ACCOUNT_TOKEN", "ops_x"),
            kv("OP_SESSION_my", "s"),
            kv("OP_CONNECT_TOKEN", "c"),
            kv("PATH", "/usr/bin"),
        ];
        let env = agent_env(host, &[]).unwrap();
        let names: Vec<_> = env.iter().map(|(k, _)| k.to_str().unwrap()).collect();
        assert_eq!(names, ["PATH"]);
    }
}
