//! Codex under nono (profile section `[codex]`).
//!
//! Codex takes its model provider only from its configuration (it ignores
//! `OPENAI_BASE_URL` with the built-in provider), and its own sandbox
//! (bubblewrap, user namespaces) cannot start inside nono. Without editing
//! the user's files, nono gives Codex a per-session `CODEX_HOME` in the
//! session directory:
//!
//! ```text
//! codex-home/
//!     config.toml   the user's config.toml, plus
//!                   sandbox_mode = "danger-full-access"   (nono is the external sandbox,
//!                                                          as Codex documents for such runs)
//!                   model_provider = "nono-openai"        (only with an `openai` route:
//!                   [model_providers.nono-openai]          the proxy route and the phantom
//!                                                          key's variable)
//!     <entry>  ->   <home>/<entry>   for every other entry of the user's Codex directory
//! ```
//!
//! Entries Codex creates at the top level during the session stay in the
//! session directory; `sessions/` and `log/` are created in the user's
//! directory first so that history persists.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::network::ProxyPlan;

/// The provider id nono adds to Codex's configuration.
const PROVIDER: &str = "nono-openai";

#[derive(Debug)]
pub struct Overlay {
    /// The per-session `CODEX_HOME`.
    pub dir: PathBuf,
    /// The user's Codex directory (`[codex] home`).
    pub home: PathBuf,
}

/// Create the (empty, private) overlay directory under the session root.
pub fn prepare(session_root: &Path, home: PathBuf) -> Result<Overlay> {
    let dir = session_root.join("codex-home");
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    for sub in ["sessions", "log"] {
        let p = home.join(sub);
        if home.is_dir() && !p.exists() {
            fs::DirBuilder::new()
                .mode(0o700)
                .create(&p)
                .with_context(|| format!("cannot create {}", p.display()))?;
        }
    }
    Ok(Overlay { dir, home })
}

fn value_of<'a>(env: &'a [(String, String)], key: &str) -> Option<&'a str> {
    env.iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The overlay's `config.toml` text.
fn config(
    user: Option<&str>,
    proxy: Option<&ProxyPlan>,
    env: &[(String, String)],
) -> Result<String> {
    let mut t: toml::Table = match user {
        Some(text) => text.parse().context(
            "Codex's config.toml is not valid TOML; fix it before running Codex under nono",
        )?,
        None => toml::Table::new(),
    };
    t.insert("sandbox_mode".into(), "danger-full-access".into());
    let route = proxy.and_then(|p| p.routes.iter().find(|r| r.route.name == "openai"));
    if let Some(r) = route {
        let Some(base) = value_of(env, &r.base_url_var) else {
            bail!("internal error: no {} for the openai route", r.base_url_var);
        };
        let mut prov = toml::Table::new();
        prov.insert("name".into(), "OpenAI through the nono proxy".into());
        prov.insert("base_url".into(), base.into());
        prov.insert("env_key".into(), r.env_var.clone().into());
        prov.insert("wire_api".into(), "responses".into());
        let providers = t
            .entry("model_providers")
            .or_insert_with(|| toml::Table::new().into());
        let Some(providers) = providers.as_table_mut() else {
            bail!("Codex's config.toml: model_providers is not a table");
        };
        providers.insert(PROVIDER.into(), prov.into());
        t.insert("model_provider".into(), PROVIDER.into());
    }
    // A Codex profile (`codex -p`) may name its own provider or sandbox:
    // nono's win, or the traffic would bypass the proxy route and its key,
    // or Codex would try to start its own sandbox.
    if let Some(profiles) = t.get_mut("profiles").and_then(|p| p.as_table_mut()) {
        for (_, p) in profiles.iter_mut() {
            if let Some(p) = p.as_table_mut() {
                if route.is_some() && p.contains_key("model_provider") {
                    p.insert("model_provider".into(), PROVIDER.into());
                }
                p.remove("sandbox_mode");
            }
        }
    }
    toml::to_string(&t).context("cannot write Codex's configuration")
}

/// Fill the overlay; returns the variables that point Codex at it.
pub fn finish(
    o: &Overlay,
    proxy: Option<&ProxyPlan>,
    env: &[(String, String)],
) -> Result<Vec<(String, String)>> {
    let user_cfg = o.home.join("config.toml");
    let user = match fs::read_to_string(&user_cfg) {
        Ok(s) => Some(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", user_cfg.display())),
    };
    let text =
        config(user.as_deref(), proxy, env).with_context(|| format!("{}", user_cfg.display()))?;
    let out = o.dir.join("config.toml");
    fs::write(&out, text).with_context(|| format!("cannot write {}", out.display()))?;
    if let Ok(entries) = fs::read_dir(&o.home) {
        for e in entries.flatten() {
            let name = e.file_name();
            if name == "config.toml" {
                continue;
            }
            let link = o.dir.join(&name);
            std::os::unix::fs::symlink(e.path(), &link)
                .with_context(|| format!("cannot link {}", link.display()))?;
        }
    }
    Ok(vec![("CODEX_HOME".into(), o.dir.display().to_string())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_config_is_kept_and_sandbox_is_external() {
        let text = config(
            Some("model = \"o3\"\nsandbox_mode = \"workspace-write\"\n"),
            None,
            &[],
        )
        .unwrap();
        let t: toml::Table = text.parse().unwrap();
        assert_eq!(t["model"].as_str(), Some("o3"));
        assert_eq!(t["sandbox_mode"].as_str(), Some("danger-full-access"));
        assert!(t.get("model_provider").is_none());
    }

    #[test]
    fn codex_profiles_cannot_turn_its_own_sandbox_back_on() {
        let user = "[profiles.fast]\nsandbox_mode = \"workspace-write\"\nmodel = \"m\"\n";
        let t: toml::Table = config(Some(user), None, &[]).unwrap().parse().unwrap();
        let fast = t["profiles"]["fast"].as_table().unwrap();
        assert!(fast.get("sandbox_mode").is_none());
        assert_eq!(fast["model"].as_str(), Some("m"));
    }

    #[test]
    fn invalid_user_config_fails_closed() {
        assert!(config(Some("model = "), None, &[]).is_err());
    }
}
