//! Credential routes: built-in services and profile `custom_credentials`,
//! `--allow-endpoint` rules, phantom tokens, and the keyholder items that
//! deliver the real values to the proxy.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use ipc::keyholder::{CredentialItem, Target};
use ipc::proxy::{EndpointRule, InjectMode, Route};
use ipc::reference::CredentialRef;

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

/// What is wrong with one of a profile's `custom_credentials`: the field
/// under `network.custom_credentials.NAME` (empty for the entry itself),
/// the text to find it by in the file, and the message.
#[derive(Debug, PartialEq, Eq)]
pub struct CustomError {
    pub field: String,
    pub needle: String,
    pub message: String,
}

/// Parse and check one `custom_credentials` entry as a run would use it.
pub fn custom(
    name: &str,
    v: &serde_json::Value,
) -> std::result::Result<CredentialDef, CustomError> {
    let err = |field: &str, needle: &str, message: String| CustomError {
        field: field.to_string(),
        needle: needle.to_string(),
        message,
    };
    let d: CredentialDef = serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { String::new() } else { path };
        let needle = field.rsplit('.').next().unwrap_or(name).to_string();
        err(
            &field,
            &needle,
            crate::policy::plain::message(&e.inner().to_string()),
        )
    })?;
    let rest = d
        .upstream
        .strip_prefix("https://")
        .or_else(|| d.upstream.strip_prefix("http://"));
    if rest.is_none_or(|r| r.is_empty() || r.starts_with('/')) {
        let up = &d.upstream;
        return Err(err(
            "upstream",
            up,
            format!("'{up}' is not an http(s) URL; give the service's base URL (e.g. https://api.example.com)"),
        ));
    }
    if let Err(e) = reference(name, &d) {
        let key = d.credential_key.clone().unwrap_or_default();
        return Err(err("credential_key", &key, format!("{:#}", e.root_cause())));
    }
    if let Err(e) = inject(name, &d) {
        let mode = d.inject_mode.clone().unwrap_or_default();
        return Err(err("inject_mode", &mode, format!("{e:#}")));
    }
    Ok(d)
}

fn definition(
    name: &str,
    catalog: &Catalog,
    custom: &BTreeMap<String, serde_json::Value>,
) -> Result<CredentialDef> {
    if let Some(v) = custom.get(name) {
        return self::custom(name, v).map_err(|e| {
            let dot = if e.field.is_empty() { "" } else { "." };
            anyhow::anyhow!(
                "network.custom_credentials.{name}{dot}{}: {}",
                e.field,
                e.message
            )
        });
    }
    match catalog.credentials.get(name) {
        Some(d) => Ok(d.clone()),
        None => bail!(
            "unknown credential service '{name}': built-in services are {}; define others in a profile's network.custom_credentials",
            catalog.credentials.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The keyholder reference for a `credential_key`, parsed here once: a
/// bare name is a keystore account; none: `<service>_api_key`.
fn reference(name: &str, d: &CredentialDef) -> Result<CredentialRef> {
    let text = d
        .credential_key
        .clone()
        .unwrap_or_else(|| format!("{}_api_key", name.replace('-', "_")));
    CredentialRef::parse(&text).with_context(|| format!("credential '{name}': credential_key"))
}

/// Where the phantom token goes when the definition names no `env_var`:
/// a keystore account uppercased (`github_token` -> `GITHUB_TOKEN`), the
/// variable of an `env://` reference, else `<SERVICE>_API_KEY`.
fn default_env_var(name: &str, d: &CredentialDef, reference: &CredentialRef) -> String {
    match (d.credential_key.as_ref(), reference) {
        (Some(_), CredentialRef::Env(var)) => var.clone(),
        (Some(key), CredentialRef::Keystore(_)) if !key.contains("://") => upper(key),
        _ => format!("{}_API_KEY", upper(name)),
    }
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
        let reference = reference(name, &d)?;
        let env_var = d
            .env_var
            .clone()
            .unwrap_or_else(|| default_env_var(name, &d, &reference));
        out.push(PlannedRoute {
            route: Route {
                name: name.clone(),
                upstream: d.upstream.clone(),
                inject: inject(name, &d)?,
                phantom: super::random_hex()?,
                endpoints: rules,
            },
            item: CredentialItem {
                reference,
                target: Target::Route(name.clone()),
            },
            env_var,
            base_url_var: format!("{}_BASE_URL", upper(name)),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(name: &str, custom: &BTreeMap<String, serde_json::Value>) -> PlannedRoute {
        let catalog = super::super::catalog::load().unwrap();
        plan(&[name.to_string()], &[], &catalog, custom)
            .unwrap()
            .remove(0)
    }

    #[test]
    fn presets_read_their_keystore_accounts() {
        let none = BTreeMap::new();
        for (svc, account, var, base) in [
            (
                "openai",
                "openai_api_key",
                "OPENAI_API_KEY",
                "OPENAI_BASE_URL",
            ),
            (
                "anthropic",
                "anthropic_api_key",
                "ANTHROPIC_API_KEY",
                "ANTHROPIC_BASE_URL",
            ),
            ("gemini", "gemini", "GEMINI", "GEMINI_BASE_URL"),
            (
                "google-ai",
                "google_api_key",
                "GOOGLE_API_KEY",
                "GOOGLE_AI_BASE_URL",
            ),
            ("github", "github_token", "GITHUB_TOKEN", "GITHUB_BASE_URL"),
        ] {
            let r = planned(svc, &none);
            assert_eq!(
                r.item.reference,
                CredentialRef::Keystore(account.into()),
                "{svc}"
            );
            assert_eq!(r.item.target, Target::Route(svc.into()), "{svc}");
            assert_eq!(r.env_var, var, "{svc}");
            assert_eq!(r.base_url_var, base, "{svc}");
        }
    }

    #[test]
    fn custom_credentials_name_their_variable_after_the_key() {
        let custom: BTreeMap<String, serde_json::Value> = serde_json::from_str(
            r#"{
                "github": {"upstream": "https://api.github.com", "credential_key": "github_token",
                           "credential_format": "Bearer {}"},
                "envy": {"upstream": "https://e.example", "credential_key": "env://MY_TOKEN"},
                "vault": {"upstream": "https://v.example", "credential_key": "file:///run/k"},
                "named": {"upstream": "https://n.example", "credential_key": "k", "env_var": "N_KEY"}
            }"#,
        )
        .unwrap();
        assert_eq!(planned("github", &custom).env_var, "GITHUB_TOKEN");
        assert_eq!(planned("envy", &custom).env_var, "MY_TOKEN");
        assert_eq!(planned("vault", &custom).env_var, "VAULT_API_KEY");
        assert_eq!(planned("named", &custom).env_var, "N_KEY");
        assert_eq!(
            planned("vault", &custom).item.reference,
            CredentialRef::File("/run/k".into())
        );
        // The profile's definition wins over the preset of the same name.
        let InjectMode::Header { format, .. } = planned("github", &custom).route.inject else {
            panic!("header mode");
        };
        assert_eq!(format, "Bearer {}");
    }
}
