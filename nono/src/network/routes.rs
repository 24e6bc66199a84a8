//! Credential routes: built-in services and profile `custom_credentials`,
//! `--allow-endpoint` rules, phantom tokens, and the keyholder items that
//! deliver the real values to the proxy.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use ipc::keyholder::CredentialItem;
use ipc::proxy::{EndpointRule, InjectMode, Route};

use super::catalog::{Catalog, CredentialDef};

/// A route as planned: what the proxy gets, what the keyholder fetches,
/// and where the agent finds its phantom token.
#[derive(Debug, Clone)]
pub struct PlannedRoute {
    pub route: Route,
    pub item: CredentialItem,
    pub env_var: String,
    pub base_url_var: String,
}

fn upper(name: &str) -> String {
    name.to_ascii_uppercase().replace(['-', '.'], "_")
}

fn inject(name: &str, d: &CredentialDef) -> Result<InjectMode> {
    Ok(match d.inject_mode.as_deref().unwrap_or("header") {
        "header" => {
            let format = d
                .credential_format
                .clone()
                .unwrap_or_else(|| "Bearer {}".into());
            if format.matches("{}").count() != 1 {
                bail!("credential '{name}': credential_format must contain {{}} exactly once");
            }
            InjectMode::Header {
                header: d
                    .inject_header
                    .clone()
                    .unwrap_or_else(|| "Authorization".into()),
                format,
            }
        }
        "query" => InjectMode::Query {
            param: d.query_param.clone().unwrap_or_else(|| "key".into()),
        },
        "basic" => InjectMode::Basic,
        other => {
            bail!("credential '{name}': inject_mode '{other}' (expected header, query or basic)")
        }
    })
}

/// Parse `SERVICE:METHOD:PATH`.
pub fn endpoint_flag(s: &str) -> Result<(String, EndpointRule)> {
    let mut it = s.splitn(3, ':');
    match (it.next(), it.next(), it.next()) {
        (Some(svc), Some(m), Some(p)) if !svc.is_empty() && !m.is_empty() && p.starts_with('/') => Ok((
            svc.to_string(),
            EndpointRule {
                method: m.to_ascii_uppercase(),
                path: p.to_string(),
            },
        )),
        _ => bail!("--allow-endpoint '{s}': expected SERVICE:METHOD:PATH (e.g. openai:POST:/v1/chat/completions)"),
    }
}

fn definition(
    name: &str,
    catalog: &Catalog,
    custom: &BTreeMap<String, serde_json::Value>,
) -> Result<CredentialDef> {
    if let Some(v) = custom.get(name) {
        return serde_json::from_value(v.clone())
            .with_context(|| format!("network.custom_credentials.{name}"));
    }
    match catalog.credentials.get(name) {
        Some(d) => Ok(d.clone()),
        None => bail!(
            "unknown credential service '{name}': built-in services are {}; define others in a profile's network.custom_credentials",
            catalog.credentials.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The keyholder reference for a `credential_key`: URIs as given, a bare
/// name is a keystore account.
fn reference(name: &str, d: &CredentialDef) -> String {
    d.credential_key
        .clone()
        .unwrap_or_else(|| format!("{}_api_key", name.replace('-', "_")))
}

pub fn plan(
    names: &[String],
    endpoints: &[(String, EndpointRule)],
    catalog: &Catalog,
    custom: &BTreeMap<String, serde_json::Value>,
) -> Result<Vec<PlannedRoute>> {
    for (svc, _) in endpoints {
        if !names.contains(svc) {
            bail!("--allow-endpoint for '{svc}', which is not an injected credential (add --credential {svc})");
        }
    }
    let mut out = Vec::new();
    for name in names {
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            || name.is_empty()
        {
            bail!("invalid credential service name '{name}' (use letters, digits, - and _)");
        }
        let d = definition(name, catalog, custom)?;
        let mut rules: Vec<EndpointRule> = d
            .endpoint_rules
            .iter()
            .map(|r| EndpointRule {
                method: r.method.to_ascii_uppercase(),
                path: r.path.clone(),
            })
            .collect();
        rules.extend(
            endpoints
                .iter()
                .filter(|(s, _)| s == name)
                .map(|(_, r)| r.clone()),
        );
        let env_var = d
            .env_var
            .clone()
            .unwrap_or_else(|| format!("{}_API_KEY", upper(name)));
        out.push(PlannedRoute {
            route: Route {
                name: name.clone(),
                upstream: d.upstream.clone(),
                inject: inject(name, &d)?,
                phantom: super::random_hex()?,
                endpoints: rules,
            },
            item: CredentialItem {
                reference: reference(name, &d),
                var: name.clone(),
            },
            env_var,
            base_url_var: format!("{}_BASE_URL", upper(name)),
        });
    }
    Ok(out)
}
