//! `NONO_*` environment variables as defaults for flags. A flag given on
//! the command line wins over its variable; conflicting values are an error
//! wherever they come from.

use std::path::PathBuf;

use anyhow::{bail, Result};

use crate::cli::{PolicyArgs, ProxyArgs};

/// Parse a boolean variable: true/false/yes/no/1/0 (any case).
pub fn boolean(name: &str) -> Result<Option<bool>> {
    let Some(v) = std::env::var_os(name) else {
        return Ok(None);
    };
    let v = v.to_string_lossy().to_ascii_lowercase();
    Ok(Some(match v.as_str() {
        "true" | "yes" | "1" => true,
        "false" | "no" | "0" => false,
        _ => bail!("{name}={v}: expected true, false, yes, no, 1 or 0"),
    }))
}

/// Fill unset flags from the environment and check conflicts.
pub fn apply(args: &mut PolicyArgs) -> Result<()> {
    if args.fs.allow.is_empty() {
        if let Some(v) = std::env::var_os("NONO_ALLOW") {
            args.fs.allow = v
                .to_string_lossy()
                .split(',')
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .collect();
        }
    }
    if args.profile.is_none() {
        args.profile = std::env::var("NONO_PROFILE").ok().filter(|s| !s.is_empty());
    }
    let block_from_env = !args.block_net && boolean("NONO_BLOCK_NET")? == Some(true);
    let allow_from_env = !args.allow_net && boolean("NONO_ALLOW_NET")? == Some(true);
    args.block_net |= block_from_env;
    args.allow_net |= allow_from_env;
    if args.block_net && args.allow_net {
        let src = |env: bool, flag: &str, var: &str| {
            if env {
                format!("{var}=true")
            } else {
                flag.to_string()
            }
        };
        bail!(
            "{} conflicts with {}: choose one",
            src(allow_from_env, "--allow-net", "NONO_ALLOW_NET"),
            src(block_from_env, "--block-net", "NONO_BLOCK_NET")
        );
    }
    Ok(())
}

fn list(name: &str) -> Vec<String> {
    std::env::var(name)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn single(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|s| !s.is_empty())
}

/// `NONO_NETWORK_PROFILE`, `NONO_ALLOW_DOMAIN`, `NONO_CREDENTIAL`,
/// `NONO_UPSTREAM_PROXY`, `NONO_UPSTREAM_BYPASS` for unset proxy flags.
pub fn apply_proxy(p: &mut ProxyArgs) -> Result<()> {
    if p.network_profile.is_none() {
        p.network_profile = single("NONO_NETWORK_PROFILE");
    }
    if p.allow_domain.is_empty() {
        p.allow_domain = list("NONO_ALLOW_DOMAIN");
    }
    if p.credential.is_empty() {
        p.credential = list("NONO_CREDENTIAL");
    }
    if p.upstream_proxy.is_none() {
        p.upstream_proxy = single("NONO_UPSTREAM_PROXY");
    }
    if p.upstream_bypass.is_empty() {
        p.upstream_bypass = list("NONO_UPSTREAM_BYPASS");
    }
    Ok(())
}
