//! The built-in network data (`profiles/network.toml`): host groups,
//! network profiles, and credential services.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde::Deserialize;

const DATA: &str = include_str!("../../../profiles/network.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub hosts: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetProfile {
    pub groups: Vec<String>,
}

/// One `METHOD:PATH` rule of a credential.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EndpointRuleDef {
    pub method: String,
    pub path: String,
}

/// A credential service, built in or from a profile's `custom_credentials`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CredentialDef {
    pub upstream: String,
    #[serde(default)]
    pub credential_key: Option<String>,
    /// header (default), query or basic.
    #[serde(default)]
    pub inject_mode: Option<String>,
    #[serde(default)]
    pub inject_header: Option<String>,
    #[serde(default)]
    pub credential_format: Option<String>,
    /// The query parameter for `inject_mode = "query"` (default `key`).
    #[serde(default)]
    pub query_param: Option<String>,
    #[serde(default)]
    pub env_var: Option<String>,
    #[serde(default)]
    pub endpoint_rules: Vec<EndpointRuleDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub groups: BTreeMap<String, Group>,
    pub profiles: BTreeMap<String, NetProfile>,
    pub credentials: BTreeMap<String, CredentialDef>,
}

pub fn load() -> Result<Catalog> {
    toml::from_str(DATA).context("built-in network data (profiles/network.toml)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_names_existing_groups_and_services_parse() {
        let c = load().unwrap();
        for name in [
            "minimal",
            "developer",
            "claude-code",
            "codex",
            "opencode",
            "enterprise",
        ] {
            let p = c
                .profiles
                .get(name)
                .unwrap_or_else(|| panic!("profile {name}"));
            for g in &p.groups {
                assert!(c.groups.contains_key(g), "{name}: group {g}");
            }
        }
        for name in [
            "openai",
            "anthropic",
            "gemini",
            "google-ai",
            "github",
            "gitlab",
        ] {
            assert!(
                c.credentials[name].upstream.starts_with("https://"),
                "{name}"
            );
        }
        assert!(c.groups["llm_apis"]
            .hosts
            .contains(&"api.openai.com".to_string()));
        assert!(c.groups["google_cloud"]
            .hosts
            .contains(&"*.googleapis.com".to_string()));
    }
}
