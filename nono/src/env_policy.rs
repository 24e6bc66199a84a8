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
}
