//! Environment credentials: which to inject (flags, `--env-credential-map`,
//! the profile's `[secrets]` and `env_credentials`), and which host
//! variables they read. Fetching them is `launch/credentials.rs`.

use anyhow::{bail, Context, Result};
use ipc::keyholder::{CredentialItem, Target};
use ipc::reference::CredentialRef;

use crate::cli::RunArgs;
use crate::policy::load::Loaded;

/// The reference is parsed here, once: the keyholder gets it typed.
fn item(reference: &str, var: String) -> Result<CredentialItem> {
    if !crate::env_policy::valid_var_name(&var) {
        bail!("invalid environment variable name '{var}' for credential {reference} (use A-Z, 0-9, _)");
    }
    if let Some(why) = crate::env_policy::refuse_credential_target(&var)? {
        bail!("{why}");
    }
    Ok(CredentialItem {
        reference: CredentialRef::parse(reference)?,
        target: Target::EnvVar(var),
    })
}

/// The agent's variable an item sets (every item here is an `EnvVar`).
pub fn var(item: &CredentialItem) -> &str {
    item.target.name()
}

/// `name` -> `NAME`; `name=VAR` and `op://…=VAR` keep their explicit variable.
fn from_name(spec: &str) -> Result<CredentialItem> {
    if let Some((reference, var)) = spec.rsplit_once('=') {
        if reference.is_empty() || var.is_empty() {
            bail!("--env-credential {spec}: expected NAME, NAME=VAR or REF=VAR");
        }
        return item(reference, var.to_string());
    }
    if spec.contains("://") {
        bail!("--env-credential {spec}: a reference needs a variable (REF=VAR) or --env-credential-map");
    }
    item(spec, spec.to_ascii_uppercase())
}

/// Everything to inject, from flags, `NONO_ENV_CREDENTIAL` and the profile.
pub fn items(args: &RunArgs, profile: &Loaded) -> Result<Vec<CredentialItem>> {
    let mut names = args.env_credential.clone();
    if names.is_empty() {
        if let Ok(v) = std::env::var("NONO_ENV_CREDENTIAL") {
            names = v
                .split(',')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
        }
    }
    let mut out = Vec::new();
    for n in names.iter().filter(|n| !n.is_empty()) {
        out.push(from_name(n)?);
    }
    for pair in args.env_credential_map.chunks(2) {
        if let [reference, var] = pair {
            out.push(
                item(reference, var.clone())
                    .with_context(|| format!("--env-credential-map {reference} {var}"))?,
            );
        }
    }
    match args.secrets.as_deref() {
        Some("") => {
            for (account, var) in &profile.profile.secrets {
                out.push(item(account, var.clone())?);
            }
        }
        Some(list) => {
            for n in list.split(',').filter(|s| !s.is_empty()) {
                out.push(from_name(n)?);
            }
        }
        None => {}
    }
    for (account, var) in &profile.profile.env_credentials {
        out.push(item(account, var.clone())?);
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(dup) = out.iter().find(|i| !seen.insert(var(i).to_string())) {
        bail!("two credentials would set {}", var(dup));
    }
    Ok(out)
}

/// Host variables that `env://` references read: removed from the agent.
pub fn source_vars(items: &[CredentialItem]) -> Vec<String> {
    items
        .iter()
        .filter_map(|i| i.reference.env_var().map(String::from))
        .collect()
}
