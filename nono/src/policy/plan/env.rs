//! The agent's environment: the host's, sanitised (`env_policy`), without
//! the source variables of any credential, with the session's variables
//! and the profile's `env_paths` set.

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;

use anyhow::{bail, Context, Result};
use ipc::keyholder::CredentialItem;

use crate::cli::RunArgs;
use crate::env_policy;
use crate::network::{self, NetworkPlan};
use crate::policy::vars::Vars;

pub fn cstring(bytes: &[u8], what: &str) -> Result<CString> {
    CString::new(bytes).with_context(|| format!("{what} contains a NUL byte"))
}

/// Profile `env_paths`: variable -> expanded path. A path whose variable
/// has no value here is skipped.
pub fn env_paths(
    raw: &std::collections::BTreeMap<String, String>,
    vars: &Vars,
) -> Result<Vec<(String, OsString)>> {
    let mut out = Vec::new();
    for (k, v) in raw {
        if !env_policy::valid_var_name(k) {
            bail!("env_paths: invalid environment variable name '{k}' (use A-Z, 0-9, _)");
        }
        if env_policy::is_removed(k)? {
            bail!("env_paths: nono removes {k} from every agent's environment; a profile cannot set it");
        }
        if let Some(p) = vars.expand(v).with_context(|| format!("env_paths.{k}"))? {
            out.push((k.clone(), p.into_os_string()));
        }
    }
    Ok(out)
}

/// Host variables the agent never sees: an `env://` credential's source,
/// the proxy's replaced variables and, with interception, the CA ones.
fn sources(
    args: &RunArgs,
    credentials: &[CredentialItem],
    net: &NetworkPlan,
    intercepts: bool,
) -> Vec<String> {
    let mut sources = crate::policy::credentials::source_vars(credentials);
    sources.extend(crate::record::sign::source_var(&args.record));
    if let Some(px) = &net.proxy {
        let items: Vec<_> = px.routes.iter().map(|r| r.item.clone()).collect();
        sources.extend(crate::policy::credentials::source_vars(&items));
        sources.extend(network::REPLACED_VARS.iter().map(|v| v.to_string()));
        if intercepts {
            sources.extend(
                network::REMOVED_WITH_INTERCEPTION
                    .iter()
                    .map(|v| v.to_string()),
            );
        }
    }
    sources
}

/// The agent's environment as `KEY=VALUE` C strings.
pub fn agent(
    args: &RunArgs,
    credentials: &[CredentialItem],
    net: &NetworkPlan,
    intercepts: bool,
    overrides: &[(&str, OsString)],
) -> Result<Vec<CString>> {
    let sources = sources(args, credentials, net, intercepts);
    env_policy::agent_env(
        std::env::vars_os().filter(|(k, _)| !sources.iter().any(|v| k == v.as_str())),
        overrides,
    )?
    .into_iter()
    .map(|(k, v)| {
        let mut kv = k.as_bytes().to_vec();
        kv.push(b'=');
        kv.extend_from_slice(v.as_bytes());
        cstring(&kv, "an environment variable")
    })
    .collect()
}
